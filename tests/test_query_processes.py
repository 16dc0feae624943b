"""The query processes behind /sparql (query/pool.py, query/process.py, query/sandbox.py): what
they answer and how it is bounded, that the kernel confines them (no network, memory, CPU), that
they start light, and that none outlives the server process that started it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SH, SKOS, TIME, XSD

from conftest import REPO, Listener, alive, cli
from finhealthkg.namespaces import DATASET_GRAPHS
from finhealthkg.prefixes import PREFIXES
from finhealthkg.query.pool import QueryFailed, QueryPool, QueryStopped
from finhealthkg.query.process import Job

GRAPHS = tuple(str(g) for g in DATASET_GRAPHS)


FORMATS = {"solutions": "json", "boolean": "json", "graph": "turtle"}
MiB = 2**20


def job(query: str, formats: dict | None = None, row_limit: int = 3, max_bytes: int = 64 * MiB) -> Job:
    return Job(query=query, default_graphs=GRAPHS, named_graphs=None, base_iri=None,
               formats=formats or FORMATS, row_limit=row_limit, max_bytes=max_bytes, cpu_seconds=30)


@pytest.fixture(scope="module")
def pool(release):
    pool = QueryPool(release.store_path, size=2, timeout=10, memory=1024 * MiB, keep_memory=256 * MiB)
    yield pool
    pool.close()


def test_a_pool_answers_caps_rows_and_reports_failures(pool):
    answer = pool.run(job("SELECT ?s WHERE { ?s a ?type }"))
    assert answer.form == "solutions" and answer.cut == "rows" and answer.body.count(b'"type":"uri"') == 3
    turtle = pool.run(job("CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 1"))
    assert turtle.form == "graph" and (b"@prefix fhkg:" in turtle.body or b"PREFIX fhkg:" in turtle.body)
    with pytest.raises(QueryFailed, match="does not parse"):
        pool.run(job("SELECT WHERE {"))


def test_the_form_comes_from_the_engine_and_a_form_without_a_format_is_named(pool):
    """The query process, not a parse in the web worker, says what the query answers."""
    answered = pool.run(job("ASK { ?s ?p ?o }", {"solutions": "csv", "boolean": None, "graph": "turtle"}))
    assert (answered.form, answered.format, answered.body) == ("boolean", None, b"")


def test_construct_and_describe_are_cut_at_the_row_limit(pool):
    for query in ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "DESCRIBE ?s WHERE { ?s a ?t }"):
        answered = pool.run(job(query, {**FORMATS, "graph": "ntriples"}, row_limit=5))
        assert answered.cut == "rows" and answered.body.count(b" .\n") == 5, answered.body[:300]


def test_an_answer_is_cut_at_the_byte_limit_at_a_row_end(pool):
    answered = pool.run(job("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", row_limit=100_000, max_bytes=4096))
    assert answered.cut == "bytes" and len(answered.body) <= 4096
    assert json.loads(answered.body)["results"]["bindings"], "whole rows, in a valid document"
    graph = pool.run(job("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", {**FORMATS, "graph": "ntriples"},
                         row_limit=100_000, max_bytes=4096))
    assert graph.cut == "bytes" and 0 < len(graph.body) <= 4096 and graph.body.endswith(b" .\n")


def test_a_literal_larger_than_16_mib_is_answered(pool):
    """Answers are written row by row, never read back (pyoxigraph's reader stops at 16 MiB)."""
    query = 'SELECT (STRLEN(?b) AS ?n) ?b WHERE { BIND("0123456789abcdef" AS ?a0) ' + "".join(
        f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1}) " for i in range(20)) + "BIND(?a20 AS ?b) }"
    answered = pool.run(job(query, row_limit=10))
    row = json.loads(answered.body)["results"]["bindings"][0]
    assert row["n"]["value"] == str(16 * 2**20) and len(row["b"]["value"]) == 16 * 2**20


