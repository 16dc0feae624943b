"""Operational basics: the JSON access log, /healthz, graceful shutdown on SIGTERM, the pages'
security headers (checked in a real browser too), and the load test (bench/load.py) held."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from conftest import REPO, Server, alive, not_here, started_server
from finhealthkg.config import Settings
from finhealthkg.release import Release
from finhealthkg.stores import StoreError
from finhealthkg.web import create_app, health
from finhealthkg.web.http.access_log import query_hash
from finhealthkg.web.http.security import YASGUI_STYLES

LOAD = REPO / "bench" / "load.py"
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads a browser here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
STATIC = REPO / "server" / "finhealthkg" / "web" / "static"
# About 2 s of work on the real data (1757 triples: 3 million rows of a cartesian product, counted).
SLOW_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } LIMIT 3000000 }"


@contextmanager
def own_server(release: Release, tmp_path: Path, *extra: str) -> Iterator[Server]:
    """`finhealthkg serve` of the test release with its own worker count, its stdout (the
    access log) and stderr apart."""
    with started_server(REPO, release.path.parent, *extra, workers=None, logs=tmp_path) as server:
        yield server


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


# --- the access log ----------------------------------------------------------------------------

def test_access_log_is_one_json_line_per_request_without_query_text_or_credentials(release, tmp_path):
    secret = "s3cr3t-token-do-not-log"
    query = f'ASK {{ ?s ?p "{secret}" }}'
    lookup = "SELECT ?p ?o WHERE { <https://w3id.org/finhealthkg/id/organization/auria-biobank> ?p ?o }"
    json_answer = {"Accept": "application/json"}
    with own_server(release, tmp_path) as server:
        def logged(response: requests.Response) -> requests.Response:
            # each worker writes its line after the answer is sent, so two requests in a row may be
            # logged in either order: wait for this one's line before the next is sent
            deadline = time.monotonic() + 10
            while sum(1 for line in server.stdout.read_text().rpartition("\n")[0].splitlines()
                      if json.loads(line)["path"] != "/healthz") < len(sent) + 1:
                assert time.monotonic() < deadline, "no access-log line for " + response.url
                time.sleep(0.02)
            return response

        sent: list[requests.Response] = []
        for send in (
            lambda: requests.get(server.url + "/sparql", params={"query": query}, headers=json_answer),
            lambda: requests.post(server.url + "/sparql", data={"query": query}, headers=json_answer),
            lambda: requests.post(server.url + "/sparql", data=query.encode(),
                                  headers={"Content-Type": "application/sparql-query", **json_answer}),
            lambda: requests.get(server.url + f"/doc/organization/auria-biobank?token={secret}",
                                 headers={"Authorization": f"Bearer {secret}", "Cookie": f"session={secret}"},
                                 auth=("someone", secret)),
            lambda: requests.get(server.url + "/no/such/page"),
            lambda: requests.post(server.url + "/sparql", data={"update": "CLEAR ALL"}),
            # a point lookup: its hash logged like any query's
            lambda: requests.get(server.url + "/sparql", params={"query": lookup}, headers=json_answer),
        ):
            sent.append(logged(send()))
    log = server.stdout.read_text()
    assert secret not in log and "CLEAR ALL" not in log and "ASK" not in log
    lines = [json.loads(line) for line in log.splitlines()]  # every line is one JSON object
    mine = [line for line in lines if line["path"] != "/healthz"]
    assert [(line["method"], line["path"], line["status"]) for line in mine] == [
        ("GET", "/sparql", 200), ("POST", "/sparql", 200), ("POST", "/sparql", 200),
        ("GET", "/doc/organization/auria-biobank", 200), ("GET", "/no/such/page", 404), ("POST", "/sparql", 403),
        ("GET", "/sparql", 200)]
    assert [r.status_code for r in sent] == [line["status"] for line in mine]
    for line, response in zip(mine, sent, strict=True):
        assert set(line) == {"time", "method", "path", "status", "duration_ms", "bytes", "release", "query_hash"}
        assert line["release"] == response.headers["FinHealthKG-Release"] == release.version
        assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 60_000
        assert line["bytes"] == len(response.content)
        assert line["time"].endswith("Z")
    # one query, one hash, however it was sent; another query, another hash; no hash off the endpoint
    assert {line["query_hash"] for line in mine[:3]} == {query_hash(query)}
    assert len(query_hash(query)) == 16
    assert mine[5]["query_hash"] == query_hash("CLEAR ALL")
    assert mine[6]["query_hash"] == query_hash(lookup) and sent[6].json()["results"]["bindings"]
    assert mine[3]["query_hash"] is None and mine[4]["query_hash"] is None
    assert "SIGSEGV" not in server.stderr.read_text()


# --- /healthz ----------------------------------------------------------------------------------

def test_healthz_says_the_store_answers(server):
    response = requests.get(server + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "release": response.headers["FinHealthKG-Release"], "store": body["store"],
                    "parts": {"store": "ok", "search": "ok", "downloads": "ok"}}
    assert body["store"] in ("embedded", "sparql")
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers and "Last-Modified" not in response.headers


class FlakyStore:
    """The release's store, until told to fail or to hang."""

    def __init__(self, store) -> None:  # noqa: ANN001
        self.store, self.mode, self.release = store, "ok", threading.Event()

    def query(self, sparql, **options):  # noqa: ANN001, ANN201
        if self.mode == "fail":
            raise StoreError("the store http://store.invalid/sparql does not answer: ConnectionRefusedError")
        if self.mode == "hang":
            self.release.wait(10)
        return self.store.query(sparql, **options)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.store, name)


