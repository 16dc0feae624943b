"""Shared fixtures: the repository's sources, copies of them to break, built releases."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from finhealthkg.config import Settings
from finhealthkg.pipeline.build import build_release
from finhealthkg.pipeline.sources import Sources, load_sources
from finhealthkg.release import Release

REPO = Path(__file__).resolve().parents[1]
# Third-party test material (W3C protocol tests, DCAT-AP shapes) is read where it lives, never
# copied: beside the repository in ../shared/external, or where FINHEALTHKG_EXTERNAL points.
EXTERNAL = Path(os.environ.get("FINHEALTHKG_EXTERNAL", REPO.parent / "shared" / "external"))
SOURCE_DIRS = ("ontology", "shapes", "data")


def not_here(reason: str) -> None:
    """A test that needs a part this machine lacks: skipped, saying why, on a developer's
    machine; failed on CI (CI=true), where .ci/run installs every part, so it never looks green."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; on CI every part must be installed", pytrace=False)
    pytest.skip(reason)


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts (and closes them at once,
    so a client that connected fails fast): the witness of every "no outbound request" test."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="outbound-listener", daemon=True)
        self._thread.start()

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._count += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def copy_sources(destination: Path) -> Path:
    """A private copy of ontology/, shapes/ and data/ that a test may break."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in SOURCE_DIRS:
        shutil.copytree(REPO / name, destination / name)
    return destination


def cli(*args: str, cwd: Path | None = None, timeout: float = 120,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed `finhealthkg` console script, as a user would."""
    script = Path(sys.executable).parent / "finhealthkg"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "finhealthkg.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, **(env or {})})


def generate_graph(out: Path, triples: int, seed: int, *extra: str) -> subprocess.CompletedProcess:
    """Run bench/generate.py: a project root at `out` with a synthetic graph of `triples` triples."""
    return subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--triples", str(triples),
                           "--seed", str(seed), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    """Settings for a fresh copy of the sources with its own releases directory."""
    root = copy_sources(tmp_path / "project")
    return Settings(root=root, releases_dir=tmp_path / "releases")


def pytest_collection_finish(session: pytest.Session) -> None:
    """pyshacl's reports on the shape fixtures take about 100 s of CPU: when tests that compare
    with them are collected, they are made at once in a process of their own (shacl_reference)."""
    if any(item.module.__name__ in ("test_shacl_sparql", "test_shapes") for item in session.items
           if getattr(item, "module", None) is not None):
        import shacl_reference

        directory = session.config._tmp_path_factory.mktemp("shacl-reports")  # noqa: SLF001 - pytest's own
        shacl_reference.start_in_background(repository_sources().shapes, directory)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "shacl_reference" in sys.modules:
        sys.modules["shacl_reference"].stop_background()


_SOURCES: list[Sources] = []


def repository_sources() -> Sources:
    if not _SOURCES:
        _SOURCES.append(load_sources(Settings(root=REPO)))
    return _SOURCES[0]


@pytest.fixture(scope="session")
def sources() -> Sources:
    """The repository's ontology, shapes and data, read once for every module (read-only)."""
    return repository_sources()


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """One release built from the repository's own sources, shared by read-only tests."""
    releases = tmp_path_factory.mktemp("releases")
    return build_release(Settings(root=REPO, releases_dir=releases)).release


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A `finhealthkg serve` started by a test: its URL, its process, where its output went."""
    url: str
    process: subprocess.Popen
    stdout: Path
    stderr: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def started_server(root: Path, releases: Path, *extra: str, workers: int | None = 1,
                   logs: Path | None = None) -> Iterator[Server]:
    """`finhealthkg serve` in a subprocess on a free loopback port, once it answers; stopped
    (SIGTERM, then SIGKILL) after. Its output goes to one file beside `releases`, or, with
    `logs`, stdout (the access log) and stderr to two files there. `workers`: None for the
    server's own default."""
    import requests

    port = free_port()
    if logs is None:
        stdout = stderr = releases.parent / f"server-{port}.log"
    else:
        stdout, stderr = logs / f"stdout-{port}.log", logs / f"stderr-{port}.log"
    script = Path(sys.executable).parent / "finhealthkg"
    command = [str(script), "serve", "--root", str(root), "--releases", str(releases), "--host", "127.0.0.1",
               "--port", str(port), *(["--workers", str(workers)] if workers is not None else []), *extra]
    with stdout.open("w") as out, (stderr.open("w") if stderr != stdout else contextlib.nullcontext(out)) as err:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT if err is out else err)
    server = Server(f"http://127.0.0.1:{port}", process, stdout, stderr)
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}): {stderr.read_text()[-2000:]}")
            try:
                requests.get(server.url + "/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer within 60 s; see {stderr}") from None
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_server(root: Path, releases: Path, *extra: str, workers: int = 1) -> Iterator[str]:
    """`finhealthkg serve` (started_server) on a free loopback port; yields its base URL."""
    with started_server(root, releases, *extra, workers=workers) as server:
        yield server.url


# --- the external store ------------------------------------------------------------------------
# CI (.ci/run) starts a Virtuoso and names it in FINHEALTHKG_TEST_VIRTUOSO (its query endpoint;
# updates go to .../sparql-auth as dba). Elsewhere the tests start a scratch Virtuoso of their
# own when virtuoso-t is installed; without it the Virtuoso cases say why they did not run.

