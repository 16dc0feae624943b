"""quick_lookups.py answers GET point lookups in front of Flask: with the very bytes and headers
the Flask path gives, and never a request that path would answer otherwise."""

from __future__ import annotations

import pytest
from werkzeug.test import Client, EnvironBuilder

from conftest import REPO
from finhealthkg.config import Settings
from finhealthkg.web import response_cache
from finhealthkg.web.app import create_app
from finhealthkg.web.quick_lookups import QuickLookups

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


def both(app, query_string: dict | str, headers: dict) -> tuple[object, object, object]:
    """(what the quick path answers itself or None, the whole app's response, the Flask path's)."""
    quick: QuickLookups = app.wsgi_app
    environ = EnvironBuilder(path="/sparql", query_string=query_string, headers=headers).get_environ()
    own = quick.answer(environ)
    kept = app.extensions[response_cache.EXTENSION]
    kept.clear()  # each path makes its answer: none is a hit on the other's
    whole = Client(app).get("/sparql", query_string=query_string, headers=headers)
    kept.clear()
    flask_only = Client(quick.inner).get("/sparql", query_string=query_string, headers=headers)
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
    quick: QuickLookups = app.wsgi_app
    for query_string, headers in [({"query": LOOKUPS[0]}, {"Accept": "text/html"}),
                                  ({"query": LOOKUPS[0]}, {"If-None-Match": '"x"'}),
                                  ({"query": LOOKUPS[0], "format": "csv"}, {}),
                                  ({"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"}, {}),
                                  ({"query": f"SELECT ?p ?o WHERE {{ <{ID}a b> ?p ?o }}"}, {})]:
        environ = EnvironBuilder(path="/sparql", query_string=query_string, headers=headers).get_environ()
        assert quick(environ, lambda *a: None) is not None
        assert quick.answer(environ) is None or headers.get("If-None-Match"), (query_string, headers)
