"""`finhealthkg load` into Virtuoso: verified, switched in one step, interrupted or refused
without harm to the release being served, old releases dropped, credentials never shown."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO, VIRTUOSO_PASSWORD, cli, running_server
from finhealthkg.config import Settings
from finhealthkg.pipeline.build import build_release
from finhealthkg.release import Release
from finhealthkg.stores.sparql import Connection, current_release_view, release_graph

FOLLOW = 0.5  # seconds between the server's looks at the store's pointer (--follow-seconds)

_bases = itertools.count(1)


@pytest.fixture
def base_iri() -> str:
    """A dataset of its own in the shared store, so tests never see each other's releases."""
    return f"http://load-test-{os.getpid()}-{next(_bases)}.example/"


@pytest.fixture
def settings(tmp_path: Path, base_iri: str) -> Settings:
    return Settings(root=REPO, releases_dir=tmp_path / "releases", base_iri=base_iri)


def load(virtuoso, settings: Settings, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return cli("load", "--root", str(REPO), "--releases", str(settings.releases), "--base-iri", settings.base_iri,
               *virtuoso.store_args(), *extra, env=env or VIRTUOSO_PASSWORD)


def connection(virtuoso) -> Connection:
    return Connection(virtuoso.query_url, virtuoso.update_url, "dba", "dba")


def served(url: str) -> tuple[str, int]:
    response = requests.get(url + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    return response.headers["FinHealthKG-Release"], int(response.json()["results"]["bindings"][0]["n"]["value"])


def wait_for_release(url: str, version: str, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and served(url)[0] != version:
        time.sleep(0.5)
    return served(url)[0]


def test_load_checks_counts_and_marks_the_release_current(virtuoso, settings):
    release = build_release(settings).release
    done = load(virtuoso, settings)
    assert done.returncode == 0, done.stderr
    for step in ("[1/6] Checking the store", "[3/6] Loading", "[4/6] Checking triple counts",
                 f"[5/6] Marking release {release.version} current"):
        assert step in done.stderr
    view = current_release_view(connection(virtuoso), settings.base_iri)
    assert view.version == release.version
    assert set(view.graphs) == {entry["iri"] for entry in release.manifest["graphs"].values()}
    for entry in release.manifest["graphs"].values():
        assert view.triple_count([entry["iri"]]) == entry["triples"]
    again = load(virtuoso, settings)
    assert again.returncode == 0 and "already current" in again.stderr


def test_large_loads_go_in_bounded_requests_with_progress(virtuoso, settings):
    build_release(settings)
    done = load(virtuoso, settings, "--max-request-bytes", "8000")
    assert done.returncode == 0, done.stderr
    requests_sent = int(re.search(r"(\d+) triples in (\d+) requests", done.stderr).group(2))
    assert requests_sent > 30
    assert "%)" in done.stderr  # progress lines


def _start_load(virtuoso, settings: Settings) -> subprocess.Popen:
    script = Path(sys.executable).parent / "finhealthkg"
    return subprocess.Popen(
        [str(script), "load", "--root", str(REPO), "--releases", str(settings.releases), "--base-iri",
         settings.base_iri, *virtuoso.store_args(), "--max-request-bytes", "2000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **VIRTUOSO_PASSWORD})


def test_killed_load_leaves_the_previous_release_served(virtuoso, settings):
    first = build_release(settings).release
    assert load(virtuoso, settings).returncode == 0
    second = build_release(settings, force=True).release
    with running_server(REPO, settings.releases, "--base-iri", settings.base_iri,
                        "--store", virtuoso.query_url, "--follow-seconds", str(FOLLOW)) as url:
        assert served(url) == (first.version, first.triples)
        process = _start_load(virtuoso, settings)
        for line in process.stdout:  # kill it in the middle of sending triples
            if "%)" in line:
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL, "the load ended before it could be killed"
        time.sleep(3 * FOLLOW)  # longer than the server's check of the store's pointer
        assert served(url) == (first.version, first.triples)
        assert current_release_view(connection(virtuoso), settings.base_iri).version == first.version
        # the next load clears what the killed one left and finishes; the server follows
        again = load(virtuoso, settings)
        assert again.returncode == 0, again.stderr
        assert "graph(s) dropped" in again.stderr and "0 graph(s) dropped" not in again.stderr
        assert wait_for_release(url, second.version) == second.version
        assert served(url)[1] == second.triples


def test_a_store_that_refuses_the_data_changes_nothing(virtuoso, settings, release: Release):
    first = build_release(settings).release
    assert load(virtuoso, settings).returncode == 0
    build_release(settings, force=True)
    with running_server(REPO, settings.releases, "--base-iri", settings.base_iri,
                        "--store", virtuoso.query_url, "--follow-seconds", str(FOLLOW)) as url:
        # our own endpoint as the "update endpoint": it refuses every update (403)
        refused = cli("load", "--root", str(REPO), "--releases", str(settings.releases),
                      "--base-iri", settings.base_iri, "--store", virtuoso.query_url, "--update-url", url + "/sparql",
                      env=VIRTUOSO_PASSWORD)
        assert refused.returncode == 2
        assert "refused the update (403)" in refused.stderr
        time.sleep(3 * FOLLOW)
        assert served(url) == (first.version, first.triples)


def test_wrong_password_is_a_clear_error_that_never_shows_the_password(virtuoso, settings):
    build_release(settings)
    secret = "s3cret-Pa55-word-for-the-test"
    done = load(virtuoso, settings, env={"FINHEALTHKG_STORE_PASSWORD": secret})
    assert done.returncode == 2
    assert "not allowed (check --user and the password variable)" in done.stderr
    assert secret not in done.stderr + done.stdout
    missing = cli("load", "--root", str(REPO), "--releases", str(settings.releases), *virtuoso.store_args(),
                  "--password-env", "NO_SUCH_VARIABLE_HERE")
    assert missing.returncode == 2 and "NO_SUCH_VARIABLE_HERE" in missing.stderr


def test_only_the_last_releases_are_kept(virtuoso, settings):
    versions = []
    for _ in range(4):
        release = build_release(settings, force=True).release
        done = load(virtuoso, settings, "--keep", "2")
        assert done.returncode == 0, done.stderr
        versions.append(release.version)
    store = connection(virtuoso)
    assert current_release_view(store, settings.base_iri).version == versions[-1]
    _, body = store.select(f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} '
                           f'FILTER (STRSTARTS(STR(?g), "{settings.base_iri}release/")) }}',
                           accept="text/csv")
    graphs = set(body.decode().split()[1:])
    for old in versions[:2]:
        assert not any(old in g for g in graphs), old
    for kept in versions[2:]:
        assert f'"{release_graph(settings.base_iri, kept, "https://w3id.org/finhealthkg/graph/data")}"' in graphs


def test_serving_from_the_store_never_shows_credentials(virtuoso, settings):
    build_release(settings)
    assert load(virtuoso, settings).returncode == 0
    secret = "an0ther-s3cret-not-to-show"
    os.environ["TEST_READER_PASSWORD"] = secret  # the server process inherits it
    try:
        with running_server(REPO, settings.releases, "--base-iri", settings.base_iri, "--store", virtuoso.query_url,
                            "--user", "reader", "--password-env", "TEST_READER_PASSWORD") as url:
            pages = [requests.get(url + path, headers={"Accept": accept}).text for path, accept in [
                ("/sparql", "text/turtle"), ("/sparql", "text/html"), ("/catalog", "text/turtle"),
                ("/.well-known/void", "text/turtle"), ("/sparql?query=SELEC", "application/json"),
                ("/doc/organization/nothing", "text/html"), ("/", "text/html")]]
    finally:
        os.environ.pop("TEST_READER_PASSWORD", None)
    for page in pages:
        assert secret not in page and "reader" not in page
    for log in settings.releases.parent.glob("server-*.log"):
        assert secret not in log.read_text()
