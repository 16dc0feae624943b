"""Answers and graphs to bytes, one path for every store (pyoxigraph's serialisers)."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef

from .. import results
from .negotiation import Format


def answer_bytes(answer: object, fmt: Format) -> bytes:
    """A SELECT/ASK answer in a results format, or CONSTRUCT/DESCRIBE triples in an RDF format."""
    return results.answer_bytes(answer, fmt.name)


def triples_bytes(triples: Iterable[pyoxigraph.Triple], fmt: Format) -> bytes:
    return results.triples_bytes(triples, fmt.name)


def graph_bytes(graph: Graph, fmt: Format) -> bytes:
    """An rdflib graph (small: service description, cached graphs) in an RDF format."""
    return triples_bytes((from_rdflib(triple) for triple in graph), fmt)


def to_rdflib(triples: Iterable[pyoxigraph.Triple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add((_term_to_rdflib(triple.subject), _term_to_rdflib(triple.predicate),
                   _term_to_rdflib(triple.object)))
    return graph


def from_rdflib(triple: tuple) -> pyoxigraph.Triple:
    s, p, o = triple
    return pyoxigraph.Triple(_term_from_rdflib(s), _term_from_rdflib(p), _term_from_rdflib(o))


def _term_to_rdflib(term):  # noqa: ANN001, ANN202 - pyoxigraph term -> rdflib term
    if isinstance(term, pyoxigraph.NamedNode):
        return URIRef(term.value)
    if isinstance(term, pyoxigraph.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _term_from_rdflib(term):  # noqa: ANN001, ANN202 - rdflib term -> pyoxigraph term
    if isinstance(term, URIRef):
        return pyoxigraph.NamedNode(str(term))
    if isinstance(term, BNode):
        return pyoxigraph.BlankNode(str(term))
    if term.language:
        return pyoxigraph.Literal(str(term), language=term.language)
    datatype = term.datatype or URIRef("http://www.w3.org/2001/XMLSchema#string")
    return pyoxigraph.Literal(str(term), datatype=pyoxigraph.NamedNode(str(datatype)))
