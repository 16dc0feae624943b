"""make bench (bench/run.py) end to end at the smallest size with the shortest rounds: it
writes its section of a RESULTS file and keeps the others, with the build's own steps, the
start-up, the endpoint against its limits, the ratios and the plots; its load generator
refuses any target off this machine; and its queries ask rdflib (rdflib-endpoint's engine) and
Oxigraph the same question, so that the ratios compare like with like."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest
import rdflib

from conftest import REPO, cli, generate_graph

BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402  (bench/ is not a package)
from harness import Refused  # noqa: E402
from queries import KINDS, workload  # noqa: E402
from thin_app import DEFAULT_GRAPH  # noqa: E402


def test_make_bench_writes_its_section_and_keeps_the_others(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmarks\n\n## Load\n\nnumbers of the load test, kept\n")
    env = {**os.environ, "BENCH_SIZES": "10k", "BENCH_ENDPOINT_SIZES": "10k", "BENCH_SECONDS": "0.2",
           "BENCH_ROUNDS": "1", "BENCH_CLIENTS": "1", "BENCH_STARTUP_RUNS": "1", "BENCH_RDFLIB": "0",
           "BENCH_VIRTUOSO": "0",
           "BENCH_CACHE": str(tmp_path / "cache"), "BENCH_MAX_MINUTES": "5"}
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--write", str(results), "--json",
                           str(tmp_path / "run.json")], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "estimate:" in done.stdout.splitlines()[0]
    text = results.read_text()
    assert "## Load\n\nnumbers of the load test, kept\n" in text
    section = text[text.index("## Scale and peers (make bench)"):]
    for heading in ("### Targets", "### Build", "### Start-up and memory", "### Endpoint at 10k", "### Downloads"):
        assert heading in section
    run = json.loads((tmp_path / "run.json").read_text())
    build = run["builds"][0]
    assert "error" not in build and build["steps"]
    for step in build["steps"]:  # whatever steps the build reports, each is in the table
        assert f"| {step['title']} | " in section
    assert run["startup"]["10k"]["median_s"] > 0 and run["startup"]["10k"]["rss_bytes"] > 0
    lookups = run["endpoint"]["10k"]["results"]["lookup"]["1"]
    assert {"pyoxigraph", "thin", "finhealthkg"} <= set(lookups) and lookups["finhealthkg"]["errors"] == 0
    assert "finhealthkg/thin" in section and "thin/pyoxigraph" in section
    assert "rdflib-endpoint: skipped" in section
    if importlib.util.find_spec("matplotlib") is not None:  # the bench extra; `make test` need not have it
        assert (tmp_path / "build-time.png").stat().st_size > 0 and (tmp_path / "startup.png").stat().st_size > 0


@pytest.mark.parametrize("url", ["http://192.0.2.1:8080", "http://10.0.0.1/", "http://[2001:db8::1]:80",
                                 "ftp://127.0.0.1/", "http://no-such-host.invalid/"])
def test_the_load_generator_refuses_targets_off_this_machine(url: str):
    with pytest.raises(Refused):
        loadgen.http_sender(url, lambda i: loadgen.Call("/sparql"))


def test_the_load_generator_is_bounded():
    make = loadgen.http_sender("http://127.0.0.1:9", lambda i: loadgen.Call("/"))
    for clients, seconds, requests in ((0, 1, 1), (loadgen.MAX_CLIENTS + 1, 1, 1), (1, loadgen.MAX_SECONDS + 1, 1),
                                       (1, 1, loadgen.MAX_REQUESTS + 1)):
        with pytest.raises(Refused):
            loadgen.run_round(make, clients, seconds, requests)
    done = loadgen.run_round(make, 2, 0.2, 5)  # nothing listens on port 9: errors, and it stops by itself
    assert done.requests <= 5 and done.errors == done.requests and done.stuck == 0


@pytest.fixture(scope="module")
def generated_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release of a generated graph of 10k triples (the benchmark's smallest size)."""
    root = tmp_path_factory.mktemp("bench-graph") / "kg"
    made = generate_graph(root, 10_000, 1)
    assert made.returncode == 0, made.stderr
    built = cli("build", "--root", str(root), "--releases", str(root / "releases"), "--quiet", timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return root / "releases" / "current"


def _key(term: object) -> tuple[str, ...]:
    """A term of either library as (kind, value, language or datatype), for comparing answers."""
    if isinstance(term, rdflib.URIRef | pyoxigraph.NamedNode):
        return ("iri", str(term) if isinstance(term, rdflib.URIRef) else term.value)
    if isinstance(term, rdflib.Literal):
        return ("literal", str(term), term.language or str(term.datatype or rdflib.XSD.string))
    assert isinstance(term, pyoxigraph.Literal), f"a blank node or an unexpected term: {term!r}"
    return ("literal", term.value, term.language or term.datatype.value)


def _rows(solutions: object, names: list[str]) -> list[tuple]:
    """Each solution of either library as the keys of its values, in the order of `names`."""
    return [tuple(None if row[n] is None else _key(row[n]) for n in names) for row in solutions]  # type: ignore[attr-defined]


def test_every_kind_of_query_gets_the_same_answer_from_rdflib_and_oxigraph(generated_release: Path):
    """The peers are compared on the same questions: each kind's queries, as the benchmark sends
    them, give the same rows (or triples) from rdflib over the Turtle dump, which rdflib-endpoint
    serves, as from Oxigraph over the release's store, which finhealthkg and the thin app serve;
    and no answer is empty, so no ratio is measured on a question with no answer."""
    store = pyoxigraph.Store.read_only(str(generated_release / "store"))
    graph = rdflib.Graph()
    graph.parse(generated_release / "dataset.ttl", format="turtle")
    work = workload(store)
    for kind in KINDS:
        for index in range(3):
            text = work.text(kind, index)
            ours = store.query(text, default_graph=DEFAULT_GRAPH)
            theirs = graph.query(text)
            if isinstance(ours, pyoxigraph.QuerySolutions):
                names = [v.value for v in ours.variables]
                found, expected = _rows(ours, names), _rows(theirs, names)
                if "ORDER BY" not in text:  # without an order, the rows may come in any
                    found, expected = sorted(found, key=repr), sorted(expected, key=repr)
            else:
                found = sorted((_key(t.subject), _key(t.predicate), _key(t.object)) for t in ours)
                expected = sorted((_key(s), _key(p), _key(o)) for s, p, o in theirs)
            assert found, f"{kind} #{index} has no answer:\n{text}"
            assert found == expected, f"{kind} #{index}: Oxigraph and rdflib differ:\n{text}"
