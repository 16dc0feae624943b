"""The W3C SPARQL 1.1 Service Description tests, against the repository's release and the W3C one.

The manifest (sparql/sparql11/service-description/manifest.ttl of w3c/rdf-tests, read from
../shared/external/w3c-sparql11-protocol/) gives only the names of its three tests; what each checks
comes from the W3C service-description validator (see shared/reference/sparql-protocol-checklist.md,
section E): a GET on the endpoint without a query returns RDF (returns-rdf), that RDF says
`?service sd:endpoint <the URL requested>` (has-endpoint-triple), and it uses the sd: vocabulary as
the Rec defines it: every sd:NamedGraph has an sd:name (conforms-to-schema). The validator's optional
best-practice checks run too. Then the negotiation of the description: Turtle to a client that sends
no Accept header (never HTML), JSON-LD when asked, HTML for a browser.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest
from rdflib import BNode, Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from test_w3c_protocol import (  # noqa: F401 - w3c_server is a fixture used by name
    FIXTURE_GRAPHS,
    MF,
    RDF_TYPES,
    SPARQL11,
    Answer,
    require,
    send,
    w3c_server,
)

SD_MANIFEST = SPARQL11 / "service-description" / "manifest.ttl"
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
ENDPOINT_PATH = "/sparql"

# What an RDF client (like the validator's) sends: RDF formats only, Turtle first.
RDF_CLIENT_ACCEPT = ("text/turtle, application/rdf+xml;q=0.9, application/n-triples;q=0.8, "
                     "application/ld+json;q=0.7, text/n3;q=0.5")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
# rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph internally: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

RDF_ACCEPTS = (RDF_CLIENT_ACCEPT, "text/turtle", "application/rdf+xml", "application/n-triples",
               "application/ld+json", "*/*")

# Properties whose subject is a service (validator best practice: typed sd:Service).
SERVICE_PROPERTIES = (SD.endpoint, SD.feature, SD.supportedLanguage, SD.resultFormat, SD.inputFormat,
                      SD.defaultEntailmentRegime, SD.defaultSupportedEntailmentProfile,
                      SD.extensionFunction, SD.extensionAggregate, SD.languageExtension,
                      SD.propertyFeature, SD.defaultDataset, SD.availableGraphs)
QUERY_LANGUAGES = (SD.SPARQL10Query, SD.SPARQL11Query, SD.SPARQL11Update)


@cache
def sd_manifest_tests() -> tuple[str, ...]:
    """Local names of the entries of the service-description manifest, in order."""
    if not SD_MANIFEST.is_file():
        return ()
    graph = Graph().parse(SD_MANIFEST, format="turtle")
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest, any=False)
    return tuple(str(e).rsplit("#", 1)[-1] for e in Collection(graph, graph.value(manifest, MF.entries)))


# --- servers --------------------------------------------------------------------------------------

@pytest.fixture(params=["repository", "w3c"])
def which(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def base_url(which: str, server: str, w3c_server: str) -> str:  # noqa: F811 - the fixture
    # both servers run for each store (session and module fixtures); `which` picks one
    return server if which == "repository" else w3c_server


def description(base_url: str, accept: str | None = RDF_CLIENT_ACCEPT,
                host: str | None = None) -> tuple[Answer, Graph]:
    """GET the endpoint without a query; the answer and the graph it parses to."""
    headers = []
    if accept is not None:
        headers.append(("Accept", accept))
    if host is not None:
        headers.append(("Host", host))
    answer = send(base_url, "GET", ENDPOINT_PATH, tuple(headers))
    assert answer.status // 100 == 2, answer.describe()
    assert answer.media_type in RDF_TYPES, f"not an RDF answer: {answer.describe()}"
    graph = Graph().parse(data=answer.body, format=RDF_TYPES[answer.media_type])
    assert len(graph), "an empty service description"
    return answer, graph


# --- the three W3C tests --------------------------------------------------------------------------

def returns_rdf(base_url: str, which: str) -> None:
    """GET on the endpoint returns RDF, in each RDF format an RDF client may ask for; all the same graph."""
    _answer, reference = description(base_url)
    for accept in RDF_ACCEPTS:
        answer, graph = description(base_url, accept)
        if accept in RDF_TYPES:
            assert answer.media_type == accept, answer.describe()
        assert isomorphic(graph, reference), f"Accept: {accept} gives another graph"


def has_endpoint_triple(base_url: str, which: str) -> None:
    """`?service sd:endpoint <U>` with U exactly the URL requested (scheme, host, port, no slash)."""
    url = base_url + ENDPOINT_PATH
    _answer, graph = description(base_url)
    endpoints = set(graph.objects(None, SD.endpoint))
    assert URIRef(url) in endpoints, f"sd:endpoint {sorted(endpoints)}, requested {url}"
    # A name a client writes in Host is not believed (the public name is configured:
    # --public-url, or trusted proxies; test_serving.py): the endpoint stays the one served.
    _answer, graph = description(base_url, host="sparql.example.org:8443")
    assert set(graph.objects(None, SD.endpoint)) == {URIRef(url)}


def conforms_to_schema(base_url: str, which: str) -> None:
    """Every sd:NamedGraph has an sd:name (an IRI); plus the validator's best-practice checks."""
    _answer, graph = description(base_url)
    named_graphs = set(graph.subjects(RDF.type, SD.NamedGraph)) | set(graph.objects(None, SD.namedGraph))
    assert named_graphs, "no named graphs described"
    for named in named_graphs:
        names = list(graph.objects(named, SD.name))
        assert len(names) == 1 and isinstance(names[0], URIRef), f"{named}: sd:name {names}"
    # Best practice: subjects of service properties are sd:Service ...
    services = set(graph.subjects(RDF.type, SD.Service))
    assert services
    for prop in SERVICE_PROPERTIES:
        for subject in graph.subjects(prop, None):
            assert subject in services, f"{subject} has {prop} but is not an sd:Service"
    # ... that support SPARQL 1.1 Query, and whose datasets, graphs and named graphs are typed.
    for service in services:
        languages = set(graph.objects(service, SD.supportedLanguage))
        assert SD.SPARQL11Query in languages, languages
        assert languages <= set(QUERY_LANGUAGES), languages
        assert SD.SPARQL11Update not in languages, "a read-only endpoint must not claim SPARQL Update"
    for dataset in graph.objects(None, SD.defaultDataset):
        assert (dataset, RDF.type, SD.Dataset) in graph, dataset
    datasets = set(graph.subjects(RDF.type, SD.Dataset))
    assert datasets
    for dataset in datasets:
        assert graph.value(dataset, SD.defaultGraph) is not None or graph.value(dataset, SD.namedGraph) is not None
    for named in graph.objects(None, SD.namedGraph):
        assert (named, RDF.type, SD.NamedGraph) in graph, named
    for prop in (SD.defaultGraph, SD.graph):
        for described in graph.objects(None, prop):
            assert (described, RDF.type, SD.Graph) in graph, described
    names = {str(graph.value(n, SD.name)) for n in named_graphs}
    if which == "w3c":  # the fixture graphs are the dataset's named graphs
        assert set(FIXTURE_GRAPHS.values()) <= names, names