def test_healthz_is_503_with_the_reason_when_the_store_does_not_answer(release, monkeypatch):
    store = FlakyStore(release.open_store())
    client = create_app(Settings(root=REPO, releases_dir=release.path.parent), store=store).test_client()
    assert client.get("/healthz").status_code == 200
    store.mode = "fail"
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json == {"status": "unavailable", "release": release.version, "store": "sparql",
                           "reason": "the store http://store.invalid/sparql does not answer: ConnectionRefusedError"}
    assert answer.headers["Cache-Control"] == "no-store"
    store.mode = "hang"
    monkeypatch.setattr(health, "TIMEOUT", 0.5)
    started = time.monotonic()
    answer = client.get("/healthz")
    assert answer.status_code == 503 and time.monotonic() - started < 3
    assert answer.json["reason"] == "the store did not answer within 0.5 s"
    store.mode = "ok"
    store.release.set()
    deadline = time.monotonic() + 10
    while client.get("/healthz").status_code != 200:  # back once the hung check is over
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.mark.parametrize("damage, part, says", [
    (lambda r: (r.path / "search.sqlite").write_bytes(b"not a database" * 100), "search",
     "search: {v}/search.sqlite has 1400 bytes, its release says"),
    (lambda r: (r.path / "search.sqlite").unlink(), "search", "search: {v}/search.sqlite is missing"),
    (lambda r: (r.path / "dataset.nt.gz").write_bytes(b"cut"), "downloads",
     "downloads: {v}/dataset.nt.gz has 3 bytes, its release says"),
    (lambda r: (r.path / "dataset.ttl").unlink(), "downloads", "downloads: {v}/dataset.ttl is missing"),
], ids=["damaged search index", "missing search index", "truncated dump", "missing dump"])
def test_healthz_names_the_broken_part_relative_to_the_releases(release, tmp_path, damage, part, says):
    """A part a request needs, broken while the release is served: /healthz is 503 and says which,
    never with the server's own paths (a damaged index made /search 503 while /healthz said ok)."""
    shutil.copytree(release.path.parent, tmp_path / "releases", symlinks=True)
    copy = Release.open(tmp_path / "releases" / release.version)
    client = create_app(Settings(root=REPO, releases_dir=tmp_path / "releases")).test_client()
    assert client.get("/healthz").json["parts"] == {"store": "ok", "search": "ok", "downloads": "ok"}
    damage(copy)
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json["status"] == "unavailable", answer.json
    assert answer.json["parts"][part].startswith(says.format(v=release.version)), answer.json
    assert answer.json["reason"] == answer.json["parts"][part]
    assert str(tmp_path) not in answer.get_data(as_text=True)


def test_a_search_index_damaged_in_place_is_not_searched(release, tmp_path):
    """Same size, the old modification time, one name changed: /search and /reconcile refuse
    (503, naming the file) instead of answering from the damaged index, and /healthz says so."""
    shutil.copytree(release.path.parent, tmp_path / "releases", symlinks=True)
    client = create_app(Settings(root=REPO, releases_dir=tmp_path / "releases")).test_client()
    assert client.get("/search?q=Auria&format=json").status_code == 200
    index = tmp_path / "releases" / release.version / "search.sqlite"
    before = index.stat()
    index.write_bytes(index.read_bytes().replace(b"Auria Biobank", b"Xuria Biobank"))
    os.utime(index, ns=(before.st_atime_ns, before.st_mtime_ns))
    for path in ("/search?q=Xuria&format=json", "/reconcile?queries=" + '{"q0":{"query":"Xuria"}}'):
        answer = client.get(path, headers={"Accept": "application/json"})
        assert answer.status_code == 503 and "Xuria" not in answer.get_data(as_text=True), (path, answer.status_code)
        assert f"{release.version}/search.sqlite no longer matches its checksum" in answer.json["error"]["message"]
    health = client.get("/healthz")
    assert health.status_code == 503 and "no longer matches its checksum" in health.json["parts"]["search"]


