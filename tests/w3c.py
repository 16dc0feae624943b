"""The W3C SPARQL test suites (../shared/external/w3c-rdf-tests/sparql: 1.0, 1.1, 1.2), read from
their manifests: every manifest file under a suite that lists tests (mf:entries), each test
with its kind, its query and, for evaluation tests, its data and expected result."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF

from conftest import EXTERNAL

SUITES = EXTERNAL / "w3c-rdf-tests" / "sparql"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
DAWGT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
POSITIVE = {MF.PositiveSyntaxTest, MF.PositiveSyntaxTest11}
NEGATIVE = {MF.NegativeSyntaxTest, MF.NegativeSyntaxTest11}
EVALUATION = {MF.QueryEvaluationTest}


@dataclass(frozen=True)
class W3CTest:
    suite: str  # sparql10, sparql11, sparql12
    name: str  # folder/local name, e.g. syntax-query/test_1
    kind: URIRef
    query: Path
    data: tuple[Path, ...] = ()  # qt:data: the default graph
    graph_data: tuple[Path, ...] = ()  # qt:graphData: named graphs, named by their file's IRI
    result: Path | None = None
    approved: bool = True

    @property
    def text(self) -> str:
        return self.query.read_text(encoding="utf-8")


@cache
def cases_of(suite: str) -> tuple[W3CTest, ...]:
    found: dict[str, W3CTest] = {}
    for manifest in sorted((SUITES / suite).rglob("manifest*.ttl")):
        graph = Graph().parse(manifest, format="turtle", publicID=manifest.as_uri())
        for entries in graph.objects(None, MF.entries):
            for test in Collection(graph, entries):
                kind = graph.value(test, RDF.type)
                action = graph.value(test, MF.action)
                query = graph.value(action, QT.query) if (action, QT.query, None) in graph else action
                if query is None or not str(query).startswith("file:"):
                    continue
                folder = manifest.parent.relative_to(SUITES / suite)
                name = f"{folder}/{str(test).rsplit('#', 1)[-1].rsplit('/', 1)[-1]}"
                result = graph.value(test, MF.result)
                found.setdefault(name, W3CTest(
                    suite, name, kind, _path(query),
                    tuple(_path(d) for d in graph.objects(action, QT.data)),
                    tuple(_path(d) for d in graph.objects(action, QT.graphData)),
                    _path(result) if result is not None else None,
                    (test, DAWGT.approval, DAWGT.NotClassified) not in graph
                    and (test, DAWGT.approval, DAWGT.Withdrawn) not in graph))
    return tuple(found.values())


def _path(iri) -> Path:  # noqa: ANN001 - a file: IRI
    from urllib.parse import unquote, urlsplit

    return Path(unquote(urlsplit(str(iri)).path))
