"""HTML pages rendered from the graph: labels, types, properties with links, alternates."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from ..namespaces import ONTOLOGY_GRAPH, PREFIXES
from .negotiation import Format
from .publication import Snapshot, publication

_PREFIX_BY_NAMESPACE = sorted(((ns, prefix) for prefix, ns in PREFIXES.items()), key=lambda p: -len(p[0]))


@dataclass(frozen=True)
class Value:
    text: str
    href: str | None = None  # a link for IRIs
    iri: str | None = None
    lang: str | None = None
    datatype: str | None = None


def local_url(iri: str) -> str:
    """Links to this dataset's IRIs stay on this server, whatever its host."""
    base = publication().settings.base_iri
    return "/" + iri[len(base):] if iri.startswith(base) else iri


def short(iri: str) -> str:
    for namespace, prefix in _PREFIX_BY_NAMESPACE:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


class Labeller:
    """English labels (then Finnish, then any) from the described graph or the ontology."""

    def __init__(self, snapshot: Snapshot, graph: Graph) -> None:
        self.graphs = (graph, snapshot.graph(str(ONTOLOGY_GRAPH)))

    def __call__(self, node: Node) -> str:
        if isinstance(node, URIRef):
            for graph in self.graphs:
                found = {lit.language: str(lit) for p in (SKOS.prefLabel, RDFS.label)
                         for lit in graph.objects(node, p) if isinstance(lit, Literal)}
                for lang in ("en", "fi", None, *found):
                    if lang in found:
                        return found[lang]
            return short(str(node))
        return str(node)

    def value(self, node: Node) -> Value:
        if isinstance(node, URIRef):
            return Value(text=self(node), href=local_url(str(node)), iri=str(node))
        if isinstance(node, Literal):
            datatype = short(str(node.datatype)) if node.datatype else None
            return Value(text=str(node), lang=node.language, datatype=datatype)
        return Value(text="(anonymous node)")


def description_page(snapshot: Snapshot, iri: str, graph: Graph, alternates: list[tuple[Format, str]]) -> str:
    subject = URIRef(iri)
    label = Labeller(snapshot, graph)
    properties: dict[Node, list[Value]] = {}
    for predicate, obj in graph.predicate_objects(subject):
        if predicate != RDF.type:
            properties.setdefault(predicate, []).append(label.value(obj))
    incoming = sorted(((label.value(s), label.value(p)) for s, p in graph.subject_predicates(subject)),
                      key=lambda pair: (pair[1].text, pair[0].text))
    others = sorted({s for s in graph.subjects() if s != subject and not isinstance(s, BNode)
                     and (s, RDF.type, None) in graph}, key=str)
    return render_template(
        "resource.html",
        title=label(subject), iri=iri,
        types=[label.value(t) for t in graph.objects(subject, RDF.type)],
        properties=sorted(((label.value(p), sorted(vs, key=lambda v: (v.lang or "", v.text)))
                           for p, vs in properties.items()), key=lambda item: item[0].text.lower()),
        incoming=incoming,
        others=[label.value(o) for o in others],
        alternates=alternates,
        release=snapshot.info,
    )
