"""Read the hand-written sources (ontology/, shapes/, data/) and find, when a report needs it,
which file each node came from, so that a validation report can name the file to fix.

Turtle files (*.ttl) of data/ form the data graph. TriG files (*.trig) of data/ add named
graphs of their own, kept under their names in the store (not in the default graph).

Everything is parsed by Oxigraph into an in-memory store, each part in its named graph
(namespaces.GRAPH), so that a graph of millions of triples is validated and published without
becoming Python objects. The shapes and the hand-written catalogue, small and read by pyshacl,
the SHACL compiler and the catalogue writer, are rdflib graphs too. rdflib graphs of the
ontology and data are made only when asked for (pyshacl, the reference validator, and tests).
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from pyoxigraph import NamedNode, RdfFormat
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from ..config import Settings
from ..namespaces import DATA_GRAPH, GRAPH, ONTOLOGY_GRAPH, PREFIXES, SHAPES_GRAPH

# data/catalog.ttl is the hand-written part of the DCAT description of the dataset, not
# knowledge: it is kept apart from the data graph.
CATALOG_FILE = "catalog.ttl"
PARTS = ("ontology", "shapes", "data")
_PART_GRAPHS = {"ontology": str(ONTOLOGY_GRAPH), "data": str(DATA_GRAPH), "shapes": str(SHAPES_GRAPH)}


class SourceError(Exception):
    """A source file is missing or does not parse; the message names the file and line."""


@dataclass
class Sources:
    """The parsed sources of one build: a store of every part, rdflib graphs of the small ones."""

    root: Path
    store: pyoxigraph.Store = field(default_factory=pyoxigraph.Store)
    shapes: Graph = field(default_factory=Graph)
    catalog: Graph = field(default_factory=Graph)
    named_graphs: list[str] = field(default_factory=list)  # graphs of data/*.trig, by name
    files: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    # blank nodes of the shapes (as rdflib names them) -> their file
    _shape_blank_files: dict[BNode, set[Path]] = field(default_factory=lambda: defaultdict(set))

    @property
    def knowledge_graphs(self) -> list[str]:
        """The graphs SHACL validates and the dataset publishes: ontology, data, TriG graphs."""
        return [str(ONTOLOGY_GRAPH), str(DATA_GRAPH), *self.named_graphs]

    def triple_count(self, graphs: Iterable[str] | None = None) -> int:
        """Distinct triples in the union of the graphs (default: the knowledge graphs)."""
        names = self.knowledge_graphs if graphs is None else list(graphs)
        # One graph holds each triple once: DISTINCT (a hash of every triple) only for a union
        counted = "?s ?p ?o" if len(names) == 1 else "SELECT DISTINCT ?s ?p ?o { ?s ?p ?o }"
        answer = self.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {counted} }}",
                                  default_graph=[NamedNode(name) for name in names])
        return int(next(iter(answer))["n"].value)

    @functools.cached_property
    def ontology(self) -> Graph:
        return self._rdflib_graph([str(ONTOLOGY_GRAPH)])

    @functools.cached_property
    def data(self) -> Graph:
        return self._rdflib_graph([str(DATA_GRAPH)])

    @functools.cached_property
    def named(self) -> dict[str, Graph]:
        return {name: self._rdflib_graph([name], identifier=URIRef(name)) for name in self.named_graphs}

    def knowledge_graph(self) -> Graph:
        """Ontology, data and TriG graphs as one rdflib graph (for pyshacl and tests)."""
        return self._rdflib_graph(self.knowledge_graphs)

    def _rdflib_graph(self, graphs: list[str], identifier: URIRef | None = None) -> Graph:
        graph = Graph(identifier=identifier)
        for prefix, namespace in PREFIXES.items():
            graph.bind(prefix, namespace)
        triples = (quad.triple for name in graphs
                   for quad in self.store.quads_for_pattern(None, None, None, NamedNode(name)))
        data = pyoxigraph.serialize(triples, format=RdfFormat.N_TRIPLES)
        if data:
            graph.parse(data=data, format="nt")
        return graph

    def files_of(self, node: Node | None) -> list[Path]:
        """The files a node is written in: where it is a subject, else where it is mentioned."""
        if node is None or isinstance(node, Literal):
            return []
        if isinstance(node, BNode):
            return sorted(self._shape_blank_files.get(node, set()))
        subjects, objects = self._origins
        return sorted(subjects.get(str(node)) or objects.get(str(node)) or set())

    @functools.cached_property
    def _origins(self) -> tuple[dict[str, set[Path]], dict[str, set[Path]]]:
        """Where each IRI is a subject / an object, read from the files again: asked only when a
        report names nodes, so a conforming build of millions of triples never pays for it."""
        subjects: dict[str, set[Path]] = defaultdict(set)
        objects: dict[str, set[Path]] = defaultdict(set)
        for part in ("ontology", "shapes", "data", "graphs"):
            for path in self.files.get(part, []):
                for quad in _parse(path, RdfFormat.TRIG if part == "graphs" else RdfFormat.TURTLE):
                    if isinstance(quad.subject, NamedNode):
                        subjects[quad.subject.value].add(path)
                    if isinstance(quad.object, NamedNode):
                        objects[quad.object.value].add(path)
        return subjects, objects

    def all_files(self) -> list[Path]:
        return sorted(path for paths in self.files.values() for path in paths)

    def relative(self, path: Path) -> str:
        return _relative(self.root, path)


def source_files(settings: Settings) -> dict[str, list[Path]]:
    """The Turtle files of each part (ontology, shapes, data, catalog), without parsing them."""
    directories = {
        "ontology": settings.ontology_dir,
        "shapes": settings.shapes_dir,
        "data": settings.data_dir,
    }
    files: dict[str, list[Path]] = defaultdict(list)
    for part, directory in directories.items():
        if not directory.is_dir():
            raise SourceError(f"{directory}: the {part} directory is missing (is --root right?)")
        for path in sorted(p for p in directory.glob("*.ttl") if p.is_file()):
            files["catalog" if part == "data" and path.name == CATALOG_FILE else part].append(path)
        if part == "data":
            files["graphs"] = sorted(p for p in directory.glob("*.trig") if p.is_file())
    if not files["data"] and not files["graphs"]:
        raise SourceError(f"{settings.data_dir}: no Turtle (*.ttl) or TriG (*.trig) files to publish")
    return files


def digest_of(root: Path, files: dict[str, list[Path]]) -> str:
    """A fingerprint of every source file's name and bytes; equal digests, equal sources."""
    sha = hashlib.sha256()
    for path in sorted(p for paths in files.values() for p in paths):
        sha.update(_relative(root, path).encode() + b"\0")
        with path.open("rb") as source:  # in blocks: a generated data file may be gigabytes
            for block in iter(lambda: source.read(1 << 20), b""):
                sha.update(block)
        sha.update(b"\0")
    return sha.hexdigest()