STORES = ("oxigraph", "virtuoso")
VIRTUOSO_PASSWORD = {"FINHEALTHKG_STORE_PASSWORD": "dba"}  # the scratch database's stock account


@dataclass(frozen=True)
class Virtuoso:
    query_url: str
    update_url: str

    def store_args(self) -> tuple[str, ...]:
        return ("--store", self.query_url, "--update-url", self.update_url, "--user", "dba")


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    given = os.environ.get("FINHEALTHKG_TEST_VIRTUOSO")
    if given:
        yield Virtuoso(given, os.environ.get("FINHEALTHKG_TEST_VIRTUOSO_UPDATE", given + "-auth"))
        return
    if shutil.which("virtuoso-t") is None:
        not_here("the Virtuoso tests did NOT run: virtuoso-t is not installed here "
                    "(apt-get install virtuoso-opensource) and FINHEALTHKG_TEST_VIRTUOSO is not set; "
                    ".ci/run installs and starts Virtuoso, so CI runs them")
    directory = tmp_path_factory.mktemp("virtuoso")
    script = REPO / "scripts" / "virtuoso-scratch"
    started = subprocess.run([str(script), "start", str(directory), str(free_port()), str(free_port())],
                             capture_output=True, text=True, timeout=120, check=False)
    if started.returncode != 0:
        raise RuntimeError(f"scratch Virtuoso did not start: {started.stderr}")
    url = started.stdout.strip()
    try:
        yield Virtuoso(url, url + "-auth")
    finally:
        subprocess.run([str(script), "stop", str(directory)], timeout=60, check=False)


@contextmanager
def serving(store: str, root: Path, releases: Path, request: pytest.FixtureRequest,
            *extra: str) -> Iterator[str]:
    """The current release of `releases` served from the embedded store or, loaded first,
    from Virtuoso: the same server, the same URL shape."""
    if store == "oxigraph":
        with running_server(root, releases, *extra) as url:
            yield url
        return
    virtuoso: Virtuoso = request.getfixturevalue("virtuoso")
    shared = [arg for flag, value in zip(extra[::2], extra[1::2], strict=False) if flag == "--base-iri"
              for arg in (flag, value)]  # the other flags are the server's
    loaded = cli("load", "--root", str(root), "--releases", str(releases), *virtuoso.store_args(), *shared,
                 env=VIRTUOSO_PASSWORD)
    if loaded.returncode != 0:
        raise RuntimeError(f"finhealthkg load failed: {loaded.stderr}")
    with running_server(root, releases, "--store", virtuoso.query_url, *extra) as url:
        yield url


@pytest.fixture(scope="session", params=STORES)
def server(request: pytest.FixtureRequest, release: Release) -> Iterator[str]:
    """The repository's release served by the real server, from each store in turn."""
    with serving(request.param, REPO, release.path.parent, request) as url:
        yield url


@pytest.fixture(scope="session")
def store_answers(release: Release):
    """The rows a SELECT gives when run on the release's store in-process (the reference)."""
    store = release.open_store()

    def rows(query: str) -> list[tuple[str, ...]]:
        answer = store.query(query)
        names = [v.value for v in answer.variables]
        return [tuple(row[n].value for n in names) for row in answer]
    return rows


@pytest.fixture
def triple_count(server: str):
    """Triples and a checksum of everything the server holds, asked over HTTP."""
    import hashlib

    import requests

    def count() -> tuple[int, str]:
        query = "SELECT ?g ?s ?p ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
        text = requests.get(server + "/sparql", params={"query": query, "format": "tsv"}).text
        lines = sorted(text.splitlines()[1:])
        return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return count


# --- Comunica, a TPF client from the npm registry ----------------------------------------------

COMUNICA = REPO / "tests" / "comunica"


@pytest.fixture(scope="session")
def comunica() -> Path:
    """comunica-sparql, installed from the npm registry by `npm ci` from tests/comunica's lock file."""
    binary = COMUNICA / "node_modules" / ".bin" / "comunica-sparql"
    installed = COMUNICA / "node_modules" / ".package-lock.json"
    if not binary.exists() or installed.stat().st_mtime < (COMUNICA / "package-lock.json").stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            pytest.fail("the Comunica tests need node and npm (apt-get install nodejs npm; .ci/run does it)")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=COMUNICA,
                              capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            pytest.fail(f"npm ci of @comunica/query-sparql in {COMUNICA} failed:\n{done.stderr[-3000:]}")
    return binary


def run_comunica(binary: Path, source: str, query: str) -> set[tuple[str, ...]]:
    done = subprocess.run([str(binary), source, query, "-t", "application/sparql-results+json"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    names = document["head"]["vars"]
    return {tuple(json.dumps(plain_term(row.get(n)), sort_keys=True) for n in names)
            for row in document["results"]["bindings"]}


def plain_term(term: dict | None) -> dict | None:
    """SPARQL JSON terms compared by what they say (Comunica writes typed literals as "literal"
    with a datatype, as /sparql does; it leaves out nothing else)."""
    if term is None:
        return None
    return {k: v for k, v in term.items() if not (k == "datatype" and v.endswith("#string"))}
