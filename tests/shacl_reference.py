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

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
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


_BACKGROUND: dict[Path, Path] = {}  # fixture -> the file its report will be pickled into, elsewhere
_PROCESS: list[subprocess.Popen] = []
_SHAPES: list[Graph] = []  # the shapes the background reports are made with
WAIT = 600  # seconds a test waits for a report from the background process


def fixture_report(fixture: Path, sources: Sources) -> tuple[Graph, Graph]:
    """(the fixture's world as one graph, pyshacl's report on it with the repository's shapes
    (`sources`, the session's fixture)); neither may be changed."""
    key = (fixture, id(sources.shapes))
    if key not in _REPORTS:
        made = _BACKGROUND.pop(fixture, None) if _SHAPES and sources.shapes is _SHAPES[0] else None
        _REPORTS[key] = _collected(made) if made is not None else _report(fixture, sources.shapes)
    return _REPORTS[key]


def _report(fixture: Path, shapes: Graph) -> tuple[Graph, Graph]:
    graph = Graph()
    for path in fixture_world(fixture):
        graph.parse(path)
    with prepared_queries():
        return graph, _run(graph, shapes, advanced=True)


def start_in_background(shapes: Graph, directory: Path) -> None:
    """Have a process of its own (niced) make every fixture's report with `shapes` (the
    session's repository shapes), each pickled into a file of `directory`. The shapes go there
    pickled, and the world graph and the report come back together: blank nodes keep their
    names, so a report's shapes are the session's. A plain process and files, no threads
    here: a thread of this process would collect this process's garbage (pyoxigraph objects
    may only be dropped by the thread that made them)."""
    if _PROCESS:
        return
    _SHAPES[:] = [shapes]
    fixtures = fixture_files()
    (directory / "shapes.pickle").write_bytes(pickle.dumps(shapes))
    (directory / "fixtures.txt").write_text("\n".join(map(str, fixtures)), encoding="utf-8")
    for number, fixture in enumerate(fixtures):
        _BACKGROUND[fixture] = directory / f"{number}.pickle"
    _PROCESS.append(subprocess.Popen(
        [sys.executable, __file__, str(directory)], stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                      os.environ.get("PYTHONPATH")]))}))


def stop_background() -> None:
    for process in _PROCESS:
        process.kill()
        process.wait()
    _PROCESS.clear()
    _BACKGROUND.clear()


def _collected(path: Path) -> tuple[Graph, Graph]:
    """The report pickled into `path`, once the background process has written it; made here
    if that process has ended without it."""
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if not _PROCESS or _PROCESS[0].poll() is not None or time.monotonic() > deadline:
            number = int(path.stem)
            return _report(fixture_files()[number], _SHAPES[0])
        time.sleep(0.05)
    return pickle.loads(path.read_bytes())


def _make_reports(directory: Path) -> None:
    """The background process: every fixture's report, in order, each written whole (renamed into place)."""
    os.nice(19)  # the tests that measure latency come first
    shapes = pickle.loads((directory / "shapes.pickle").read_bytes())
    fixtures = (directory / "fixtures.txt").read_text(encoding="utf-8").splitlines()
    for number, fixture in enumerate(fixtures):
        partial = directory / f".{number}.pickle"
        partial.write_bytes(pickle.dumps(_report(Path(fixture), shapes)))
        partial.rename(directory / f"{number}.pickle")


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


if __name__ == "__main__":
    _make_reports(Path(sys.argv[1]))
