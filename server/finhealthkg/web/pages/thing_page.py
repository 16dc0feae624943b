"""HTML pages rendered from the graph in the reader's language: a thing's names,
description, properties grouped and labelled by the ontology, links with labels, incoming
links, sources, alternates, its neighbourhood drawn, and its description as JSON-LD."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import render_template
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from ...namespaces import FHKG, ONTOLOGY_GRAPH, ORG, SCHEMA
from ...serving import Snapshot
from ..http.negotiation import Format
from .diagram import neighbourhood
from .i18n import TERM_LABELS, language, preference, words
from .iris import local_url, short  # noqa: F401 - re-exported: pages link with them

GROUPS = (  # (key, title by language, predicates); what is left goes by its value: facts or relations
    ("names", {"en": "Names", "fi": "Nimet", "sv": "Namn"},
     (SKOS.prefLabel, SKOS.altLabel, FOAF.name, DCTERMS.title)),
    ("about", {"en": "About", "fi": "Kuvaus", "sv": "Om"},
     (DCTERMS.description, SKOS.definition, RDFS.comment, SKOS.historyNote, FHKG.networkRole,
      DCTERMS.bibliographicCitation)),
    ("facts", {"en": "Facts and dates", "fi": "Tiedot ja päivämäärät", "sv": "Uppgifter och datum"}, ()),
    ("relations", {"en": "Relations", "fi": "Suhteet", "sv": "Relationer"}, ()),
    ("web", {"en": "On the web", "fi": "Verkossa", "sv": "På webben"}, (FOAF.homepage, FOAF.page, OWL.sameAs)),
)
HIDDEN = (RDF.type, RDFS.label, DCTERMS.source)  # shown elsewhere on the page


@dataclass(frozen=True)
class Value:
    text: str
    href: str | None = None  # a link for IRIs
    iri: str | None = None
    lang: str | None = None
    datatype: str | None = None


class Labeller:
    """Labels in the reader's language (then en, fi, sv) from the page's graph, the ontology,
    or the publisher's own labels of standard terms; a prefixed name when there is none."""

    def __init__(self, snapshot: Snapshot, graph: Graph, lang: str) -> None:
        self.lang = lang
        self.order = preference(lang)
        self.snapshot = snapshot
        self.fetched = Graph()
        self.graphs = (graph, snapshot.graph(str(ONTOLOGY_GRAPH)), self.fetched)
        self._words = words(lang)

    def prefetch(self, iris: list[str]) -> None:
        """Fetch the labels of many things in one query (for diagrams and lists)."""
        if not iris:
            return
        values = " ".join(f"<{iri}>" for iri in iris)
        answer = self.snapshot.store.query(f"""SELECT ?x ?label WHERE {{
            VALUES ?x {{ {values} }} ?x <{SKOS.prefLabel}> ?label }}""")
        for row in answer:
            literal = row["label"]
            self.fetched.add((URIRef(row["x"].value), SKOS.prefLabel,
                              Literal(literal.value, lang=literal.language)))

    def text(self, node: Node | str) -> str:
        node = URIRef(node) if isinstance(node, str) else node
        if isinstance(node, URIRef):
            for graph in self.graphs:
                found = {lit.language: str(lit) for p in (SKOS.prefLabel, RDFS.label)
                         for lit in graph.objects(node, p) if isinstance(lit, Literal)}
                for lang in (*self.order, None, *found):
                    if lang in found:
                        return found[lang]
            known = TERM_LABELS.get(str(node))
            if known:
                return known.get(self.lang, known["en"])
            return short(str(node))
        return str(node)

    def word(self, key: str) -> str:
        return self._words[key]

    def value(self, node: Node) -> Value:
        if isinstance(node, URIRef):
            return Value(text=self.text(node), href=local_url(str(node)), iri=str(node))
        if isinstance(node, Literal):
            datatype = short(str(node.datatype)) if node.datatype else None
            return Value(text=str(node), lang=node.language, datatype=datatype)
        return Value(text="(anonymous node)")

    def literal(self, graph: Graph, subject: Node, predicate: URIRef) -> str | None:
        """The reader's-language value of a text property."""
        found = {lit.language: str(lit) for lit in graph.objects(subject, predicate) if isinstance(lit, Literal)}
        for lang in (*self.order, None, *found):
            if lang in found:
                return found[lang]
        return None


