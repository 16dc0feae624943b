"""The VoID description of a release: statistics computed from its store at build time,
joined with the hand-written title, description and licence of data/catalog.ttl."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from ..namespaces import DCAT, PREFIXES, VOID, dataset_iri
from ..stores.oxigraph import OxigraphStore

FORMATS = "http://www.w3.org/ns/formats/"
# The dumps every release carries, in the order a harvester should prefer them.
DUMPS = ("dataset.ttl", "dataset.nt.gz", "dataset.jsonld")


def void_description(
    store: OxigraphStore, *, base_iri: str, version: str, created: datetime, catalog: Graph
) -> Graph:
    """VoID of the dataset graphs of `store`: counts, partitions, access points."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    dataset = dataset_iri(base_iri)
    uri_space = base_iri + "id/"

    graph.add((dataset, RDF.type, VOID.Dataset))
    for predicate in (DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.publisher):
        for value in catalog.objects(dataset, predicate):
            graph.add((dataset, predicate, value))
    graph.add((dataset, DCTERMS.modified, Literal(created.isoformat(), datatype=XSD.dateTime)))
    graph.add((dataset, DCAT.version, Literal(version)))
    graph.add((dataset, VOID.uriSpace, Literal(uri_space)))
    graph.add((dataset, VOID.sparqlEndpoint, URIRef(base_iri + "sparql")))
    graph.add((dataset, VOID.rootResource, URIRef(base_iri + "def/")))
    for dump in DUMPS:
        graph.add((dataset, VOID.dataDump, URIRef(f"{base_iri}downloads/{dump}")))
    for feature in ("Turtle", "N-Triples", "JSON-LD"):
        graph.add((dataset, VOID.feature, URIRef(FORMATS + feature)))

    counts = _one_row(store, """
        SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?distinctSubjects)
               (COUNT(DISTINCT ?o) AS ?distinctObjects) (COUNT(DISTINCT ?p) AS ?properties)
        WHERE { ?s ?p ?o }""")
    for name, value in counts.items():
        graph.add((dataset, VOID[name], Literal(value, datatype=XSD.integer)))
    entities = _one_row(store, f"""
        SELECT (COUNT(DISTINCT ?s) AS ?entities) WHERE {{
            ?s ?p ?o FILTER (isIRI(?s) && STRSTARTS(STR(?s), "{uri_space}")) }}""")
    graph.add((dataset, VOID.entities, Literal(entities["entities"], datatype=XSD.integer)))

    classes = _rows(store, """
        SELECT ?class (COUNT(DISTINCT ?s) AS ?entities) WHERE { ?s a ?class }
        GROUP BY ?class ORDER BY ?class""")
    graph.add((dataset, VOID.classes, Literal(len(classes), datatype=XSD.integer)))
    for row in classes:
        partition = BNode()
        graph.add((dataset, VOID.classPartition, partition))
        graph.add((partition, VOID["class"], URIRef(row["class"])))
        graph.add((partition, VOID.entities, Literal(int(row["entities"]), datatype=XSD.integer)))

    properties = _rows(store, """
        SELECT ?property (COUNT(*) AS ?triples) WHERE { ?s ?property ?o }
        GROUP BY ?property ORDER BY ?property""")
    for row in properties:
        partition = BNode()
        graph.add((dataset, VOID.propertyPartition, partition))
        graph.add((partition, VOID.property, URIRef(row["property"])))
        graph.add((partition, VOID.triples, Literal(int(row["triples"]), datatype=XSD.integer)))

    used = {row["class"] for row in classes} | {row["property"] for row in properties}
    for vocabulary in sorted({_namespace_of(term) for term in used}):
        graph.add((dataset, VOID.vocabulary, URIRef(vocabulary)))

    examples = _rows(store, f"""
        SELECT ?s (COUNT(*) AS ?n) WHERE {{
            ?s ?p ?o FILTER (isIRI(?s) && STRSTARTS(STR(?s), "{uri_space}")) }}
        GROUP BY ?s ORDER BY DESC(?n) ?s LIMIT 3""")
    for row in examples:
        graph.add((dataset, VOID.exampleResource, URIRef(row["s"])))
    return graph


def statistics(void: Graph, base_iri: str) -> dict[str, int]:
    """The headline numbers of a VoID description, for the release manifest."""
    dataset = dataset_iri(base_iri)
    names = ("triples", "entities", "classes", "properties", "distinctSubjects", "distinctObjects")
    return {name: int(void.value(dataset, VOID[name]) or 0) for name in names}


def largest_subject(store: OxigraphStore, *graphs: Graph) -> int:
    """At least as many quads as any one subject has in `store` and `graphs` together.

    A description or point lookup of one subject has at most this many rows (recorded in the
    manifest, `largest_subject`)."""
    most = _one_row(store, """
        SELECT (MAX(?n) AS ?most) WHERE { SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?s }
        """).get("most", 0)
    # The sum of each part's largest is an upper bound: a subject may be in more than one part.
    return most + sum(max(Counter(graph.subjects()).values(), default=0) for graph in graphs)


def _rows(store: OxigraphStore, sparql: str) -> list[dict[str, str]]:
    answer = store.query(sparql)
    variables = [v.value for v in answer.variables]
    return [{name: row[name].value for name in variables if row[name] is not None} for row in answer]


def _one_row(store: OxigraphStore, sparql: str) -> dict[str, int]:
    row = _rows(store, sparql)[0]
    return {name: int(value) for name, value in row.items()}


def _namespace_of(term: str) -> str:
    cut = max(term.rfind("#"), term.rfind("/"))
    return term[: cut + 1]
