"""Query answers to bytes, bounded in rows and bytes: plain pyoxigraph, no web framework, so
that the query processes (query/process.py) and the web layer share one serialiser."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

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


FORMS = ("solutions", "boolean", "graph")  # what a query answers, as query processes name it


def form_of(answer: object) -> str:
    if isinstance(answer, pyoxigraph.QuerySolutions):
        return "solutions"
    return "boolean" if isinstance(answer, pyoxigraph.QueryBoolean) else "graph"


@dataclass(frozen=True)
class Bounded:
    body: bytes
    cut: str | None  # None: whole; "rows": past the row limit; "bytes": past the byte limit


def bounded_answer(answer: object, name: str, row_limit: int, max_bytes: int) -> Bounded:
    """An answer in format `name`, cut after `row_limit` rows (or triples) and before
    `max_bytes` bytes, always at a row's end: a cut answer is still a valid document."""
    if isinstance(answer, pyoxigraph.QueryBoolean):
        return Bounded(answer.serialize(format=RESULT_FORMATS[name]), None)
    if isinstance(answer, pyoxigraph.QuerySolutions):
        return _solutions(answer, name, row_limit, max_bytes)
    triples = list(itertools.islice(answer, row_limit + 1))  # type: ignore[call-overload]
    cut = "rows" if len(triples) > row_limit else None
    del triples[row_limit:]
    body = triples_bytes(triples, name)
    while len(body) > max_bytes and triples:  # fewer triples, in proportion, until it fits
        keep = min(len(triples) - 1, int(len(triples) * max_bytes / len(body) * 0.95))
        del triples[max(0, keep):]
        body, cut = triples_bytes(triples, name), "bytes"
    return Bounded(body, cut)


def _solutions(answer: pyoxigraph.QuerySolutions, name: str, row_limit: int, max_bytes: int) -> Bounded:
    """Rows written one by one (pyoxigraph writes a whole answer or nothing, and reading a
    written one back refuses literals over 16 MiB), in the W3C results formats."""
    names = [v.value for v in answer.variables]
    head, row, tail = _WRITERS[name](names)
    parts = [head]
    size = len(head) + len(tail)
    cut = None
    for count, solution in enumerate(answer):
        if count == row_limit:
            cut = "rows"
            break
        written = row(list(solution))  # its values, in the order of the variables
        if size + len(written) > max_bytes:
            cut = "bytes"
            break
        parts.append(written)
        size += len(written)
    parts.append(tail)
    return Bounded(b"".join(parts), cut)


def _json_writer(names: list[str]):  # noqa: ANN202 - (head, row, tail)
    variables = json.dumps(names, separators=(",", ":"))
    head = ('{"head":{"vars":' + variables + '},"results":{"bindings":[').encode()
    first = [True]

    def row(values: list) -> bytes:
        binding = {n: _json_term(v) for n, v in zip(names, values, strict=True) if v is not None}
        comma, first[0] = ("" if first[0] else ","), False
        return (comma + _JSON.encode(binding)).encode()
    return head, row, b"]}}"


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _xml_writer(names: list[str]):  # noqa: ANN202
    variables = "".join(f'<variable name="{escape(n)}"/>' for n in names)
    head = ('<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head>{variables}</head><results>").encode()

    def row(values: list) -> bytes:
        bindings = "".join(f'<binding name="{escape(n)}">{_xml_term(v)}</binding>'
                           for n, v in zip(names, values, strict=True) if v is not None)
        return f"<result>{bindings}</result>".encode()
    return head, row, b"</results></sparql>"


def _csv_writer(names: list[str]):  # noqa: ANN202
    def line(cells: list[str]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(cells)
        return out.getvalue().encode()

    def row(values: list) -> bytes:
        return line(["" if v is None else _plain(v) for v in values])
    return line(names), row, b""


def _tsv_writer(names: list[str]):  # noqa: ANN202
    def row(values: list) -> bytes:
        return ("\t".join("" if v is None else _tsv_term(v) for v in values) + "\n").encode()
    return ("\t".join(f"?{n}" for n in names) + "\n").encode(), row, b""


_WRITERS = {"json": _json_writer, "xml": _xml_writer, "csv": _csv_writer, "tsv": _tsv_writer}


def _plain(term) -> str:  # noqa: ANN001 - a pyoxigraph term; CSV writes values without their kind
    if isinstance(term, pyoxigraph.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, pyoxigraph.NamedNode | pyoxigraph.Literal):
        return term.value
    return str(term)  # a triple term, in N-Triples


def _xml_term(term) -> str:  # noqa: ANN001
    if isinstance(term, pyoxigraph.NamedNode):
        return f"<uri>{_text(term.value)}</uri>"
    if isinstance(term, pyoxigraph.BlankNode):
        return f"<bnode>{_text(term.value)}</bnode>"
    if isinstance(term, pyoxigraph.Literal):
        if term.language:
            return f'<literal xml:lang="{escape(term.language)}">{_text(term.value)}</literal>'
        if term.datatype.value != _XSD_STRING:
            return f'<literal datatype="{escape(term.datatype.value)}">{_text(term.value)}</literal>'
        return f"<literal>{_text(term.value)}</literal>"
    parts = "".join(f"<{k}>{_xml_term(getattr(term, k))}</{k}>" for k in ("subject", "predicate", "object"))
    return f"<triple>{parts}</triple>"


_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = _XSD + "string"
# TSV writes numbers and booleans bare where Turtle would (as Oxigraph's own writer does)
_BARE = {_XSD + "integer": re.compile(r"[+-]?[0-9]+"), _XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
         _XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.?[0-9]+)[eE][+-]?[0-9]+"),
         _XSD + "boolean": re.compile(r"true|false")}


def _tsv_term(term) -> str:  # noqa: ANN001
    if isinstance(term, pyoxigraph.Literal) and not term.language:
        bare = _BARE.get(term.datatype.value)
        if bare is not None and bare.fullmatch(term.value):
            return term.value
    return str(term)


def _text(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _json_term(term) -> dict:  # noqa: ANN001 - a pyoxigraph term
    if isinstance(term, pyoxigraph.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, pyoxigraph.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, pyoxigraph.Literal):
        value = {"type": "literal", "value": term.value}
        if term.language:
            value["xml:lang"] = term.language
        elif term.datatype.value != _XSD_STRING:
            value["datatype"] = term.datatype.value
        return value
    return {"type": "triple", "value": {k: _json_term(getattr(term, k)) for k in ("subject", "predicate", "object")}}