def test_the_query_process_itself_cannot_connect(pool, release):
    """Past every check: a SERVICE query handed straight to a query process makes no connection,
    whatever the engine does with it; the kernel refuses the socket."""
    with Listener() as listener:
        for service in (f"SERVICE <{listener.url}/sparql>", f"SERVICE SILENT <{listener.url}/sparql>"):
            try:
                pool.run(job(f"SELECT * WHERE {{ {service} {{ ?s ?p ?o }} }}"))
            except QueryFailed as failed:
                assert failed.kind == "service", failed
        with pytest.raises(QueryFailed) as failed:  # a name lookup is a network request too
            pool.run(job("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"))
        assert failed.value.kind == "service"
        time.sleep(0.3)
        assert listener.count == 0, f"{listener.count} connection(s) from a query process"


def test_a_query_process_is_confined_by_the_kernel(pool):
    pid = next(iter(pool._workers)).process.pid
    status = open(f"/proc/{pid}/status").read()
    assert "Seccomp:\t2" in status, "seccomp filter mode"
    limits = open(f"/proc/{pid}/limits").read()
    assert re.search(r"Max address space\s+1073741824\s+1073741824", limits), limits


def test_a_query_past_its_memory_limit_ends_its_process_and_the_pool_goes_on(release):
    pool = QueryPool(release.store_path, size=1, timeout=60, memory=768 * MiB)
    try:
        doubling = 'SELECT (STRLEN(?a40) AS ?n) WHERE { BIND("0123456789abcdef" AS ?a0) ' + "".join(
            f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1}) " for i in range(40)) + "}"
        started = time.monotonic()
        with pytest.raises((QueryStopped, QueryFailed)) as stopped:
            pool.run(job(doubling))
        assert "memory" in str(stopped.value), stopped.value
        assert time.monotonic() - started < 30
        assert pool.run(job("ASK { ?s ?p ?o }")).body == b'{"head":{},"boolean":true}'
    finally:
        pool.close()


def test_a_process_that_cannot_start_is_named_and_tried_again_not_called_busy(release):
    """A store that does not fit in --query-memory: the answer says why, not "busy", and the
    pool keeps trying (a process that ended for a passing reason comes back by itself)."""
    pool = QueryPool(release.store_path, size=1, timeout=10, memory=40 * MiB)
    try:
        assert pool.not_starting and "--query-memory 40 MiB" in pool.not_starting
        with pytest.raises(QueryStopped, match="no query process can start here"):
            pool.run(job("ASK { ?s ?p ?o }"))
        pool.memory = 1024 * MiB  # as if the cause had passed: the next try starts one
        deadline = time.monotonic() + 10
        while pool.not_starting and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pool.run(job("ASK { ?s ?p ?o }")).body == b'{"head":{},"boolean":true}'
    finally:
        pool.close()


def test_serve_does_not_start_when_the_store_does_not_fit_in_query_memory(release):
    started = cli("serve", "--root", str(REPO), "--releases", str(release.path.parent), "--port", "0",
                  "--query-memory", "40", timeout=60)
    assert started.returncode != 0
    assert "raise --query-memory" in started.stderr and "40 MiB" in started.stderr, started.stderr[-500:]


def test_query_processes_share_few_malloc_arenas(pool):
    """Address space, not data, filled RLIMIT_AS at 1M triples (a 64 MiB arena per thread)."""
    pid = next(iter(pool._workers)).process.pid
    assert "MALLOC_ARENA_MAX=2" in open(f"/proc/{pid}/environ", "rb").read().decode("utf-8", "replace").split("\0")


