"""Dereferenceable IRIs: /id/ things (303 to their document), /doc/ descriptions, the
vocabulary under /def/ and the shapes under /shapes/, each in Turtle, JSON-LD, N-Triples,
RDF/XML or HTML, by Accept or by file suffix.

The published base (https://w3id.org/finhealthkg/ unless configured) is answered on any
host: a request to http://127.0.0.1:8080/id/x describes <https://w3id.org/finhealthkg/id/x>.
"""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, redirect, request
from pyoxigraph import NamedNode, Triple
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from ..description_query import describe_query
from ..namespaces import KINDS, ONTOLOGY_GRAPH, SHAPES_GRAPH
from ..release import ReleaseInfo
from ..serving import Snapshot
from ..terms import rdflib_graph
from .http.caching import conditional, validators
from .http.errors import NotAcceptable, NotFound
from .http.negotiation import DOCUMENT_FORMATS, HTML, Format, negotiate
from .http.publication import publication, served
from .http.serialize import graph_bytes, triples_bytes
from .pages.i18n import language
from .pages.iris import SLUG
from .pages.shapes_doc import shape_response, shapes_response
from .pages.thing_page import description_page
from .pages.vocabulary import vocabulary_response

blueprint = Blueprint("resources", __name__)

TERM = re.compile(r"[A-Za-z][A-Za-z0-9]*")
SUFFIXES = {f.suffix: f for f in DOCUMENT_FORMATS if f.suffix}


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
    return _description_response(iri, f"/doc/{kind}/{slug}", fmt)


@blueprint.route("/def/")
def vocabulary() -> Response:
    snapshot = served()
    if negotiate(DOCUMENT_FORMATS, request.args.get("format")) is HTML:  # the documentation for people
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
    if not TERM.fullmatch(term_name):
        raise NotFound(f"/def/{name} is not a term of the vocabulary")
    return _description_response(base + term_name, f"/def/{term_name}", fmt)


@blueprint.route("/shapes/")
def shapes() -> Response:
    if negotiate(DOCUMENT_FORMATS, request.args.get("format")) is HTML:  # "what a valid X looks like"
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
        return shape_response(snapshot, str(iri), _alternates(f"/shapes/{shape_name}"), negotiated=fmt is None)
    described = snapshot.memo(f"cbd:{iri}", lambda: graph.cbd(iri))  # with its blank nodes
    return _graph_response(snapshot, str(iri), f"/shapes/{shape_name}", fmt, described)


def _thing_iri(kind: str, slug: str) -> str:
    if kind not in KINDS or not SLUG.fullmatch(slug):
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


def _description_response(iri: str, path: str, fmt: Format | None) -> Response:
    """The thing's own triples, the triples that point to it, and the labels of both ends."""
    snapshot = served()
    try:
        chosen: Format | None = fmt or negotiate(DOCUMENT_FORMATS, request.args.get("format"))
    except NotAcceptable:
        chosen = None  # 404 for a thing that is not there comes before 406
    if (chosen is not None and "HTTP_IF_NONE_MATCH" in request.environ
            and request.if_none_match.contains(_etag(snapshot, chosen))):
        # the same document of the same release: answered without asking the store again
        return _respond(snapshot, iri, path, fmt, chosen, b"", status=304)
    triples = description_triples(snapshot, iri)
    if triples is None:
        raise NotFound(f"<{iri}> is not described in this dataset")
    chosen = chosen or negotiate(DOCUMENT_FORMATS, request.args.get("format"))  # 406, listing the offers
    if chosen is HTML:
        body = description_page(snapshot, iri, rdflib_graph(triples), alternates=_alternates(path))
    else:
        body = triples_bytes(triples, chosen)
    return _respond(snapshot, iri, path, fmt, chosen, body)


def description_triples(snapshot: Snapshot, iri: str) -> list[Triple] | None:
    """The triples of <iri>'s description, in document order; None if the release does not
    mention it."""
    # Sorted, so that each subject's triples are written together and the bytes are the same
    # from every server process (the ETag says so); equal triples end up side by side. By
    # N-Triples text: a total order, and one C call per triple (cheaper than a key of the
    # three terms' texts); the triples of one subject all begin with its text, so they form
    # one run.
    triples = sorted(snapshot.store.query(describe_query(iri)), key=str)
    triples = [t for i, t in enumerate(triples) if i == 0 or t != triples[i - 1]]  # a store may repeat some
    node = NamedNode(iri)
    if not any(t.subject == node or t.object == node for t in triples):
        return None
    return triples


def _whole_graph(snapshot: Snapshot, graph_iri: str, path: str, subject: str) -> Response:
    return _graph_response(snapshot, subject, path, None, snapshot.graph(graph_iri))


def _graph_response(snapshot: Snapshot, iri: str, path: str, fmt: Format | None, graph: Graph) -> Response:
    chosen = fmt or negotiate(DOCUMENT_FORMATS, request.args.get("format"))
    if chosen is HTML:
        body = description_page(snapshot, iri, graph, alternates=_alternates(path))
    else:
        body = graph_bytes(graph, chosen)
    return _respond(snapshot, iri, path, fmt, chosen, body)


def _etag(snapshot: Snapshot, chosen: Format) -> str:
    return document_etag(snapshot.info.version, request.path, chosen, language() if chosen is HTML else None)


def document_etag(version: str, path: str, chosen: Format, lang: str | None = None) -> str:
    """Equal for the same document, format (and page language) of the same release."""
    document = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{version}-{document}-{chosen.name}" + (f"-{lang}" if lang else "")


def _respond(snapshot: Snapshot, iri: str, path: str, fmt: Format | None, chosen: Format, body: bytes | str,
             status: int = 200) -> Response:
    # The headers given whole: werkzeug's setting them one by one costs more than a small description
    response = Response(body, status=status, content_type=chosen.content_type,
                        headers=document_headers(iri, path, fmt, chosen, _etag(snapshot, chosen), snapshot.info))
    if status == 304:
        return response
    return conditional(response)


def document_headers(iri: str, path: str, fmt: Format | None, chosen: Format, etag: str,
                     info: ReleaseInfo) -> list[tuple[str, str]]:
    """What a description's headers say about it: what it is about and its other formats (Link),
    which one this is when it was negotiated (Vary, Content-Location), and its validators."""
    alternates = _alternates(path)
    headers = [("Link", ", ".join(
        [f'<{iri}>; rel="about"']
        + [f'<{url}>; rel="alternate"; type="{f.media_type}"; title="{f.label}"' for f, url in alternates]))]
    if fmt is None:  # a new answer: no Vary yet (pages add theirs after)
        headers += [("Vary", "Accept"), ("Content-Location", next(url for f, url in alternates if f is chosen))]
    return headers + list(validators(etag, info))


def _alternates(path: str) -> list[tuple[Format, str]]:
    """The URL of each representation: a suffix for documents, ?format= for whole graphs."""
    if path.endswith("/"):
        return [(f, f"{path}?format={f.name}") for f in DOCUMENT_FORMATS]
    return [(f, f"{path}.{f.suffix}") for f in DOCUMENT_FORMATS]
