"""The SPARQL endpoint as clients use it: SPARQLWrapper for every query form and result
format, requests for negotiation, errors, read-only refusals, CORS and release validators."""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from rdflib import Graph
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from conftest import REPO, STORES, serving

PREFIXES = """PREFIX fhkg: <https://w3id.org/finhealthkg/def/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX org: <http://www.w3.org/ns/org#>
"""
REGIONAL = PREFIXES + """SELECT ?centre ?name WHERE {
    ?centre a fhkg:RegionalCentre ; skos:prefLabel ?name FILTER (lang(?name) = "fi") } ORDER BY ?centre"""
CONSTRUCT = PREFIXES + "CONSTRUCT { ?b org:memberOf ?c } WHERE { ?b a fhkg:Biobank ; org:memberOf ?c }"
SPARQL_RESULTS = "http://www.w3.org/2005/sparql-results#"


def wrapper(server: str, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    client = SPARQLWrapper(server + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    if method == "POST":
        client.setMethod(POST)
    return client


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_select_in_json_with_sparqlwrapper(server, store_answers, method):
    result = wrapper(server, REGIONAL, JSON, method).query()
    assert result.response.headers["Content-Type"] == "application/sparql-results+json"
    rows = result.convert()["results"]["bindings"]
    assert [(r["centre"]["value"], r["name"]["value"]) for r in rows] == store_answers(REGIONAL)
    assert len(rows) == 5


def test_select_in_xml(server, store_answers):
    document = wrapper(server, REGIONAL, XML).query().convert()
    ns = {"r": SPARQL_RESULTS}
    rows = [[b.find("r:uri", ns).text if b.find("r:uri", ns) is not None else b.find("r:literal", ns).text
             for b in result.findall("r:binding", ns)]
            for result in ET.fromstring(document.toxml()).findall(".//r:result", ns)]
    assert [tuple(r) for r in rows] == store_answers(REGIONAL)


@pytest.mark.parametrize("fmt,delimiter", [(CSV, ","), (TSV, "\t")])
def test_select_in_csv_and_tsv(server, store_answers, fmt, delimiter):
    result = wrapper(server, REGIONAL, fmt).query()
    text = result.convert().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert rows[0] == (["centre", "name"] if fmt == CSV else ["?centre", "?name"])
    if fmt == CSV:
        assert [tuple(r) for r in rows[1:]] == store_answers(REGIONAL)
    assert len(rows) == 6


def test_ask_in_json_and_xml(server):
    ask = PREFIXES + 'ASK { ?x skos:altLabel "Neurocentre Finland"@en }'
    assert wrapper(server, ask, JSON).query().convert()["boolean"] is True
    document = wrapper(server, ask, XML).query().convert()
    assert document.getElementsByTagName("boolean")[0].firstChild.data == "true"
    nowhere = PREFIXES + 'ASK { ?x skos:altLabel "Nowhere"@en }'
    assert wrapper(server, nowhere, JSON).query().convert()["boolean"] is False


@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, JSONLD])
def test_construct_in_rdf_formats(server, fmt):
    graph = wrapper(server, CONSTRUCT, fmt).query().convert()
    if not isinstance(graph, Graph):
        graph = Graph().parse(data=graph, format="turtle")
    assert len(graph) == 8


def test_construct_in_ntriples(server):
    response = requests.get(server + "/sparql", params={"query": CONSTRUCT},
                            headers={"Accept": "application/n-triples"})
    assert response.headers["Content-Type"] == "application/n-triples"
    assert len(Graph().parse(data=response.text, format="nt")) == 8