def test_a_process_that_grew_is_replaced_after_its_answer(release):
    pool = QueryPool(release.store_path, size=1, timeout=60, memory=1024 * MiB, keep_memory=64 * MiB)
    try:
        before = next(iter(pool._workers)).process.pid
        pool.run(job('SELECT (STRLEN(?b) AS ?n) WHERE { BIND("0123456789abcdef" AS ?a0) ' + "".join(
            f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1}) " for i in range(23)) + "BIND(?a23 AS ?b) }"))
        deadline = time.monotonic() + 10
        while not (pool._workers and next(iter(pool._workers)).process.pid != before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert next(iter(pool._workers)).process.pid != before and not alive(before)
    finally:
        pool.close()


def test_a_big_server_process_does_not_make_its_query_processes_look_grown(release):
    """A query process counts its own peak memory, not that of the server process it was
    forked from (ru_maxrss does): else every answer replaced it under a large server process."""
    ballast = bytearray(os.urandom(1024)) * (320 * 1024)  # 320 MiB resident here, past keep_memory
    pool = QueryPool(release.store_path, size=1, timeout=60, memory=1024 * MiB, keep_memory=256 * MiB)
    try:
        before = next(iter(pool._workers)).process.pid
        for _ in range(3):
            answered = pool.run(job("ASK { ?s ?p ?o }"))
            assert answered.resident < 256 * MiB, answered.resident
        assert [worker.process.pid for worker in pool._workers] == [before]
    finally:
        pool.close()
        del ballast


def test_the_kernel_ends_a_query_process_past_its_cpu_backstop(release):
    """If the server failed to stop it, the kernel's RLIMIT_CPU would (SIGXCPU)."""
    pool = QueryPool(release.store_path, size=1, timeout=60)
    try:
        endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
        short = Job(endless, GRAPHS, None, None, FORMATS, 3, MiB, cpu_seconds=1)
        with pytest.raises(QueryStopped, match="CPU"):
            pool.run(short)
    finally:
        pool.close()


def test_a_query_process_imports_neither_rdflib_nor_the_web_app():
    """Start-up: each server process starts its own; a light one answers within a moment."""
    shown = subprocess.run(
        [sys.executable, "-c", "import sys, finhealthkg.query.process; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split()
    heavy = sorted({name.split(".")[0] for name in shown} & {"rdflib", "flask", "pyshacl", "requests", "gunicorn"})
    assert heavy == [], f"a query process imports {heavy}"


def test_the_plain_prefix_table_agrees_with_rdflib():
    for name, namespace in {"dcterms": DCTERMS, "foaf": FOAF, "owl": OWL, "prov": PROV, "rdf": RDF,
                            "rdfs": RDFS, "sh": SH, "skos": SKOS, "time": TIME, "xsd": XSD}.items():
        assert PREFIXES[name] == str(namespace)


def test_a_pool_starts_one_process_and_more_only_for_queries_at_once(release):
    """Threads of a server share a pool: it grows to as many processes as queries ran at once,
    never beyond its size, and each query is answered."""
    pool = QueryPool(release.store_path, size=3, timeout=30)
    try:
        assert len(pool._workers) == 1
        for _ in range(3):  # one after another: the one process answers them all
            pool.run(Job("SELECT * {}", (), None, None, {"solutions": "json"}, 1, 2**10, 10.0))
        assert len(pool._workers) == 1
        slow = Job("SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f }", (), None, None, {"solutions": "json"},
                   10, 2**20, 30.0)
        with ThreadPoolExecutor(3) as threads:
            answers = list(threads.map(lambda _: pool.run(slow), range(3)))
        assert len(answers) == 3
        assert 2 <= len(pool._workers) + pool._starting <= 3
    finally:
        pool.close()


def test_query_processes_end_when_their_server_process_is_killed(release, tmp_path):
    """A worker killed with SIGKILL (gunicorn's timeout, the OOM killer) leaves no query process behind."""
    script = textwrap.dedent(f"""
        import sys, time
        from finhealthkg.query.pool import QueryPool
        pool = QueryPool({str(release.store_path)!r}, size=2, timeout=10)
        pool._grow()  # the second starts when a query finds the first busy
        while len(pool._workers) < 2:
            time.sleep(0.05)
        print(" ".join(str(w.process.pid) for w in pool._workers), flush=True)
        time.sleep(60)
    """)
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        children = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(children) == 2 and all(alive(pid) for pid in children)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in children), "a query process outlived its server process"
    finally:
        owner.kill()
        owner.wait()
