"""The query processes write SELECT answers row by row (query/answers.py), so that an answer can stop
at a row or byte limit; uncut, what they write must be byte for byte what Oxigraph's own
writers write, for any term: odd strings, languages, datatypes, blank nodes, unbound values,
triple terms. Two deliberate differences, both in CSV: an IRI with a comma is quoted (RFC 4180;
Oxigraph writes it bare, in two cells), and a literal that is not a number and begins with
= + - @ or a tab or carriage return is written after an apostrophe, so that a spreadsheet does
not take it for a formula (OWASP's "CSV Injection")."""

from __future__ import annotations

import csv
import io

import pyoxigraph
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finhealthkg.query.answers import bounded_answer
from finhealthkg.query.formats import RESULT_WRITERS

EX = "http://example.org/"
text = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
                st.text(alphabet=" \t\r\n\x00\x1f\\\"'<&>,a", max_size=6))
iris = st.sampled_from([EX + "a", EX + "b/ä", "urn:x:1", EX + "q?x=1&y='2'"]).map(pyoxigraph.NamedNode)
literals = st.one_of(
    text.map(pyoxigraph.Literal),
    st.tuples(text, st.sampled_from(["fi", "sv", "en-GB"])).map(lambda t: pyoxigraph.Literal(t[0], language=t[1])),
    st.tuples(text, st.sampled_from([pyoxigraph.BaseDirection.LTR, pyoxigraph.BaseDirection.RTL])).map(
        lambda t: pyoxigraph.Literal(t[0], language="ar", direction=t[1])),
    st.integers(-10**6, 10**6).map(pyoxigraph.Literal),
    st.floats(allow_nan=True, allow_infinity=True).map(pyoxigraph.Literal),
    st.booleans().map(pyoxigraph.Literal),
    st.tuples(text, st.sampled_from([EX + "dt", "http://www.w3.org/2001/XMLSchema#date"])).map(
        lambda t: pyoxigraph.Literal(t[0], datatype=pyoxigraph.NamedNode(t[1]))),
)
objects = st.one_of(iris, literals, st.builds(pyoxigraph.BlankNode))


def _store(values: list) -> pyoxigraph.Store:
    store = pyoxigraph.Store()
    for number, value in enumerate(values):
        store.add(pyoxigraph.Quad(pyoxigraph.NamedNode(f"{EX}s{number}"), pyoxigraph.NamedNode(EX + "p"), value))
    return store


QUERY = f"""SELECT ?s ?o ?nothing ?t WHERE {{
  ?s <{EX}p> ?o
  OPTIONAL {{ ?s <{EX}none> ?nothing }}
  BIND(IF(isLiteral(?o), <<( ?s <{EX}p> ?o )>>, ?unbound) AS ?t)
}} ORDER BY ?s"""


@pytest.mark.parametrize("name", sorted(RESULT_WRITERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(objects, max_size=6))
def test_rows_written_one_by_one_are_what_oxigraph_writes(name: str, values: list) -> None:
    store = _store(values)
    ours = bounded_answer(store.query(QUERY), name, 1000, 2**20)
    assert ours.cut is None
    expected = _store([_neutralised(v) for v in values]) if name == "csv" else store
    assert ours.body == expected.query(QUERY).serialize(format=RESULT_WRITERS[name])


XSD = "http://www.w3.org/2001/XMLSchema#"
NUMBERS = {XSD + "integer", XSD + "decimal", XSD + "double", XSD + "float"}


def _neutralised(term):  # noqa: ANN001, ANN202
    """The term as the CSV writer shows it: a literal that a spreadsheet would take for a
    formula, after an apostrophe."""
    if not isinstance(term, pyoxigraph.Literal) or term.datatype.value in NUMBERS:
        return term
    if term.value[:1] not in tuple("=+-@\t\r"):
        return term
    if term.language:
        return pyoxigraph.Literal("'" + term.value, language=term.language, direction=term.direction)
    return pyoxigraph.Literal("'" + term.value, datatype=term.datatype)


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1", "-2+3", "@SUM(A1)",
                                   "\t=1", "\r=1"])
def test_a_csv_cell_a_spreadsheet_would_run_is_written_as_text(value: str) -> None:
    store = _store([pyoxigraph.Literal(value), pyoxigraph.Literal(value, language="fi")])
    body = bounded_answer(store.query(f"SELECT ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?s"), "csv", 10, 2**20).body
    assert list(csv.reader(io.StringIO(body.decode(), newline=""))) == [["o"], ["'" + value], ["'" + value]]
    decimal = pyoxigraph.NamedNode(XSD + "decimal")
    numbers = _store([pyoxigraph.Literal(-5), pyoxigraph.Literal(-1.5), pyoxigraph.Literal("-5", datatype=decimal)])
    body = bounded_answer(numbers.query(f"SELECT ?o WHERE {{ ?s <{EX}p> ?o }} ORDER BY ?s"), "csv", 10, 2**20).body
    assert [row[0] for row in csv.reader(io.StringIO(body.decode(), newline=""))][1:] == ["-5", "-1.5", "-5"]


def test_an_empty_answer_and_an_answer_without_variables_are_written_as_oxigraph_writes_them() -> None:
    store = _store([])
    for query in ("SELECT ?x WHERE { ?x ?y ?z }", "SELECT * WHERE { }", "SELECT * WHERE { VALUES () { () () } }"):
        for name, fmt in RESULT_WRITERS.items():
            assert bounded_answer(store.query(query), name, 10, 2**20).body == store.query(query).serialize(format=fmt)


def test_an_iri_with_a_comma_is_one_quoted_csv_cell() -> None:
    store = _store([pyoxigraph.NamedNode(EX + "Helsinki,_Finland")])
    body = bounded_answer(store.query(f"SELECT ?o WHERE {{ ?s <{EX}p> ?o }}"), "csv", 10, 2**20).body
    assert body == f'o\r\n"{EX}Helsinki,_Finland"\r\n'.encode()
    assert list(csv.reader(io.StringIO(body.decode()))) == [["o"], [EX + "Helsinki,_Finland"]]
