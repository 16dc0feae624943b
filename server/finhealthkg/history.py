"""The release history as DCAT 3 versions: each release is a dataset of its own
(`{base}release/{version}`) with its version, date, commit, triple count, validation result,
version notes and its own distributions; the dataset `{base}dataset` has them all as
`dcat:hasVersion` and the newest as `dcat:hasCurrentVersion`; each names the one before it
with `dcat:previousVersion`. The build writes this into the catalogue of each release;
/releases/ serves the same description of the releases on disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from .catalog import DISTRIBUTIONS, add_distribution
from .namespaces import ADMS, DCAT, PREFIXES, VOID, dataset_iri

PROV_COMMIT = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")
# What each version says the same as the dataset it is a version of (DCAT-AP asks them of a Dataset).
SHARED = (DCTERMS.publisher, DCTERMS.creator, DCTERMS.license, DCTERMS.spatial, DCTERMS.language,
          DCTERMS.accessRights, DCAT.theme, DCAT.contactPoint, DCAT.keyword)


def release_iri(base_iri: str, version: str) -> URIRef:
    return URIRef(f"{base_iri}release/{version}")


def version_notes(manifest: dict[str, Any]) -> str:
    """One sentence on what a release is: its validation and what changed since the one before."""
    validation = manifest.get("validation") or {}
    checked = ("conforms to the shapes" if validation.get("conforms") else "was not validated"
               if not validation else "does not conform to the shapes")
    text = (f"Release {manifest['version']} of {manifest['created']}: {manifest['statistics']['triples']} triples; "
            f"{checked} ({validation.get('violations', 0)} violations, {validation.get('warnings', 0)} warnings).")
    changes = manifest.get("changes")
    if changes:
        text += (f" Since release {changes['previous']}: {changes['triples']['added']} triples added, "
                 f"{changes['triples']['removed']} removed.")
    elif changes is None and "changes" in manifest:
        text += " The first release."
    return text


def add_versions(graph: Graph, handwritten: Graph, base_iri: str, manifests: Iterable[dict[str, Any]]) -> Graph:
    """Each release of `manifests` (oldest first) as a version of the dataset, into `graph`."""
    dataset = dataset_iri(base_iri)
    licence = handwritten.value(dataset, DCTERMS.license)
    previous: URIRef | None = None
    node: URIRef | None = None
    shapes = URIRef(base_iri + "shapes/")
    graph.add((shapes, RDF.type, DCTERMS.Standard))
    graph.add((shapes, DCTERMS.title, Literal("The SHACL shapes of finhealthkg", lang="en")))
    for manifest in manifests:
        version = manifest["version"]
        node = release_iri(base_iri, version)
        when = Literal(manifest["created"], datatype=XSD.dateTime)
        graph.add((dataset, DCAT.hasVersion, node))
        graph.add((node, RDF.type, DCAT.Dataset))
        for lang, text in (("en", f"Finnish health-sector growth strategy knowledge graph, release {version}"),
                           ("fi", f"Suomen terveysalan kasvustrategian tietoverkko, julkaisu {version}")):
            graph.add((node, DCTERMS.title, Literal(text, lang=lang)))
        for lang, text in (("en", f"The knowledge graph as published in release {version}, unchanged since."),
                           ("fi", f"Tietoverkko sellaisena kuin se julkaistiin julkaisussa {version}.")):
            graph.add((node, DCTERMS.description, Literal(text, lang=lang)))
        graph.add((node, DCTERMS.identifier, Literal(str(node))))
        graph.add((node, DCAT.version, Literal(version)))
        graph.add((node, DCTERMS.issued, when))
        graph.add((node, ADMS.versionNotes, Literal(version_notes(manifest), lang="en")))
        graph.add((node, VOID.triples, Literal(int(manifest["statistics"]["triples"]), datatype=XSD.integer)))
        if manifest.get("commit"):
            graph.add((node, PROV_COMMIT, Literal(manifest["commit"])))
        graph.add((node, DCTERMS.conformsTo, URIRef(base_iri + "def/")))
        if (manifest.get("validation") or {}).get("conforms"):  # checked against the shapes, and passed
            graph.add((node, DCTERMS.conformsTo, shapes))
        graph.add((node, RDFS.seeAlso, URIRef(f"{base_iri}releases/{version}/changes")))
        for predicate in SHARED:
            for value in handwritten.objects(dataset, predicate):
                graph.add((node, predicate, value))
        if previous is not None:
            graph.add((node, DCAT.previousVersion, previous))
        for name in DISTRIBUTIONS:
            entry = manifest.get("files", {}).get(name)
            if entry is not None:
                add_distribution(graph, node, name, entry, version=version, when=when, licence=licence,
                                 downloads=f"{base_iri}downloads/{version}/")
        previous = node
    if node is not None:
        graph.add((dataset, DCAT.hasCurrentVersion, node))
    return graph


def history_graph(base_iri: str, manifests: Iterable[dict[str, Any]], handwritten: Graph,
                  queryable: dict[str, bool]) -> Graph:
    """/releases/ as RDF: the versions, and for each whether it can still be queried."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    add_versions(graph, handwritten, base_iri, manifests)
    for version, can in queryable.items():
        if can:
            node = release_iri(base_iri, version)
            graph.add((node, VOID.sparqlEndpoint, URIRef(f"{base_iri}releases/{version}/sparql")))
            graph.add((node, RDFS.seeAlso, URIRef(f"{base_iri}releases/{version}/fragments")))
    return graph
