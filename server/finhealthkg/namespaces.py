"""Every IRI base, graph name and prefix of the project, written once."""

from rdflib import Namespace, URIRef

from .prefixes import BASE, KINDS, PREFIXES  # noqa: F401 - re-exported: the strings behind these

FHKG = Namespace(PREFIXES["fhkg"])  # vocabulary terms, hash-free
SHAPES = Namespace(PREFIXES["fhkgsh"])  # SHACL shapes
ID = Namespace(BASE + "id/")  # things
GRAPH = Namespace(BASE + "graph/")  # named graphs of the store

ORG = Namespace(PREFIXES["org"])
SCHEMA = Namespace(PREFIXES["schema"])
ADMS = Namespace(PREFIXES["adms"])
VOID = Namespace(PREFIXES["void"])
DCAT = Namespace(PREFIXES["dcat"])
SD = Namespace(PREFIXES["sd"])


# The store keeps each part of a release in its own named graph. The default graph of a
# query is the union of DATASET_GRAPHS: the knowledge graph a researcher asks about.
ONTOLOGY_GRAPH = GRAPH["ontology"]
DATA_GRAPH = GRAPH["data"]
SHAPES_GRAPH = GRAPH["shapes"]
VOID_GRAPH = GRAPH["void"]  # VoID statistics of the release
CATALOG_GRAPH = GRAPH["catalog"]  # DCAT catalogue: the dataset, its distributions, the endpoint
DATASET_GRAPHS = (ONTOLOGY_GRAPH, DATA_GRAPH)


def dataset_iri(base_iri: str) -> URIRef:
    """The dataset every release is a version of (VoID, DCAT)."""
    return URIRef(base_iri + "dataset")


def service_iri(base_iri: str) -> URIRef:
    """The SPARQL endpoint as a DCAT data service."""
    return URIRef(base_iri + "service/sparql")
