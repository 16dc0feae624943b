"""SPARQL 1.1 Service Description of the endpoint (GET /sparql without a query)."""

from __future__ import annotations

from flask import Response, render_template, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ..catalog import dataset_iri, service_iri
from ..namespaces import DATASET_GRAPHS, PREFIXES, SD, VOID
from .negotiation import HTML, JSONLD, NTRIPLES, RDFXML, TURTLE, negotiate
from .publication import publication, served
from .serialize import graph_bytes

FORMATS = Namespace("http://www.w3.org/ns/formats/")
RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                  "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD", "RDF_XML")


def service_description() -> Response:
    snapshot = served()
    endpoint = request.base_url  # sd:endpoint is exactly the URL the client asked
    fmt = negotiate((TURTLE, JSONLD, HTML, NTRIPLES, RDFXML), request.args.get("format"))
    graph = snapshot.memo(f"sd:{endpoint}", lambda: _describe(endpoint, snapshot))
    if fmt is HTML:
        body = render_template("service.html", endpoint=endpoint, info=snapshot.info,
                               graphs=snapshot.graph_triples, default_graphs=[str(g) for g in DATASET_GRAPHS],
                               formats=RESULT_FORMATS)
    else:
        body = graph_bytes(graph, fmt)
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.set_etag(f"sd-{snapshot.info.version}-{fmt.name}")
    response.last_modified = snapshot.info.modified
    return response.make_conditional(request)


def _describe(endpoint: str, snapshot) -> Graph:  # noqa: ANN001 - Snapshot
    base_iri = publication().settings.base_iri
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    graph.bind("formats", FORMATS)
    service, dataset = service_iri(base_iri), dataset_iri(base_iri)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    for name in RESULT_FORMATS:
        graph.add((service, SD.resultFormat, FORMATS[name]))
    graph.add((service, RDFS.comment, Literal(
        "Read-only: SPARQL Update, SERVICE and FROM outside this dataset are refused. "
        "The default graph is the knowledge graph (ontology + data); every graph of the "
        "release is available by name.", lang="en")))
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, RDF.type, VOID.Dataset))
    graph.add((dataset, RDFS.seeAlso, URIRef(base_iri + ".well-known/void")))
    counts = snapshot.graph_triples
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, VOID.triples, Literal(snapshot.info.triples, datatype=XSD.integer)))
    for name in sorted(counts):
        named, described = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(name)))
        graph.add((named, SD.graph, described))
        graph.add((described, RDF.type, SD.Graph))
        graph.add((described, VOID.triples, Literal(counts[name], datatype=XSD.integer)))
    return graph
