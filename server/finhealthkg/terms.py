"""RDF terms between pyoxigraph (the store, the parsers) and rdflib (pyshacl, small graphs)."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

OxTerm = pyoxigraph.NamedNode | pyoxigraph.BlankNode | pyoxigraph.Literal
OxTriple = pyoxigraph.Triple


def to_rdflib(term: OxTerm) -> Node:
    """An Oxigraph term as the rdflib term that means the same."""
    if isinstance(term, pyoxigraph.NamedNode):
        return URIRef(term.value)
    if isinstance(term, pyoxigraph.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == str(XSD.string):  # rdflib parses "x" without a datatype
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def from_rdflib(term: Node) -> OxTerm:
    """An rdflib term as the Oxigraph term that means the same."""
    if isinstance(term, URIRef):
        return pyoxigraph.NamedNode(str(term))
    if isinstance(term, BNode):
        return pyoxigraph.BlankNode(str(term))
    if not isinstance(term, Literal):
        raise TypeError(f"not an RDF term: {term!r}")
    if term.language:
        return pyoxigraph.Literal(str(term), language=term.language)
    datatype = term.datatype or XSD.string
    return pyoxigraph.Literal(str(term), datatype=pyoxigraph.NamedNode(str(datatype)))


def rdflib_graph(triples: Iterable[OxTriple]) -> Graph:
    """pyoxigraph triples as an rdflib Graph (small graphs only: pages, the catalogue)."""
    graph = Graph()
    for triple in triples:
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    return graph
