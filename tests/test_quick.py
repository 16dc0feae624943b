"""quick.py answers GET point lookups and GET /doc/ descriptions in front of Flask: with the very
bytes and headers the Flask path gives (the response cache included), and never a request that
path would answer otherwise."""

from __future__ import annotations

import pytest
from werkzeug.test import Client, EnvironBuilder

from conftest import REPO
from finhealthkg.config import Settings
from finhealthkg.web import response_cache
from finhealthkg.web.app import create_app
from finhealthkg.web.quick import QuickAnswers

ID = "https://w3id.org/finhealthkg/id/"
LOOKUPS = [
    f"SELECT ?p ?o WHERE {{ <{ID}organization/auria-biobank> ?p ?o }}",
    f"SELECT * WHERE {{ <{ID}organization/finnish-biobank-cooperative> ?p ?o }}",
    f"PREFIX org: <{ID}organization/> SELECT DISTINCT ?p WHERE {{ org:auria-biobank ?p ?o }}",
    f"ASK {{ <{ID}organization/auria-biobank> ?p ?o }}",
    f"ASK {{ <{ID}organization/no-such-thing> ?p ?o }}",
    f"SELECT ?p ?o WHERE {{ <{ID}organization/no-such-thing> ?p ?o }}",
]
ACCEPTS = ["", "application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values", "*/*", "application/json;q=0.5, text/csv",
           "application/sparql-results+xml, application/sparql-results+json;q=0.9"]


@pytest.fixture(scope="module")
def app(release):
    app = create_app(Settings(root=REPO, releases_dir=release.path.parent))
    yield app
    app.extensions["finhealthkg"].now.retire()  # its query processes


def both(app, query_string: dict | str, headers: dict, path: str = "/sparql") -> tuple[object, object, object]:
    """(what the quick path answers itself or None, the whole app's response, the Flask path's)."""
    quick: QuickAnswers = app.wsgi_app
    kept = app.extensions[response_cache.EXTENSION]
    kept.clear()  # each path makes its answer: none is a hit on the other's
    environ = EnvironBuilder(path=path, query_string=query_string, headers=headers).get_environ()
    own = quick.answer(environ)
    kept.clear()
    whole = Client(app).get(path, query_string=query_string, headers=headers)
    kept.clear()
    flask_only = Client(quick.inner).get(path, query_string=query_string, headers=headers)
    kept.clear()
    return own, whole, flask_only


def same(whole, flask_only) -> None:
    assert whole.status_code == flask_only.status_code
    assert whole.get_data() == flask_only.get_data()
    assert sorted(whole.headers.items()) == sorted(flask_only.headers.items())


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", LOOKUPS)
def test_a_point_lookup_is_answered_quickly_with_the_flask_paths_bytes_and_headers(app, query, accept):
    own, whole, flask_only = both(app, {"query": query}, {"Accept": accept} if accept else {})
    same(whole, flask_only)
    # answered quickly whenever the Flask path answers 200 (CSV and TSV are not offered for ASK: 406)
    assert (own is not None) == (flask_only.status_code == 200)
    tabular_only = accept in ("text/csv", "text/tab-separated-values")
    assert flask_only.status_code == (406 if query.startswith("ASK") and tabular_only else 200)


@pytest.mark.parametrize(("query_string", "headers"), [
    ({"query": LOOKUPS[0]}, {"Accept": "text/html"}),  # a page
    ({"query": LOOKUPS[0]}, {"Accept": "image/png"}),  # 406
    ({"query": LOOKUPS[0]}, {"If-None-Match": '"x"'}),
    ({"query": LOOKUPS[0]}, {"If-Modified-Since": "Tue, 01 Dec 2026 00:00:00 GMT"}),
    ({"query": LOOKUPS[0], "format": "csv"}, {}),
    ({"query": LOOKUPS[0], "default-graph-uri": "https://w3id.org/finhealthkg/graph/data"}, {}),
    ({"query": LOOKUPS[0], "release": "20990101T000000Z"}, {}),  # 404
    ({"query": [LOOKUPS[0], LOOKUPS[1]]}, {}),  # 400: two queries
    ({"query": LOOKUPS[0], "update": "CLEAR ALL"}, {}),
    ({"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"}, {}),  # not a point lookup
    ({"query": f"SELECT ?p ?o WHERE {{ <{ID}a b> ?p ?o }}"}, {}),  # 400: not an IRI
    ({"query": "SELECT ?p ?o WHERE { <http://example.org/x> ?p ?o }"}, {}),
    ({"query": f"SELECT ?p ?o FROM <http://example.org/g> WHERE {{ <{ID}x> ?p ?o }}"}, {}),  # 400: FROM elsewhere
    ("query=SELECT%20%3Fp%20%3Fo%20WHERE%20%7B%20%3Chttp%3A%2F%2Fx%2F%FF%3E%20%3Fp%20%3Fo%20%7D", {}),  # not UTF-8
    ({}, {"Accept": "text/turtle"}),  # the service description
])
def test_anything_else_is_left_to_the_flask_path(app, query_string, headers):
    own, whole, flask_only = both(app, query_string, headers)
    if own is not None:  # answered quickly: then exactly as the Flask path answers
        assert whole.status_code == 200
    same(whole, flask_only)
    assert own is None or "format" not in query_string


