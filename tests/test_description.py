"""VoID at /.well-known/void and the DCAT catalogue at /catalog, as harvesters fetch them."""

from __future__ import annotations

import pytest
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DATASET = URIRef("https://w3id.org/finhealthkg/dataset")
PARSERS = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/rdf+xml": "xml",
           "application/n-triples": "nt"}


def fetch(server: str, path: str, media_type: str) -> Graph:
    response = requests.get(server + path, headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == media_type
    return Graph().parse(data=response.content, format=PARSERS[media_type])


@pytest.mark.parametrize("path", ["/.well-known/void", "/catalog"])
def test_every_rdf_format_gives_the_same_graph(server, path):
    graphs = [fetch(server, path, media_type) for media_type in PARSERS]
    sizes = {len(g) for g in graphs}
    assert len(sizes) == 1 and sizes.pop() > 50


def test_void_counts_and_access_points(server, release):
    void = fetch(server, "/.well-known/void", "text/turtle")
    assert (DATASET, RDF.type, URIRef(VOID + "Dataset")) in void
    assert void.value(DATASET, URIRef(VOID + "triples")) == Literal(release.triples, datatype=XSD.integer)
    for name in ("entities", "classes", "properties", "distinctSubjects", "distinctObjects"):
        assert int(void.value(DATASET, URIRef(VOID + name))) == release.manifest["statistics"][name]
    assert void.value(DATASET, URIRef(VOID + "sparqlEndpoint")) == URIRef("https://w3id.org/finhealthkg/sparql")
    assert str(void.value(DATASET, URIRef(VOID + "uriSpace"))) == "https://w3id.org/finhealthkg/id/"
    dumps = {str(d) for d in void.objects(DATASET, URIRef(VOID + "dataDump"))}
    assert dumps == {f"https://w3id.org/finhealthkg/downloads/{n}"
                     for n in ("dataset.ttl", "dataset.nt.gz", "dataset.jsonld")}
    vocabularies = {str(v) for v in void.objects(DATASET, URIRef(VOID + "vocabulary"))}
    assert {"http://www.w3.org/ns/org#", "https://w3id.org/finhealthkg/def/"} <= vocabularies
    partitions = list(void.objects(DATASET, URIRef(VOID + "classPartition")))
    assert len(partitions) == release.manifest["statistics"]["classes"]
    assert list(void.objects(DATASET, URIRef(VOID + "propertyPartition")))


def test_catalogue_lists_distributions_and_the_endpoint(server, release):
    catalog = fetch(server, "/catalog", "text/turtle")
    distributions = list(catalog.objects(DATASET, URIRef(DCAT + "distribution")))
    assert len(distributions) == 3
    services = list(catalog.subjects(RDF.type, URIRef(DCAT + "DataService")))
    assert len(services) == 1
    assert catalog.value(services[0], URIRef(DCAT + "endpointURL")) == URIRef("https://w3id.org/finhealthkg/sparql")
    assert str(catalog.value(DATASET, URIRef(DCAT + "version"))) == release.version


def test_home_gives_rdf_clients_the_catalogue_and_browsers_a_page(server):
    as_rdf = fetch(server, "/", "text/turtle")
    assert (None, RDF.type, URIRef(DCAT + "Catalog")) in as_rdf
    page = requests.get(server + "/", headers={"Accept": "text/html"})
    assert page.headers["Content-Type"].startswith("text/html") and "/sparql" in page.text
    dataset = requests.get(server + "/dataset", allow_redirects=False)
    assert dataset.status_code == 303 and dataset.headers["Location"].endswith("/catalog")
