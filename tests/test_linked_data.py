"""Dereferencing: /id/ answers 303, /doc/ negotiates five formats with suffixes, Vary, Link,
validators and 304; unknown IRIs are 404 in the format asked; /def/ and /shapes/ alike."""

from __future__ import annotations

import json

import pytest
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

BASE = "https://w3id.org/finhealthkg/"
AURIA = BASE + "id/organization/auria-biobank"
FORMATS = {  # suffix: (media type, rdflib parser)
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
    "nt": ("application/n-triples", "nt"),
    "rdf": ("application/rdf+xml", "xml"),
}


def get(server: str, path: str, accept: str | None = None, **kwargs) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    headers.update(kwargs.pop("headers", {}))
    return requests.get(server + path, headers=headers, allow_redirects=False, **kwargs)


def test_thing_answers_303_to_its_document(server):
    response = get(server, "/id/organization/auria-biobank", "text/turtle")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/doc/organization/auria-biobank")
    followed = requests.get(server + "/id/organization/auria-biobank", headers={"Accept": "text/turtle"})
    assert followed.status_code == 200 and followed.url.endswith("/doc/organization/auria-biobank")


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_document_negotiates_every_rdf_format(server, suffix, store_answers):
    media_type, parser = FORMATS[suffix]
    by_accept = get(server, "/doc/organization/auria-biobank", media_type)
    by_suffix = get(server, f"/doc/organization/auria-biobank.{suffix}")
    for response in (by_accept, by_suffix):
        assert response.status_code == 200
        assert response.headers["Content-Type"].split(";")[0] == media_type
    assert by_accept.content == by_suffix.content
    assert "Accept" in by_accept.headers["Vary"]
    assert by_accept.headers["Content-Location"] == f"/doc/organization/auria-biobank.{suffix}"
    graph = Graph().parse(data=by_accept.content, format=parser)
    auria = URIRef(AURIA)
    # its own triples, as the store holds them
    own = store_answers(f"SELECT ?p ?o WHERE {{ <{AURIA}> ?p ?o }}")
    assert len(list(graph.predicate_objects(auria))) == len(own)
    assert Literal("Auria Biopankki", lang="fi") in set(graph.objects(auria, SKOS.prefLabel))
    # triples pointing to it, and labels of the things at both ends
    finbb = URIRef(BASE + "id/organization/finnish-biobank-cooperative")
    assert (finbb, URIRef("http://www.w3.org/ns/org#hasMember"), auria) in graph
    assert graph.value(finbb, RDFS.label) is not None
    utu = URIRef(BASE + "id/organization/university-of-turku")
    assert Literal("Turun yliopisto", lang="fi") in set(graph.objects(utu, RDFS.label))


