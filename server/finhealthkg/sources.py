"""Read the hand-written sources (ontology/, shapes/, data/) and remember which file each
node came from, so that a validation report can name the file to fix.

Turtle files (*.ttl) of data/ form the data graph. TriG files (*.trig) of data/ add named
graphs of their own, kept under their names in the store (not in the default graph).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from .config import Settings
from .namespaces import GRAPH

# data/catalog.ttl is the hand-written part of the DCAT description of the dataset, not
# knowledge: it is kept apart from the data graph.
CATALOG_FILE = "catalog.ttl"
PARTS = ("ontology", "shapes", "data")


class SourceError(Exception):
    """A source file is missing or does not parse; the message names the file and line."""


@dataclass
class Sources:
    """The parsed sources of one build: a graph per part and where each node was written."""

    root: Path
    ontology: Graph = field(default_factory=Graph)
    shapes: Graph = field(default_factory=Graph)
    data: Graph = field(default_factory=Graph)
    catalog: Graph = field(default_factory=Graph)
    named: dict[str, Graph] = field(default_factory=dict)  # graphs of data/*.trig, by name
    files: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    # node -> files where it is a subject / where it is an object
    subject_files: dict[Node, set[Path]] = field(default_factory=lambda: defaultdict(set))
    object_files: dict[Node, set[Path]] = field(default_factory=lambda: defaultdict(set))

    def knowledge_graph(self) -> Graph:
        """Ontology and data together: what SHACL validates and what the dataset publishes."""
        graph = Graph()
        for prefix, namespace in self.data.namespaces():
            graph.bind(prefix, namespace, override=False)
        graph += self.ontology
        graph += self.data
        for named in self.named.values():
            graph += named
        return graph

    def files_of(self, node: Node | None) -> list[Path]:
        """The files a node is written in: where it is a subject, else where it is mentioned."""
        if node is None or isinstance(node, Literal):
            return []
        found = self.subject_files.get(node) or self.object_files.get(node) or set()
        return sorted(found)

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
        sha.update(path.read_bytes() + b"\0")
    return sha.hexdigest()


def load_sources(settings: Settings) -> Sources:
    """Parse every source file; raise SourceError naming the file when one is broken."""
    sources = Sources(root=settings.root)
    for part, paths in source_files(settings).items():
        if part == "graphs":
            for path in paths:
                _load_named_graphs(sources, path)
            continue
        target: Graph = getattr(sources, part)
        for path in paths:
            graph = parse_file(path)
            _remember_origins(sources, path, graph)
            for prefix, namespace in graph.namespaces():
                target.bind(prefix, namespace, override=False)
            target += graph
            sources.files[part].append(path)
    return sources


def _load_named_graphs(sources: Sources, path: Path) -> None:
    dataset = Dataset()
    try:
        dataset.parse(path, format="trig")
    except Exception as error:  # rdflib raises several types; all mean "this file is broken"
        raise SourceError(f"{path}: not valid TriG: {_first_line(error)}") from error
    for graph in dataset.graphs():
        name = graph.identifier
        if not len(graph):
            continue
        if name == dataset.default_context.identifier or not isinstance(name, URIRef):
            raise SourceError(f"{path}: TriG files in data/ hold named graphs only; "
                              "put default-graph triples in a .ttl file")
        if str(name).startswith(str(GRAPH)):
            raise SourceError(f"{path}: <{name}> is a graph name the publisher reserves")
        if str(name) in sources.named:
            raise SourceError(f"{path}: graph <{name}> is written in two files")
        copy = Graph(identifier=name)
        copy += graph
        _remember_origins(sources, path, copy)
        sources.named[str(name)] = copy
    sources.files["graphs"].append(path)


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


def _remember_origins(sources: Sources, path: Path, graph: Graph) -> None:
    for subject, _predicate, obj in graph:
        sources.subject_files[subject].add(path)
        if not isinstance(obj, Literal):
            sources.object_files[obj].add(path)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return " ".join(text.split("\n")[:3])
