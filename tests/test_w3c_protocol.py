"""The W3C SPARQL 1.1 Protocol tests, run against the real server, driven by the W3C manifest.

The manifest (sparql/sparql11/protocol/manifest.ttl of w3c/rdf-tests) is third-party test material
kept outside the project, in ../shared/external/w3c-sparql11-protocol/; it is read from there,
never copied. Each entry of its mf:entries list describes HTTP requests (ht:Request: method,
absolute path, headers, body) and what the response must be (mf:expectedStatus, mf:expectedFormat,
mf:expectedBoolean). Every entry that applies to a read-only endpoint runs as its own pytest case;
the others are listed in NOT_APPLICABLE with the reason, and test_every_manifest_entry_is_classified
keeps the two lists equal to the manifest, so a new entry cannot go unnoticed.

The store is a release built at test time whose data/w3c.trig holds the three W3C fixture graphs
(data1.nt .. data3.nt of the manifest's folder, each in the named graph the manifest's ut:graphData
names). No manifest request sends an Accept header, so neither do we: the defaults are under test.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

from conftest import EXTERNAL, STORES, cli, not_here, serving

W3C = EXTERNAL / "w3c-sparql11-protocol"
SPARQL11 = W3C / "sparql" / "sparql11"
PROTOCOL_DIR = SPARQL11 / "protocol"
PROTOCOL_MANIFEST = PROTOCOL_DIR / "manifest.ttl"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"

MANIFEST_PATH_PREFIX = "/sparql/"  # every ht:absolutePath starts with it (the manifest says so)
ENDPOINT_PATH = "/sparql"  # ours

# The W3C fixture files and the named graph each is preloaded into (ut:graphData of the manifest).
FIXTURE_GRAPHS = {
    f"data{n}.nt": f"http://kasei.us/2009/09/sparql/data/data{n}.rdf" for n in (1, 2, 3)
}

# Entries that need a writable endpoint: each sends a SPARQL Update that must succeed (2xx/3xx),
# and most then query what it wrote. A read-only publisher does not offer the update operation
# (the W3C reference validator skips "update" tests when no update endpoint is given). The
# negative update tests (bad_update_*, bad_multiple_updates) do apply, and run: they need a 4xx.
_WRITABLE = "needs a writable endpoint: the update must succeed (2xx/3xx) and this endpoint is read-only"
NOT_APPLICABLE = {
    "update_dataset_default_graph":
        f"{_WRITABLE}; then checks that using-graph-uri set the WHERE clause's default graph",
    "update_dataset_default_graphs":
        f"{_WRITABLE}; then checks that repeated using-graph-uri merge into the default graph",
    "update_dataset_named_graphs":
        f"{_WRITABLE}; then checks that using-named-graph-uri set the named graphs",
    "update_dataset_full":
        f"{_WRITABLE}; then checks a dataset of both using-graph-uri and using-named-graph-uri",
    "update_post_form": f"{_WRITABLE} (CLEAR ALL sent as a URL-encoded form)",
    "update_post_direct": f"{_WRITABLE} (CLEAR ALL sent as application/sparql-update)",
    "update_base_uri": f"{_WRITABLE}; then checks the service base IRI used to resolve <test>",
}

# The entries this read-only endpoint must pass, listed so that a new manifest entry is noticed.
APPLICABLE = (
    "query_post_form", "query_dataset_default_graphs_get", "query_dataset_default_graphs_post",
    "query_dataset_named_graphs_post", "query_dataset_named_graphs_get", "query_dataset_full",
    "query_multiple_dataset", "query_get", "query_content_type_select", "query_content_type_ask",
    "query_content_type_describe", "query_content_type_construct", "query_post_direct",
    "bad_query_method", "bad_multiple_queries", "bad_query_wrong_media_type",
    "bad_query_missing_form_type", "bad_query_missing_direct_type", "bad_query_non_utf8",
    "bad_query_syntax", "bad_update_get", "bad_multiple_updates", "bad_update_wrong_media_type",
    "bad_update_missing_form_type", "bad_update_non_utf8", "bad_update_syntax",
    "bad_update_dataset_conflict",
)

BOOLEAN_TYPES = ("application/sparql-results+json", "application/sparql-results+xml")
TABULAR_TYPES = (*BOOLEAN_TYPES, "text/csv", "text/tab-separated-values")
RDF_TYPES = {  # media type -> rdflib parser
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "text/n3": "n3",
}
REDIRECTS = (301, 302, 303, 307, 308)


def require(path: Path) -> None:
    """Skip (fail on CI), saying where the W3C files were expected, when they are absent."""
    if not path.exists():
        not_here(f"W3C SPARQL 1.1 test files not found: expected {path} "
                    f"(a copy of w3c/rdf-tests sparql/sparql11/ under {W3C}; see its README.md). The W3C protocol "
                    "tests did NOT run; set FINHEALTHKG_EXTERNAL to the shared/external directory.")


# --- the manifest ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expected:
    status_classes: frozenset[int]  # 2 for hts:StatusCode2xx, ...
    format: str | None  # "boolean" | "tabular" | "RDF"
    boolean: bool | None


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # as in the manifest: /sparql/...
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    expected: Expected

    @property
    def is_update(self) -> bool:
        """Carries a SPARQL Update: an update parameter, form field or application/sparql-update body."""
        content_type = next((v for k, v in self.headers if k.lower() == "content-type"), "")
        query = urlsplit(self.path).query
        form = self.body.decode("utf-8", "replace") if content_type.startswith(
            "application/x-www-form-urlencoded") and self.body else ""
        fields = [pair.split("=", 1)[0] for part in (query, form) for pair in part.split("&") if pair]
        return "update" in fields or content_type.startswith("application/sparql-update")


@dataclass(frozen=True)
class ProtocolTest:
    name: str  # local name of the entry, e.g. query_post_form
    title: str  # mf:name
    graph_data: tuple[tuple[str, str], ...]  # (fixture file name, graph IRI) of ut:graphData
    requests: tuple[HttpRequest, ...]

    @property
    def needs_writable_endpoint(self) -> bool:
        return any(r.is_update and r.expected.status_classes & {2, 3} for r in self.requests)


@cache
def manifest_tests() -> tuple[ProtocolTest, ...]:
    """Every entry of mf:entries, in manifest order; () when the manifest is absent."""
    if not PROTOCOL_MANIFEST.is_file():
        return ()
    graph = Graph().parse(PROTOCOL_MANIFEST, format="turtle")
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest, any=False)
    entries = Collection(graph, graph.value(manifest, MF.entries))
    return tuple(_test(graph, entry) for entry in entries)


def _test(graph: Graph, entry: URIRef) -> ProtocolTest:
    name = str(entry).rsplit("#", 1)[-1]
    graph_data = []
    for node in graph.objects(entry, UT.graphData):
        file_iri = graph.value(node, UT.graph)
        graph_data.append((Path(urlsplit(str(file_iri)).path).name, str(graph.value(node, RDFS.label))))
    action = graph.value(entry, MF.action)
    requests = tuple(_request(graph, node) for node in Collection(graph, graph.value(action, HT.requests)))
    assert requests, f"{name}: no ht:requests in the manifest"
    return ProtocolTest(name, str(graph.value(entry, MF.name)), tuple(sorted(graph_data)), requests)


def _request(graph: Graph, node) -> HttpRequest:  # noqa: ANN001 - an RDF node
    headers = []
    header_list = graph.value(node, HT.headers)
    if header_list is not None:
        for header in Collection(graph, header_list):
            headers.append((str(graph.value(header, HT.fieldName)), str(graph.value(header, HT.fieldValue))))
    body = None
    body_node = graph.value(node, HT.body)
    if body_node is not None:
        assert (body_node, RDF.type, CNT.ContentAsText) in graph, "only cnt:ContentAsText bodies are known"
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    response = graph.value(node, HT.resp)
    statuses = frozenset(int(str(status).rsplit("StatusCode", 1)[1][0])
                         for status in graph.objects(response, MF.expectedStatus))
    assert statuses, "a response without mf:expectedStatus"
    fmt = graph.value(response, MF.expectedFormat)
    boolean = graph.value(response, MF.expectedBoolean)
    expected = Expected(statuses, str(fmt) if fmt is not None else None,
                        boolean.toPython() if isinstance(boolean, Literal) else None)
    return HttpRequest(str(graph.value(node, HT.methodName)), str(graph.value(node, HT.absolutePath)),
                       tuple(headers), body, expected)


def _cases() -> list:
    tests = [t for t in manifest_tests() if t.name not in NOT_APPLICABLE]
    if not manifest_tests():
        return [pytest.param(None, id="manifest-missing")]
    return [pytest.param(t, id=t.name) for t in tests]


# --- the server -----------------------------------------------------------------------------------

def w3c_trig() -> str:
    """The W3C fixture graphs as TriG: each data*.nt in the named graph the manifest gives it."""
    blocks = []
    for file_name, graph_iri in FIXTURE_GRAPHS.items():
        path = PROTOCOL_DIR / file_name
        require(path)
        triples = Graph().parse(path, format="nt")
        assert len(triples), f"{path}: no triples"
        blocks.append(f"<{graph_iri}> {{\n{triples.serialize(format='nt').strip()}\n}}\n")
    return "\n".join(blocks)


W3C_BASE = "http://w3c-protocol.test/"  # the test release's own base IRI


def build_w3c_release(directory: Path) -> tuple[Path, Path]:
    """(root, releases) of a release holding only the W3C fixture graphs, built with the CLI."""
    root = directory / "w3c-root"
    for part in ("ontology", "shapes", "data"):
        (root / part).mkdir(parents=True)
    (root / "data" / "w3c.trig").write_text(w3c_trig(), encoding="utf-8")
    releases = directory / "releases"
    built = cli("build", "--root", str(root), "--releases", str(releases), "--base-iri", W3C_BASE)
    assert built.returncode == 0, built.stdout + built.stderr
    return root, releases


@pytest.fixture(scope="module", params=STORES)
def w3c_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require(PROTOCOL_MANIFEST)
    # its own base IRI: in a shared external store its release pointer is its own
    root, releases = build_w3c_release(tmp_path_factory.mktemp("w3c"))
    with serving(request.param, root, releases, request, "--base-iri", W3C_BASE) as url:
        yield url


@dataclass
class Answer:
    status: int  # of the first response (what the manifest's status class is about)
    final_status: int  # after following redirects
    headers: Message
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get_content_type() if self.headers.get("Content-Type") else ""

    def describe(self) -> str:
        return f"{self.status} {self.headers.get('Content-Type')!r}: {self.body[:500]!r}"


def send(base_url: str, method: str, path: str, headers: tuple[tuple[str, str], ...] = (),
         body: bytes | None = None) -> Answer:
    """One request with exactly these headers (http.client adds only Host and Content-Length; no Accept),
    following redirects as an HTTP client would."""
    base = urlsplit(base_url)
    first = None
    for _ in range(5):
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        first = first if first is not None else response.status
        location = response.headers.get("Location")
        if response.status not in REDIRECTS or not location:
            return Answer(first, response.status, response.headers, data)
        target = urlsplit(location)
        path = target.path + (f"?{target.query}" if target.query else "")
        if response.status == 303:
            method, body = "GET", None
    raise AssertionError(f"more than 5 redirects from {path}")


def endpoint_path(manifest_path: str) -> str:
    """The manifest's /sparql/ replaced by our endpoint's path."""
    assert manifest_path.startswith(MANIFEST_PATH_PREFIX), manifest_path
    rest = manifest_path[len(MANIFEST_PATH_PREFIX):]
    return ENDPOINT_PATH + (rest if not rest or rest.startswith("?") else "/" + rest)


# --- reading answers ------------------------------------------------------------------------------

def parse_boolean(answer: Answer) -> bool:
    """The boolean of a SPARQL JSON or XML results document."""
    assert answer.media_type in BOOLEAN_TYPES, f"not a boolean results format: {answer.describe()}"
    if answer.media_type.endswith("+json"):
        document = json.loads(answer.body.decode("utf-8"))
        assert isinstance(document.get("head"), dict), document
        assert isinstance(document.get("boolean"), bool), document
        return document["boolean"]
    root = ET.fromstring(answer.body)
    assert root.tag == f"{RESULTS_NS}sparql", root.tag
    element = root.find(f"{RESULTS_NS}boolean")
    assert element is not None and element.text in ("true", "false"), answer.describe()
    return element.text == "true"


def parse_table(answer: Answer) -> tuple[list[str], list[dict[str, str]]]:
    """(variables, rows) of a SPARQL JSON, XML, CSV or TSV results table."""
    media_type = answer.media_type
    assert media_type in TABULAR_TYPES, f"not a tabular results format: {answer.describe()}"
    text = answer.body.decode("utf-8")
    if media_type.endswith("+json"):
        document = json.loads(text)
        bindings = document["results"]["bindings"]
        assert isinstance(bindings, list)
        return list(document["head"]["vars"]), [{k: v["value"] for k, v in b.items()} for b in bindings]
    if media_type.endswith("+xml"):
        root = ET.fromstring(answer.body)
        assert root.tag == f"{RESULTS_NS}sparql", root.tag
        variables = [v.get("name") for v in root.iter(f"{RESULTS_NS}variable")]
        rows = [{b.get("name"): "".join(b.itertext()) for b in result.iter(f"{RESULTS_NS}binding")}
                for result in root.iter(f"{RESULTS_NS}result")]
        return variables, rows
    if media_type == "text/csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        header, *rows = list(reader)
        return header, [dict(zip(header, row, strict=True)) for row in rows]
    lines = text.splitlines()  # TSV: ?-prefixed variables, terms in SPARQL syntax
    header = [v.removeprefix("?") for v in lines[0].split("\t")]
    return header, [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def parse_rdf(answer: Answer) -> Graph:
    assert answer.media_type in RDF_TYPES, f"not an RDF format: {answer.describe()}"
    return Graph().parse(data=answer.body, format=RDF_TYPES[answer.media_type])


# --- the tests ------------------------------------------------------------------------------------

def test_every_manifest_entry_is_classified() -> None:
    """Manifest entries = applicable ∪ not applicable, and the split follows the manifest itself."""
    require(PROTOCOL_MANIFEST)
    tests = manifest_tests()
    names = [t.name for t in tests]
    assert len(names) == len(set(names)), "duplicate entry names in the manifest"
    assert not set(APPLICABLE) & set(NOT_APPLICABLE)
    assert set(names) == set(APPLICABLE) | set(NOT_APPLICABLE), (
        f"unclassified entries: {sorted(set(names) - set(APPLICABLE) - set(NOT_APPLICABLE))}; "
        f"gone from the manifest: {sorted((set(APPLICABLE) | set(NOT_APPLICABLE)) - set(names))}")
    writable = {t.name for t in tests if t.needs_writable_endpoint}
    assert writable == set(NOT_APPLICABLE), "only tests that need a successful update are not applicable"


def test_fixture_graphs_are_the_manifests() -> None:
    """What we preload is what ut:graphData of the manifest asks for."""
    require(PROTOCOL_MANIFEST)
    asked = {pair for t in manifest_tests() for pair in t.graph_data}
    assert asked, "the manifest names no ut:graphData any more"
    assert asked <= set(FIXTURE_GRAPHS.items()), asked


@pytest.mark.parametrize("test", _cases())
def test_w3c_protocol(test: ProtocolTest | None, w3c_server: str) -> None:
    require(PROTOCOL_MANIFEST)
    assert test is not None
    assert test.name in APPLICABLE, f"{test.name} is new in the manifest: list it in APPLICABLE or NOT_APPLICABLE"
    assert set(test.graph_data) <= set(FIXTURE_GRAPHS.items()), "the test needs data we did not preload"
    for number, request in enumerate(test.requests, 1):
        where = f"{test.name} ({test.title}), request {number}: {request.method} {request.path}"
        assert not any(k.lower() == "accept" for k, _ in request.headers)  # the defaults are under test
        answer = send(w3c_server, request.method, endpoint_path(request.path), request.headers, request.body)
        expected = request.expected
        assert answer.status // 100 in expected.status_classes, (
            f"{where}: expected {sorted(f'{c}xx' for c in expected.status_classes)}, got {answer.describe()}")
        if answer.status >= 400:
            assert answer.status < 500, where
            assert answer.body.strip(), f"{where}: an error without a message"
            continue
        assert answer.final_status // 100 == 2, f"{where}: {answer.describe()}"
        # No Accept header: never HTML; results as SPARQL JSON (without a charset parameter, which
        # the reference validator compares exactly), graphs as Turtle.
        assert answer.media_type != "text/html", f"{where}: HTML without an Accept header"
        if expected.format == "boolean":
            assert answer.headers["Content-Type"] == "application/sparql-results+json", answer.describe()
            value = parse_boolean(answer)
            if expected.boolean is not None:
                assert value is expected.boolean, f"{where}: ASK answered {value}, expected {expected.boolean}"
        elif expected.format == "tabular":
            assert answer.headers["Content-Type"] == "application/sparql-results+json", answer.describe()
            variables, _rows = parse_table(answer)
            assert variables, f"{where}: a results table without variables"
        elif expected.format == "RDF":
            assert answer.media_type == "text/turtle", f"{where}: {answer.describe()}"
            parse_rdf(answer)
        else:
            raise AssertionError(f"{where}: unknown mf:expectedFormat {expected.format!r}")


# --- defaults without an Accept header (checklist F.1), beyond what the manifest checks -----------

QUERIES = {
    "select": ("SELECT ?g WHERE { GRAPH ?g { ?s a ?type } } ORDER BY ?g", "application/sparql-results+json"),
    "ask": ("ASK { GRAPH <http://kasei.us/2009/09/sparql/data/data1.rdf> { ?s ?p ?o } }",
            "application/sparql-results+json"),
    "construct": ("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", "text/turtle"),
    "describe": ("DESCRIBE <http://kasei.us/2009/09/sparql/data/data2.rdf>", "text/turtle"),
}


@pytest.mark.parametrize("how", ["get", "form", "direct"])
@pytest.mark.parametrize("kind", sorted(QUERIES))
def test_default_format_without_accept(w3c_server: str, kind: str, how: str) -> None:
    """SELECT/ASK answer SPARQL JSON and CONSTRUCT/DESCRIBE Turtle to a client that sends no Accept."""
    query, media_type = QUERIES[kind]
    named = "&".join(f"{parameter}={quote(g, safe='')}" for g in FIXTURE_GRAPHS.values()
                     for parameter in ("default-graph-uri", "named-graph-uri"))
    if how == "get":
        answer = send(w3c_server, "GET", f"{ENDPOINT_PATH}?query={quote(query, safe='')}&{named}")
    elif how == "form":
        answer = send(w3c_server, "POST", ENDPOINT_PATH,
                      (("Content-Type", "application/x-www-form-urlencoded"),),
                      f"query={quote(query, safe='')}&{named}".encode())
    else:
        answer = send(w3c_server, "POST", f"{ENDPOINT_PATH}?{named}",
                      (("Content-Type", "application/sparql-query"),), query.encode())
    assert answer.status == 200, answer.describe()
    assert answer.media_type == media_type, answer.describe()
    assert answer.media_type != "text/html"
    if kind == "select":
        variables, rows = parse_table(answer)
        assert variables == ["g"]
        assert [row["g"] for row in rows] == sorted(FIXTURE_GRAPHS.values())
    elif kind == "ask":
        assert parse_boolean(answer) is True
    else:
        graph = parse_rdf(answer)
        documents = set(graph.subjects(RDF.type, URIRef("http://xmlns.com/foaf/0.1/Document")))
        if kind == "construct":
            assert documents == {URIRef(g) for g in FIXTURE_GRAPHS.values()}
        else:
            assert URIRef("http://kasei.us/2009/09/sparql/data/data2.rdf") in documents


def test_relative_iris_resolve_against_the_service_base(w3c_server: str) -> None:
    """query_content_type_construct sends <s> <p>: resolved against a base, not refused (checklist F.6)."""
    answer = send(w3c_server, "POST", ENDPOINT_PATH, (("Content-Type", "application/sparql-query"),),
                  b"CONSTRUCT { <s> <p> 1 } WHERE {}")
    assert answer.status == 200, answer.describe()
    assert b"<s>" not in answer.body, answer.describe()
    triples = list(parse_rdf(answer))
    assert len(triples) == 1, triples
    subject, predicate, obj = triples[0]
    for iri in (subject, predicate):
        parts = urlsplit(str(iri))
        assert parts.scheme in ("http", "https") and parts.netloc, iri
    assert str(subject).endswith("/s") and str(predicate).endswith("/p"), triples
    assert obj == Literal(1)
