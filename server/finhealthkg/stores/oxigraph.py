"""The embedded store: an Oxigraph database inside the release directory.

The build creates it with `create` (bulk loading each source file into its graph); the
server opens it with `OxigraphStore.open_read_only`, so several processes can share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyoxigraph
from pyoxigraph import NamedNode, RdfFormat

from ..namespaces import DATASET_GRAPHS
from .base import Answer, QueryDataset, StoreError


def dataset_graphs(dataset: QueryDataset | None) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """(default graph names, named graph names or None for all) of a query's dataset."""
    if dataset is not None and (dataset.default_graphs or dataset.named_graphs):
        # A protocol dataset replaces the whole dataset (SPARQL 1.1 Protocol §2.1.4):
        # what it does not name is empty.
        return dataset.default_graphs, dataset.named_graphs
    return tuple(str(g) for g in DATASET_GRAPHS), None


class OxigraphStore:
    """A Store over a pyoxigraph database."""

    def __init__(self, store: pyoxigraph.Store, path: Path | None = None) -> None:
        self._store = store
        self.path = path  # its directory (query processes open it too); None: in memory

    @property
    def database(self) -> pyoxigraph.Store:
        """The pyoxigraph store itself, for reading it triple by triple (pipeline/changes.py)."""
        return self._store

    @classmethod
    def open_read_only(cls, path: Path) -> OxigraphStore:
        if not path.is_dir():
            raise StoreError(f"{path}: no Oxigraph store there (the release is incomplete)")
        try:
            return cls(pyoxigraph.Store.read_only(str(path)), path)
        except OSError as error:
            raise StoreError(f"{path}: the Oxigraph store cannot be opened: {error}") from error

    @classmethod
    def create(cls, path: Path, loads: Iterable[tuple[Path, str]]) -> OxigraphStore:
        """A new store at `path` holding each Turtle file in the named graph paired with it."""
        store = pyoxigraph.Store(str(path))
        for file, graph in loads:
            store.bulk_load(path=str(file), format=RdfFormat.TURTLE, to_graph=NamedNode(graph))
        return cls(store, path)

    def load_dataset(self, path: Path) -> None:
        """A TriG file, each graph under its own name."""
        self._store.bulk_load(path=str(path), format=RdfFormat.TRIG)

    def add_turtle(self, data: bytes, graph: str) -> None:
        self._store.bulk_load(input=data, format=RdfFormat.TURTLE, to_graph=NamedNode(graph))

    def query(
        self, sparql: str, *, dataset: QueryDataset | None = None, base_iri: str | None = None
    ) -> Answer:
        default, named = dataset_graphs(dataset)
        options: dict = {"default_graph": [NamedNode(g) for g in default]}
        if named is not None:
            options["named_graphs"] = [NamedNode(g) for g in named]
        return self._store.query(sparql, base_iri=base_iri, **options)

    def triples(self, graph: str) -> Iterator[pyoxigraph.Triple]:
        """Every triple of one graph, grouped by subject (the store's SPOG order)."""
        for quad in self._store.quads_for_pattern(None, None, None, NamedNode(graph)):
            yield quad.triple

    def contains(self, triple: pyoxigraph.Triple, graph: str) -> bool:
        found = self._store.quads_for_pattern(
            triple.subject, triple.predicate, triple.object, NamedNode(graph))
        return next(iter(found), None) is not None

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, NamedNode))

    def triple_count(self, graphs: Iterable[str] | None = None) -> int:
        names = list(graphs) if graphs is not None else [str(g) for g in DATASET_GRAPHS]
        total = 0
        for name in names:
            answer = self._store.query(
                "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=NamedNode(name))
            total += int(next(iter(answer))["n"].value)
        return total

    def flush(self) -> None:
        self._store.flush()

    def close(self) -> None:
        # pyoxigraph has no close(): dropping the last reference releases the database.
        self._store = None  # type: ignore[assignment]
