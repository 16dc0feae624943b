"""Query answers to bytes, bounded in rows and bytes: plain pyoxigraph, no web framework, so
that the query processes (query/process.py) and the web layer share one serialiser."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pyoxigraph

from ..prefixes import PREFIXES
from .formats import RDF_WRITERS, RESULT_WRITERS


def triples_bytes(triples: Iterable[pyoxigraph.Triple], name: str) -> bytes:
    rdf = RDF_WRITERS[name]
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
        return Bounded(answer.serialize(format=RESULT_WRITERS[name]), None)
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
    written one back refuses literals over 16 MiB), in the W3C results formats, byte for byte
    as pyoxigraph's own writers write them (tests/test_query_processes.py compares them)."""
    names = [v.value for v in answer.variables]
    head, row, tail = _WRITERS[name](names)
    parts = [head]
    size = len(head) + len(tail)
    cut = None
    for count, solution in enumerate(answer):
        if count == row_limit:
            cut = "rows"
            break
        written = row(solution, count).encode()
        if size + len(written) > max_bytes:
            cut = "bytes"
            break
        parts.append(written)
        size += len(written)
    parts.append(tail)
    return Bounded(b"".join(parts), cut)


# A writer, given the variables' names: (head, row(solution, number) -> str, tail). Terms are
# told apart by their exact type: this runs for every value of every answer.
_NAMED, _BLANK, _LITERAL = pyoxigraph.NamedNode, pyoxigraph.BlankNode, pyoxigraph.Literal
_quoted = json.encoder.encode_basestring  # a JSON string, non-ASCII kept, as Oxigraph writes it


def _json_writer(names: list[str]):  # noqa: ANN202 - (head, row, tail)
    keys = [_quoted(n) + ":" for n in names]
    head = ('{"head":{"vars":' + json.dumps(names, separators=(",", ":"), ensure_ascii=False)
            + '},"results":{"bindings":[').encode()

    def row(solution: pyoxigraph.QuerySolution, number: int) -> str:
        cells = ",".join([key + _json_value(v) for key, v in zip(keys, solution, strict=True) if v is not None])
        return ("{" if number == 0 else ",{") + cells + "}"
    return head, row, b"]}}"


def _json_value(term) -> str:  # noqa: ANN001 - a pyoxigraph term
    kind = type(term)
    if kind is _NAMED:
        return '{"type":"uri","value":' + _quoted(term.value) + "}"
    if kind is _LITERAL:
        if term.language:
            direction = term.direction
            return ('{"type":"literal","value":' + _quoted(term.value) + ',"xml:lang":' + _quoted(term.language)
                    + ("" if direction is None else ',"its:dir":' + _quoted(str(direction))) + "}")
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return '{"type":"literal","value":' + _quoted(term.value) + "}"
        return '{"type":"literal","value":' + _quoted(term.value) + ',"datatype":' + _quoted(datatype) + "}"
    if kind is _BLANK:
        return '{"type":"bnode","value":' + _quoted(term.value) + "}"
    return ('{"type":"triple","value":{"subject":' + _json_value(term.subject) + ',"predicate":'
            + _json_value(term.predicate) + ',"object":' + _json_value(term.object) + "}}")


