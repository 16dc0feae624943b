"""The DCAT catalogue of a release: the hand-written text of data/catalog.ttl joined with
what the build knows (version, dates, one distribution per download with its size and
checksum, the SPARQL endpoint as a data service). Written at build time, never per request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from .namespaces import DCAT, PREFIXES, VOID, dataset_iri, service_iri

SPDX = Namespace("http://spdx.org/rdf/terms#")
IANA = "http://www.iana.org/assignments/media-types/"
AUTHORITY = "http://publications.europa.eu/resource/authority/"
FILE_TYPES = URIRef(AUTHORITY + "file-type")
ACCESS_RIGHTS = URIRef(AUTHORITY + "access-right")
ACCESS_PUBLIC = URIRef(AUTHORITY + "access-right/PUBLIC")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")

# download file -> (distribution slug, title, media type, EU file type, compression)
DISTRIBUTIONS = {
    "dataset.ttl": ("turtle", "Turtle", "text/turtle", "RDF_TURTLE", None),
    "dataset.nt.gz": ("n-triples", "N-Triples, gzip-compressed", "application/n-triples",
                      "RDF_N_TRIPLES", "application/gzip"),
    "dataset.jsonld": ("json-ld", "JSON-LD", "application/ld+json", "JSON_LD", None),
}
# Finnish words for the titles above that are not names of formats.
FINNISH = {"N-Triples, gzip-compressed": "N-Triples, gzip-pakattu"}
SERVICE_KEYWORDS = (("SPARQL", "en"), ("SPARQL", "fi"), ("linked data", "en"), ("linkitetty data", "fi"))


def catalog_iri(base_iri: str) -> URIRef:
    return URIRef(base_iri + "catalog")


def catalog_description(
    handwritten: Graph, publisher: Graph, *, base_iri: str, version: str, created: datetime,
    files: dict[str, dict[str, Any]],
) -> Graph:
    """DCAT 3 catalogue of one release. `publisher` holds the triples of the publishing agent."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    graph += handwritten
    catalog, dataset, service = catalog_iri(base_iri), dataset_iri(base_iri), service_iri(base_iri)
    ontology = URIRef(base_iri + "def/")
    when = Literal(created.isoformat(), datatype=XSD.dateTime)
    licence = handwritten.value(dataset, DCTERMS.license)

    for agent in set(handwritten.objects(None, DCTERMS.publisher)):
        graph += publisher.triples((agent, None, None))
        graph.add((agent, RDF.type, FOAF.Agent))
    if licence is not None:
        graph.add((licence, RDF.type, DCTERMS.LicenseDocument))

    graph.add((catalog, DCTERMS.modified, when))
    graph.add((catalog, DCAT.service, service))
    graph.add((dataset, DCAT.version, Literal(version)))
    graph.add((dataset, DCTERMS.modified, when))
    graph.add((dataset, DCTERMS.identifier, Literal(str(dataset))))
    graph.add((dataset, DCTERMS.conformsTo, ontology))
    graph.add((dataset, RDFS.seeAlso, URIRef(base_iri + ".well-known/void")))
    graph.add((dataset, VOID.sparqlEndpoint, URIRef(base_iri + "sparql")))

    for name in DISTRIBUTIONS:
        add_distribution(graph, dataset, name, files[name], version=version, when=when, licence=licence,
                         downloads=base_iri + "downloads/")

    graph.add((service, RDF.type, DCAT.DataService))
    for lang, text in (("en", "SPARQL 1.1 endpoint of the finhealthkg knowledge graph"),
                       ("fi", "finhealthkg-tietoverkon SPARQL 1.1 -rajapinta")):
        graph.add((service, DCTERMS.title, Literal(text, lang=lang)))
    graph.add((service, DCAT.endpointURL, URIRef(base_iri + "sparql")))
    graph.add((service, DCAT.endpointDescription, URIRef(base_iri + "sparql")))
    graph.add((service, DCAT.servesDataset, dataset))
    graph.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    graph.add((service, DCTERMS.accessRights, ACCESS_PUBLIC))
    if licence is not None:
        graph.add((service, DCTERMS.license, licence))
    for publisher_agent in handwritten.objects(dataset, DCTERMS.publisher):
        graph.add((service, DCTERMS.publisher, publisher_agent))
    # The endpoint answers for the dataset: same contact, same themes.
    for predicate in (DCAT.contactPoint, DCAT.theme):
        for value in handwritten.objects(dataset, predicate):
            graph.add((service, predicate, value))
    for word, lang in SERVICE_KEYWORDS:
        graph.add((service, DCAT.keyword, Literal(word, lang=lang)))

    # What DCAT-AP 3.0 expects to know of the things the build links to (its class ranges);
    # data/catalog.ttl says the same of the things it links to.
    graph.add((ontology, RDF.type, DCTERMS.Standard))
    graph.add((SPARQL_PROTOCOL, RDF.type, DCTERMS.Standard))
    graph.add((SPARQL_PROTOCOL, DCTERMS.title, Literal("SPARQL 1.1 Protocol", lang="en")))
    graph.add((ACCESS_PUBLIC, RDF.type, DCTERMS.RightsStatement))
    graph.add((ACCESS_PUBLIC, SKOS.inScheme, ACCESS_RIGHTS))
    return graph