def description_page(snapshot: Snapshot, iri: str, graph: Graph, alternates: list[tuple[Format, str]]) -> str:
    lang = language()
    label = Labeller(snapshot, graph, lang)
    subject = URIRef(iri)
    grouped: dict[str, dict[Node, list[Value]]] = {key: {} for key, _, _ in GROUPS}
    for predicate, obj in graph.predicate_objects(subject):
        if predicate in HIDDEN:
            continue
        key = _group(predicate, obj)
        grouped[key].setdefault(predicate, []).append(label.value(obj))
    groups = []
    for key, titles, _ in GROUPS:
        rows = sorted(((label.value(p), sorted(vs, key=lambda v: (_lang_rank(v.lang, lang), v.text)))
                       for p, vs in grouped[key].items()), key=lambda item: item[0].text.lower())
        if rows:
            groups.append((key, titles.get(lang, titles["en"]), rows))
    incoming = sorted(((label.value(s), label.value(p)) for s, p in graph.subject_predicates(subject)
                       if not isinstance(s, BNode)), key=lambda pair: (pair[1].text, pair[0].text))
    others = sorted({s for s in graph.subjects() if s != subject and not isinstance(s, BNode)
                     and (s, RDF.type, None) in graph}, key=str)
    diagram = neighbourhood(snapshot, iri, graph, label) if not others else None
    return render_template(
        "resource.html",
        title=label.text(subject), iri=iri, lang=lang,
        description=label.literal(graph, subject, DCTERMS.description)
        or label.literal(graph, subject, SKOS.definition) or label.literal(graph, subject, RDFS.comment),
        types=[label.value(t) for t in graph.objects(subject, RDF.type)],
        groups=groups,
        incoming=incoming,
        others=[label.value(o) for o in others],
        sources=_sources(snapshot, iri),
        diagram=diagram.svg(labelled_edges=True) if diagram and len(diagram.nodes) > 1 else None,
        diagram_text=diagram.description if diagram else "",
        alternates=alternates,
        jsonld=_jsonld(graph, subject, label),
        release=snapshot.info,
    )


def _group(predicate: Node, obj: Node) -> str:
    for key, _, predicates in GROUPS:
        if predicate in predicates:
            return key
    return "facts" if isinstance(obj, Literal) else "relations"


def _lang_rank(value_lang: str | None, reader: str) -> int:
    return 0 if value_lang == reader else 1 if value_lang is None else 2


def _sources(snapshot: Snapshot, iri: str) -> list[dict[str, str | None]]:
    answer = snapshot.store.query(f"""SELECT ?source ?title ?page WHERE {{
        <{iri}> <{DCTERMS.source}> ?source . ?source <{DCTERMS.title}> ?title
        OPTIONAL {{ ?source <{FOAF.page}> ?page }} }} ORDER BY ?title""")
    return [{"href": local_url(row["source"].value), "title": row["title"].value,
             "page": row["page"].value if row["page"] is not None else None} for row in answer]


# schema.org terms for what the graph says, so search engines and portals can read a page.
SCHEMA_TYPES = {
    str(FHKG.Biobank): "Organization", str(FHKG.NationalCentreOfExcellence): "Organization",
    str(FHKG.RegionalCentre): "Organization", str(FHKG.Cooperative): "Organization",
    str(FHKG.CampusNetwork): "Organization", str(ORG.Organization): "Organization",
    str(ORG.FormalOrganization): "Organization", str(ORG.OrganizationalUnit): "Organization",
    str(FHKG.Project): "Project", str(FHKG.FlagshipProject): "Project", str(FHKG.Strategy): "CreativeWork",
    str(SCHEMA.City): "City", str(SCHEMA.Country): "Country", str(SKOS.Concept): "DefinedTerm",
}
SCHEMA_LINKS = {
    str(ORG.memberOf): "memberOf", str(ORG.hasMember): "member", str(SCHEMA.founder): "founder",
    str(SCHEMA.location): "location", str(ORG.unitOf): "parentOrganization",
    str(FHKG.partOfNetwork): "parentOrganization", str(FHKG.ownedBy): "parentOrganization",
    str(SCHEMA.containedInPlace): "containedInPlace",
}


