"""The query processes write SELECT answers row by row (query/answers.py), so that an answer can stop
at a row or byte limit; uncut, what they write must be byte for byte what Oxigraph's own
writers write, for any term: odd strings, languages, datatypes, blank nodes, unbound values,
triple terms. One deliberate difference: an IRI with a comma is quoted in CSV (RFC 4180);
Oxigraph writes it bare, in two cells."""

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
    assert ours.body == store.query(QUERY).serialize(format=RESULT_WRITERS[name])


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