def add_distribution(graph: Graph, dataset: URIRef, name: str, entry: dict[str, Any], *, version: str,
                     when: Literal, licence: Node | None, downloads: str) -> URIRef:
    """The distribution of download `name` (a key of DISTRIBUTIONS) of `dataset`, served under `downloads`."""
    slug, title, media_type, file_type, compression = DISTRIBUTIONS[name]
    distribution = URIRef(f"{dataset}/distribution/{slug}")
    checksum = URIRef(f"{distribution}/checksum")
    graph.add((dataset, DCAT.distribution, distribution))
    graph.add((distribution, RDF.type, DCAT.Distribution))
    for lang, text in (("en", f"The knowledge graph as {title}"),
                       ("fi", f"Tietoverkko muodossa {FINNISH.get(title, title)}")):
        graph.add((distribution, DCTERMS.title, Literal(text, lang=lang)))
    for lang, text in (
            ("en", f"The whole knowledge graph (ontology and data) of release {version} "
                   f"in one file: {title}."),
            ("fi", f"Koko tietoverkko (ontologia ja data), julkaisu {version}, yhtenä "
                   f"tiedostona muodossa {FINNISH.get(title, title)}.")):
        graph.add((distribution, DCTERMS.description, Literal(text, lang=lang)))
    graph.add((distribution, DCAT.accessURL, URIRef(downloads)))
    graph.add((distribution, DCAT.downloadURL, URIRef(downloads + name)))
    graph.add((distribution, DCAT.mediaType, _media_type(graph, media_type)))
    graph.add((distribution, DCTERMS["format"], _file_type(graph, file_type)))
    if compression:
        graph.add((distribution, DCAT.compressFormat, _media_type(graph, compression)))
    graph.add((distribution, DCAT.byteSize,
               Literal(entry["bytes"], datatype=XSD.nonNegativeInteger)))
    graph.add((distribution, DCTERMS.modified, when))
    if licence is not None:
        graph.add((distribution, DCTERMS.license, licence))
    graph.add((distribution, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
    graph.add((checksum, SPDX.checksumValue, Literal(entry["sha256"], datatype=XSD.hexBinary)))
    return distribution


def _media_type(graph: Graph, name: str) -> URIRef:
    """The IANA media type `name`, typed as DCAT-AP expects."""
    media_type = URIRef(IANA + name)
    graph.add((media_type, RDF.type, DCTERMS.MediaType))
    return media_type


def _file_type(graph: Graph, code: str) -> URIRef:
    """The file type `code` of the EU authority table, typed as DCAT-AP expects."""
    file_type = URIRef(f"{FILE_TYPES}/{code}")
    graph.add((file_type, RDF.type, DCTERMS.MediaTypeOrExtent))
    graph.add((file_type, SKOS.inScheme, FILE_TYPES))
    return file_type
