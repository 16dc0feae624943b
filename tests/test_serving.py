"""`finhealthkg serve`: a production server that follows new releases and keeps the last
good one when a new one cannot be opened."""

from __future__ import annotations

import shutil
import time

import pytest
import requests

from conftest import REPO, cli, running_server
from finhealthkg.config import Settings
from finhealthkg.pipeline.build import build_release
from finhealthkg.release import switch_current
from finhealthkg.web.app import create_app


def release_served(url: str) -> str:
    return requests.get(url + "/sparql", params={"query": "ASK {}"}).headers["FinHealthKG-Release"]


def wait_for(url: str, version: str, seconds: float = 10) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        served = release_served(url)
        if served == version:
            return served
        time.sleep(0.2)
    return release_served(url)


def test_serve_without_a_release_says_what_to_do(tmp_path):
    done = cli("serve", "--root", str(REPO), "--releases", str(tmp_path / "none"), "--port", "1")
    assert done.returncode == 2
    assert "run `finhealthkg build` first" in done.stderr


def test_a_new_build_is_served_without_a_restart(tmp_path):
    settings = Settings(root=REPO, releases_dir=tmp_path / "releases")
    first = build_release(settings).release
    with running_server(REPO, settings.releases, workers=2) as url:
        assert release_served(url) == first.version
        second = build_release(settings, force=True).release
        assert wait_for(url, second.version) == second.version
        for _ in range(6):  # every worker follows
            assert release_served(url) == second.version


def test_a_broken_new_release_leaves_the_last_good_one_serving(tmp_path):
    settings = Settings(root=REPO, releases_dir=tmp_path / "releases")
    good = build_release(settings).release
    broken = build_release(settings, force=True).release
    switch_current(settings.releases, good.version)
    with running_server(REPO, settings.releases) as url:
        assert release_served(url) == good.version
        shutil.rmtree(broken.store_path)  # the new release's store is gone
        (broken.store_path).mkdir()  # an empty directory is not a store either
        switch_current(settings.releases, broken.version)
        time.sleep(2.5)
        assert release_served(url) == good.version
        answer = requests.get(url + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == good.triples


def test_behind_a_proxy_the_public_url_is_described(release):
    with running_server(REPO, release.path.parent, "--proxy-hops", "1") as url:
        response = requests.get(url + "/sparql", headers={
            "Accept": "application/n-triples", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "kg.example.org"})
        assert "<http://www.w3.org/ns/sparql-service-description#endpoint> <https://kg.example.org/sparql>" \
            in response.text
    with running_server(REPO, release.path.parent) as url:  # not trusted without --proxy-hops
        response = requests.get(url + "/sparql", headers={
            "Accept": "application/n-triples", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "kg.example.org"})
        assert "kg.example.org" not in response.text


def test_links_controls_and_the_endpoint_name_the_public_url(release):
    """--public-url: every answer names that origin, whatever Host or X-Forwarded-* a client sends."""
    public = "https://kg.example.org"
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
    for hops in ("0", "1"):
        with running_server(REPO, release.path.parent, "--public-url", public + "/", "--proxy-hops", hops) as url:
            described = requests.get(url + "/sparql", headers={"Accept": "application/n-triples", **forged})
            assert f"<http://www.w3.org/ns/sparql-service-description#endpoint> <{public}/sparql>" in described.text
            controls = requests.get(url + "/fragments", headers={"Accept": "text/turtle", **forged})
            assert f'"{public}/fragments{{?subject,predicate,object}}"' in controls.text
            manifest = requests.get(url + "/reconcile", headers=forged).json()
            assert manifest["view"]["url"].startswith(public + "/reconcile/view")
            for answer in (described, controls):
                assert "evil.example" not in answer.text


@pytest.mark.parametrize("given", ["kg.example.org", "ftp://kg.example.org", "https://kg.example.org/kg/",
                                   "https://user@kg.example.org", "https://kg.example.org:99999"])
def test_a_public_url_that_is_not_an_origin_stops_the_server_with_a_message(release, given):
    done = cli("serve", "--releases", str(release.path.parent), "--port", "1", "--public-url", given)
    assert done.returncode == 2 and "--public-url" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_what_a_release_keeps_for_requests_is_bounded(release, tmp_path):
    """Keys that come from requests (a type asked for, a host name) must not grow a worker forever."""
    from finhealthkg.serving import MEMO_ENTRIES
    from finhealthkg.web.http.publication import EXTENSION

    app = create_app(Settings(root=REPO, releases_dir=release.path.parent, run_dir=tmp_path))
    client = app.test_client()
    for n in range(MEMO_ENTRIES + 20):
        asked = client.get("/reconcile/extend/propose", query_string={"type": f"https://example.org/T{n}"})
        assert asked.status_code == 200
    assert len(app.extensions[EXTENSION].now.cache) == MEMO_ENTRIES
    assert client.get("/catalog").status_code == 200


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_the_follow_interval_must_be_a_positive_number_of_seconds(tmp_path, value):
    done = cli("serve", "--root", str(REPO), "--releases", str(tmp_path), "--follow-seconds", value)
    assert done.returncode == 2 and "--follow-seconds" in done.stderr


def test_a_new_build_waits_for_the_follow_interval(tmp_path):
    """With --follow-seconds 30 the worker does not look again for 30 s (the default is 1 s)."""
    settings = Settings(root=REPO, releases_dir=tmp_path / "releases")
    first = build_release(settings).release
    with running_server(REPO, settings.releases, "--follow-seconds", "30") as url:
        build_release(settings, force=True)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            answer = requests.get(url + "/sparql", params={"query": "ASK {}"})
            assert answer.headers["FinHealthKG-Release"] == first.version
            time.sleep(0.1)