def load_sources(settings: Settings) -> Sources:
    """Parse every source file; raise SourceError naming the file when one is broken."""
    sources = Sources(root=settings.root)
    for part, paths in source_files(settings).items():
        for path in paths:
            if part == "graphs":
                _load_named_graphs(sources, path)
            elif part == "catalog":
                sources.catalog += parse_file(path)
            else:
                _load_turtle(sources, path, _PART_GRAPHS[part])
                if part == "shapes":  # read by pyshacl and the SHACL compiler as rdflib
                    shapes = parse_file(path)
                    for prefix, namespace in shapes.namespaces():
                        sources.shapes.bind(prefix, namespace, override=False)
                    sources.shapes += shapes
                    for node in {*shapes.subjects(), *shapes.objects()}:
                        if isinstance(node, BNode):
                            sources._shape_blank_files[node].add(path)
            sources.files[part].append(path)
    return sources


def _load_turtle(sources: Sources, path: Path, graph: str) -> None:
    try:
        sources.store.bulk_load(path=str(path), format=RdfFormat.TURTLE, to_graph=NamedNode(graph),
                                base_iri=path.as_uri())
    except SyntaxError as error:
        raise SourceError(f"{path}: not valid Turtle: {_first_line(error)}") from None


def _load_named_graphs(sources: Sources, path: Path) -> None:
    names: set[str] = set()
    for quad in _parse(path, RdfFormat.TRIG):  # checked before anything is loaded
        name = quad.graph_name
        if not isinstance(name, NamedNode):
            raise SourceError(f"{path}: TriG files in data/ hold named graphs only; "
                              "put default-graph triples in a .ttl file")
        names.add(name.value)
    for name in sorted(names):
        if name.startswith(str(GRAPH)):
            raise SourceError(f"{path}: <{name}> is a graph name the publisher reserves")
        if name in sources.named_graphs:
            raise SourceError(f"{path}: graph <{name}> is written in two files")
    sources.store.bulk_load(path=str(path), format=RdfFormat.TRIG, base_iri=path.as_uri())
    sources.named_graphs.extend(sorted(names))


def _parse(path: Path, kind: RdfFormat) -> Iterable[pyoxigraph.Quad]:
    try:
        yield from pyoxigraph.parse(path=str(path), format=kind, base_iri=path.as_uri())
    except SyntaxError as error:
        what = "TriG" if kind == RdfFormat.TRIG else "Turtle"
        raise SourceError(f"{path}: not valid {what}: {_first_line(error)}") from None


def _relative(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def parse_file(path: Path) -> Graph:
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception as error:  # rdflib raises several types; all mean "this file is broken"
        raise SourceError(f"{path}: not valid Turtle: {_first_line(error)}") from error
    return graph


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return " ".join(text.split("\n")[:3])