def test_describe(server):
    response = requests.get(server + "/sparql", params={
        "query": "DESCRIBE <https://w3id.org/finhealthkg/id/organization/auria-biobank>"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    assert len(graph) > 20


@pytest.mark.parametrize("accept,expected", [
    ("application/sparql-results+xml;q=0.9, application/sparql-results+json;q=0.5", "application/sparql-results+xml"),
    ("text/csv", "text/csv; charset=utf-8"),
    ("text/*", "text/csv; charset=utf-8"),
    ("application/json", "application/sparql-results+json"),
    ("*/*", "application/sparql-results+json"),
    (None, "application/sparql-results+json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8"),
    ("application/xml;q=0.9,*/*;q=0.8", "application/sparql-results+xml"),
])
def test_select_negotiates_accept(server, accept, expected):
    headers = {"Accept": accept} if accept else {}
    response = requests.get(server + "/sparql", params={"query": REGIONAL}, headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == expected
    assert "Accept" in response.headers["Vary"]


def test_format_parameter_wins(server):
    response = requests.get(server + "/sparql", params={"query": REGIONAL, "format": "tsv"},
                            headers={"Accept": "application/sparql-results+json"})
    assert response.headers["Content-Type"] == "text/tab-separated-values; charset=utf-8"


def test_nothing_acceptable_is_406_listing_the_offers(server):
    response = requests.get(server + "/sparql", params={"query": REGIONAL}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text and "text/csv" in response.text
    construct = requests.get(server + "/sparql", params={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    assert construct.status_code == 406 and "text/turtle" in construct.text


def test_unknown_format_parameter_is_406(server):
    response = requests.get(server + "/sparql", params={"query": REGIONAL, "format": "yaml"})
    assert response.status_code == 406 and "yaml" in response.text


def test_syntax_error_is_400_with_message_and_position(server):
    response = requests.get(server + "/sparql", params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert response.status_code == 400
    assert "does not parse" in response.text
    assert "1:" in response.text  # line:column of the error


def test_syntax_error_with_sparqlwrapper_raises(server):
    with pytest.raises(QueryBadFormed):
        wrapper(server, "SELECT ?x WHERE { ?x ?y }", JSON).query()


def test_error_body_follows_accept(server):
    response = requests.get(server + "/sparql", params={"query": "SELEC"},
                            headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and "does not parse" in error["message"]


UPDATES = [
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "DELETE DATA { <https://w3id.org/finhealthkg/id/organization/auria-biobank> a <urn:x> }",
    "DELETE WHERE { ?s ?p ?o }",
    "LOAD <http://example.org/data.ttl>",
    "CLEAR ALL",
    "DROP GRAPH <https://w3id.org/finhealthkg/graph/data>",
    "CREATE GRAPH <urn:g>",
    "ADD DEFAULT TO <urn:g>",
    "MOVE <https://w3id.org/finhealthkg/graph/data> TO <urn:g>",
    "COPY <https://w3id.org/finhealthkg/graph/data> TO <urn:g>",
    "WITH <urn:g> DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
]


@pytest.mark.parametrize("update", UPDATES)
def test_every_update_form_is_refused_in_every_way(server, update, triple_count):
    before = triple_count()
    attempts = [
        requests.post(server + "/sparql", data={"update": update}),
        requests.post(server + "/sparql", data=update.encode(),
                      headers={"Content-Type": "application/sparql-update"}),
        requests.get(server + "/sparql", params={"update": update}),
        requests.post(server + "/sparql", data={"query": update}),
        requests.post(server + "/sparql", data=update.encode(),
                      headers={"Content-Type": "application/sparql-query"}),
        requests.get(server + "/sparql", params={"query": update}),
    ]
    for response in attempts:
        assert response.status_code == 403, (response.request.method, response.text)
        assert "read-only" in response.text
    assert triple_count() == before


def test_query_and_update_together_is_400(server):
    response = requests.post(server + "/sparql", data={"query": "ASK {}", "update": "CLEAR ALL"})
    assert response.status_code == 400


def test_two_queries_is_400(server):
    response = requests.get(server + "/sparql?query=ASK%20%7B%7D&query=ASK%20%7B%7D")
    assert response.status_code == 400 and "2 query parameters" in response.text


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/json", "application/sparql-query; charset=utf-16"])
def test_post_of_another_media_type_is_415(server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    body = "ASK {}".encode("utf-16") if content_type and "utf-16" in content_type else b"ASK {}"
    response = requests.post(server + "/sparql", data=body, headers=headers)
    assert response.status_code == 415
    assert "application/sparql-query" in response.text or "UTF-8" in response.text


def test_post_form_and_direct(server):
    form = requests.post(server + "/sparql", data={"query": "ASK {}"})
    direct = requests.post(server + "/sparql", data=b"ASK {}", headers={"Content-Type": "application/sparql-query"})
    assert form.json()["boolean"] is True and direct.json()["boolean"] is True


def test_service_is_refused_before_any_request(server):
    for query in ["SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                  "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                  "SELECT * WHERE { SERVICE:x { ?s ?p ?o } }"]:
        response = requests.get(server + "/sparql", params={"query": query})
        assert response.status_code == 400, query
        assert "SERVICE" in response.text


def test_an_escape_outside_strings_and_iris_is_no_keyword(server):
    """Oxigraph reads \\u escapes only inside strings and IRIs: SERV\\u0049CE is a syntax error to
    the engine, answered 400 all the same (an external store that decodes it first is refused it)."""
    query = "SELECT * WHERE { SERV\\u0049CE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    response = requests.get(server + "/sparql", params={"query": query})
    assert response.status_code == 400, response.text
    assert "SERVICE" in response.text or "does not parse" in response.text


def test_from_must_name_a_graph_of_the_dataset(server, release):
    outside = requests.get(server + "/sparql", params={
        "query": "SELECT * FROM <http://example.org/g> WHERE { ?s ?p ?o }"})
    assert outside.status_code == 400 and "graph" in outside.text
    for part in ("shapes", "ontology"):  # FROM gives the dataset: that graph, and only it
        inside = requests.get(server + "/sparql", params={
            "query": f"SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/finhealthkg/graph/{part}> WHERE {{ ?s ?p ?o }}"})
        assert inside.status_code == 200
        assert int(inside.json()["results"]["bindings"][0]["n"]["value"]) == release.manifest["graphs"][part]["triples"]
    named = requests.get(server + "/sparql", params={"query": (
        "SELECT DISTINCT ?g FROM NAMED <https://w3id.org/finhealthkg/graph/shapes> WHERE { GRAPH ?g { ?s ?p ?o } }")})
    assert [b["g"]["value"] for b in named.json()["results"]["bindings"]] == ["https://w3id.org/finhealthkg/graph/shapes"]
    only_named = requests.get(server + "/sparql", params={"query": (
        "ASK FROM NAMED <https://w3id.org/finhealthkg/graph/shapes> WHERE { ?s ?p ?o }")})
    assert only_named.json()["boolean"] is False  # FROM NAMED alone: the default graph is empty


def test_protocol_dataset_selects_graphs(server, release):
    def count(params):
        params = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **params}
        return int(requests.get(server + "/sparql", params=params).json()["results"]["bindings"][0]["n"]["value"])
    assert count({}) == release.triples
    assert count({"default-graph-uri": "https://w3id.org/finhealthkg/graph/ontology"}) == \
        release.manifest["graphs"]["ontology"]["triples"]
    assert count({"default-graph-uri": "http://example.org/not-here"}) == 0  # an unknown graph is empty
    named = requests.get(server + "/sparql", params={
        "query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
        "named-graph-uri": "https://w3id.org/finhealthkg/graph/shapes"}).json()["results"]["bindings"]
    assert [b["g"]["value"] for b in named] == ["https://w3id.org/finhealthkg/graph/shapes"]
    # a protocol dataset is the whole dataset: only named graphs given -> the default graph is empty
    assert count({"named-graph-uri": "https://w3id.org/finhealthkg/graph/data"}) == 0
    only_default = requests.get(server + "/sparql", params={
        "query": "ASK { GRAPH ?g { ?s ?p ?o } }",
        "default-graph-uri": "https://w3id.org/finhealthkg/graph/data"}).json()["boolean"]
    assert only_default is False


def test_cors_on_answers_and_preflight(server):
    simple = requests.get(server + "/sparql", params={"query": "ASK {}"},
                          headers={"Origin": "https://portal.example"})
    assert simple.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in simple.headers["Access-Control-Expose-Headers"]
    preflight = requests.options(server + "/sparql", headers={
        "Origin": "https://portal.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    error = requests.get(server + "/sparql", params={"query": "SELEC"}, headers={"Origin": "https://portal.example"})
    assert error.headers["Access-Control-Allow-Origin"] == "*"


def test_answers_carry_the_release_and_revalidate(server, release):
    first = requests.get(server + "/sparql", params={"query": REGIONAL})
    assert first.headers["FinHealthKG-Release"] == release.version
    assert release.version in first.headers["ETag"]
    again = requests.get(server + "/sparql", params={"query": REGIONAL},
                         headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    other = requests.get(server + "/sparql", params={"query": REGIONAL, "format": "csv"},
                         headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200


def test_method_not_allowed_says_what_is(server):
    response = requests.put(server + "/sparql", data=b"ASK {}")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


def test_body_over_the_limit_is_413(server):
    response = requests.post(server + "/sparql", data=b"ASK {} #" + b"x" * (2 * 1024 * 1024),
                             headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413


def test_relative_iris_resolve_against_the_endpoint(server):
    response = requests.get(server + "/sparql", params={"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    (s, _, _), = graph
    assert str(s) == "https://w3id.org/finhealthkg/s"


def test_json_results_are_json(server):
    response = requests.get(server + "/sparql", params={"query": REGIONAL})
    assert json.loads(response.text)["head"]["vars"] == ["centre", "name"]


@pytest.mark.parametrize("store", STORES)
def test_answers_are_capped_at_the_row_limit_and_say_so(release, request, store):
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
    with serving(store, REPO, release.path.parent, request, "--row-limit", "7") as url:
        capped = requests.get(url + "/sparql", params={"query": query})
        assert len(capped.json()["results"]["bindings"]) == 7
        assert capped.headers["FinHealthKG-Row-Limit"] == "7; truncated"
        assert "FinHealthKG-Row-Limit" in capped.headers["Access-Control-Expose-Headers"]
        small = requests.get(url + "/sparql", params={"query": REGIONAL})
        assert len(small.json()["results"]["bindings"]) == 5
        assert "FinHealthKG-Row-Limit" not in small.headers
        csv_rows = requests.get(url + "/sparql", params={"query": query, "format": "csv"}).text.splitlines()
        assert len(csv_rows) == 8


def test_a_query_past_the_time_limit_is_given_up_with_503(release, request):
    """The external store: the publisher stops waiting at its limit (the embedded store's
    limit, which must also free the CPU, needs stoppable query workers)."""
    cartesian = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    with serving("virtuoso", REPO, release.path.parent, request, "--query-timeout", "2") as url:
        started = time.monotonic()
        response = requests.get(url + "/sparql", params={"query": cartesian}, timeout=60)
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert "limit of 2 s" in response.text
        assert elapsed < 2 + 1.5
        assert requests.get(url + "/sparql", params={"query": "ASK {}"}).status_code == 200
        # The store stopped too (Virtuoso's own timeout is sent with the query): it is idle again.
        # The query would run for hours; Virtuoso's own work after the load that `serving` did
        # (a checkpoint) takes seconds: a second of rest within 10 s shows the query stopped.
        used: list[float] = []
        while len(used) < 10 and not (used and used[-1] < 0.25):
            used.append(_virtuoso_cpu_seconds(lambda: time.sleep(1.0)))
        assert used[-1] < 0.25, f"Virtuoso still computes the query: {used} s of CPU a second"


def _virtuoso_cpu_seconds(during) -> float:  # noqa: ANN001
    """CPU seconds the virtuoso-t processes of this machine use while `during()` runs."""
    import os
    from pathlib import Path

    def ticks() -> int:
        total = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() != "virtuoso-t":
                        continue
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                total += int(fields[11]) + int(fields[12])
        return total
    before = ticks()
    during()
    return (ticks() - before) / os.sysconf("SC_CLK_TCK")
