"""The query processes behind /sparql (executor.py, query_process.py): what they answer, that
they start light, and that none outlives the server process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SH, SKOS, TIME, XSD

from conftest import alive
from finhealthkg.executor import Job, QueryFailed, QueryPool
from finhealthkg.namespaces import DATASET_GRAPHS
from finhealthkg.prefixes import PREFIXES

GRAPHS = tuple(str(g) for g in DATASET_GRAPHS)


def job(query: str, fmt: str = "json") -> Job:
    return Job(query=query, default_graphs=GRAPHS, named_graphs=None, base_iri=None, format=fmt, row_limit=3)


@pytest.fixture(scope="module")
def pool(release):
    pool = QueryPool(release.store_path, size=2, timeout=10)
    yield pool
    pool.close()


def test_a_pool_answers_caps_rows_and_reports_failures(pool):
    answer = pool.run(job("SELECT ?s WHERE { ?s a ?type }"))
    assert answer.truncated and answer.body.count(b'"type":"uri"') == 3
    turtle = pool.run(job("CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 1", "turtle")).body
    assert b"@prefix fhkg:" in turtle or b"PREFIX fhkg:" in turtle  # the project's prefixes
    with pytest.raises(QueryFailed, match="does not parse"):
        pool.run(job("SELECT WHERE {"))


def test_a_query_process_imports_neither_rdflib_nor_the_web_app():
    """Start-up: each server process starts its own; a light one answers within a moment."""
    shown = subprocess.run(
        [sys.executable, "-c", "import sys, finhealthkg.query_process; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split()
    heavy = sorted({name.split(".")[0] for name in shown} & {"rdflib", "flask", "pyshacl", "requests", "gunicorn"})
    assert heavy == [], f"a query process imports {heavy}"


def test_the_plain_prefix_table_agrees_with_rdflib():
    for name, namespace in {"dcterms": DCTERMS, "foaf": FOAF, "owl": OWL, "prov": PROV, "rdf": RDF,
                            "rdfs": RDFS, "sh": SH, "skos": SKOS, "time": TIME, "xsd": XSD}.items():
        assert PREFIXES[name] == str(namespace)


def test_query_processes_end_when_their_server_process_is_killed(release, tmp_path):
    """A worker killed with SIGKILL (gunicorn's timeout, the OOM killer) leaves no query process behind."""
    script = textwrap.dedent(f"""
        import sys, time
        from finhealthkg.executor import QueryPool
        pool = QueryPool({str(release.store_path)!r}, size=2, timeout=10)
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
