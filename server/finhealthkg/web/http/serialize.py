"""Triples and graphs to bytes, one path for every store (pyoxigraph's serialisers)."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph
from rdflib import Graph

from ...query import answers
from ...terms import from_rdflib as term_from_rdflib
from .negotiation import Format


def triples_bytes(triples: Iterable[pyoxigraph.Triple], fmt: Format) -> bytes:
    return answers.triples_bytes(triples, fmt.name)


def graph_bytes(graph: Graph, fmt: Format) -> bytes:
    """An rdflib graph (small: service description, cached graphs) in an RDF format."""
    return triples_bytes((from_rdflib(triple) for triple in graph), fmt)


def from_rdflib(triple: tuple) -> pyoxigraph.Triple:
    s, p, o = triple
    return pyoxigraph.Triple(term_from_rdflib(s), term_from_rdflib(p), term_from_rdflib(o))
