"""The targets the endpoint benchmark compares, each started on a free loopback port and
stopped when done:

  pyoxigraph     queries run in this process on the release's store (read-only): the limit
  thin           bench/thin_app.py under gunicorn, with finhealthkg serve's worker count and class
  finhealthkg    `finhealthkg serve`, its defaults
  rdflib-endpoint  `rdflib-endpoint serve dataset.ttl` (PyPI), loading the Turtle dump into rdflib
  virtuoso       scripts/virtuoso-scratch, the release loaded with `finhealthkg load`, its /sparql
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import requests

from harness import REPO, finhealthkg_command, free_port, listeners_of
from loadgen import Call, Send, http_sender
from queries import Workload
from thin_app import DEFAULT_GRAPH

JSON = "application/sparql-results+json"
TURTLE = "text/turtle"
ASK = {"query": "ASK { ?s ?p ?o }"}
BIN = Path(sys.executable).parent
# `finhealthkg load`'s default of 1 MiB per INSERT DATA makes Virtuoso 7's SPARQL compiler fail with
# "memory exhausted" on the generated graph; a quarter of that loads.
UPDATE_BYTES = 256 * 1024
Maker = Callable[[], tuple[Send, Callable[[], None]]]
UNIQUE = itertools.count(1)  # numbers that make each request of a run unique


class NotMeasured(Exception):
    """A target could not be measured; the message says why (it goes into RESULTS.md)."""


@dataclass
class Target:
    name: str
    url: str | None = None  # None: in this process
    documents: bool = False  # answers /doc/... itself; else dereferencing is the CONSTRUCT over /sparql
    sparql_path: str = "/sparql"
    default_graphs: list[str] = field(default_factory=list)  # sent as default-graph-uri
    store: pyoxigraph.Store | None = None
    pid: int | None = None
    started_s: float | None = None  # from spawning to the first answered query
    note: str = ""

    def plan(self, kind: str, work: Workload) -> Callable[[int], Call]:
        """Request i of `kind`: the pool's text or document, made unique in the run by a number in a
        SPARQL comment or an ignored `bench` parameter, so that no answer comes from a cache of
        earlier answers (finhealthkg keeps answers by URL; rdflib-endpoint keeps prepared queries
        by text). Repeated identical requests are measured apart (endpoint_bench.repeated)."""
        graphs = {"default-graph-uri": self.default_graphs} if self.default_graphs else {}
        accept = TURTLE if kind == "dereference" else JSON

        def call(i: int) -> Call:
            tag = next(UNIQUE)
            if kind == "dereference" and self.documents:
                return Call(work.document(i), params={"bench": str(tag)}, headers={"Accept": TURTLE})
            query = f"{work.text(kind, i)}\n# bench request {tag}\n"
            return Call(self.sparql_path, params={"query": query, **graphs}, headers={"Accept": accept})
        return call

    def sender(self, kind: str, work: Workload) -> Maker:
        if self.url is not None:
            return http_sender(self.url, self.plan(kind, work))
        store = self.store
        assert store is not None

        def make() -> tuple[Send, Callable[[], None]]:
            def send(i: int) -> tuple[str | None, bool]:
                result = store.query(work.text(kind, i), default_graph=DEFAULT_GRAPH)
                if isinstance(result, pyoxigraph.QuerySolutions):
                    body = result.serialize(format=pyoxigraph.QueryResultsFormat.JSON)
                else:
                    body = pyoxigraph.serialize(result, format=pyoxigraph.RdfFormat.TURTLE)
                return (None if body else "an empty answer"), False
            return send, lambda: None
        return make


def wait_answering(url: str, process: subprocess.Popen, timeout: float, log: Path, params: dict | None = None,
                   ) -> float:
    """Seconds until `url` answers 200 (polled every 20 ms); NotMeasured if the process exits or
    `timeout` passes first."""
    began = time.monotonic()
    while True:
        if process.poll() is not None:
            raise NotMeasured(f"it exited with status {process.returncode} before answering (log {log})")
        try:
            status = requests.get(url, params=params or ASK, headers={"Accept": JSON}, timeout=5).status_code
        except requests.RequestException:
            status = None
        if status == 200:
            return time.monotonic() - began
        if status is not None and status < 500:
            raise NotMeasured(f"{url} answers {status} (log {log})")
        if time.monotonic() - began > timeout:
            raise NotMeasured(f"it did not answer within {timeout:g} s (log {log})")
        time.sleep(0.02)


@contextmanager
def spawned(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """A server process, its output in `log`; terminated (then killed) on leaving."""
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                   start_new_session=True)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def in_process(store_path: Path) -> Iterator[Target]:
    yield Target("pyoxigraph", store=pyoxigraph.Store.read_only(str(store_path)))


@contextmanager
def finhealthkg(root: Path, releases: Path, logs: Path, timeout: float = 120) -> Iterator[Target]:
    port = free_port()
    command = [*finhealthkg_command(), "serve", "--root", str(root), "--releases", str(releases),
               "--host", "127.0.0.1", "--port", str(port)]
    log = logs / f"finhealthkg-{port}.log"
    with spawned(command, log) as process:
        url = f"http://127.0.0.1:{port}"
        started = wait_answering(url + "/sparql", process, timeout, log)
        yield Target("finhealthkg", url, documents=True, pid=process.pid, started_s=started)


def server_defaults() -> tuple[int, int]:
    """(workers, threads) finhealthkg serve runs with: its Settings, environment included."""
    from finhealthkg.config import Settings

    settings = Settings.from_env()
    return settings.workers, settings.threads


@contextmanager
def thin(store_path: Path, logs: Path, timeout: float = 60) -> Iterator[Target]:
    workers, threads = server_defaults()
    port = free_port()
    command = [str(BIN / "gunicorn"), "--chdir", str(REPO / "bench"), "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads),
               "--worker-class", "gthread" if threads > 1 else "sync", "thin_app:create_app()"]
    log = logs / f"thin-{port}.log"
    with spawned(command, log, env={"BENCH_THIN_STORE": str(store_path)}) as process:
        url = f"http://127.0.0.1:{port}"
        started = wait_answering(url + "/sparql", process, timeout, log)
        yield Target("thin", url, documents=True, pid=process.pid, started_s=started,
                     note=f"gunicorn {workers} {'gthread' if threads > 1 else 'sync'} worker(s)"
                          + (f", {threads} threads" if threads > 1 else ""))


@contextmanager
def rdflib_endpoint(dump: Path, logs: Path, load_timeout: float) -> Iterator[Target]:
    script = BIN / "rdflib-endpoint"
    if not script.exists():
        raise NotMeasured("rdflib-endpoint is not installed (pip install '.[bench]')")
    port = free_port()
    log = logs / f"rdflib-endpoint-{port}.log"
    with spawned([str(script), "serve", "--host", "127.0.0.1", "--port", str(port), str(dump)], log) as process:
        url = f"http://127.0.0.1:{port}"
        try:
            started = wait_answering(url + "/", process, load_timeout, log)
        except NotMeasured as why:
            timed_out = process.poll() is None and "did not answer" in str(why)
            raise NotMeasured(f"loading {dump.name} took > {load_timeout:g} s" if timed_out else str(why)) from None
        yield Target("rdflib-endpoint", url, sparql_path="/", pid=process.pid, started_s=started,
                     note="its CLI: uvicorn, 1 process, rdflib's memory store")


def virtuoso_version() -> str:
    if shutil.which("virtuoso-t") is None:
        return "not installed"
    done = subprocess.run(["virtuoso-t", "-?"], capture_output=True, text=True, timeout=10, check=False)
    for line in (done.stdout + done.stderr).splitlines():
        if "Version" in line:
            return line.strip()
    return "installed"


@contextmanager
def virtuoso(root: Path, releases: Path, version: str, logs: Path, load_timeout: float) -> Iterator[Target]:
    """A scratch Virtuoso with the release loaded; its graphs are named as `finhealthkg load` names them."""
    if shutil.which("virtuoso-t") is None:
        raise NotMeasured("virtuoso-t is not installed (apt-get install virtuoso-opensource)")
    from finhealthkg.namespaces import BASE, DATASET_GRAPHS
    from finhealthkg.stores.sparql import release_graph

    script = REPO / "scripts" / "virtuoso-scratch"
    directory = Path(tempfile.mkdtemp(prefix="virtuoso-", dir=logs))
    http_port, sql_port = free_port(), free_port()
    began = time.monotonic()
    started = subprocess.run([str(script), "start", str(directory), str(http_port), str(sql_port)],
                             capture_output=True, text=True, timeout=180, check=False)
    try:
        if started.returncode != 0:
            raise NotMeasured(f"scratch Virtuoso did not start: {started.stderr.strip()[-300:]}")
        url = started.stdout.strip()
        pid = int((directory / "virtuoso.pid").read_text())
        if pid not in listeners_of(http_port):  # another server on that port answered the script's check
            raise NotMeasured(f"port {http_port} is held by another process than the scratch Virtuoso")
        up = time.monotonic() - began
        loading = time.monotonic()
        try:
            loaded = subprocess.run(
                [*finhealthkg_command(), "load", "--root", str(root), "--releases", str(releases), "--store", url,
                 "--update-url", url + "-auth", "--user", "dba", "--max-request-bytes", str(UPDATE_BYTES)],
                capture_output=True, text=True, timeout=load_timeout, check=False,
                env={**os.environ, "FINHEALTHKG_STORE_PASSWORD": "dba"})
        except subprocess.TimeoutExpired:
            raise NotMeasured(f"`finhealthkg load` into it took > {load_timeout:g} s") from None
        if loaded.returncode != 0:
            raise NotMeasured(f"`finhealthkg load` failed: {loaded.stderr.strip()[-300:]}")
        graphs = [release_graph(BASE, version, str(graph)) for graph in DATASET_GRAPHS]
        yield Target("virtuoso", url.removesuffix("/sparql"), default_graphs=graphs, started_s=up,
                     note=f"started in {up:.1f} s, `finhealthkg load --max-request-bytes {UPDATE_BYTES}` "
                          f"{time.monotonic() - loading:.0f} s; queried at its /sparql with the release's graphs "
                          "as default-graph-uri")
    finally:
        subprocess.run([str(script), "stop", str(directory)], timeout=60, check=False)
        shutil.rmtree(directory, ignore_errors=True)

