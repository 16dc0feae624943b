"""Triple Pattern Fragments (https://linkeddatafragments.org/specification/triple-pattern-fragments/)
at /fragments (the current release) and /releases/{version}/fragments (a past one).

A fragment is the triples of the knowledge graph matching one pattern `?subject=&predicate=&object=`
(terms in Hydra's ExplicitRepresentation: an IRI as it is, a literal as `"text"@lang` or
`"text"^^datatype`; absent or `?x` is a variable), a page at a time, with its controls: the
hydra:search form, the number of matches (hydra:totalItems, void:triples) and links to the
first, previous and next pages. In TriG and JSON-LD the controls are in their own named graph
`<page#metadata>`, as clients such as Comunica expect; in Turtle they share the one graph.
Pages are read with fixed-shape SELECTs, run where public queries run (publication.Snapshot.select).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote

import pyoxigraph
from flask import Blueprint, Response, request
from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, RdfFormat

from ..namespaces import PREFIXES
from ..serving import Snapshot
from .http.caching import cacheable
from .http.errors import BadRequest
from .http.negotiation import JSONLD, TURTLE, Format, negotiate
from .http.publication import RELEASE_HEADER, publication, served_release

blueprint = Blueprint("fragments", __name__)
PAGE_SIZE = 100
TRIG = Format("trig", "application/trig", "trig", rdf=RdfFormat.TRIG, label="TriG")
OFFERS = (TURTLE, TRIG, JSONLD)  # Turtle for anyone who accepts anything
PARAMETERS = ("subject", "predicate", "object")

HYDRA = "http://www.w3.org/ns/hydra/core#"
VOID = "http://rdfs.org/ns/void#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCTERMS = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
FRAGMENT_PREFIXES = {**PREFIXES, "hydra": HYDRA}


@dataclass(frozen=True)
class Pattern:
    """A triple pattern: a term, or None for a variable, in each position."""

    subject: NamedNode | None
    predicate: NamedNode | None
    object: NamedNode | Literal | None

    def terms(self) -> tuple:
        return self.subject, self.predicate, self.object

    def where(self) -> str:
        names = ("?s", "?p", "?o")
        return " ".join(str(t) if t is not None else v for t, v in zip(self.terms(), names, strict=True))

    def variables(self) -> list[str]:
        return [v for t, v in zip(self.terms(), ("?s", "?p", "?o"), strict=True) if t is None]


@blueprint.route("/fragments")
def current_fragment() -> Response:
    version = request.args.get("release")  # as /sparql?release=: the controls lead to that release's path
    if version is None:
        return fragment(served_release(None), "/fragments")
    snapshot = served_release(version)
    return fragment(snapshot, f"/releases/{snapshot.info.version}/fragments")


@blueprint.route("/releases/<version>/fragments")
def release_fragment(version: str) -> Response:
    return fragment(served_release(version), f"/releases/{version}/fragments")


def fragment(snapshot: Snapshot, path: str) -> Response:
    pattern = read_pattern()
    page = _page()
    fmt = negotiate(OFFERS, request.args.get("format"))
    etag = f"{snapshot.info.version}-tpf-" + hashlib.sha256(
        f"{pattern.where()}\n{page}\n{fmt.name}".encode()).hexdigest()[:20]
    if request.if_none_match.contains(etag):
        return _cached(Response(status=304), etag, snapshot)
    limit = publication().settings.row_limit
    triples = _matches(snapshot, pattern, page, limit)
    more = len(triples) > PAGE_SIZE
    triples = triples[:PAGE_SIZE]
    total = _count(snapshot, pattern, limit) if pattern.variables() != ["?s", "?p", "?o"] else snapshot.info.triples
    total = max(total, (page - 1) * PAGE_SIZE + len(triples))  # an estimate must not undercount a page
    root = request.host_url.rstrip("/") + path
    page_url = _requested_url(root, pattern, page)
    controls = _controls(root, page_url, pattern, page, total, more)
    graph = NamedNode(page_url + "#metadata") if fmt is not TURTLE else DefaultGraph()
    quads = [Quad(*t, DefaultGraph()) for t in triples] + [Quad(*t, graph) for t in controls]
    body = pyoxigraph.serialize(quads if fmt is not TURTLE else [q.triple for q in quads], format=fmt.rdf,
                                prefixes=FRAGMENT_PREFIXES if fmt is not JSONLD else None)
    response = Response(body, content_type=fmt.content_type)
    return _cached(response, etag, snapshot)


def _requested_url(root: str, pattern: Pattern, page: int) -> str:
    """The page's IRI: the URL exactly as the client asked (a client finds the page's controls by
    it), or, when that is no IRI (raw spaces, bytes that are not UTF-8), the canonical one."""
    url = root + ("?" + request.query_string.decode("utf-8", "replace") if request.query_string else "")
    try:
        NamedNode(url)
    except ValueError:
        return page_link(root, pattern, page)
    return url


def read_pattern() -> Pattern:
    """The pattern of the request; BadRequest naming the parameter that is not a term of its position."""
    for name in (*PARAMETERS, "page", "release"):
        if len(request.args.getlist(name)) > 1:
            raise BadRequest(f"{name} is given {len(request.args.getlist(name))} times; give it once")
    subject = _term("subject")
    predicate = _term("predicate")
    obj = _term("object")
    if isinstance(subject, Literal) or isinstance(predicate, Literal):
        which = "subject" if isinstance(subject, Literal) else "predicate"
        raise BadRequest(f"{which}={request.args[which]!r} is a literal; a {which} is an IRI (or leave it out)")
    return Pattern(subject, predicate, obj)


def _term(name: str) -> NamedNode | Literal | None:
    value = request.args.get(name, "")
    if not value or value.startswith("?") or value.startswith("_:"):
        return None  # a variable (a blank node in a pattern matches anything, as a variable does)
    if value.startswith('"'):
        return _literal(name, value)
    iri = value[1:-1] if value.startswith("<") and value.endswith(">") else value
    try:
        if ":" not in iri:
            raise ValueError("not absolute")
        return NamedNode(iri)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not an absolute IRI nor a literal (\"text\", \"text\"@lang, "
                         f"\"text\"^^datatype-IRI)") from None


def _literal(name: str, value: str) -> Literal:
    end = value.rfind('"')
    if end == 0:
        raise BadRequest(f"{name}={value!r}: the literal has no closing quote")
    text, rest = value[1:end], value[end + 1:]
    try:
        if rest.startswith("@") and len(rest) > 1:
            return Literal(text, language=rest[1:])
        if rest.startswith("^^"):
            datatype = rest[2:]
            datatype = datatype[1:-1] if datatype.startswith("<") and datatype.endswith(">") else datatype
            return Literal(text, datatype=NamedNode(datatype))
        if not rest:
            return Literal(text)
    except ValueError as error:
        raise BadRequest(f"{name}={value!r} is not a literal: {error}") from None
    raise BadRequest(f"{name}={value!r}: after the closing quote comes @lang, ^^datatype or nothing")


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise BadRequest(f"page={raw!r}: pages are numbered 1, 2, 3 ...")
    return int(raw)


def _matches(snapshot: Snapshot, pattern: Pattern, page: int, limit: int) -> list[pyoxigraph.Triple]:
    """The page's triples and one more (it says there is a next page). A read-only store gives
    its matches in one order every time, so OFFSET pages are stable without a sort."""
    variables = pattern.variables()
    projection = " ".join(variables) if variables else "(1 AS ?found)"
    rows = snapshot.select(f"SELECT DISTINCT {projection} WHERE {{ {pattern.where()} }} "
                           f"OFFSET {(page - 1) * PAGE_SIZE} LIMIT {PAGE_SIZE + 1}", limit, _client())
    triples = []
    for row in rows:
        terms = [t if t is not None else row[v] for t, v in zip(pattern.terms(), ("s", "p", "o"), strict=True)]
        triples.append(pyoxigraph.Triple(*terms))
    return triples


def _count(snapshot: Snapshot, pattern: Pattern, limit: int) -> int:
    variables = pattern.variables()
    inner = (f"SELECT DISTINCT {' '.join(variables)} WHERE {{ {pattern.where()} }}" if variables
             else f"SELECT (1 AS ?found) WHERE {{ {pattern.where()} }} LIMIT 1")
    row = next(iter(snapshot.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {inner} }}", limit, _client())))
    return int(row["n"].value)


def _client() -> str:
    """Whose heavy-query slots a fragment's query takes: its client's address."""
    return request.remote_addr or ""


def page_link(root: str, pattern: Pattern, page: int) -> str:
    """The URL of one page of a pattern's fragment, as the search form would write it."""
    values = []
    for name, term in zip(PARAMETERS, pattern.terms(), strict=True):
        if term is not None:
            values.append(f"{name}={quote(_explicit(term), safe='')}")
    if page > 1:
        values.append(f"page={page}")
    return root + ("?" + "&".join(values) if values else "")


