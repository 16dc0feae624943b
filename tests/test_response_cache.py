"""Answers kept in memory per release (web/http/response_cache.py): a repeated GET is answered from
memory with the same bytes and headers; what must not be kept never is; a new release is
never answered from the old one's answers.

In-process (the app and werkzeug's client) for what the answers are; over loopback, from
both stores, for what a real server does with them.
"""

from __future__ import annotations

import time

import pytest
import requests
from werkzeug.test import Client, EnvironBuilder

from conftest import REPO, running_server
from finhealthkg.config import Settings
from finhealthkg.pipeline.build import build_release
from finhealthkg.web.app import create_app
from finhealthkg.web.http import response_cache
from finhealthkg.web.http.access_log import QUERY_HASH, query_hash

HIT = "FinHealthKG-Cache"
LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/finhealthkg/id/organization/auria-biobank> ?p ?o }"
# Answered by a query process: worth keeping (a POST never is, test below)
MEMBERS = ("SELECT ?b WHERE { ?b <http://www.w3.org/ns/org#memberOf> "
           "<https://w3id.org/finhealthkg/id/organization/finnish-biobank-cooperative> }")
SAME = ("Content-Type", "ETag", "Last-Modified", "Vary", "Link", "Content-Location", "Cache-Control",
        "FinHealthKG-Release", "Access-Control-Allow-Origin", "X-Content-Type-Options")


def twice(url: str, **kwargs) -> tuple[requests.Response, requests.Response]:
    """The same GET until it is answered twice in a row by one server process (a hit) or the
    tries run out: the workers each keep their own answers, and any of them may answer."""
    first = requests.get(url, timeout=30, **kwargs)
    for _ in range(40):
        second = requests.get(url, timeout=30, **kwargs)
        if second.headers.get(HIT) == "hit":
            return first, second
    return first, second


@pytest.mark.parametrize("path,accept", [
    ("/doc/organization/auria-biobank", "text/turtle"),
    ("/doc/organization/auria-biobank", "text/html"),
    ("/sparql?query=" + requests.utils.quote(MEMBERS), "application/sparql-results+json"),
    ("/def/Biobank", "application/ld+json"),
    ("/catalog", "text/turtle"),
])
def test_a_repeated_get_is_answered_from_memory_with_the_same_answer(server, path, accept):
    first, second = twice(server + path, headers={"Accept": accept})
    assert first.status_code == second.status_code == 200
    assert second.headers.get(HIT) == "hit", f"never answered from memory: {path}"
    assert second.content == first.content
    for name in SAME:
        assert second.headers.get(name) == first.headers.get(name), name
    conditional = requests.get(server + path, headers={"Accept": accept, "If-None-Match": first.headers["ETag"]})
    assert conditional.status_code == 304 and not conditional.content


def test_each_variant_is_kept_apart(server):
    path = server + "/doc/organization/auria-biobank"
    _, turtle = twice(path, headers={"Accept": "text/turtle"})
    jsonld = requests.get(path, headers={"Accept": "application/ld+json"})
    assert jsonld.headers["Content-Type"].startswith("application/ld+json")
    assert turtle.headers["Content-Type"].startswith("text/turtle")
    _, finnish = twice(path, headers={"Accept": "text/html", "Accept-Language": "fi"})
    _, swedish = twice(path, headers={"Accept": "text/html", "Accept-Language": "sv"})
    assert 'lang="fi"' in finnish.text and 'lang="sv"' in swedish.text


def test_what_must_not_be_kept_never_is(server):
    for _ in range(5):
        posted = requests.post(server + "/sparql", data={"query": LOOKUP})
        assert posted.status_code == 200 and HIT not in posted.headers
        missing = requests.get(server + "/doc/organization/no-such-thing", headers={"Accept": "text/turtle"})
        assert missing.status_code == 404 and HIT not in missing.headers
        download = requests.get(server + "/downloads/dataset.ttl")
        assert download.status_code == 200 and HIT not in download.headers
        health = requests.get(server + "/healthz")
        assert HIT not in health.headers
        chosen = requests.get(server + "/doc/organization/auria-biobank?lang=sv", headers={"Accept": "text/html"})
        assert "Set-Cookie" in chosen.headers and HIT not in chosen.headers