def _xml_writer(names: list[str]):  # noqa: ANN202
    variables = "".join(f'<variable name="{escape(n)}"/>' for n in names)
    head = ('<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head>{variables}</head><results>").encode()
    opens = [f'<binding name="{escape(n)}">' for n in names]

    def row(solution: pyoxigraph.QuerySolution, number: int) -> str:
        bindings = "".join([start + _xml_term(v) + "</binding>"
                            for start, v in zip(opens, solution, strict=True) if v is not None])
        return "<result>" + bindings + "</result>"
    return head, row, b"</results></sparql>"


def _csv_writer(names: list[str]):  # noqa: ANN202
    def row(solution: pyoxigraph.QuerySolution, number: int) -> str:
        return ",".join(["" if v is None else _csv_term(v) for v in solution]) + "\r\n"
    return (",".join(_csv_cell(n) for n in names) + "\r\n").encode(), row, b""


def _csv_term(term) -> str:  # noqa: ANN001 - CSV writes values without their kind
    kind = type(term)
    if kind is _NAMED:
        return _csv_cell(term.value)
    if kind is _LITERAL:
        value = term.value
        if value[:1] in _FORMULA_STARTS and term.datatype.value not in _NUMBERS:
            value = "'" + value  # a spreadsheet would run "=HYPERLINK(…)" as a formula (OWASP's advice)
        return _csv_cell(value)
    if kind is _BLANK:
        return "_:" + term.value
    # a triple term: its parts, each as a cell, apart by spaces (as Oxigraph writes it)
    return " ".join(_csv_term(getattr(term, k)) for k in ("subject", "predicate", "object"))


# CSV answers go to spreadsheets, which take a cell beginning so for a formula. A string
# literal beginning so is written after an apostrophe, as OWASP advises ("CSV Injection"); numbers
# ("-5") are left as they are, and so is TSV, whose strings are written quoted.
_FORMULA_STARTS = frozenset("=+-@\t\r")
_XSD = "http://www.w3.org/2001/XMLSchema#"
_NUMBERS = frozenset(_XSD + name for name in (
    "integer", "decimal", "float", "double", "nonPositiveInteger", "negativeInteger", "long", "int", "short",
    "byte", "nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte",
    "positiveInteger"))


def _csv_cell(value: str) -> str:
    """Quoted when it holds a quote, comma or line break (RFC 4180). Oxigraph quotes literals
    so but writes IRIs bare, which splits an IRI with a comma in two cells: quoted here."""
    if '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _tsv_writer(names: list[str]):  # noqa: ANN202
    def row(solution: pyoxigraph.QuerySolution, number: int) -> str:
        return "\t".join(["" if v is None else _tsv_term(v) for v in solution]) + "\n"
    return ("\t".join(f"?{n}" for n in names) + "\n").encode(), row, b""


_WRITERS = {"json": _json_writer, "xml": _xml_writer, "csv": _csv_writer, "tsv": _tsv_writer}


def _xml_term(term) -> str:  # noqa: ANN001
    kind = type(term)
    if kind is _NAMED:
        return "<uri>" + _text(term.value) + "</uri>"
    if kind is _LITERAL:
        if term.language:
            direction = "" if term.direction is None else (
                f' its:dir="{term.direction}" xmlns:its="{_ITS}" its:version="2.0"')
            return f'<literal xml:lang="{_text(term.language)}"{direction}>{_text(term.value)}</literal>'
        if term.datatype.value != _XSD_STRING:
            return f'<literal datatype="{_text(term.datatype.value)}">{_text(term.value)}</literal>'
        return "<literal>" + _text(term.value) + "</literal>"
    if kind is _BLANK:
        return "<bnode>" + _text(term.value) + "</bnode>"
    parts = "".join(f"<{k}>{_xml_term(getattr(term, k))}</{k}>" for k in ("subject", "predicate", "object"))
    return f"<triple>{parts}</triple>"


_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = _XSD + "string"
# TSV writes numbers and booleans bare where Turtle would (as Oxigraph's own writer does)
_BARE = {_XSD + "integer": re.compile(r"[+-]?[0-9]+"), _XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
         _XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.?[0-9]+)[eE][+-]?[0-9]+"),
         _XSD + "boolean": re.compile(r"true|false")}


def _tsv_term(term) -> str:  # noqa: ANN001 - as Oxigraph's TSV writer writes it
    kind = type(term)
    if kind is _NAMED:
        return "<" + term.value + ">"
    if kind is _LITERAL:
        if term.language:
            direction = "" if term.direction is None else f"--{term.direction}"
            return _tsv_string(term.value) + "@" + term.language + direction
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return _tsv_string(term.value)
        bare = _BARE.get(datatype)
        if bare is not None and bare.fullmatch(term.value):
            return term.value
        return _tsv_string(term.value) + "^^<" + datatype + ">"
    if kind is _BLANK:
        return "_:" + term.value
    return "<<( " + " ".join(_tsv_term(getattr(term, k)) for k in ("subject", "predicate", "object")) + " )>>"


def _tsv_string(value: str) -> str:
    """Quoted with only the quote, backslash, tab and line breaks escaped (other control
    characters are written as they are, as Oxigraph writes them)."""
    return '"' + value.translate(_TSV_ESCAPES) + '"'


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_ITS = "http://www.w3.org/2005/11/its"
_XML_SPACE = " \t\n\r"


def _text(value: str) -> str:
    """Escaped as Oxigraph's XML writer escapes text: markup characters as entities, and the
    white space at either end as character references (so that no reader trims it)."""
    core = value.strip(_XML_SPACE)
    if core == value:
        return escape(value, _QUOTES)
    start = len(value) - len(value.lstrip(_XML_SPACE))
    lead, trail = value[:start], value[start + len(core):]
    return "".join(f"&#{ord(c)};" for c in lead) + escape(core, _QUOTES) + "".join(f"&#{ord(c)};" for c in trail)


_QUOTES = {'"': "&quot;", "'": "&apos;"}
