"""pyshacl, the reference SHACL engine, run once per shape fixture for every test module that
asks (test_shapes checks the fixtures with it; test_shacl_sparql compares the compiled engine
with it): each run takes seconds, and the same fixture gives the same report.

pyshacl hands rdflib every SPARQL constraint as text, once per focus node, and rdflib parses
the text each time (about 85% of a run). `prepared_queries` lets rdflib translate each text
once and evaluate the prepared query again, as rdflib's own `prepareQuery` is meant to be
used: the same evaluation, the same results."""

from __future__ import annotations

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


def fixture_report(fixture: Path, sources: Sources) -> tuple[Graph, Graph]:
    """(the fixture's world as one graph, pyshacl's report on it with the repository's shapes
    (`sources`, the session's fixture)); neither may be changed."""
    key = (fixture, id(sources.shapes))
    if key not in _REPORTS:
        graph = Graph()
        for path in fixture_world(fixture):
            graph.parse(path)
        with prepared_queries():
            _REPORTS[key] = graph, _run(graph, sources.shapes, advanced=True)
    return _REPORTS[key]


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