def test_a_new_release_is_never_answered_from_the_old_ones_answers(tmp_path):
    settings = Settings(root=REPO, releases_dir=tmp_path / "releases")
    first = build_release(settings).release
    with running_server(REPO, settings.releases) as url:  # one worker: its own answers
        query = url + "/sparql?query=" + requests.utils.quote("ASK {}")
        _, kept = twice(query)
        assert kept.headers.get(HIT) == "hit" and kept.headers["FinHealthKG-Release"] == first.version
        second = build_release(settings, force=True).release
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answer = requests.get(query)
            if answer.headers["FinHealthKG-Release"] == second.version:
                break
            time.sleep(0.2)
        assert answer.headers["FinHealthKG-Release"] == second.version
        assert HIT not in answer.headers  # the first answer to the new release is asked anew
        assert second.version in answer.headers["ETag"]


# --- in-process: a kept answer is the answer ----------------------------------------------------

ID = "https://w3id.org/finhealthkg/id/"
LOOKUPS = [
    f"SELECT ?p ?o WHERE {{ <{ID}organization/auria-biobank> ?p ?o }}",
    f"SELECT * WHERE {{ <{ID}organization/finnish-biobank-cooperative> ?p ?o }}",
    f"PREFIX org: <{ID}organization/> SELECT DISTINCT ?p WHERE {{ org:auria-biobank ?p ?o }}",
    f"ASK {{ <{ID}organization/auria-biobank> ?p ?o }}",
    f"ASK {{ <{ID}organization/no-such-thing> ?p ?o }}",
    f"SELECT ?p ?o WHERE {{ <{ID}organization/no-such-thing> ?p ?o }}",
]
DOCUMENTS = ["/doc/organization/auria-biobank", "/doc/organization/finnish-biobank-cooperative",
             "/doc/place/turku", "/doc/status/established"]
DOCUMENT_ACCEPTS = ["", "text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml",
                    "*/*", "text/plain", "text/html;q=0.5, application/ld+json", "application/x-turtle"]


@pytest.fixture(scope="module")
def app(release):
    app = create_app(Settings(root=REPO, releases_dir=release.path.parent))
    yield app
    app.extensions["finhealthkg"].now.retire()  # its query processes


def fresh_then_kept(app, path: str, query_string: dict | str, headers: dict):
    """The answer made anew, then the same request again (a hit when the first was kept)."""
    app.extensions[response_cache.EXTENSION].clear()
    client = Client(app)
    return (client.get(path, query_string=query_string, headers=headers),
            client.get(path, query_string=query_string, headers=headers))


def assert_same(fresh, again) -> None:
    assert again.status_code == fresh.status_code
    assert again.get_data() == fresh.get_data()
    assert sorted((n, v) for n, v in again.headers.items() if n != HIT) == sorted(fresh.headers.items())


@pytest.mark.parametrize("query", LOOKUPS)
def test_a_kept_answer_to_a_query_is_the_answer_made_anew(app, query):
    fresh, again = fresh_then_kept(app, "/sparql", {"query": query}, {})
    assert fresh.status_code == 200 and HIT not in fresh.headers
    assert again.headers[HIT] == "hit"
    assert_same(fresh, again)


@pytest.mark.parametrize("accept", DOCUMENT_ACCEPTS)
@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_kept_description_is_the_description_made_anew(app, path, accept):
    fresh, again = fresh_then_kept(app, path, {}, {"Accept": accept} if accept else {})
    assert fresh.status_code == 200 and HIT not in fresh.headers
    assert again.headers[HIT] == "hit"
    assert_same(fresh, again)


