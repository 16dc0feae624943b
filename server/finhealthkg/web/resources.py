"""Dereferenceable IRIs: /id/ things (303 to their document), /doc/ descriptions, the
vocabulary under /def/ and the shapes under /shapes/, each in Turtle, JSON-LD, N-Triples,
RDF/XML or HTML, by Accept or by file suffix.

The published base (https://w3id.org/finhealthkg/ unless configured) is answered on any
host: a request to http://127.0.0.1:8080/id/x describes <https://w3id.org/finhealthkg/id/x>.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, redirect, request
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from ..namespaces import KINDS, ONTOLOGY_GRAPH, SHAPES_GRAPH
from .errors import NotFound
from .i18n import language
from .negotiation import DOCUMENT_FORMATS, HTML, Format, negotiate
from .pages import description_page
from .publication import Snapshot, publication, served
from .serialize import graph_bytes, to_rdflib

blueprint = Blueprint("resources", __name__)

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TERM = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
SUFFIXES = {f.suffix: f for f in DOCUMENT_FORMATS if f.suffix}
LABELS = ("http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel")


@blueprint.route("/id/<kind>/<slug>")
def thing(kind: str, slug: str) -> Response:
    """A thing is not a document: 303 See Other to the document that describes it."""
    iri = _thing_iri(kind, slug)
    if not _mentioned(served(), iri):
        raise NotFound(f"<{iri}> is not described in this dataset")
    query = f"?{request.query_string.decode('ascii', 'replace')}" if request.query_string else ""
    return redirect(f"/doc/{kind}/{slug}{query}", code=303)


@blueprint.route("/doc/<kind>/<name>")
def document(kind: str, name: str) -> Response:
    slug, fmt = _split_suffix(name)
    iri = _thing_iri(kind, slug)
    return _describe(iri, f"/doc/{kind}/{slug}", fmt)


@blueprint.route("/def/")
def vocabulary() -> Response:
    snapshot = served()
    if negotiate(DOCUMENT_FORMATS, request.args.get("format")) is HTML:  # the documentation for people
        from .vocabulary import vocabulary_response
        return vocabulary_response(snapshot, _alternates("/def/"), negotiated=True)
    ontology = str(ONTOLOGY_GRAPH)
    return _whole_graph(snapshot, ontology, "/def/", publication().settings.base_iri + "def/")


@blueprint.route("/def/<name>")
def term(name: str) -> Response:
    snapshot = served()
    base = publication().settings.base_iri + "def/"
    ontology = snapshot.graph(str(ONTOLOGY_GRAPH))
    if (URIRef(base), OWL.versionIRI, URIRef(base + name)) in ontology:  # this version: the ontology
        return _whole_graph(snapshot, str(ONTOLOGY_GRAPH), "/def/", base)
    term_name, fmt = _split_suffix(name)
    if not TERM.match(term_name):
        raise NotFound(f"/def/{name} is not a term of the vocabulary")
    return _describe(base + term_name, f"/def/{term_name}", fmt)


@blueprint.route("/shapes/")
def shapes() -> Response:
    if negotiate(DOCUMENT_FORMATS, request.args.get("format")) is HTML:  # "what a valid X looks like"
        from .shapes_doc import shapes_response
        return shapes_response(served(), _alternates("/shapes/"), negotiated=True)
    return _whole_graph(served(), str(SHAPES_GRAPH), "/shapes/", publication().settings.base_iri + "shapes/")


@blueprint.route("/shapes/<name>")
def shape(name: str) -> Response:
    shape_name, fmt = _split_suffix(name)
    snapshot = served()
    iri = URIRef(publication().settings.base_iri + "shapes/" + shape_name)
    graph = snapshot.graph(str(SHAPES_GRAPH))
    if (iri, None, None) not in graph:
        raise NotFound(f"<{iri}> is not a shape of this dataset")
    if (fmt or negotiate(DOCUMENT_FORMATS, request.args.get("format"))) is HTML:
        from .shapes_doc import shape_response
        return shape_response(snapshot, str(iri), _alternates(f"/shapes/{shape_name}"), negotiated=fmt is None)
    described = snapshot.memo(f"cbd:{iri}", lambda: graph.cbd(iri))  # with its blank nodes
    return _respond(snapshot, str(iri), f"/shapes/{shape_name}", fmt, described)


def _thing_iri(kind: str, slug: str) -> str:
    if kind not in KINDS or not SLUG.match(slug):
        raise NotFound(f"/id/{kind}/{slug} is not an IRI of this dataset: IRIs are "
                       "/id/{kind}/{slug} with a known kind and a lower-case slug")
    return f"{publication().settings.base_iri}id/{kind}/{slug}"


def _split_suffix(name: str) -> tuple[str, Format | None]:
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in SUFFIXES:
        return stem, SUFFIXES[suffix]
    if dot:
        raise NotFound(f"no format has the suffix .{suffix}; suffixes: "
                       + ", ".join(f".{s}" for s in SUFFIXES))
    return name, None


def _mentioned(snapshot: Snapshot, iri: str) -> bool:
    return bool(snapshot.store.query(f"ASK {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }}"))


def _describe(iri: str, path: str, fmt: Format | None) -> Response:
    """The thing's own triples, the triples that point to it, and the labels of both ends."""
    snapshot = served()
    labels = ", ".join(f"<{p}>" for p in LABELS)
    answer = snapshot.store.query(f"""
        CONSTRUCT {{ <{iri}> ?p ?o . ?o ?lp ?label . ?s ?ip <{iri}> . ?s ?slp ?slabel . }}
        WHERE {{
            {{ <{iri}> ?p ?o OPTIONAL {{ ?o ?lp ?label FILTER (?lp IN ({labels})) }} }}
            UNION
            {{ ?s ?ip <{iri}> OPTIONAL {{ ?s ?slp ?slabel FILTER (?slp IN ({labels})) }} }}
        }}""")
    graph = to_rdflib(answer)
    if not any(True for _ in graph.triples((URIRef(iri), None, None))) and \
            not any(True for _ in graph.triples((None, None, URIRef(iri)))):
        raise NotFound(f"<{iri}> is not described in this dataset")
    return _respond(snapshot, iri, path, fmt, graph)


