"""Point lookups run in the web worker (query_cost.py); every other query in a killable query
process. The reader is a whitelist: what it lets through must be one triple pattern with a
constant subject, as rdflib's own parser reads the query."""

from __future__ import annotations

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import URIRef
from rdflib.plugins.sparql import algebra, parser

from conftest import REPO, running_server
from finhealthkg.query_cost import point_lookup_form

AURIA = "<https://w3id.org/finhealthkg/id/organization/auria-biobank>"
PREFIXES = ("PREFIX org: <http://www.w3.org/ns/org#> "
            "PREFIX organization: <https://w3id.org/finhealthkg/id/organization/> ")

LOOKUPS = [
    f"SELECT ?p ?o WHERE {{ {AURIA} ?p ?o }}",
    f"SELECT * {{ {AURIA} ?p ?o . }} LIMIT 10",
    f"select distinct ?o where {{ {AURIA} a ?o }} offset 2 limit 5",
    f"ASK {{ {AURIA} ?p ?o }}",
    PREFIXES + "SELECT ?b WHERE { organization:auria-biobank org:memberOf ?b }",
    f"SELECT ?p ?o WHERE {{ {AURIA} ?p ?o }} # asked at 12:00",
    "SELECT ?o WHERE { <https://w3id.org/finhealthkg/id/organization/auria-biobank> \\u003Fp ?o }",
]
OTHERS = [
    "SELECT * WHERE { ?s ?p ?o }",
    f"SELECT * WHERE {{ ?s ?p {AURIA} }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o . ?o ?q ?r }}",
    f"SELECT * WHERE {{ {AURIA} <http://x/p>* ?o }}",
    f"SELECT * WHERE {{ {AURIA} <http://x/p>/<http://x/q> ?o }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o FILTER (?o != 1) }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o OPTIONAL {{ ?o ?q ?r }} }}",
    f"SELECT * WHERE {{ {{ {AURIA} ?p ?o }} UNION {{ ?a ?b ?c }} }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o }} ORDER BY ?o",
    f"SELECT (COUNT(*) AS ?n) WHERE {{ {AURIA} ?p ?o }}",
    f"SELECT ?p WHERE {{ {AURIA} ?p ?o }} GROUP BY ?p",
    f"SELECT * FROM <http://x/g> WHERE {{ {AURIA} ?p ?o }}",
    f"SELECT * WHERE {{ SERVICE <http://x/s> {{ {AURIA} ?p ?o }} }}",
    f"SELECT * WHERE {{ GRAPH ?g {{ {AURIA} ?p ?o }} }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o VALUES ?x {{ 1 2 }} }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o BIND (1 AS ?x) }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o . ?a ?b ?c . ?d ?e ?f }}",
    "SELECT * WHERE { { SELECT * WHERE { ?a ?b ?c } } }",
    f"CONSTRUCT WHERE {{ {AURIA} ?p ?o }}",
    f"DESCRIBE {AURIA}",
    f"SELECT * WHERE {{ {AURIA} ?p \"x\" }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o \\u007D UNION {{ ?a ?b ?c }}",
    "SELECT * WHERE { _:b ?p ?o }",
    f"SELECT * WHERE {{ {AURIA} ?p ?o }} LIMIT 1 LIMIT 2",
    f"SELECT * WHERE {{ {AURIA} ?p ?o ; ?q ?r }}",
    f"SELECT * WHERE {{ {AURIA} ?p ?o , ?r }}",
    f"SELECT * WHERE {{ {AURIA} ?p [ ?q ?r ] }}",
    "x" * 3000,
]


@pytest.mark.parametrize("query", LOOKUPS)
def test_point_lookups_are_recognised(query):
    assert point_lookup_form(query) in ("SELECT", "ASK"), query
    assert _one_constant_subject_pattern(query)


@pytest.mark.parametrize("query", OTHERS)
def test_everything_else_goes_to_the_query_processes(query):
    assert point_lookup_form(query) is None, query


PIECES = ["SELECT", "ASK", "DISTINCT", "*", "?p", "?o", "?s", "WHERE", "{", "}", ".", ";", ",", AURIA, "a",
          "<http://x/p>", "org:memberOf", "LIMIT", "OFFSET", "10", "FILTER", "(", ")", "UNION", "OPTIONAL", "/", "|",
          "^", "+", "?", "!", "\\u007B", "\\u007D", "#", "\n", "GRAPH", "SERVICE", "PREFIX", "org:",
          "<http://www.w3.org/ns/org#>", "[", "]", "_:b", '"x"']


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), min_size=4, max_size=14).map(" ".join))
def test_whatever_it_lets_through_is_one_pattern_with_a_constant_subject(query):
    if point_lookup_form(query) is not None:
        assert _one_constant_subject_pattern(query), query


def _one_constant_subject_pattern(query: str) -> bool:
    """rdflib's reading: nothing but projection, DISTINCT/REDUCED, slicing and one triple
    pattern whose subject is an IRI."""
    try:
        parsed = algebra.translateQuery(parser.parseQuery(query))
    except Exception:  # noqa: BLE001 - a text that does not parse is never answered at all
        return True
    allowed = {"SelectQuery", "AskQuery", "Project", "Slice", "Distinct", "Reduced", "BGP", "ToMultiSet"}
    patterns = []

    def walk(node) -> bool:  # noqa: ANN001
        name = getattr(node, "name", None)
        if name is None:
            return True
        if name not in allowed:
            return False
        if name == "BGP":
            patterns.extend(node.triples)
        return all(walk(value) for key, value in node.items() if key in ("p",))

    return walk(parsed.algebra) and len(patterns) == 1 and isinstance(patterns[0][0], URIRef)


def test_a_point_lookup_answered_in_the_worker_keeps_the_row_limit(release):
    lookup = f"SELECT ?p ?o WHERE {{ {AURIA} ?p ?o }}"
    with running_server(REPO, release.path.parent, "--row-limit", "3") as url:
        cut = requests.get(url + "/sparql", params={"query": lookup}, headers={"Accept": "application/json"})
        assert len(cut.json()["results"]["bindings"]) == 3
        assert cut.headers["FinHealthKG-Row-Limit"] == "3; truncated"
        within = requests.get(url + "/sparql", params={"query": lookup + " LIMIT 2"},
                              headers={"Accept": "text/csv"})
        assert within.text.splitlines()[0] == "p,o" and len(within.text.splitlines()) == 3
        assert "FinHealthKG-Row-Limit" not in within.headers
    with running_server(REPO, release.path.parent) as url:
        whole = requests.get(url + "/sparql", params={"query": lookup}, headers={"Accept": "application/json"})
        store = release.open_store()
        expected = {(row["p"].value, row["o"].value) for row in store.query(lookup)}
        assert {(b["p"]["value"], b["o"]["value"]) for b in whole.json()["results"]["bindings"]} == expected
        assert len(expected) > 3
