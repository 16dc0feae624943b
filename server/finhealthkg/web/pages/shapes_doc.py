"""The SHACL shapes (/shapes/, /shapes/<Name>) as pages for people: for each node shape,
"what a valid X looks like", in the reader's language, read from the shapes graph of the
release being served. Shares its text pieces and response with vocabulary.py."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from flask import Response, render_template
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SH
from rdflib.term import Node

from ...serving import Snapshot
from ..http.errors import NotFound
from ..http.negotiation import Format
from ..http.publication import publication
from . import i18n
from .thing_page import short
from .vocabulary import (
    Code,
    Context,
    Fragment,
    Text,
    html_response,
    joined,
    local_name,
    page_context,
    phrase,
    pick,
    plain,
    rdf_list,
)


@dataclass
class Row:
    path: list[Fragment]
    path_label: Text | None
    how_many: str
    value: list[list[Fragment]]
    languages: list[list[Fragment]]
    message: Text | None
    required: bool


@dataclass
class Rule:
    message: Text | None
    query: str


@dataclass
class ShapeView:
    name: str
    iri: str
    href: str
    heading: list[Fragment]
    label: Text
    comment: Text | None
    applies: bool  # has targets of its own (else other shapes use it)
    targets: list[list[Fragment]]
    target_queries: list[str]
    itself: list[list[Fragment]]  # constraints on the focus node itself
    message: Text | None  # the shape's own sh:message
    rows: list[Row]
    rules: list[Rule]


class ShapeReader:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.g = ctx.shapes
        self.w = ctx.words

    def count(self, node: Node, predicate: URIRef) -> int | None:
        value = self.g.value(node, predicate)
        return int(value) if isinstance(value, Literal) else None

    def how_many(self, low: int | None, high: int | None) -> str:
        w = self.w
        low = low or 0
        if high is not None and low == high:
            return w["exactly_one"] if high == 1 else w["exactly"].format(n=high)
        if high is None:
            if low == 0:
                return w["any_number"]
            return w["at_least_one"] if low == 1 else w["at_least"].format(n=low)
        if low == 0:
            return w["at_most_one"] if high == 1 else w["at_most"].format(n=high)
        return w["between"].format(n=low, m=high)

    def in_languages(self, node: Node) -> str | None:
        codes = [str(c) for lst in self.g.objects(node, SH.languageIn) for c in rdf_list(self.g, lst)]
        if not codes:
            return None
        names = i18n.IN_LANGUAGE.get(self.ctx.lang, i18n.IN_LANGUAGE["en"])
        return self.w["or"].join(f"{names.get(c, c)} (@{c})" for c in codes)

    def path(self, node: Node | None) -> list[Fragment]:
        g = self.g
        if node is None:
            return []
        if isinstance(node, URIRef):
            return [self.ctx.name_ref(node)]
        alternatives = g.value(node, SH.alternativePath)
        if alternatives is not None:
            return phrase(self.w["any_of"], x=joined((self.path(i) for i in rdf_list(g, alternatives)), ", "))
        inverse = g.value(node, SH.inversePath)
        if inverse is not None:
            return phrase(self.w["inverse_of"], x=self.path(inverse))
        for predicate, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
            inner = g.value(node, predicate)
            if inner is not None:
                return [*self.path(inner), mark]
        items = rdf_list(g, node)
        return joined((self.path(i) for i in items), " / ") if items else [Text("(path)", "en")]

    def values(self, node: Node) -> list[list[Fragment]]:
        """What kind of value `node` (a property shape or a part of one) asks for, phrase by phrase."""
        g, w, ctx = self.g, self.w, self.ctx
        out: list[list[Fragment]] = []
        for kind in g.objects(node, SH.nodeKind):
            key = str(kind).rpartition("#")[2]
            out.append([w.get(key, short(str(kind)))])
        for datatype in g.objects(node, SH.datatype):
            key = "langstring" if datatype == RDF.langString else "datatype"
            out.append(phrase(w[key], x=ctx.name_ref(datatype)))
        for cls in g.objects(node, SH["class"]):
            out.append(phrase(w["instance_of"], x=ctx.ref(cls)))
        for lst in g.objects(node, SH["in"]):
            out.append(phrase(w["one_of"], x=joined([ctx.ref(i)] for i in rdf_list(g, lst))))
        for value in g.objects(node, SH.hasValue):
            out.append(phrase(w["has_value"], x=ctx.ref(value)))
        for pattern in g.objects(node, SH.pattern):
            out.append(phrase(w["pattern"], x=Code(str(pattern))))
        for predicate, key in ((SH.minLength, "min_length"), (SH.maxLength, "max_length")):
            for n in g.objects(node, predicate):
                out.append([w[key].format(n=n)])
        for shape in g.objects(node, SH.node):
            out.append(phrase(w["conforms_to"], x=ctx.ref(shape)))
        for lst in g.objects(node, SH["or"]):
            alternatives = []
            for item in rdf_list(g, lst):
                if g.value(item, SH.path) is not None:  # a property shape: path and how many
                    low, high = self.count(item, SH.minCount), self.count(item, SH.maxCount)
                    alternatives.append([*self.path(g.value(item, SH.path)), f": {self.how_many(low, high)}"])
                else:
                    alternatives.append(joined(self.values(item), "; "))
            out.append(phrase(w["either"], x=joined(alternatives, w["or"])))
        return out

    def languages(self, node: Node) -> list[list[Fragment]]:
        g, w = self.g, self.w
        out: list[list[Fragment]] = []
        direct = self.in_languages(node)
        if direct:
            out.append([w["only_in"].format(x=direct)])
        for qualified in g.objects(node, SH.qualifiedValueShape):
            low, high = self.count(node, SH.qualifiedMinCount), self.count(node, SH.qualifiedMaxCount)
            how = self.how_many(low, high)
            where = self.in_languages(qualified)
            if where:
                out.append([f"{how} {where}"])
            else:
                out.append([f"{how}: ", *phrase(w["conforms_to"], x=self.ctx.ref(qualified))])
        if (node, SH.uniqueLang, Literal(True)) in g:
            out.append([w["one_per_language"]])
        return out

    def row(self, node: Node) -> Row:
        g, ctx = self.g, self.ctx
        path = g.value(node, SH.path)
        low, high = self.count(node, SH.minCount), self.count(node, SH.maxCount)
        qualified_low = self.count(node, SH.qualifiedMinCount) or 0
        if not low and (node, SH.hasValue, None) in g:  # the value must be there
            low = 1
        how = self.how_many(low, high) if low or high is not None or not qualified_low \
            else self.how_many(qualified_low, None)
        if isinstance(path, URIRef) and path in ctx.terms:
            path_label: Text | None = ctx.label(path)
        else:
            path_label = pick(g.objects(node, SH.name), ctx.lang, untagged="en")
        return Row(path=self.path(path), path_label=path_label, how_many=how,
                   value=self.values(node) or [[self.w["any_value"]]], languages=self.languages(node),
                   message=pick(g.objects(node, SH.message), ctx.lang, untagged="en"),
                   required=bool(low or qualified_low))

    def targets(self, shape: URIRef) -> tuple[list[list[Fragment]], list[str], bool]:
        g, w, ctx = self.g, self.w, self.ctx
        out: list[list[Fragment]] = []
        for cls in sorted(g.objects(shape, SH.targetClass), key=str):
            target = phrase(w["every"], x=ctx.ref(cls))
            below = sorted(ctx.descendants(cls), key=lambda c: plain([ctx.ref(c)]).lower())
            if below:
                target += [" (", *phrase(w["including"], x=joined([ctx.ref(c)] for c in below)), ")"]
            out.append(target)
        for prop in g.objects(shape, SH.targetSubjectsOf):
            out.append(phrase(w["subjects_of"], x=ctx.name_ref(prop)))
        for prop in g.objects(shape, SH.targetObjectsOf):
            out.append(phrase(w["objects_of"], x=ctx.name_ref(prop)))
        for node in g.objects(shape, SH.targetNode):
            out.append([ctx.ref(node)])
        queries = [_dedent(str(q)) for target in g.objects(shape, SH.target) for q in g.objects(target, SH.select)]
        if queries:
            out.append([w["sparql_target"]])
        applies = bool(out)
        if not out:
            users = sorted(self.users(shape), key=str)
            if users:
                out.append(phrase(w["no_target"], x=joined([ctx.ref(u)] for u in users)))
        return out, queries, applies

    def users(self, shape: URIRef) -> set[URIRef]:
        """The named shapes that use `shape` through sh:node or sh:qualifiedValueShape."""
        found: set[URIRef] = set()
        for predicate in (SH.node, SH.qualifiedValueShape):
            for holder in self.g.subjects(predicate, shape):
                owner = self.owner(holder)
                if owner is not None and owner != shape:
                    found.add(owner)
        return found

    def owner(self, node: Node) -> URIRef | None:
        seen, todo = set(), [node]
        while todo:
            current = todo.pop()
            if isinstance(current, URIRef) and current in self.ctx.node_shapes:
                return current
            if current in seen:
                continue
            seen.add(current)
            todo.extend(self.g.subjects(None, current))
        return None

    def view(self, shape: URIRef) -> ShapeView:
        g, ctx = self.g, self.ctx
        rows = sorted((self.row(ps) for ps in g.objects(shape, SH.property)),
                      key=lambda r: (not r.required, plain(r.path).lower(), r.message.text if r.message else ""))
        rules = sorted((Rule(pick(g.objects(c, SH.message), ctx.lang, untagged="en"),
                             _dedent(str(g.value(c, SH.select) or "")))
                        for c in g.objects(shape, SH.sparql)
                        if (c, SH.deactivated, Literal(True)) not in g),
                       key=lambda r: r.message.text if r.message else "")
        itself = self.values(shape)
        where = self.in_languages(shape)
        if where:
            itself.append([where])
        targets, queries, applies = self.targets(shape)
        name = local_name(str(shape), ctx.shapes_namespace)
        return ShapeView(name=name, iri=str(shape), href=ctx.shape_href(shape), heading=ctx.heading(shape),
                         label=ctx.shape_label(shape), comment=pick(g.objects(shape, RDFS.comment), ctx.lang),
                         applies=applies, targets=targets, target_queries=queries, itself=itself,
                         message=pick(g.objects(shape, SH.message), ctx.lang, untagged="en"),
                         rows=rows, rules=rules)


def _dedent(query: str) -> str:
    lines = query.strip("\n").splitlines()
    if len(lines) > 1:  # the first line often starts right after the opening quotes
        return (lines[0].strip() + "\n" + textwrap.dedent("\n".join(lines[1:]))).strip()
    return query.strip()


def shapes_model(snapshot: Snapshot, lang: str) -> dict:
    def build() -> dict:
        ctx = Context(snapshot, lang)
        reader = ShapeReader(ctx)
        views = [reader.view(s) for s in ctx.node_shapes]
        views.sort(key=lambda v: (not v.applies, plain(v.heading).lower()))
        document = URIRef(ctx.shapes_namespace)
        return {
            "shapes": {v.name: v for v in views},
            "order": [v.name for v in views],
            "title": Text(ctx.words["shapes_title"]),
            "document_title": pick(ctx.shapes.objects(document, DCTERMS.title), lang),
            "description": pick(ctx.shapes.objects(document, DCTERMS.description), lang),
            "vocabulary_href": ctx.vocabulary_href,
            "t": ctx.words,
        }
    return snapshot.memo(f"shapes:page:{lang}", build)




def shapes_response(snapshot: Snapshot, alternates: list[tuple[Format, str]], negotiated: bool) -> Response:
    lang = i18n.language()
    model = shapes_model(snapshot, lang)
    body = render_template("shapes.html", **page_context(snapshot, lang, alternates), **model,
                           views=[model["shapes"][name] for name in model["order"]], single=False)
    return html_response(snapshot, body, publication().settings.base_iri + "shapes/", alternates, negotiated, lang)


def shape_response(snapshot: Snapshot, iri: str, alternates: list[tuple[Format, str]], negotiated: bool) -> Response:
    """One node shape on its own page; the caller has checked that the shapes graph holds it."""
    lang = i18n.language()
    model = shapes_model(snapshot, lang)
    view = model["shapes"].get(local_name(iri, publication().settings.base_iri + "shapes/"))
    if view is None:  # a node of the shapes graph that is not a node shape: the whole document
        raise NotFound(f"<{iri}> is not a node shape of this dataset")
    context = {**model, "title": Text(plain(view.heading)), "document_title": None, "description": None}
    body = render_template("shapes.html", **page_context(snapshot, lang, alternates), **context,
                           views=[view], single=True)
    return html_response(snapshot, body, iri, alternates, negotiated, lang)