def test_healthz_reads_the_search_index_before_it_is_opened(release, tmp_path):
    """Damage that keeps the size, before any request opened the index: 503, relative paths."""
    shutil.copytree(release.path.parent, tmp_path / "releases", symlinks=True)
    client = create_app(Settings(root=REPO, releases_dir=tmp_path / "releases")).test_client()
    index = tmp_path / "releases" / release.version / "search.sqlite"
    index.write_bytes(b"x" * index.stat().st_size)  # after the release was checked, before the index is opened
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json["parts"]["search"].startswith(f"search: {release.version}/search.sqlite no longer matches")
    assert str(tmp_path) not in answer.get_data(as_text=True)


# --- graceful shutdown -------------------------------------------------------------------------

@pytest.mark.parametrize("threads", ["1", "4"], ids=["sync-workers", "thread-workers"])
def test_sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0(release, tmp_path, threads):
    with own_server(release, tmp_path, "--workers", "2", "--threads", threads) as server:
        started = time.monotonic()
        probe = requests.get(server.url + "/sparql", params={"query": SLOW_QUERY}, headers={"Accept": "text/csv"})
        took = time.monotonic() - started
        assert probe.status_code == 200 and probe.text.split() == ["n", "3000000"]
        assert took > 0.8, f"the slow query took only {took:.2f} s: make it slower"
        processes = descendants(server.process.pid)
        assert len(processes) >= 2  # the workers, and their query processes if any

        answer: dict[str, object] = {}

        def slow() -> None:
            try:
                # another text than the probe's, or its kept answer would come back at once
                response = requests.get(server.url + "/sparql", params={"query": SLOW_QUERY + " # in flight"},
                                        headers={"Accept": "text/csv"}, timeout=60)
                answer.update(status=response.status_code, body=response.text.split(), at=time.monotonic())
            except requests.RequestException as error:
                answer.update(error=repr(error), at=time.monotonic())

        in_flight = threading.Thread(target=slow)
        sent = time.monotonic()
        in_flight.start()
        time.sleep(min(0.5, took / 3))
        server.process.send_signal(signal.SIGTERM)
        terminated = time.monotonic()

        refused = None
        while refused is None and time.monotonic() - terminated < took:  # while the request is in flight
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    time.sleep(0.05)  # still listening: the workers have not been told yet
            except ConnectionRefusedError:
                refused = time.monotonic()
        in_flight.join(timeout=60)
        assert server.process.wait(timeout=60) == 0

    assert "error" not in answer, answer
    assert answer["status"] == 200 and answer["body"] == ["n", "3000000"]
    assert answer["at"] > terminated, "the request had finished before the SIGTERM: not in flight"
    assert refused is not None and refused < answer["at"], "new connections were not refused while it finished"
    assert refused - terminated < 1.0
    log = server.stderr.read_text()
    assert "Handling signal: term" in log and "Shutting down: Master" in log
    assert "SIGSEGV" not in log and "SIGKILL" not in log and "Traceback" not in log, log
    time.sleep(0.5)
    assert not [pid for pid in processes if alive(pid)], "processes of the server outlived it"
    lines = [json.loads(line) for line in server.stdout.read_text().splitlines()]
    assert [line["status"] for line in lines if line["path"] == "/sparql"] == [200, 200]
    assert sent < terminated


# --- security headers --------------------------------------------------------------------------

