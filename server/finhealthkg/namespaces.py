"""Every IRI base, graph name and prefix of the project, written once."""

from rdflib import Namespace
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SH, SKOS, TIME, XSD

BASE = "https://w3id.org/finhealthkg/"

FHKG = Namespace(BASE + "def/")  # vocabulary terms, hash-free
SHAPES = Namespace(BASE + "shapes/")  # SHACL shapes
ID = Namespace(BASE + "id/")  # things
GRAPH = Namespace(BASE + "graph/")  # named graphs of the store

ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("https://schema.org/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
WD = Namespace("http://www.wikidata.org/entity/")

ONTOLOGY_IRI = str(FHKG)  # the ontology IRI is the vocabulary namespace itself

# The store keeps each part of a release in its own named graph. The default graph of a
# query is the union of DATASET_GRAPHS: the knowledge graph a researcher asks about.
ONTOLOGY_GRAPH = GRAPH["ontology"]
DATA_GRAPH = GRAPH["data"]
SHAPES_GRAPH = GRAPH["shapes"]
VOID_GRAPH = GRAPH["void"]  # VoID statistics of the release
CATALOG_GRAPH = GRAPH["catalog"]  # DCAT catalogue: the dataset, its distributions, the endpoint
DATASET_GRAPHS = (ONTOLOGY_GRAPH, DATA_GRAPH)

# One prefix per kind of thing, so Turtle reads `organization:auria-biobank`.
KINDS = (
    "agent", "figure", "field", "instant", "membership", "organization", "organization-kind",
    "period", "place", "project", "scheme", "source", "status", "strategy",
)

PREFIXES: dict[str, str] = {
    "fhkg": str(FHKG),
    "fhkgsh": str(SHAPES),
    **{kind: f"{ID}{kind}/" for kind in KINDS},
    "org": str(ORG),
    "schema": str(SCHEMA),
    "adms": str(ADMS),
    "dcterms": str(DCTERMS),
    "foaf": str(FOAF),
    "owl": str(OWL),
    "prov": str(PROV),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "sh": str(SH),
    "skos": str(SKOS),
    "time": str(TIME),
    "xsd": str(XSD),
    "void": str(VOID),
    "dcat": str(DCAT),
    "sd": str(SD),
    "wd": str(WD),
    "spdx": "http://spdx.org/rdf/terms#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
}