def _explicit(term: NamedNode | Literal) -> str:
    """A term in Hydra's ExplicitRepresentation."""
    if isinstance(term, NamedNode):
        return term.value
    if term.language:
        return f'"{term.value}"@{term.language}'
    if term.datatype.value == XSD + "string":
        return f'"{term.value}"'
    return f'"{term.value}"^^{term.datatype.value}'


def _controls(root: str, page_url: str, pattern: Pattern, page: int, total: int,
              more: bool) -> list[pyoxigraph.Triple]:
    """The fragment's metadata and hypermedia controls (no blank nodes: fragment IRIs with #)."""
    def n(iri: str) -> NamedNode:
        return NamedNode(iri)

    def integer(value: int) -> Literal:
        return Literal(str(value), datatype=n(XSD + "integer"))

    dataset, search, this = n(root + "#dataset"), n(root + "#triplePattern"), n(page_url)
    triples = [
        (n(page_url + "#metadata"), n(FOAF + "primaryTopic"), this),
        (dataset, n(RDF + "type"), n(VOID + "Dataset")),
        (dataset, n(RDF + "type"), n(HYDRA + "Collection")),
        (dataset, n(VOID + "subset"), this),
        (dataset, n(HYDRA + "search"), search),
        (search, n(HYDRA + "template"), Literal(root + "{?subject,predicate,object}")),
        (search, n(HYDRA + "variableRepresentation"), n(HYDRA + "ExplicitRepresentation")),
    ]
    for name in PARAMETERS:
        mapping = n(f"{root}#{name}")
        triples += [(search, n(HYDRA + "mapping"), mapping),
                    (mapping, n(HYDRA + "variable"), Literal(name)),
                    (mapping, n(HYDRA + "property"), n(RDF + name))]
    triples += [
        (this, n(RDF + "type"), n(HYDRA + "PartialCollectionView")),
        (this, n(DCTERMS + "title"), Literal(f"Triples matching {pattern.where()}, page {page}", language="en")),
        (this, n(DCTERMS + "source"), dataset),
        (this, n(HYDRA + "totalItems"), integer(total)),
        (this, n(VOID + "triples"), integer(total)),
        (this, n(HYDRA + "itemsPerPage"), integer(PAGE_SIZE)),
        (this, n(HYDRA + "first"), n(page_link(root, pattern, 1))),
    ]
    if page > 1:
        triples.append((this, n(HYDRA + "previous"), n(page_link(root, pattern, page - 1))))
    if more:
        triples.append((this, n(HYDRA + "next"), n(page_link(root, pattern, page + 1))))
    return [pyoxigraph.Triple(*t) for t in triples]


def _cached(response: Response, etag: str, snapshot: Snapshot) -> Response:
    response.vary.add("Accept")
    response.headers[RELEASE_HEADER] = snapshot.info.version
    return cacheable(response, etag, snapshot.info)