def _whole_graph(snapshot: Snapshot, graph_iri: str, path: str, subject: str) -> Response:
    return _respond(snapshot, subject, path, None, snapshot.graph(graph_iri))


def _respond(snapshot: Snapshot, iri: str, path: str, fmt: Format | None, graph: Graph) -> Response:
    chosen = fmt or negotiate(DOCUMENT_FORMATS, request.args.get("format"))
    if chosen is HTML:
        body = description_page(snapshot, iri, graph, alternates=_alternates(path))
    else:
        body = graph_bytes(graph, chosen)
    response = Response(body, content_type=chosen.content_type)
    response.headers["Link"] = ", ".join(
        [f'<{iri}>; rel="about"']
        + [f'<{url}>; rel="alternate"; type="{f.media_type}"; title="{f.label}"' for f, url in _alternates(path)])
    if fmt is None:
        response.vary.add("Accept")
        response.headers["Content-Location"] = dict((f.name, u) for f, u in _alternates(path))[chosen.name]
    response.set_etag(f"{snapshot.info.version}-{chosen.name}" + (f"-{language()}" if chosen is HTML else ""))
    response.last_modified = snapshot.info.modified
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)


def _alternates(path: str) -> list[tuple[Format, str]]:
    """The URL of each representation: a suffix for documents, ?format= for whole graphs."""
    if path.endswith("/"):
        return [(f, f"{path}?format={f.name}") for f in DOCUMENT_FORMATS]
    return [(f, f"{path}.{f.suffix}") for f in DOCUMENT_FORMATS]
