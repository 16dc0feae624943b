"""The clients researchers use, as they use them, defaults included: SPARQLWrapper (every return
format x GET, POST form, POST direct x SELECT, ASK, CONSTRUCT, DESCRIBE), rdflib's SPARQLStore
and Comunica with /sparql as its source; sixteen at once against a server with `--threads 8`,
on both stores. A return format that names a format the query's form does not have (Turtle
for a SELECT) is a clear 406; every other combination is answered and parsed by the client."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDF,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)

from conftest import REPO, STORES, plain_term, run_comunica, serving
from finhealthkg.prefixes import PREFIXES

ORG = "http://www.w3.org/ns/org#"
COOPERATIVE = "https://w3id.org/finhealthkg/id/organization/finnish-biobank-cooperative"
QUERIES = {
    "SELECT": f"SELECT ?b WHERE {{ ?b <{ORG}memberOf> <{COOPERATIVE}> }} ORDER BY ?b",
    "ASK": f"ASK {{ ?b <{ORG}memberOf> <{COOPERATIVE}> }}",
    "CONSTRUCT": f"CONSTRUCT {{ ?b <{ORG}memberOf> <{COOPERATIVE}> }} WHERE {{ ?b <{ORG}memberOf> <{COOPERATIVE}> }}",
    "DESCRIBE": f"DESCRIBE <{COOPERATIVE}>",
}
RETURN_FORMATS = (None, XML, JSON, CSV, TSV, JSONLD, TURTLE, N3, RDF, RDFXML)  # None: the library's default
METHODS = {"GET": (None, None), "POST form": (POST, URLENCODED), "POST direct": (POST, POSTDIRECTLY)}
FOR_SOLUTIONS = (None, XML, JSON, CSV, TSV)
FOR_GRAPHS = (None, XML, JSON, JSONLD, TURTLE, N3, RDF, RDFXML)


@pytest.fixture(scope="module", params=STORES)
def threaded(request, release) -> str:  # noqa: ANN001
    with serving(request.param, REPO, release.path.parent, request, "--threads", "8", "--workers", "2") as url:
        yield url


def _members(url: str) -> list[str]:
    client = SPARQLWrapper(url + "/sparql")
    client.setQuery(QUERIES["SELECT"])
    client.setReturnFormat(JSON)
    return [row["b"]["value"] for row in client.query().convert()["results"]["bindings"]]


def _ask(url: str, form: str, fmt: str | None, method: str) -> tuple[str, str, str | None, str]:
    """(form, format, method, what went wrong or "")"""
    client = SPARQLWrapper(url + "/sparql")
    client.setQuery(QUERIES[form])
    if fmt is not None:
        client.setReturnFormat(fmt)
    how, request_method = METHODS[method]
    if how is not None:
        client.setMethod(how)
        client.setRequestMethod(request_method)
    acceptable = fmt in (FOR_GRAPHS if form in ("CONSTRUCT", "DESCRIBE") else FOR_SOLUTIONS)
    try:
        result = client.query()
    except HTTPError as error:
        return form, str(fmt), method, "" if (error.code == 406 and not acceptable) else f"HTTP {error.code}"
    except Exception as error:  # noqa: BLE001 - SPARQLWrapper's own exceptions carry the status
        said = str(error)
        return form, str(fmt), method, "" if ("406" in said and not acceptable) else said[:300]
    if not acceptable:
        return form, str(fmt), method, f"answered {result.response.headers.get('Content-Type')} instead of 406"
    converted = result.convert()
    return form, str(fmt), method, _wrong(form, fmt, converted)


def _wrong(form: str, fmt: str | None, converted: object) -> str:
    """What is wrong with a converted answer ("" when nothing)."""
    if form == "SELECT":
        if fmt in (CSV, TSV):
            lines = converted.decode().strip().splitlines()  # type: ignore[union-attr]
            return "" if len(lines) >= 9 else f"{len(lines)} lines"
        if fmt == JSON:
            return "" if len(converted["results"]["bindings"]) >= 8 else "too few rows"  # type: ignore[index]
        return "" if len(converted.getElementsByTagName("result")) >= 8 else "too few rows"  # type: ignore[union-attr]
    if form == "ASK":
        if fmt in (CSV, TSV):
            return "" if converted.decode().strip() == "true" else repr(converted)  # type: ignore[union-attr]
        if fmt == JSON:
            return "" if converted["boolean"] is True else repr(converted)  # type: ignore[index]
        booleans = converted.getElementsByTagName("boolean")  # type: ignore[union-attr]
        return "" if booleans and booleans[0].firstChild.data == "true" else "no true"
    if isinstance(converted, rdflib.Graph):  # SPARQLWrapper parsed it (RDF/XML, JSON-LD)
        graph = converted
    elif isinstance(converted, bytes | str):  # Turtle, N3: handed over as text
        graph = rdflib.Graph().parse(data=converted, format="turtle")
    else:  # JSON-LD as json.load gave it
        graph = rdflib.Graph().parse(data=json.dumps(converted), format="json-ld")
    return "" if len(graph) >= (8 if form == "CONSTRUCT" else 3) else f"{len(graph)} triples"  # type: ignore[arg-type]


def test_every_sparqlwrapper_combination_sixteen_at_once(threaded):
    assert len(_members(threaded)) >= 8
    combinations = [(form, fmt, method) for form in QUERIES for fmt in RETURN_FORMATS for method in METHODS]
    with ThreadPoolExecutor(16) as clients:
        outcomes = list(clients.map(lambda c: _ask(threaded, *c), combinations * 2))
    wrong = [outcome for outcome in outcomes if outcome[3]]
    assert not wrong, f"{len(wrong)} of {len(outcomes)}: {wrong[:10]}"


def test_rdflib_sparqlstore_reads_the_endpoint(threaded):
    graph = rdflib.Graph(store=SPARQLStore(threaded + "/sparql", returnFormat="xml"))
    members = {str(row[0]) for row in graph.query(QUERIES["SELECT"])}
    assert members == set(_members(threaded))
    assert graph.query(QUERIES["ASK"]).askAnswer is True
    triples = set(graph.triples((None, rdflib.URIRef(ORG + "memberOf"), rdflib.URIRef(COOPERATIVE))))
    assert len(triples) == len(members)
    described = graph.query(QUERIES["DESCRIBE"]).graph
    assert described is not None and len(described) >= 3


def test_comunica_with_the_endpoint_as_its_source(threaded, comunica):
    # IRIs and typed literals: Comunica 4.5 drops the language of literals it reads from a SPARQL
    # endpoint's JSON (its own parser keeps them; the loss is in its source actor)
    query = PREFIXES_TEXT + (f"SELECT ?b ?type (COUNT(?o) AS ?n) WHERE {{ ?b org:memberOf <{COOPERATIVE}> ; "
                             "a ?type ; ?p ?o } GROUP BY ?b ?type")
    rows = run_comunica(comunica, "sparql@" + threaded + "/sparql", query)
    client = SPARQLWrapper(threaded + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    document = client.query().convert()
    expected = {tuple(json.dumps(plain_term(row.get(n)), sort_keys=True) for n in document["head"]["vars"])
                for row in document["results"]["bindings"]}
    assert len(expected) >= 8 and rows == expected


pytestmark = pytest.mark.filterwarnings("ignore:Sending Accept header:RuntimeWarning")
PREFIXES_TEXT = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items() if p in ("org", "skos"))
