"""Change sets between two releases: the triples of the knowledge graph added and removed.

A change set is computed once, when a release is built, against the release before it,
and written into the new release directory (CHANGE_FILES), so nothing is ever diffed per
request; `finhealthkg diff A B` computes one for any pair. The formats:

    changes.rdfp          RDF Patch (https://afs.github.io/rdf-patch/): `H id`, `H prev`,
                          one transaction of `D` rows then `A` rows, N-Triples terms
    changes-added.ttl     the triples added, as a Turtle graph
    changes-removed.ttl   the triples removed, as a Turtle graph
    changes.json          the summary: counts, and the things added, removed and changed, by type

Triples are compared as they are, so a blank node would differ from every other blank node:
the knowledge graph has none (tests/test_data.py), and a change set refuses to compare
graphs that hold any rather than report a false difference.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph
from pyoxigraph import NamedNode, RdfFormat

from ..change_files import ADDED, PATCH, REMOVED, SUMMARY, UNTYPED
from ..namespaces import DATASET_GRAPHS, PREFIXES

RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


class ChangeSetError(Exception):
    """Two releases cannot be compared; the message says why."""


@dataclass(frozen=True)
class ChangeSet:
    """What changed from release `previous` to release `version` (N-Triples order)."""

    version: str
    previous: str
    added: tuple[pyoxigraph.Triple, ...]
    removed: tuple[pyoxigraph.Triple, ...]
    types: dict[str, tuple[str, ...]]  # subject IRI -> its classes, for every changed subject
    things: dict[str, str]  # subject IRI -> "added" (not there before), "removed" (gone after) or "changed"

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed


def patch_id(base_iri: str, version: str) -> str:
    """The RDF Patch id of the change set that leads to `version`: the same on every build of it."""
    return f"uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base_iri}release/{version}')}"


def dataset_store(store_path: Path | None, dump: Path) -> pyoxigraph.Store:
    """The knowledge graph of a release to compare: its store, read-only, or (when the build
    pruned it) its N-Triples dump in memory."""
    if store_path is not None and store_path.is_dir():
        return pyoxigraph.Store.read_only(str(store_path))
    store = pyoxigraph.Store()
    with gzip.open(dump, "rb") as triples:
        store.bulk_load(input=triples, format=RdfFormat.N_TRIPLES, to_graph=NamedNode(str(DATASET_GRAPHS[0])))
    return store


def compare(old: pyoxigraph.Store, new: pyoxigraph.Store, *, previous: str, version: str) -> ChangeSet:
    """The change set from `old` to `new`, each the store of a release (dataset graphs only)."""
    before, after = _lines(old), _lines(new)
    added = _parsed(after - before)
    removed = _parsed(before - after)
    del before, after
    subjects = {t.subject for t in (*added, *removed)}
    types = {s.value: _types(new, s) or _types(old, s) for s in subjects}
    things = {}
    for subject in subjects:
        had, has = _has_triples_about(old, subject), _has_triples_about(new, subject)
        things[subject.value] = "changed" if had and has else "added" if has else "removed"
    return ChangeSet(version, previous, tuple(added), tuple(removed), types, things)


def _graphs(store: pyoxigraph.Store) -> list[NamedNode]:
    names = {g.value for g in store.named_graphs() if isinstance(g, NamedNode)}
    return [NamedNode(str(g)) for g in DATASET_GRAPHS if str(g) in names]


def _lines(store: pyoxigraph.Store) -> set[bytes]:
    """Each triple of the knowledge graph once (ontology and data may both hold it), as its
    N-Triples line: Oxigraph writes a term one way only, so equal lines are equal triples, and
    two sets of a million lines are compared in seconds, where a lookup per triple takes
    minutes."""
    graphs = _graphs(store)
    if not graphs:
        return set()
    blank = store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER (isBlank(?s) || isBlank(?o)) } LIMIT 1",
                        default_graph=graphs)
    for row in blank:
        raise ChangeSetError(f"the knowledge graph holds a blank node ({row['s']} {row['p']} {row['o']}): "
                             "releases are compared triple by triple, so give it an IRI")
    lines: set[bytes] = set()
    for graph in graphs:  # dumped by Oxigraph itself: no Python object per triple
        lines.update(store.dump(format=RdfFormat.N_TRIPLES, from_graph=graph).splitlines())
    return lines


def _parsed(lines: set[bytes]) -> list[pyoxigraph.Triple]:
    triples = pyoxigraph.parse(b"\n".join(lines), format=RdfFormat.N_TRIPLES) if lines else ()
    return sorted((quad.triple for quad in triples), key=str)


def _has_triples_about(store: pyoxigraph.Store, subject: pyoxigraph.NamedNode) -> bool:
    return any(next(iter(store.quads_for_pattern(subject, None, None, g)), None) is not None for g in _graphs(store))


def _types(store: pyoxigraph.Store, subject: pyoxigraph.NamedNode) -> tuple[str, ...]:
    return tuple(sorted({q.object.value for graph in _graphs(store)
                         for q in store.quads_for_pattern(subject, RDF_TYPE, None, graph)}))


def rdf_patch(changes: ChangeSet, base_iri: str) -> bytes:
    """The change set as one RDF Patch transaction: deletions first, then additions."""
    lines = [f"H id <{patch_id(base_iri, changes.version)}> .",
             f"H prev <{patch_id(base_iri, changes.previous)}> .", "TX ."]
    lines += [f"D {triple} ." for triple in changes.removed]
    lines += [f"A {triple} ." for triple in changes.added]
    lines.append("TC .")
    return ("\n".join(lines) + "\n").encode("utf-8")


def turtle(triples: Iterable[pyoxigraph.Triple], comment: str) -> bytes:
    return f"# {comment}\n".encode() + (pyoxigraph.serialize(triples, format=RdfFormat.TURTLE,
                                                             prefixes=PREFIXES) or b"")


def summary(changes: ChangeSet) -> dict[str, Any]:
    """Counts and the things added (every triple new), removed (every triple gone) and changed, by type."""
    things: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    for subject, kind in sorted(changes.things.items()):
        things[kind].append(subject)
    by_type: dict[str, dict[str, int]] = {}
    for kind, subjects in things.items():
        for subject in subjects:
            for cls in changes.types.get(subject) or (UNTYPED,):
                by_type.setdefault(cls, {"added": 0, "removed": 0, "changed": 0})[kind] += 1
    return {
        "version": changes.version, "previous": changes.previous,
        "triples": {"added": len(changes.added), "removed": len(changes.removed)},
        "things": {kind: [{"iri": s, "types": list(changes.types.get(s, ()))} for s in subjects]
                   for kind, subjects in things.items()},
        "by_type": dict(sorted(by_type.items())),
    }


def write_change_set(directory: Path, changes: ChangeSet, base_iri: str, writing) -> None:  # noqa: ANN001
    """The four files of a change set into a (staging) release directory; `writing(path)` opens
    a file the way the release writer does (flushed, errors naming the file)."""
    bodies = {
        PATCH: rdf_patch(changes, base_iri),
        ADDED: turtle(changes.added, f"Triples added by release {changes.version} since {changes.previous}"),
        REMOVED: turtle(changes.removed, f"Triples removed by release {changes.version} since {changes.previous}"),
        SUMMARY: json.dumps(summary(changes), indent=2, ensure_ascii=False).encode() + b"\n",
    }
    for name, body in bodies.items():
        with writing(directory / name) as out:
            out.write(body)
