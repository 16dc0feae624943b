"""Triple Pattern Fragments at /fragments, from each store: the Hydra controls, paging with
counts, Turtle/TriG/JSON-LD, errors; and Comunica (a SPARQL engine from the npm registry that
nobody here wrote) answering a multi-pattern query over /fragments with the rows of /sparql."""

from __future__ import annotations

import json

import pyoxigraph
import pytest
import requests
from pyoxigraph import DefaultGraph, NamedNode, RdfFormat

from conftest import plain_term, run_comunica

HYDRA = "http://www.w3.org/ns/hydra/core#"
VOID = "http://rdfs.org/ns/void#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
FOAF = "http://xmlns.com/foaf/0.1/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
AURIA = "https://w3id.org/finhealthkg/id/organization/auria-biobank"
FORMATS = {"text/turtle": RdfFormat.TURTLE, "application/trig": RdfFormat.TRIG,
           "application/ld+json": RdfFormat.JSON_LD}


def get(url: str, accept: str = "application/trig", **params: str) -> requests.Response:
    return requests.get(url, params=params, headers={"Accept": accept}, timeout=30)


def quads(response: requests.Response) -> list[pyoxigraph.Quad]:
    assert response.status_code == 200, response.text
    fmt = FORMATS[response.headers["Content-Type"].split(";")[0]]
    return list(pyoxigraph.parse(response.content, format=fmt))


def split(response: requests.Response) -> tuple[set[pyoxigraph.Triple], dict[str, list[pyoxigraph.Triple]]]:
    """(data triples, metadata by subject IRI) of a TriG or JSON-LD page: the data in the default
    graph, the controls in the page's #metadata graph."""
    data, metadata = set(), {}
    page_graph = NamedNode(response.url + "#metadata")
    for quad in quads(response):
        if quad.graph_name == DefaultGraph():
            data.add(quad.triple)
        else:
            assert quad.graph_name == page_graph, quad
            metadata.setdefault(quad.subject.value, []).append(quad.triple)
    return data, metadata


def value(metadata: dict, subject: str, predicate: str) -> list[str]:
    return [t.object.value for t in metadata.get(subject, []) if t.predicate.value == predicate]


