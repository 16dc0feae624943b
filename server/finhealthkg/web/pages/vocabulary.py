"""The vocabulary (/def/) and the SHACL shapes (/shapes/, /shapes/<Name>) as pages for people,
in the reader's language, built from the ontology and shapes graphs of the release being
served; how often each class and property is used comes from SPARQL over the release's data.

Everything a page shows is worked out once per release and language (Snapshot.memo); the
templates only lay it out: vocabulary.html, shapes.html and shape.html (one shape, a macro).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Response, render_template, request
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS
from rdflib.term import Node

from ...namespaces import ONTOLOGY_GRAPH, PREFIXES, SHAPES_GRAPH
from ...serving import Snapshot
from ..http.caching import cacheable
from ..http.negotiation import HTML, Format
from ..http.publication import publication
from . import i18n
from .thing_page import local_url, short

VANN = "http://purl.org/vocab/vann/"
TERM_KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
LICENCES = {  # licence IRIs a reader recognises by name
    "https://creativecommons.org/licenses/by/4.0/": "Creative Commons Attribution 4.0 (CC BY 4.0)",
    "http://creativecommons.org/licenses/by/4.0/": "Creative Commons Attribution 4.0 (CC BY 4.0)",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
}



@dataclass(frozen=True)
class Text:
    """A text and its language (None: the page's language or none)."""

    text: str
    lang: str | None = None
    kind: str = "text"


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    lang: str | None = None
    code: bool = False  # a prefixed name or an IRI, shown as code
    title: str | None = None
    kind: str = "link"


@dataclass(frozen=True)
class Code:
    text: str
    kind: str = "code"


Fragment = str | Text | Link | Code  # a phrase is a list of fragments


def phrase(template: str, **values: Fragment | list[Fragment]) -> list[Fragment]:
    """`template` with its {names} replaced by fragments (or lists of them)."""
    out: list[Fragment] = []
    for i, part in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            if part:
                out.append(part)
        else:
            value = values[part]
            out.extend(value if isinstance(value, list) else [value])
    return out


def joined(items: Iterable[list[Fragment]], separator: str = ", ") -> list[Fragment]:
    out: list[Fragment] = []
    for i, item in enumerate(items):
        if i:
            out.append(separator)
        out.extend(item)
    return out


def plain(fragments: list[Fragment]) -> str:
    return "".join(f if isinstance(f, str) else f.text for f in fragments)


def pick(literals: Iterable[Node], lang: str, untagged: str | None = None) -> Text | None:
    """The literal in the reader's language, else in the next preferred one, else untagged
    (said to be in `untagged`), else any."""
    found: dict[str, Literal] = {}
    for literal in literals:
        if isinstance(literal, Literal):
            found.setdefault(literal.language or "", literal)
    for code in (*i18n.preference(lang), ""):
        if code in found:
            return Text(str(found[code]), code or untagged)
    if found:
        code = sorted(found)[0]
        return Text(str(found[code]), code or untagged)
    return None


def all_languages(literals: Iterable[Node], lang: str) -> list[Text]:
    """Every language's literal, the reader's first, then the order of preference."""
    order = {code: i for i, code in enumerate(i18n.preference(lang))}
    texts = [Text(str(lit), lit.language) for lit in literals if isinstance(lit, Literal)]
    return sorted(texts, key=lambda t: (order.get(t.lang or "", len(order)), t.lang or "", t.text))


def local_name(iri: str, namespace: str) -> str:
    return iri[len(namespace):]


class Context:
    """What both pages need: the graphs, the declared terms, labels, and how to link to things."""

    def __init__(self, snapshot: Snapshot, lang: str) -> None:
        base = publication().settings.base_iri
        self.lang = lang
        self.words = i18n.documentation_words(lang)
        self.namespace = base + "def/"
        self.shapes_namespace = base + "shapes/"
        self.ontology = snapshot.graph(str(ONTOLOGY_GRAPH))
        self.shapes = snapshot.graph(str(SHAPES_GRAPH))
        self.terms: dict[URIRef, URIRef] = {}  # declared term -> its kind
        for kind in TERM_KINDS:
            for term in self.ontology.subjects(RDF.type, kind):
                if isinstance(term, URIRef) and str(term).startswith(self.namespace) \
                        and len(str(term)) > len(self.namespace):
                    self.terms.setdefault(term, kind)
        self.node_shapes = sorted((s for s in set(self.shapes.subjects(RDF.type, SH.NodeShape))
                                   if isinstance(s, URIRef)), key=str)
        self.data_labels = self._data_labels(snapshot, base + "id/")
        self.vocabulary_href = local_url(self.namespace)  # "#Term" is appended
        self.on_vocabulary_page = False

    def _data_labels(self, snapshot: Snapshot, space: str) -> dict[str, Text]:
        """Labels of the things of the dataset that the ontology and the shapes name (one query)."""
        named = {str(o) for graph in (self.ontology, self.shapes) for o in graph.objects()
                 if isinstance(o, URIRef) and str(o).startswith(space)}
        if not named:
            return {}
        values = " ".join(f"<{iri}>" for iri in sorted(named))
        answer = snapshot.store.query(f"""
            SELECT ?s ?label WHERE {{
                VALUES ?s {{ {values} }}
                ?s ?p ?label FILTER (?p IN (<{RDFS.label}>, <{SKOS.prefLabel}>))
            }}""")
        found: dict[str, list[Literal]] = {}
        for row in answer:
            term = row["label"]
            found.setdefault(row["s"].value, []).append(Literal(term.value, lang=getattr(term, "language", None)))
        labels = {}
        for iri, literals in found.items():
            text = pick(literals, self.lang)
            if text is not None:
                labels[iri] = text
        return labels

    def label(self, node: Node) -> Text:
        """A term's label in the reader's language (or the next best), else its prefixed name."""
        if isinstance(node, URIRef):
            text = pick(self.ontology.objects(node, RDFS.label), self.lang) \
                or pick(self.shapes.objects(node, RDFS.label), self.lang) \
                or self.data_labels.get(str(node))
            if text is not None:
                return text
            return Text(short(str(node)))
        return Text(str(node))

    def term_href(self, term: URIRef) -> str:
        name = local_name(str(term), self.namespace)
        return f"#{name}" if self.on_vocabulary_page else f"{self.vocabulary_href}#{name}"

    def ref(self, node: Node) -> Fragment:
        """A link to a term, a class, a thing or an external IRI, in words where it has them."""
        if isinstance(node, URIRef):
            iri = str(node)
            if node in self.terms:
                text = self.label(node)
                return Link(text.text, self.term_href(node), lang=text.lang, title=short(iri))
            if node in self.node_shapes:
                label = pick(self.shapes.objects(node, RDFS.label), self.lang)
                return Link(short(iri), self.shape_href(node), code=True, title=label.text if label else None)
            named = self.data_labels.get(iri)
            if named is not None:
                return Link(named.text, local_url(iri), lang=named.lang, title=short(iri))
            if short(iri) == iri:
                labelled = pick(self.ontology.objects(node, RDFS.label), self.lang)
                if labelled is not None:
                    return Link(labelled.text, local_url(iri), lang=labelled.lang, title=iri)
            return Link(short(iri), local_url(iri), code=True, title=iri)
        if isinstance(node, Literal):
            return Code(str(node) if node.language is None else f'"{node}"@{node.language}')
        return Text("(anonymous node)", "en")

    def name_ref(self, node: URIRef) -> Link:
        """A term as its prefixed name (for paths and term lists), linking to its documentation."""
        iri = str(node)
        href = self.term_href(node) if node in self.terms else local_url(iri)
        return Link(short(iri), href, code=True, title=iri)

    # --- shapes ---------------------------------------------------------------------------

    def shape_href(self, shape: URIRef) -> str:
        return local_url(str(shape))

    def shape_label(self, shape: URIRef) -> Text:
        """What a shape is about: its target class's label if the vocabulary defines it, else its own."""
        targets = list(self.shapes.objects(shape, SH.targetClass))
        if len(targets) == 1 and targets[0] in self.terms:
            return self.label(targets[0])
        return pick(self.shapes.objects(shape, RDFS.label), self.lang) \
            or Text(local_name(str(shape), self.shapes_namespace))

    def heading(self, shape: URIRef) -> list[Fragment]:
        label = self.shape_label(shape)
        g = self.shapes
        if (shape, SH.targetClass, None) not in g and (shape, SH.property, None) not in g \
                and (shape, SH.target, None) in g:  # a rule over chosen nodes, not a kind of thing
            return [Text(label.text[:1].upper() + label.text[1:], label.lang)]
        return phrase(self.words["valid"], x=label)

    def shape_link(self, shape: URIRef) -> Link:
        return Link(plain(self.heading(shape)), self.shape_href(shape), title=short(str(shape)))

    def shapes_targeting(self, cls: URIRef) -> list[URIRef]:
        return sorted((s for s in self.shapes.subjects(SH.targetClass, cls) if isinstance(s, URIRef)), key=str)

    # --- the class tree ------------------------------------------------------------------

    def ancestors(self, cls: URIRef) -> list[URIRef]:
        return [c for c in self.ontology.transitive_objects(cls, RDFS.subClassOf) if c != cls]

    def descendants(self, cls: URIRef) -> list[URIRef]:
        return [c for c in self.ontology.transitive_subjects(RDFS.subClassOf, cls) if c != cls]


def rdf_list(graph: Graph, node: Node) -> list[Node]:
    """The members of an RDF list (none for a node that is not a list)."""
    if node == RDF.nil or (node, RDF.first, None) in graph:
        return list(Collection(graph, node))
    return []


def usage(snapshot: Snapshot, classes: list[URIRef], properties: list[URIRef]) -> dict[str, int]:
    """Instances of each class and triples of each property in the release (default graph)."""
    def count() -> dict[str, int]:
        counts: dict[str, int] = {}
        if classes:
            values = " ".join(f"<{c}>" for c in classes)
            for row in snapshot.store.query(
                    f"SELECT ?term (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?term {{ {values} }} ?s a ?term }} "
                    "GROUP BY ?term"):
                counts[row["term"].value] = int(row["n"].value)
        if properties:
            values = " ".join(f"<{p}>" for p in properties)
            for row in snapshot.store.query(
                    f"SELECT ?term (COUNT(*) AS ?n) WHERE {{ VALUES ?term {{ {values} }} ?s ?term ?o }} "
                    "GROUP BY ?term"):
                counts[row["term"].value] = int(row["n"].value)
        return counts
    return snapshot.memo("vocabulary:usage", count)


# ------------------------------------------------------------------------------ /def/

@dataclass
class Term:
    name: str  # local name: the anchor
    iri: str
    prefixed: str
    href: str  # the term's own description
    label: Text
    labels: list[tuple[str, Text]]  # (language name, label)
    comment: Text | None
    facts: list[tuple[str, list[list[Fragment]]]] = field(default_factory=list)  # (heading, items)


def vocabulary_model(snapshot: Snapshot, lang: str) -> dict:
    def build() -> dict:
        ctx = Context(snapshot, lang)
        ctx.on_vocabulary_page = True
        w = ctx.words
        onto, ontology = ctx.ontology, URIRef(ctx.namespace)
        by_kind = {kind: sorted((t for t, k in ctx.terms.items() if k == kind),
                                key=lambda t: ctx.label(t).text.lower()) for kind in TERM_KINDS}
        classes, properties = by_kind[OWL.Class], by_kind[OWL.ObjectProperty] + by_kind[OWL.DatatypeProperty]
        counts = usage(snapshot, classes, properties)
        names = i18n.LANGUAGE_NAMES.get(lang, i18n.LANGUAGE_NAMES["en"])

        def term(t: URIRef) -> Term:
            labels = [(names.get(x.lang or "", x.lang or ""), x)
                      for x in all_languages(onto.objects(t, RDFS.label), lang)]
            return Term(name=local_name(str(t), ctx.namespace), iri=str(t), prefixed=short(str(t)),
                        href=local_url(str(t)),
                        label=ctx.label(t), labels=labels, comment=pick(onto.objects(t, RDFS.comment), lang))

        def refs(nodes: Iterable[Node]) -> list[list[Fragment]]:
            return [[ctx.ref(n)] for n in sorted(set(nodes), key=lambda n: plain([ctx.ref(n)]).lower())]

        def checked_by(prop: URIRef) -> list[list[Fragment]]:
            owners = set()
            for shape in ctx.node_shapes:
                for ps in ctx.shapes.objects(shape, SH.property):
                    if prop in path_terms(ctx.shapes, ctx.shapes.value(ps, SH.path)):
                        owners.add(shape)
            return [[ctx.shape_link(s)] for s in sorted(owners, key=str)]

        class_views = []
        for c in classes:
            view = term(c)
            domain_of = [p for p in properties if (p, RDFS.domain, c) in onto]
            range_of = [p for p in properties if (p, RDFS.range, c) in onto]
            inherited = [s for a in ctx.ancestors(c) for s in ctx.shapes_targeting(a)]
            view.facts = [
                (w["subclass_of"], refs(onto.objects(c, RDFS.subClassOf))),
                (w["subclasses"], refs(onto.subjects(RDFS.subClassOf, c))),
                (w["domain_of"], refs(domain_of)),
                (w["range_of"], refs(range_of)),
                (w["instances"], [[str(counts.get(str(c), 0))]]),
                (w["shape"], [[ctx.shape_link(s)] for s in ctx.shapes_targeting(c)]),
                (w["also_checked"], [[ctx.shape_link(s)] for s in sorted(set(inherited), key=str)]),
            ]
            class_views.append(view)

        def property_view(p: URIRef) -> Term:
            view = term(p)
            kinds = [k for k in onto.objects(p, RDF.type) if k not in TERM_KINDS]
            view.facts = [
                (w["domain"], refs(onto.objects(p, RDFS.domain))),
                (w["range"], refs(onto.objects(p, RDFS.range))),
                (w["subproperty_of"], refs(onto.objects(p, RDFS.subPropertyOf))),
                (w["characteristics"], refs(kinds)),
                (w["triples"], [[str(counts.get(str(p), 0))]]),
                (w["checked_by"], checked_by(p)),
            ]
            return view

        title = pick(onto.objects(ontology, DCTERMS.title), lang) or pick(onto.objects(ontology, RDFS.label), lang) \
            or Text(ctx.namespace)
        version_iri = onto.value(ontology, OWL.versionIRI)
        about: list[tuple[str, list[list[Fragment]]]] = [
            (w["iri"], [[Link(ctx.namespace, local_url(ctx.namespace), code=True)]]),
            (w["version"], [[Text(str(v))] for v in onto.objects(ontology, OWL.versionInfo)]),
            (w["version_iri"], [[Link(str(version_iri), local_url(str(version_iri)), code=True)]]
             if version_iri is not None else []),
            (w["licence"], [[Link(LICENCES.get(str(x), str(x)), str(x))]
                            for x in onto.objects(ontology, DCTERMS.license)]),
            (w["creator"], refs(onto.objects(ontology, DCTERMS.creator))),
            (w["publisher"], refs(onto.objects(ontology, DCTERMS.publisher))),
            (w["modified"], [[Text(str(v))] for v in onto.objects(ontology, DCTERMS.modified)]),
            (w["prefix"], [[Code(f"{v}:")] for v in onto.objects(ontology, URIRef(VANN + "preferredNamespacePrefix"))]),
            (w["reuses"], [[Link(prefix_of(str(v)), str(v), code=True, title=str(v))]
                           for v in sorted(onto.objects(ontology, DCTERMS.references), key=str)]),
        ]
        return {
            "title": title,
            "description": pick(onto.objects(ontology, DCTERMS.description), lang),
            "comment": pick(onto.objects(ontology, RDFS.comment), lang),
            "about": [(name, items) for name, items in about if items],
            "sections": [
                ("classes", w["classes"], class_views),
                ("object-properties", w["object_properties"], [property_view(p) for p in by_kind[OWL.ObjectProperty]]),
                ("datatype-properties", w["datatype_properties"],
                 [property_view(p) for p in by_kind[OWL.DatatypeProperty]]),
            ],
            "t": w,
        }
    return snapshot.memo(f"vocabulary:page:{lang}", build)


def prefix_of(namespace: str) -> str:
    for prefix, ns in PREFIXES.items():
        if ns == namespace:
            return f"{prefix}: {namespace}"
    return namespace


def path_terms(graph: Graph, path: Node | None) -> set[Node]:
    """Every property IRI a SHACL property path mentions."""
    if path is None:
        return set()
    if isinstance(path, URIRef):
        return {path}
    found: set[Node] = set()
    for item in rdf_list(graph, path):
        found |= path_terms(graph, item)
    for predicate in (SH.alternativePath, SH.inversePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
        for inner in graph.objects(path, predicate):
            found |= path_terms(graph, inner)
    return found


# ------------------------------------------------------------------------------ /shapes/


# ------------------------------------------------------------------------------ responses

def vocabulary_response(snapshot: Snapshot, alternates: list[tuple[Format, str]], negotiated: bool) -> Response:
    lang = i18n.language()
    model = vocabulary_model(snapshot, lang)
    body = render_template("vocabulary.html", **page_context(snapshot, lang, alternates), **model)
    return html_response(snapshot, body, publication().settings.base_iri + "def/", alternates, negotiated, lang)


def page_context(snapshot: Snapshot, lang: str, alternates: list[tuple[Format, str]]) -> dict:
    return {"lang": lang, "words": i18n.words(lang), "release": snapshot.info, "alternates": alternates}


def html_response(snapshot: Snapshot, body: str, about: str, alternates: list[tuple[Format, str]],
          negotiated: bool, lang: str) -> Response:
    response = Response(body, status=200, content_type=HTML.content_type)
    response.headers["Link"] = ", ".join(
        [f'<{about}>; rel="about"']
        + [f'<{url}>; rel="alternate"; type="{f.media_type}"; title="{f.label}"' for f, url in alternates])
    if negotiated:
        response.headers["Content-Location"] = dict((f.name, u) for f, u in alternates)[HTML.name]
    for header in ("Accept", "Accept-Language", "Cookie"):
        response.vary.add(header)
    response.content_language.add(lang)
    cacheable(response, f"{snapshot.info.version}-html-{lang}", snapshot.info)
    return i18n.remember(response.make_conditional(request))