@pytest.mark.parametrize(("path", "headers"), [
    (DOCUMENTS[0], {"Accept": "text/turtle"}),
    ("/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D", {}),
    ("/fragments", {"Accept": "text/turtle"}),
    ("/catalog", {"Accept": "text/turtle"}),
])
def test_a_conditional_request_is_answered_alike_whether_or_not_the_answer_is_kept(app, path, headers):
    """The app judges every condition, each route as it does: a kept answer changes nothing."""
    app.extensions[response_cache.EXTENSION].clear()
    client = Client(app)
    fresh = client.get(path, headers=headers)
    conditions = [{"If-None-Match": fresh.headers["ETag"]}, {"If-None-Match": "W/" + fresh.headers["ETag"]},
                  {"If-None-Match": '"other"'}, {"If-Match": '"nope"'}, {"Range": "bytes=0-9"},
                  {"If-Modified-Since": fresh.headers["Last-Modified"]}]
    for condition in conditions:
        app.extensions[response_cache.EXTENSION].clear()
        missed = client.get(path, headers={**headers, **condition})
        client.get(path, headers=headers)  # now kept
        again = client.get(path, headers={**headers, **condition})
        assert (again.status_code, again.get_data()) == (missed.status_code, missed.get_data()), condition
        assert HIT not in again.headers


def test_a_script_name_never_puts_one_path_s_answer_under_another(app):
    """SCRIPT_NAME (a prefix a proxy may send) and the path the app routes on are kept apart."""
    app.extensions[response_cache.EXTENSION].clear()
    client = Client(app)
    odd = EnvironBuilder(path="/def/", query_string="p=1", headers={"Accept": "text/turtle"}).get_environ()
    odd["SCRIPT_NAME"], odd["PATH_INFO"] = "/def", "/"
    b"".join(app.wsgi_app(odd, lambda *args: None))  # the catalogue, kept
    plain = client.get("/def/", query_string="p=1", headers={"Accept": "text/turtle"})
    assert HIT not in plain.headers and b"owl:Class" in plain.get_data()


def test_no_host_and_an_empty_host_get_the_servers_own_origin(app):
    """Neither names an origin (an empty Host once made the controls "http:/fragments"): the
    answers name the server's own, so they are one answer, kept once."""
    app.extensions[response_cache.EXTENSION].clear()
    empty = EnvironBuilder(path="/fragments", headers={"Accept": "text/turtle"}).get_environ()
    empty["HTTP_HOST"] = ""
    first = b"".join(app.wsgi_app(empty, lambda *args: None))
    missing = EnvironBuilder(path="/fragments", headers={"Accept": "text/turtle"}).get_environ()
    del missing["HTTP_HOST"]
    body = b"".join(app.wsgi_app(missing, lambda *args: None))
    assert body == first and b"http:/fragments" not in body and b'"http://127.0.0.1:8080/fragments{' in body


def test_an_answer_from_another_release_than_the_key_s_is_not_kept():
    """The current release changed while the app answered: the answer is sent, never kept
    under the older release's key."""
    headers = [("Content-Type", "text/turtle"), ("Cache-Control", "public, max-age=300"),
               ("FinHealthKG-Release", "20261205T000000Z-bbbbbbbb")]
    assert response_cache._keepable("200 OK", headers, "20261205T000000Z-bbbbbbbb")
    assert not response_cache._keepable("200 OK", headers, "20261204T000000Z-aaaaaaaa")
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
    (DOCUMENTS[0], "bench=%FF", {"Accept": "text/turtle"}),  # not UTF-8
    (DOCUMENTS[0] + ".ttl", {}, {}),
    (DOCUMENTS[0] + ".html", {}, {"Accept": "text/turtle"}),
    (DOCUMENTS[0] + ".xyz", {}, {}),  # 404: no such suffix
    ("/doc/organization/no-such-thing", {}, {"Accept": "text/turtle"}),  # 404
    ("/doc/organization/Auria-Biobank", {}, {}),  # 404: not a slug
    ("/doc/nokind/auria-biobank", {}, {}),  # 404: not a kind
    ("/doc/organization/auria-biobank/more", {}, {}),  # 404
    ("/doc/organization/", {}, {}),  # 404
])
def test_any_request_asked_again_is_answered_alike(app, path, query_string, headers):
    """Kept or not, the second answer is the first; only a complete 200 may come from memory."""
    fresh, again = fresh_then_kept(app, path, query_string, headers)
    assert_same(fresh, again)
    if fresh.status_code != 200:
        assert HIT not in again.headers


