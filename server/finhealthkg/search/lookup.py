"""Lookups in a release's search index (index.py), opened read-only: ranked name search
with type filters, and what a result shows (name in the reader's language, types, description).

Candidates come from three indexes, each bounded: the B-tree on folded names (exact and
whole-name prefixes), FTS5 words (whole words and word prefixes) and FTS5 trigrams
(substrings, only when the others found too little); text.score ranks them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .index import FORMAT
from .text import exact_form, fold, score

CANDIDATES = 400  # per index and query: enough to rank, bounded at any graph size
LANGUAGE_BONUS = 0.5  # a name in the reader's language ranks above the same match in another


class SearchUnavailable(Exception):
    """The release has no usable search index; the message says why."""


def _shown(path: Path) -> str:
    """The index as messages name it: `<release>/search.sqlite`, never the server's whole path."""
    return f"{path.parent.name}/{path.name}"


@dataclass(frozen=True)
class Hit:
    iri: str
    name: str  # in the reader's language when it has one
    score: float
    matched: str = ""  # the name that matched the query
    matched_lang: str = ""
    types: tuple[str, ...] = ()  # direct rdf:types
    description: str = ""
    names: dict[str, str] = field(default_factory=dict)  # language -> preferred name


class SearchIndex:
    """One release's search.sqlite, opened read-only (immutable: a release never changes)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise SearchUnavailable(f"{path.name} is missing from release {path.parent.name}: "
                                    "rebuild it with `finhealthkg build --force`")
        self.path = path
        self._local = threading.local()
        try:
            found = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError as error:
            raise SearchUnavailable(f"{_shown(path)}: not a readable search index: {error}") from None
        if found is None or found[0] != FORMAT:
            raise SearchUnavailable(f"{_shown(path)}: search index format {found and found[0]!r}, this finhealthkg "
                                    f"reads {FORMAT}; rebuild the release with `finhealthkg build --force`")

    @property
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)  # one connection per thread: sqlite3's own rule
        if db is None:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            self._local.db = db
        return db

    def search(self, query: str, *, types: Sequence[str] = (), lang: str = "en", limit: int = 10,
               offset: int = 0) -> list[Hit]:
        """Things whose names match `query`, best first; `types` keeps things of any of these
        classes (subclasses included)."""
        qe, qf = exact_form(query), fold(query)
        if not qf:
            return []
        best: dict[int, tuple[float, str, str]] = {}  # thing -> (score, name, lang)
        wanted = offset + limit
        for thing, text, name_lang, kind, exact, folded in self._candidates(qf, types, wanted):
            value = score(qe, qf, exact, folded, kind)
            if value <= 0:
                continue
            value = min(100.0, value + (LANGUAGE_BONUS if name_lang == lang and value < 100 else 0.0))
            if thing not in best or value > best[thing][0]:
                best[thing] = (value, text, name_lang)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], len(item[1][1]), item[1][1], item[0]))
        page = ranked[offset:offset + limit]
        shown = self._things([thing for thing, _ in page], lang)
        return [Hit(**shown[thing], score=round(value, 2), matched=text, matched_lang=name_lang)
                for thing, (value, text, name_lang) in page]

    def _candidates(self, qf: str, types: Sequence[str], wanted: int) -> Iterable[tuple]:
        columns = "n.thing, n.text, n.lang, n.kind, n.exact, n.folded"
        where, args = "", []
        if types:
            # a point lookup in the (type, thing) key per candidate, never a list of every thing of the type
            where = (f" AND EXISTS (SELECT 1 FROM types t WHERE t.type IN ({', '.join('?' * len(types))})"
                     " AND t.thing = n.thing)")
            args = list(types)
        db = self._db
        # whole names equal to the query or starting with it
        found = db.execute(f"SELECT {columns} FROM names n WHERE n.folded >= ? AND n.folded < ?{where} "
                           f"ORDER BY length(n.folded) LIMIT {CANDIDATES}", [qf, qf + "\U0010ffff", *args]).fetchall()
        words = qf.split()
        expression = " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*'
        found += db.execute(f"SELECT {columns} FROM words JOIN names n ON n.id = words.rowid "
                            f"WHERE words MATCH ?{where} ORDER BY length(n.folded) LIMIT {CANDIDATES}",
                            [expression, *args]).fetchall()
        if len({row[0] for row in found}) < wanted and len(qf) >= 3:  # substrings only when needed
            found += db.execute(f"SELECT {columns} FROM grams JOIN names n ON n.id = grams.rowid "
                                f"WHERE grams MATCH ?{where} ORDER BY length(n.folded) LIMIT {CANDIDATES}",
                                [f'"{qf}"', *args]).fetchall()
        return found

    def _things(self, things: list[int], lang: str) -> dict[int, dict]:
        """Name, types and description of each thing, in the reader's language first."""
        if not things:
            return {}
        marks = ", ".join("?" * len(things))
        order: dict[str, int] = {}
        for code in (lang, "en", "fi", "sv", ""):  # the reader's language first
            order.setdefault(code, len(order))
        shown: dict[int, dict] = {}
        for thing, iri in self._db.execute(f"SELECT id, iri FROM things WHERE id IN ({marks})", things):
            shown[thing] = {"iri": iri, "name": iri, "types": (), "description": "", "names": {}}
        preferred: dict[int, tuple] = {}
        for thing, text, name_lang, kind in self._db.execute(
                f"SELECT thing, text, lang, kind FROM names WHERE thing IN ({marks}) AND kind < 2", things):
            if kind == 0:
                shown[thing]["names"].setdefault(name_lang, text)
            rank = (kind, order.get(name_lang, 9), text)
            if thing not in preferred or rank < preferred[thing]:
                preferred[thing] = rank
                shown[thing]["name"] = text
        for thing, type_ in self._db.execute(
                f"SELECT thing, type FROM types WHERE thing IN ({marks}) AND direct = 1 ORDER BY type", things):
            shown[thing]["types"] += (type_,)
        described: dict[int, int] = {}
        for thing, text, text_lang in self._db.execute(
                f"SELECT thing, text, lang FROM descriptions WHERE thing IN ({marks})", things):
            rank = order.get(text_lang, 9)
            if rank < described.get(thing, 99):
                described[thing] = rank
                shown[thing]["description"] = text
        return shown

    def thing(self, iri: str, lang: str = "en") -> Hit | None:
        """One thing by its IRI (a query may be an identifier), or None."""
        found = self._db.execute("SELECT id FROM things WHERE iri = ?", (iri,)).fetchone()
        if found is None:
            return None
        return Hit(**self._things([found[0]], lang)[found[0]], score=100.0)

    def types_of(self, iri: str) -> set[str]:
        """Every class of a thing, superclasses included."""
        return {row[0] for row in self._db.execute(
            "SELECT type FROM types JOIN things ON things.id = types.thing WHERE things.iri = ?", (iri,))}

    def classes(self, lang: str = "en") -> list[tuple[str, str, int]]:
        """(class IRI, its name or "" when it has none, how many things are of it) for every class
        used, most used first."""
        rows = self._db.execute("SELECT type, count(*) FROM types GROUP BY type ORDER BY count(*) DESC, type")
        counts = rows.fetchall()
        named = self._names_of([iri for iri, _ in counts], lang)
        return [(iri, named.get(iri, ""), count) for iri, count in counts]

    def _names_of(self, iris: list[str], lang: str) -> dict[str, str]:
        if not iris:
            return {}
        marks = ", ".join("?" * len(iris))
        ids = dict(self._db.execute(f"SELECT id, iri FROM things WHERE iri IN ({marks})", iris).fetchall())
        return {ids[thing]: hit["name"] for thing, hit in self._things(list(ids), lang).items()}

    def names(self, iris: list[str], lang: str = "en") -> dict[str, str]:
        """The reader's-language name of each IRI the index knows."""
        return self._names_of(iris, lang)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