SD_TESTS: dict[str, Callable[[str, str], None]] = {
    "returns-rdf": returns_rdf,
    "has-endpoint-triple": has_endpoint_triple,
    "conforms-to-schema": conforms_to_schema,
}


def _cases() -> list:
    if not sd_manifest_tests():
        return [pytest.param(None, id="manifest-missing")]
    return [pytest.param(name, id=name) for name in sd_manifest_tests()]


def test_every_manifest_entry_has_a_check() -> None:
    require(SD_MANIFEST)
    assert set(sd_manifest_tests()) == set(SD_TESTS), sd_manifest_tests()


@pytest.mark.parametrize("name", _cases())
def test_w3c_service_description(name: str | None, base_url: str, which: str) -> None:
    require(SD_MANIFEST)
    assert name in SD_TESTS, f"{name} is new in the manifest: write its check"
    SD_TESTS[name](base_url, which)


# --- negotiation of the description ---------------------------------------------------------------

def test_turtle_without_accept(base_url: str) -> None:
    """A bare GET (no query, no Accept) is the service description in Turtle, not an HTML page."""
    answer, graph = description(base_url, accept=None)
    assert answer.media_type == "text/turtle", answer.describe()
    assert (None, SD.endpoint, URIRef(base_url + ENDPOINT_PATH)) in graph
    assert "Accept" in answer.headers.get("Vary", "")


def test_json_ld_when_asked(base_url: str) -> None:
    answer, graph = description(base_url, accept="application/ld+json")
    assert answer.media_type == "application/ld+json", answer.describe()
    _turtle, reference = description(base_url, accept="text/turtle")
    assert isomorphic(graph, reference)
    assert not any(isinstance(s, BNode) for s in graph.subjects(SD.endpoint, None))


def test_html_for_a_browser(base_url: str) -> None:
    answer = send(base_url, "GET", ENDPOINT_PATH, (("Accept", BROWSER_ACCEPT),))
    assert answer.status == 200, answer.describe()
    assert answer.media_type == "text/html", answer.describe()
    page = answer.body.decode("utf-8")
    assert "<html" in page.lower() and base_url + ENDPOINT_PATH in page
