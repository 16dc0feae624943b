"""pyshacl, the reference SHACL engine, run once per shape fixture for every test module that
asks (test_shapes checks the fixtures with it; test_shacl_sparql compares the compiled engine
with it): each run takes seconds, and the same fixture gives the same report.

pyshacl hands rdflib every SPARQL constraint as text, once per focus node, and rdflib parses
the text each time (about 85% of a run). `prepared_queries` lets rdflib translate each text
once and evaluate the prepared query again, as rdflib's own `prepareQuery` is meant to be
used: the same evaluation, the same results.

When a test session collects tests that use these reports, `start_in_background` has pyshacl
work through every fixture in a process of its own at low priority (conftest.py), on the core
the tests leave idle, so the reports are there when those tests come (about 100 s of CPU)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from rdflib import Graph
from rdflib.plugins.sparql import processor
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery

from conftest import REPO
from finhealthkg.pipeline.sources import Sources
from finhealthkg.pipeline.validate import _run

FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
CONTEXT_FILES = ("schemes.ttl", "sources.ttl", "time.ttl", "places.ttl", "publisher.ttl")


def fixture_files(pattern: str = "*.ttl") -> list[Path]:
    return sorted(FIXTURES.glob(f"*/{pattern}"))


def fixture_world(fixture: Path) -> list[Path]:
    """The files a fixture is validated with: the real ontology and a small world of real context
    (schemes, sources, periods, places, the publisher), then the fixture."""
    return [*sorted((REPO / "ontology").glob("*.ttl")), *(REPO / "data" / n for n in CONTEXT_FILES), fixture]


_REPORTS: dict[tuple[Path, int], tuple[Graph, Graph]] = {}


_BACKGROUND: dict[Path, Future] = {}  # reports with the repository's shapes, being made elsewhere
_EXECUTOR: list[ProcessPoolExecutor] = []


def fixture_report(fixture: Path, sources: Sources) -> tuple[Graph, Graph]:
    """(the fixture's world as one graph, pyshacl's report on it with the repository's shapes
    (`sources`, the session's fixture)); neither may be changed."""
    key = (fixture, id(sources.shapes))
    if key not in _REPORTS:
        made = _BACKGROUND.pop(fixture, None) if _SHAPES and sources.shapes is _SHAPES[0] else None
        _REPORTS[key] = made.result() if made is not None else _report(fixture, sources.shapes)
    return _REPORTS[key]


def _report(fixture: Path, shapes: Graph) -> tuple[Graph, Graph]:
    graph = Graph()
    for path in fixture_world(fixture):
        graph.parse(path)
    with prepared_queries():
        return graph, _run(graph, shapes, advanced=True)


def start_in_background(shapes: Graph) -> None:
    """Have a process of its own make every fixture's report with `shapes` (the session's
    repository shapes). The shapes go there pickled, and the world graph and the report come
    back together: blank nodes keep their names, so a report's shapes are the session's."""
    if _EXECUTOR:
        return
    _SHAPES[:] = [shapes]
    executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_background_start, initargs=(shapes,))
    _EXECUTOR.append(executor)
    for fixture in fixture_files():
        _BACKGROUND[fixture] = executor.submit(_background_report, fixture)


def stop_background() -> None:
    for executor in _EXECUTOR:
        executor.shutdown(wait=False, cancel_futures=True)
    _EXECUTOR.clear()
    _BACKGROUND.clear()


_SHAPES: list[Graph] = []  # the shapes the background reports are made with


def _background_start(shapes: Graph) -> None:
    os.nice(19)  # the tests that measure latency come first
    _SHAPES[:] = [shapes]


def _background_report(fixture: Path) -> tuple[Graph, Graph]:
    return _report(fixture, _SHAPES[0])


@contextmanager
def prepared_queries() -> Iterator[None]:
    original = processor.SPARQLProcessor.query
    prepared: dict[tuple, object] = {}

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):  # noqa: ANN001, ANN202, N803
        if isinstance(strOrQuery, str):
            key = (strOrQuery, base, tuple(sorted((str(k), str(v)) for k, v in (initNs or {}).items())))
            if key not in prepared:
                prepared[key] = translateQuery(parseQuery(strOrQuery), base, initNs)
            strOrQuery = prepared[key]
        return original(self, strOrQuery, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = original