def test_document_html_shows_label_type_properties_and_alternates(server):
    response = get(server, "/doc/organization/auria-biobank", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "<h1>Auria Biobank</h1>" in page
    assert 'href="/def/Biobank"' in page  # the type, linked
    assert "number of samples" in page  # a property, labelled by the ontology
    assert 'href="/id/organization/university-of-turku"' in page  # a linked thing
    assert "University of Turku" in page
    for suffix in ("ttl", "jsonld", "nt", "rdf"):
        assert f'href="/doc/organization/auria-biobank.{suffix}"' in page
    def main(html: str) -> str:  # the language switcher links to the URL asked, suffix or not
        return html[html.index("<main"):html.index("</main>")]
    assert main(get(server, "/doc/organization/auria-biobank.html").text) == main(page)


def test_link_header_lists_alternates(server):
    link = get(server, "/doc/organization/auria-biobank", "text/turtle").headers["Link"]
    for suffix, (media_type, _) in FORMATS.items():
        assert f'</doc/organization/auria-biobank.{suffix}>; rel="alternate"; type="{media_type}"' in link
    assert f'<{AURIA}>; rel="about"' in link


def test_conditional_get_answers_304(server, release):
    first = get(server, "/doc/organization/auria-biobank", "text/turtle")
    assert release.version in first.headers["ETag"]
    assert first.headers["Last-Modified"]
    by_etag = get(server, "/doc/organization/auria-biobank", "text/turtle",
                  headers={"If-None-Match": first.headers["ETag"]})
    assert by_etag.status_code == 304 and not by_etag.content
    by_date = get(server, "/doc/organization/auria-biobank", "text/turtle",
                  headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304
    other_format = get(server, "/doc/organization/auria-biobank", "application/ld+json",
                       headers={"If-None-Match": first.headers["ETag"]})
    assert other_format.status_code == 200
    other_thing = get(server, "/doc/organization/fican-west", "text/turtle",
                      headers={"If-None-Match": first.headers["ETag"]})
    assert other_thing.status_code == 200 and other_thing.content
    missing = get(server, "/doc/organization/no-such-thing", "text/turtle",
                  headers={"If-None-Match": first.headers["ETag"]})
    assert missing.status_code == 404


def test_published_base_is_answered_on_any_host(server):
    for host in ("127.0.0.1", "data.example.org", "w3id.org"):
        response = get(server, "/doc/organization/fican-west.nt", headers={"Host": host})
        assert response.status_code == 200
        assert f"<{BASE}id/organization/fican-west>" in response.text


@pytest.mark.parametrize("path", [
    "/id/organization/no-such-thing", "/doc/organization/no-such-thing", "/id/unicorn/auria-biobank",
    "/id/organization/Auria-Biobank", "/doc/organization/auria-biobank.exe", "/def/NoSuchTerm",
    "/shapes/NoSuchShape",
    # a final newline: a regular expression's "$" lets it by (it was a 500)
    "/id/organization/auria-biobank%0A", "/doc/organization/auria-biobank%0A", "/def/Biobank%0A"])
def test_unknown_iris_are_404_in_the_format_asked(server, path):
    turtle = get(server, path, "text/turtle")
    assert turtle.status_code == 404
    assert turtle.headers["Content-Type"].startswith("text/turtle")
    assert len(Graph().parse(data=turtle.text, format="turtle")) == 0  # a comment, valid Turtle
    assert "404" in turtle.text
    as_json = get(server, path, "application/json")
    assert as_json.status_code == 404 and as_json.json()["error"]["status"] == 404
    html = get(server, path, "text/html")
    assert html.status_code == 404 and "<h1>404 Not Found</h1>" in html.text
    plain = get(server, path)
    assert plain.status_code == 404 and plain.headers["Content-Type"].startswith("text/plain")


def test_unacceptable_document_format_is_406(server):
    response = get(server, "/doc/organization/auria-biobank", "image/png")
    assert response.status_code == 406
    assert "text/turtle" in response.text


def test_vocabulary_term_dereferences(server):
    response = get(server, "/def/Biobank", "text/turtle")
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    term = URIRef(BASE + "def/Biobank")
    assert Literal("biopankki", lang="fi") in set(graph.objects(term, RDFS.label))
    assert len(set(graph.subjects(RDF.type, term))) == 9  # its instances point to it


def test_ontology_iri_gives_the_whole_ontology(server, release):
    response = get(server, "/def/", "text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    assert len(graph) == release.manifest["graphs"]["ontology"]["triples"]
    version = get(server, "/def/1.0.0", "application/n-triples")
    assert version.status_code == 200
    assert len(Graph().parse(data=version.text, format="nt")) == len(graph)
    html = get(server, "/def/", "text/html")
    assert "finhealthkg ontology" in html.text and 'href="/def/Biobank"' in html.text


def test_shapes_dereference_with_their_blank_nodes(server):
    response = get(server, "/shapes/BiobankShape", "text/turtle")
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    shape = URIRef(BASE + "shapes/BiobankShape")
    paths = {str(graph.value(p, URIRef("http://www.w3.org/ns/shacl#path")))
             for p in graph.objects(shape, URIRef("http://www.w3.org/ns/shacl#property"))}
    assert BASE + "def/registrationDate" in paths
    whole = Graph().parse(data=get(server, "/shapes/", "text/turtle").text, format="turtle")
    assert len(whole) > len(graph)


def test_jsonld_document_is_json(server):
    data = json.loads(get(server, "/doc/organization/auria-biobank.jsonld").text)
    assert any(node.get("@id") == AURIA for node in data)