def test_pages_carry_a_strict_content_security_policy_and_other_security_headers(server):
    for path in ("/", "/doc/organization/auria-biobank", "/sparql", "/def/", "/shapes/", "/no/such/page"):
        response = requests.get(server + path, headers={"Accept": "text/html"})
        assert response.headers["Content-Type"].startswith("text/html"), path
        policy = dict((part.strip().split(" ", 1) + [""])[:2] for part in
                      response.headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        assert policy["style-src"].startswith("'self'")
        assert "unsafe" not in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    data = requests.get(server + "/doc/organization/auria-biobank", headers={"Accept": "text/turtle"})
    assert data.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in data.headers  # data is not a document a browser runs


def test_the_inline_styles_allowed_are_the_ones_the_vendored_yasgui_inserts():
    vendored = (STATIC / "yasgui" / "yasgui.min.js").read_text(encoding="utf-8")
    init, drag = YASGUI_STYLES
    assert f"createStyle(a,`{init}`)" in vendored
    assert "dragCursor:`col-resize`" in vendored and "`*{cursor:`+n.opt.dragCursor+`!important}`" in vendored
    assert drag == "*{cursor:col-resize!important}"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    from playwright import sync_api  # a test dependency: make test installs it
    if not Path(CHROMIUM).exists():
        not_here(f"the browser test did NOT run: {CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_no_page_violates_the_policy_in_a_real_browser(chromium, server):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    # Not subject to the page's policy: an init script collects every violation the browser reports.
    context.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation', e =>"
                            " window.__violations.push([e.violatedDirective, e.blockedURI, e.sourceFile,"
                            " e.lineNumber].join(' ')));")
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    violations: list[str] = []

    def collect(where: str) -> None:
        violations.extend(f"{where}: {v}" for v in page.evaluate("window.__violations"))

    example = "/sparql?query=" + requests.utils.quote("SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 3")
    for path in ("/", "/doc/organization/auria-biobank", "/def/", "/def/Biobank", "/shapes/",
                 "/shapes/BiobankShape", "/downloads/", "/catalog", example, "/no/such/page"):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        collect(path)
    assert page.goto(server + "/doc/organization/auria-biobank").ok
    assert page.locator('script[type="application/ld+json"]').count() == 1  # data in the page, no violation
    # The query editor: run an example, chart it, back to the table, drag a column (Yasgui's own styles).
    page.goto(server + "/sparql")
    page.wait_for_selector("#query-editor .CodeMirror")
    page.click('a[data-example="members-per-organisation"]')
    panel = "#query-editor .tabPanel.active"
    page.locator(f"{panel} .yasr_results table tbody tr").first.wait_for()
    assert page.locator(f"{panel} .yasr_results table tbody tr").count() == 3
    page.click(f"{panel} .yasr .select_chart")
    page.locator(f"{panel} svg.bar-chart rect.bar").first.wait_for()
    page.click(f"{panel} .yasr .select_table")
    grip = page.locator(f"{panel} .grip-handle .grip-resizable").first
    grip.wait_for(state="attached")
    box = grip.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + 5, steps=5)
    dragging = page.evaluate("Array.from(document.querySelectorAll('head style')).map(e => e.textContent)")
    page.mouse.up()
    page.wait_for_timeout(300)
    collect("/sparql (editor)")
    context.close()
    assert set(YASGUI_STYLES) <= set(dragging)  # both inserted, both allowed
    assert violations == []
    assert [text for text in console if "Content Security Policy" in text or "page error" in text] == []


# --- load --------------------------------------------------------------------------------------

def run_load(*args: str, timeout: float = 180) -> tuple[subprocess.CompletedProcess, dict | None]:
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"load-{os.getpid()}-{time.monotonic_ns()}.json"
    done = subprocess.run([sys.executable, str(LOAD), *args, "--json", str(out)], capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=REPO)
    result = json.loads(out.read_text()) if out.exists() else None
    out.unlink(missing_ok=True)
    return done, result


def test_load_holds_without_errors(server):
    done, result = run_load("--url", server, "--clients", "8", "--duration", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert result["errors"] == 0 and result["requests"] > 0 and result["stuck_clients"] == 0
    assert all(kind["requests"] > 0 and kind["errors"] == 0 for kind in result["kinds"].values())
    assert result["server_peak_rss_mib"] > 0  # the processes listening on its port, found in /proc


def test_load_starts_a_server_of_its_own_and_measures_its_memory(release):
    done, result = run_load("--releases", str(release.path.parent), "--root", str(REPO),
                            "--clients", "4", "--duration", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert result["errors"] == 0 and result["requests"] > 0
    assert result["server_processes"] >= 3 and result["server_peak_rss_mib"] > 20  # master and two workers at least
    assert result["access_log_lines"] >= result["requests"]  # one JSON line per request (a 303 and its target: 2)


@pytest.mark.parametrize("args", [["--url", "http://192.0.2.1:8080"], ["--url", "http://10.0.0.1"],
                                  ["--url", "ftp://127.0.0.1/"], ["--clients", "10000"], ["--duration", "3600"]])
def test_load_refuses_other_hosts_and_unbounded_runs(args):
    done, result = run_load(*args, timeout=30)
    assert done.returncode == 2 and result is None
    assert done.stderr.startswith("load: ")