@pytest.mark.parametrize(("query_string", "headers"), [
    ({"lang": "fi"}, {"Accept": "text/turtle"}),  # the language of pages: a description has none
    ({"bench": "7"}, {"Accept": "text/turtle", "Accept-Language": "fi"}),
    ({"release": "20990101T000000Z"}, {"Accept": "application/n-triples"}),  # not a parameter of /doc/
])
def test_parameters_a_description_ignores_are_kept_apart_and_answered_alike(app, query_string, headers):
    plain, _ = fresh_then_kept(app, DOCUMENTS[0], {}, headers)
    fresh, again = fresh_then_kept(app, DOCUMENTS[0], query_string, headers)
    assert fresh.status_code == 200 and again.headers[HIT] == "hit"
    assert_same(fresh, again)
    assert fresh.get_data() == plain.get_data()


def test_an_answer_for_one_host_is_never_given_for_another(app):
    """Some answers hold links built from the request's origin (the fragments' controls). The
    origin is the server's, not the client's Host (web/http/origin.py); and the key holds the
    host as well, so one odd Host could not put its links in everyone's answers either."""
    app.extensions[response_cache.EXTENSION].clear()
    client = Client(app)
    odd = client.get("/fragments", headers={"Host": "evil.example", "Accept": "text/turtle"})
    assert odd.status_code == 200 and b"evil.example" not in odd.get_data()
    for _ in range(3):
        normal = client.get("/fragments", headers={"Accept": "text/turtle"})
        assert normal.status_code == 200 and b"evil.example" not in normal.get_data()


def test_a_kept_answer_to_a_query_still_gives_the_access_log_its_hash(app):
    query = LOOKUPS[0]
    app.extensions[response_cache.EXTENSION].clear()
    for expected_hit in (False, True):
        environ = EnvironBuilder(path="/sparql", query_string={"query": query}).get_environ()
        started: list[list[tuple[str, str]]] = []

        def start_response(status, headers, exc_info=None, started=started):  # noqa: ANN001, ANN202
            started.append(headers)
        body = b"".join(app.wsgi_app(environ, start_response))
        assert body and ((HIT, "hit") in started[0]) is expected_hit
        assert environ[QUERY_HASH] == query_hash(query)


def test_a_large_answer_is_answered_but_not_kept(app, monkeypatch):
    monkeypatch.setattr(response_cache, "MAX_BODY", 100)
    fresh, again = fresh_then_kept(app, DOCUMENTS[0], {}, {"Accept": "text/turtle"})
    assert len(fresh.get_data()) > 100 and HIT not in again.headers
    assert_same(fresh, again)


def test_the_kept_answers_are_bounded_in_bytes_and_the_least_used_go_first(app, monkeypatch):
    kept = app.extensions[response_cache.EXTENSION]
    kept.clear()
    client = Client(app)
    sizes = []
    for i in range(60):
        answer = client.get(DOCUMENTS[0], query_string={"n": str(i)}, headers={"Accept": "text/turtle"})
        sizes.append(len(answer.get_data()))
    assert len(kept) == 60
    bound = kept.currsize // 2  # room for about half of them
    monkeypatch.setattr(kept, "_Cache__maxsize", bound)  # cachetools keeps its bound there
    first = client.get(DOCUMENTS[0], query_string={"n": "0"}, headers={"Accept": "text/turtle"})  # used: kept
    client.get(DOCUMENTS[0], query_string={"n": "new"}, headers={"Accept": "text/turtle"})  # makes room
    assert kept.currsize <= bound and 20 < len(kept) < 40
    assert first.headers[HIT] == "hit"
    again = client.get(DOCUMENTS[0], query_string={"n": "0"}, headers={"Accept": "text/turtle"})
    gone = client.get(DOCUMENTS[0], query_string={"n": "1"}, headers={"Accept": "text/turtle"})
    assert again.headers.get(HIT) == "hit" and HIT not in gone.headers
    kept.clear()


def test_the_bound_of_one_process_is_small_enough_for_every_worker():
    """Five workers of the default server together keep at most a few hundred MiB of answers."""
    assert 5 * response_cache.MAX_BYTES <= 256 * 1024 * 1024
    assert response_cache.MAX_BODY < response_cache.MAX_BYTES