def _jsonld(graph: Graph, subject: URIRef, label: Labeller) -> str:
    types = sorted({SCHEMA_TYPES.get(str(t), "Thing") for t in graph.objects(subject, RDF.type)}) or ["Thing"]
    node: dict = {"@context": "https://schema.org/", "@id": str(subject), "@type": types[0] if len(types) == 1
                  else types, "identifier": str(subject)}
    names = [{"@value": str(lit), "@language": lit.language} for lit in graph.objects(subject, SKOS.prefLabel)]
    if names:
        node["name"] = names
    alternates = [{"@value": str(lit), "@language": lit.language} for lit in graph.objects(subject, SKOS.altLabel)]
    if alternates:
        node["alternateName"] = alternates
    descriptions = [{"@value": str(lit), "@language": lit.language}
                    for lit in graph.objects(subject, DCTERMS.description)]
    if descriptions:
        node["description"] = descriptions
    homepage = graph.value(subject, FOAF.homepage)
    if homepage is not None:
        node["url"] = str(homepage)
    same = [str(o) for o in graph.objects(subject, OWL.sameAs)]
    if same:
        node["sameAs"] = same
    founded = graph.value(subject, SCHEMA.foundingDate)
    if founded is not None:
        node["foundingDate"] = str(founded)
    for predicate, key in SCHEMA_LINKS.items():
        targets = [{"@id": str(o), "name": label.text(o)} for o in graph.objects(subject, URIRef(predicate))
                   if isinstance(o, URIRef)]
        if targets:
            node.setdefault(key, []).extend(targets)
    # "</" would end the <script> element early
    return json.dumps(node, ensure_ascii=False, indent=1).replace("</", "<\\/")


def results_page(query: str, answer: object, *, truncated: bool, limit: int) -> str:
    """A query's answer as a table for a browser, with links to the things it names."""
    from urllib.parse import urlencode

    import pyoxigraph

    def term(node: object) -> Value | None:
        if node is None:
            return None
        if isinstance(node, pyoxigraph.NamedNode):
            return Value(text=short(node.value), href=local_url(node.value), iri=node.value)
        if isinstance(node, pyoxigraph.Literal):
            datatype = short(node.datatype.value) if node.datatype else None
            return Value(text=node.value, lang=node.language, datatype=datatype)
        return Value(text=str(node))

    boolean = None
    if isinstance(answer, pyoxigraph.QueryBoolean):
        boolean, variables, rows = bool(answer), [], []
    elif isinstance(answer, pyoxigraph.QuerySolutions):
        variables = [v.value for v in answer.variables]
        rows = [[term(row[name]) for name in variables] for row in answer]
    else:
        variables = ["subject", "predicate", "object"]
        rows = [[term(t.subject), term(t.predicate), term(t.object)] for t in answer]  # type: ignore[attr-defined]
    formats = ((("JSON", "json"), ("CSV", "csv"), ("XML", "xml")) if isinstance(answer, pyoxigraph.QuerySolutions)
               else (("Turtle", "turtle"), ("JSON-LD", "jsonld")) if boolean is None else ())
    alternates = [(name, "/sparql?" + urlencode({"query": query, "format": fmt})) for name, fmt in formats]
    unit = {"en": "rows", "fi": "riviä", "sv": "rader"}[language()]
    return render_template("results.html", title={"en": "Query results", "fi": "Kyselyn tulokset",
                                                  "sv": "Frågeresultat"}[language()],
                           query=query, boolean=boolean, variables=variables, rows=rows, unit=unit,
                           truncated=truncated, limit=limit, alternates=alternates, release=None)