def test_the_cases_the_quick_path_declines_are_declined(app):
    """Each of these goes to Flask (a page, a condition, a parameter, a query that is not a lookup)."""
    quick: QuickAnswers = app.wsgi_app
    for query_string, headers in [({"query": LOOKUPS[0]}, {"Accept": "text/html"}),
                                  ({"query": LOOKUPS[0]}, {"If-None-Match": '"x"'}),
                                  ({"query": LOOKUPS[0], "format": "csv"}, {}),
                                  ({"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"}, {}),
                                  ({"query": f"SELECT ?p ?o WHERE {{ <{ID}a b> ?p ?o }}"}, {})]:
        environ = EnvironBuilder(path="/sparql", query_string=query_string, headers=headers).get_environ()
        assert quick(environ, lambda *a: None) is not None
        assert quick.answer(environ) is None or headers.get("If-None-Match"), (query_string, headers)


DOCUMENTS = ["/doc/organization/auria-biobank", "/doc/organization/finnish-biobank-cooperative",
             "/doc/place/turku", "/doc/status/established"]
DOCUMENT_ACCEPTS = ["", "text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml",
                    "*/*", "text/plain", "text/html;q=0.5, application/ld+json", "application/x-turtle"]


@pytest.mark.parametrize("accept", DOCUMENT_ACCEPTS)
@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_description_is_answered_quickly_with_the_flask_paths_bytes_and_headers(app, path, accept):
    own, whole, flask_only = both(app, {}, {"Accept": accept} if accept else {}, path)
    assert flask_only.status_code == 200
    same(whole, flask_only)
    assert own is not None
    headers, body = own
    assert body == flask_only.get_data() and sorted(headers) == sorted(flask_only.headers.items())


def test_a_description_kept_by_either_path_is_a_hit_on_the_other_with_the_same_headers(app):
    quick: QuickAnswers = app.wsgi_app
    kept = app.extensions[response_cache.EXTENSION]
    path, query, headers = DOCUMENTS[0], {"bench": "1"}, {"Accept": "text/turtle"}
    for first, second in [(Client(quick.inner), Client(app)), (Client(app), Client(quick.inner))]:
        kept.clear()
        made = first.get(path, query_string=query, headers=headers)
        assert "FinHealthKG-Cache" not in made.headers
        hits = [second.get(path, query_string=query, headers=headers),
                first.get(path, query_string=query, headers=headers)]
        for hit in hits:
            assert hit.headers["FinHealthKG-Cache"] == "hit"
            assert hit.get_data() == made.get_data()
        same(*hits)
    kept.clear()


@pytest.mark.parametrize(("path", "query_string", "headers"), [
    (DOCUMENTS[0], {}, {"Accept": "text/html"}),  # a page
    (DOCUMENTS[0], {}, {"Accept": "application/xhtml+xml"}),
    (DOCUMENTS[0], {}, {"Accept": "image/png"}),  # 406
    (DOCUMENTS[0], {}, {"If-None-Match": '"x"'}),
    (DOCUMENTS[0], {}, {"If-Modified-Since": "Tue, 01 Dec 2026 00:00:00 GMT"}),
    (DOCUMENTS[0], {}, {"Range": "bytes=0-10"}),
    (DOCUMENTS[0], {}, {"Cookie": "lang=fi", "Accept": "text/turtle"}),
    (DOCUMENTS[0], {"format": "ntriples"}, {}),
    (DOCUMENTS[0], "%66ormat=ntriples", {}),  # "format", percent-encoded
    (DOCUMENTS[0], "format", {}),  # 406: format is empty
    (DOCUMENTS[0], "bench=%FF", {"Accept": "text/turtle"}),  # not UTF-8: werkzeug keeps it, the app answers
    (DOCUMENTS[0] + ".ttl", {}, {}),
    (DOCUMENTS[0] + ".html", {}, {"Accept": "text/turtle"}),
    (DOCUMENTS[0] + ".xyz", {}, {}),  # 404: no such suffix
    ("/doc/organization/no-such-thing", {}, {"Accept": "text/turtle"}),  # 404
    ("/doc/organization/Auria-Biobank", {}, {}),  # 404: not a slug
    ("/doc/nokind/auria-biobank", {}, {}),  # 404: not a kind
    ("/doc/organization/auria-biobank/more", {}, {}),  # 404
    ("/doc/organization/", {}, {}),  # 404
])
def test_any_other_document_request_is_left_to_the_flask_path(app, path, query_string, headers):
    own, whole, flask_only = both(app, query_string, headers, path)
    assert own is None
    same(whole, flask_only)


@pytest.mark.parametrize(("query_string", "headers"), [
    ({"lang": "fi"}, {"Accept": "text/turtle"}),  # the language of pages: a description has none
    ({"bench": "7"}, {"Accept": "text/turtle", "Accept-Language": "fi"}),
    ({"release": "20990101T000000Z"}, {"Accept": "application/n-triples"}),  # not a parameter of /doc/
])
def test_parameters_a_description_ignores_are_ignored_alike(app, query_string, headers):
    own, whole, flask_only = both(app, query_string, headers, DOCUMENTS[0])
    assert own is not None and flask_only.status_code == 200
    same(whole, flask_only)
