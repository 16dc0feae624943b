"""Query answers to bytes, with the row limit: plain pyoxigraph, no web framework, so that
query worker processes (executor.py) and the web layer share one serialiser."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pyoxigraph

from .prefixes import PREFIXES

RESULT_FORMATS = {
    "json": pyoxigraph.QueryResultsFormat.JSON,
    "xml": pyoxigraph.QueryResultsFormat.XML,
    "csv": pyoxigraph.QueryResultsFormat.CSV,
    "tsv": pyoxigraph.QueryResultsFormat.TSV,
}
RDF_FORMATS = {
    "turtle": pyoxigraph.RdfFormat.TURTLE,
    "jsonld": pyoxigraph.RdfFormat.JSON_LD,
    "ntriples": pyoxigraph.RdfFormat.N_TRIPLES,
    "rdfxml": pyoxigraph.RdfFormat.RDF_XML,
}


def answer_bytes(answer: object, name: str) -> bytes:
    """SELECT/ASK in a results format, CONSTRUCT/DESCRIBE triples in an RDF format, by format name."""
    if isinstance(answer, pyoxigraph.QuerySolutions | pyoxigraph.QueryBoolean):
        return answer.serialize(format=RESULT_FORMATS[name])
    return triples_bytes(answer, name)  # type: ignore[arg-type]


def triples_bytes(triples: Iterable[pyoxigraph.Triple], name: str) -> bytes:
    rdf = RDF_FORMATS[name]
    prefixes = PREFIXES if rdf in (pyoxigraph.RdfFormat.TURTLE, pyoxigraph.RdfFormat.RDF_XML) else None
    return pyoxigraph.serialize(triples, format=rdf, prefixes=prefixes)


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
    document = {"head": {"vars": names}, "results": {"bindings": rows}}
    solutions = pyoxigraph.parse_query_results(json.dumps(document).encode(),
                                               format=pyoxigraph.QueryResultsFormat.JSON)
    return solutions, truncated


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
