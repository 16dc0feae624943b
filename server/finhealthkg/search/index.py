"""Build the search index of a release: one SQLite file (FTS5) of every name of every thing.

Written by `finhealthkg build` beside the dumps (`search.sqlite`), from the release's own
Oxigraph store: SPARQL SELECTs stream the labels, types and descriptions straight into
SQLite, so a graph of millions of triples is never held in memory (only a map from each
named thing's IRI to its row number). The server opens the file read-only; a request never
scans the graph to search.

Tables:
    things(id, iri)                          every subject that has a name
    names(id, thing, text, lang, kind, exact, folded)
                                             each name once per thing and language; kind 0
                                             preferred, 1 rdfs:label, 2 alternative (acronyms,
                                             old names); exact/folded as in text.py
    words                                    FTS5 over names.folded, words (prefix queries)
    grams                                    FTS5 over names.folded, trigrams (substrings)
    types(type, thing, direct)               rdf:type of each thing and every superclass
                                             (rdfs:subClassOf+): type filters follow subclasses
    descriptions(thing, lang, text)          a short description per language
    meta(key, value)                         format and counts
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS

from ..stores import Store
from .text import exact_form, fold

INDEX_FILE = "search.sqlite"
INDEX_MEDIA_TYPE = "application/vnd.sqlite3"
FORMAT = "1"
DESCRIPTION_CHARS = 280

# Where names come from, and what kind of name each is (text.KINDS).
NAME_PREDICATES = {str(SKOS.prefLabel): 0, str(FOAF.name): 0, str(RDFS.label): 1,
                   str(SKOS.altLabel): 2, str(SKOS.hiddenLabel): 2}
DESCRIPTION_PREDICATES = (DCTERMS.description, SKOS.definition, RDFS.comment)
LANGUAGES = ("en", "fi", "sv", "")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE things (id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);
CREATE TABLE names (id INTEGER PRIMARY KEY, thing INTEGER NOT NULL, text TEXT NOT NULL, lang TEXT NOT NULL,
                    kind INTEGER NOT NULL, exact TEXT NOT NULL, folded TEXT NOT NULL, UNIQUE (thing, lang, text));
CREATE TABLE types (type TEXT NOT NULL, thing INTEGER NOT NULL, direct INTEGER NOT NULL,
                    PRIMARY KEY (type, thing)) WITHOUT ROWID;
CREATE TABLE descriptions (thing INTEGER NOT NULL, lang TEXT NOT NULL, text TEXT NOT NULL,
                           PRIMARY KEY (thing, lang)) WITHOUT ROWID;
"""
INDEXES = """
CREATE INDEX names_folded ON names (folded);
CREATE INDEX names_thing ON names (thing);
CREATE INDEX types_thing ON types (thing);
CREATE VIRTUAL TABLE words USING fts5 (folded, content='names', content_rowid='id',
                                       tokenize="unicode61 remove_diacritics 2", prefix='1 2 3');
CREATE VIRTUAL TABLE grams USING fts5 (folded, content='names', content_rowid='id', tokenize='trigram');
INSERT INTO words (rowid, folded) SELECT id, folded FROM names;
INSERT INTO grams (rowid, folded) SELECT id, folded FROM names;
"""


def write_search_index(store: Store, directory: Path) -> dict[str, int]:
    """Write `directory/search.sqlite` from the release's store; its counts (things, names)."""
    path = directory / INDEX_FILE
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)
        ids: dict[str, int] = {}  # the one per-thing structure kept in memory
        # rdfs:label and skos:prefLabel often say the same: one name, of the better kind
        db.executemany("INSERT INTO names (thing, text, lang, kind, exact, folded) VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (thing, lang, text) DO UPDATE SET kind = min(kind, excluded.kind)",
                       _names(store, ids))
        db.executemany("INSERT INTO things (id, iri) VALUES (?, ?)", ((n, iri) for iri, n in ids.items()))
        db.executemany("INSERT OR IGNORE INTO types (type, thing, direct) VALUES (?, ?, ?)",
                       _types(store, ids))
        db.executemany("INSERT OR IGNORE INTO descriptions (thing, lang, text) VALUES (?, ?, ?)",
                       _descriptions(store, ids))
        db.executescript(INDEXES)
        counts = {"things": len(ids), "names": db.execute("SELECT count(*) FROM names").fetchone()[0]}
        db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                       [("format", FORMAT), *((key, str(value)) for key, value in counts.items())])
        db.commit()
        db.execute("VACUUM")  # compact, and one file without a journal beside it
    finally:
        db.close()
    with path.open("rb") as file:
        os.fsync(file.fileno())
    return counts


def _objects(store: Store, predicate: str) -> Iterator[tuple[str, object]]:
    """(subject IRI, object) of every triple with this predicate in the knowledge graph.

    One pattern per query and the term kinds checked here: Oxigraph streams such a SELECT
    about twice as fast as one with VALUES and a FILTER; a row unpacked by position is read
    twice as fast as by name."""
    for subject, obj in store.query(f"SELECT ?s ?o WHERE {{ ?s <{predicate}> ?o }}"):
        if isinstance(subject, pyoxigraph.NamedNode):
            yield subject.value, obj


def _names(store: Store, ids: dict[str, int]) -> Iterator[tuple[int, str, str, int, str, str]]:
    for predicate, kind in NAME_PREDICATES.items():
        for iri, obj in _objects(store, predicate):
            if not isinstance(obj, pyoxigraph.Literal):
                continue
            text = obj.value.strip()
            folded = fold(text)
            if not folded:  # nothing searchable in it (punctuation only)
                continue
            thing = ids.setdefault(iri, len(ids) + 1)
            yield (thing, text, obj.language or "", kind, exact_form(text), folded)


def _types(store: Store, ids: dict[str, int]) -> Iterator[tuple[str, int, int]]:
    ancestors: dict[str, list[str]] = {}
    for row in store.query(f"""SELECT ?c ?super WHERE {{ ?c <{RDFS.subClassOf}>+ ?super
                                FILTER (isIRI(?c) && isIRI(?super) && ?c != ?super) }}"""):
        ancestors.setdefault(row["c"].value, []).append(row["super"].value)
    for iri, obj in _objects(store, str(RDF.type)):
        thing = ids.get(iri)
        if thing is None or not isinstance(obj, pyoxigraph.NamedNode):
            continue
        yield (obj.value, thing, 1)
        for ancestor in ancestors.get(obj.value, ()):
            yield (ancestor, thing, 0)


def _descriptions(store: Store, ids: dict[str, int]) -> Iterator[tuple[int, str, str]]:
    for predicate in DESCRIPTION_PREDICATES:
        for iri, obj in _objects(store, str(predicate)):
            thing = ids.get(iri)
            if thing is None or not isinstance(obj, pyoxigraph.Literal) or (obj.language or "") not in LANGUAGES:
                continue
            text = " ".join(obj.value.split())
            if len(text) > DESCRIPTION_CHARS:
                text = text[:DESCRIPTION_CHARS - 1].rsplit(" ", 1)[0] + "…"
            yield (thing, obj.language or "", text)
