"""quick.py answers GET /doc/ descriptions in front of Flask (and never a query): with the very
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


@pytest.mark.parametrize("query", LOOKUPS)
def test_no_query_is_answered_in_front_of_flask(app, query):
    """Every query, a point lookup too, runs in a query process (query/pool.py), never in the web worker."""
    quick: QuickAnswers = app.wsgi_app
    environ = EnvironBuilder(path="/sparql", query_string={"query": query}).get_environ()
    assert quick.answer(environ) is None
    own, whole, flask_only = both(app, {"query": query}, {})
    assert own is None
    same(whole, flask_only)


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