def sparql_rows(server: str, query: str) -> set[tuple[str, ...]]:
    answer = requests.get(server + "/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    names = document["head"]["vars"]
    return {tuple(json.dumps(row.get(n), sort_keys=True) for n in names) for row in document["results"]["bindings"]}


def test_the_entry_fragment_carries_the_search_form_and_counts(server, release):
    page = get(server + "/fragments")
    data, metadata = split(page)
    root, url = server + "/fragments", page.url
    assert len(data) == 100
    assert value(metadata, url + "#metadata", FOAF + "primaryTopic") == [url]
    dataset = root + "#dataset"
    assert set(value(metadata, dataset, RDF + "type")) == {VOID + "Dataset", HYDRA + "Collection"}
    assert value(metadata, dataset, VOID + "subset") == [url]
    (search,) = value(metadata, dataset, HYDRA + "search")
    assert value(metadata, search, HYDRA + "template") == [root + "{?subject,predicate,object}"]
    assert value(metadata, search, HYDRA + "variableRepresentation") == [HYDRA + "ExplicitRepresentation"]
    mappings = {value(metadata, m, HYDRA + "variable")[0]: value(metadata, m, HYDRA + "property")[0]
                for m in value(metadata, search, HYDRA + "mapping")}
    assert mappings == {"subject": RDF + "subject", "predicate": RDF + "predicate", "object": RDF + "object"}
    assert value(metadata, url, HYDRA + "totalItems") == [str(release.triples)]
    assert value(metadata, url, VOID + "triples") == [str(release.triples)]
    assert value(metadata, url, HYDRA + "itemsPerPage") == ["100"]
    assert value(metadata, url, HYDRA + "first") == [root]
    assert value(metadata, url, HYDRA + "next") == [root + "?page=2"]
    assert value(metadata, url, HYDRA + "previous") == []


def test_paging_walks_every_match_once_with_the_count_on_each_page(server):
    expected = {(s, o) for s, o in sparql_rows(server, f"SELECT DISTINCT ?s ?o WHERE {{ ?s <{LABEL}> ?o }}")}
    assert len(expected) > 200  # three pages at least
    seen: list[tuple[str, str]] = []
    url, pages, previous = f"{server}/fragments?predicate={requests.utils.quote(LABEL, safe='')}", 0, None
    while url:
        page = requests.get(url, headers={"Accept": "application/trig"}, timeout=30)
        data, metadata = split(page)
        pages += 1
        assert all(t.predicate.value == LABEL for t in data)
        seen += [(json.dumps({"type": "uri", "value": t.subject.value}, sort_keys=True), _json(t.object))
                 for t in data]
        assert value(metadata, page.url, HYDRA + "totalItems") == [str(len(expected))]
        assert value(metadata, page.url, HYDRA + "previous") == ([previous] if previous else [])
        previous, url = page.url, next(iter(value(metadata, page.url, HYDRA + "next")), None)
    assert pages == -(-len(expected) // 100)
    assert len(seen) == len(set(seen)) and set(seen) == expected


def _json(term: pyoxigraph.Literal) -> str:
    """The SPARQL JSON form of a literal, as /sparql writes it."""
    row = {"type": "literal", "value": term.value}
    if term.language:
        row["xml:lang"] = term.language
    elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
        row["datatype"] = term.datatype.value
    return json.dumps(row, sort_keys=True)


@pytest.mark.parametrize("obj, subjects", [
    ('"Auria Biobank"@en', {AURIA}),
    ('"2014-03-10"^^http://www.w3.org/2001/XMLSchema#date',
     {AURIA, "https://w3id.org/finhealthkg/id/organization/thl-biobank"}),
    ("https://w3id.org/finhealthkg/def/Biobank", None),
])
def test_the_same_fragment_in_turtle_trig_and_json_ld(server, obj, subjects):
    answers = {}
    for accept in FORMATS:
        response = get(server + "/fragments", accept, object=obj)
        assert response.headers["Content-Type"].startswith(accept)
        assert response.headers["Vary"] and "Accept" in response.headers["Vary"]
        found = {q.triple for q in quads(response) if not q.subject.value.startswith(server)}
        answers[accept] = found
    assert answers["text/turtle"] == answers["application/trig"] == answers["application/ld+json"]
    if subjects is not None:
        assert {t.subject.value for t in answers["text/turtle"]} == subjects
    else:  # every biobank: the same things /sparql finds
        rows = sparql_rows(server, f"SELECT ?s WHERE {{ ?s ?p <{obj}> }}")
        assert {json.loads(s)["value"] for (s,) in rows} == {t.subject.value for t in answers["text/turtle"]}


def test_a_fully_bound_pattern_and_one_that_matches_nothing(server):
    bound = get(server + "/fragments", subject=AURIA, predicate=LABEL, object='"Auria Biobank"@en')
    data, metadata = split(bound)
    assert len(data) == 1 and value(metadata, bound.url, HYDRA + "totalItems") == ["1"]
    empty = get(server + "/fragments", subject=AURIA, predicate="http://example.org/nothing")
    data, metadata = split(empty)
    assert data == set() and value(metadata, empty.url, HYDRA + "totalItems") == ["0"]
    assert value(metadata, empty.url, HYDRA + "next") == []


@pytest.mark.parametrize("params, message", [
    ({"subject": '"Auria Biobank"@en'}, "is a literal"),
    ({"predicate": "label"}, "is not an absolute IRI"),
    ({"object": '"unterminated'}, "no closing quote"),
    ({"object": '"x"^^not an iri'}, "is not a literal"),
    ({"object": '"x"junk'}, "after the closing quote"),
    ({"page": "0"}, "pages are numbered"),
    ({"page": "two"}, "pages are numbered"),
])
def test_bad_parameters_are_refused_with_a_message(server, params, message):
    answer = get(server + "/fragments", "application/json", **params)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]
    as_turtle = get(server + "/fragments", "text/turtle", **params)
    assert as_turtle.status_code == 400 and as_turtle.text.startswith("# 400 Bad Request")


def test_a_parameter_given_twice_and_formats_not_offered(server):
    twice = requests.get(server + "/fragments?subject=http://a.example/&subject=http://b.example/",
                         headers={"Accept": "application/json"}, timeout=30)
    assert twice.status_code == 400 and "given 2 times" in twice.json()["error"]["message"]
    png = get(server + "/fragments", "image/png")
    assert png.status_code == 406 and "application/trig" in png.text


def test_a_fragment_is_cached_per_release(server):
    first = get(server + "/fragments", predicate=LABEL)
    again = requests.get(first.url, headers={"Accept": "application/trig", "If-None-Match": first.headers["ETag"]},
                         timeout=30)
    assert again.status_code == 304
    assert first.headers["FinHealthKG-Release"] in first.headers["ETag"]


# --- Comunica ---------------------------------------------------------------------------------


QUERY = """
PREFIX fhkg: <https://w3id.org/finhealthkg/def/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?biobank ?name ?date WHERE {
  ?biobank a fhkg:Biobank ;
           org:memberOf <https://w3id.org/finhealthkg/id/organization/finnish-biobank-cooperative> ;
           skos:prefLabel ?name .
  OPTIONAL { ?biobank fhkg:registrationDate ?date }
  FILTER (lang(?name) = "fi")
}"""


def test_comunica_over_fragments_gives_the_rows_of_sparql(server, comunica):
    expected = {tuple(json.dumps(plain_term(json.loads(cell)), sort_keys=True) for cell in row)
                for row in sparql_rows(server, QUERY)}
    assert len(expected) >= 8  # the cooperative's members
    assert run_comunica(comunica, server + "/fragments", QUERY) == expected


def test_a_request_url_that_is_no_iri_gets_the_canonical_page_iri(server):
    """Quotes sent unencoded (as some clients do) make the URL no IRI: the controls then name the
    page by the canonical URL of the same pattern."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", '/fragments?object="Auria Biopankki"@fi'.replace(" ", "%20"),
                       headers={"Accept": "application/n-triples, text/turtle;q=0.5"})
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, body
    canonical = f"{server}/fragments?object=%22Auria%20Biopankki%22%40fi"
    graph = {(t.subject.value, t.predicate.value) for t in pyoxigraph.parse(body.encode(), format=RdfFormat.TURTLE)}
    assert (canonical, HYDRA + "totalItems") in graph
    assert (AURIA, LABEL) in graph
