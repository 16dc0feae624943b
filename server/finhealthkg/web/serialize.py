"""Answers and graphs to bytes, one path for every store (pyoxigraph's serialisers)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef

from ..namespaces import PREFIXES
from .negotiation import Format


def answer_bytes(answer: object, fmt: Format) -> bytes:
    """A SELECT/ASK answer in a results format, or CONSTRUCT/DESCRIBE triples in an RDF format."""
    if isinstance(answer, pyoxigraph.QuerySolutions | pyoxigraph.QueryBoolean):
        assert fmt.results is not None
        return answer.serialize(format=fmt.results)
    return triples_bytes(answer, fmt)  # type: ignore[arg-type]


def capped(answer: pyoxigraph.QuerySolutions, limit: int) -> tuple[pyoxigraph.QuerySolutions, bool]:
    """The first `limit` rows of an answer, and whether there were more."""
    names = [v.value for v in answer.variables]
    rows: list[dict] = []
    truncated = False
    for row in answer:
        if len(rows) == limit:
            truncated = True
            break
        rows.append({name: _json_term(row[name]) for name in names if row[name] is not None})
    return _solutions(names, rows), truncated


def _solutions(names: list[str], rows: list[dict]) -> pyoxigraph.QuerySolutions:
    document = {"head": {"vars": names}, "results": {"bindings": rows}}
    return pyoxigraph.parse_query_results(json.dumps(document).encode(), format=pyoxigraph.QueryResultsFormat.JSON)


def _json_term(term) -> dict:  # noqa: ANN001 - a pyoxigraph term
    if isinstance(term, pyoxigraph.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, pyoxigraph.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, pyoxigraph.Literal):
        value = {"type": "literal", "value": term.value}
        if term.language:
            value["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            value["datatype"] = term.datatype.value
        return value
    return {"type": "triple", "value": {k: _json_term(getattr(term, k)) for k in ("subject", "predicate", "object")}}


def triples_bytes(triples: Iterable[pyoxigraph.Triple], fmt: Format) -> bytes:
    assert fmt.rdf is not None
    prefixes = PREFIXES if fmt.rdf in (pyoxigraph.RdfFormat.TURTLE, pyoxigraph.RdfFormat.RDF_XML) else None
    return pyoxigraph.serialize(triples, format=fmt.rdf, prefixes=prefixes)


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
