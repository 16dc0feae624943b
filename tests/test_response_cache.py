"""Answers kept in memory per release (web/response_cache.py): a repeated GET is answered from
memory with the same bytes and headers; what must not be kept never is; a new release is
never answered from the old one's answers."""

from __future__ import annotations

import time

import pytest
import requests

from conftest import REPO, running_server
from finhealthkg.config import Settings
from finhealthkg.pipeline.build import build_release

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
