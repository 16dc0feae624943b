"""The dataset described for machines: VoID at /.well-known/void, the DCAT catalogue at
/catalog (also the answer to an RDF client at /), both read from the release's store."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request

from ..namespaces import CATALOG_GRAPH, VOID_GRAPH
from .negotiation import HTML, JSONLD, NTRIPLES, RDFXML, TURTLE, negotiate
from .publication import served
from .serialize import graph_bytes

blueprint = Blueprint("description", __name__)
RDF_OFFERS = (TURTLE, JSONLD, RDFXML, NTRIPLES)


@blueprint.route("/.well-known/void")
def void() -> Response:
    return _graph(str(VOID_GRAPH), negotiate(RDF_OFFERS, request.args.get("format")))


@blueprint.route("/catalog")
def catalog() -> Response:
    return _graph(str(CATALOG_GRAPH), negotiate(RDF_OFFERS, request.args.get("format")))


@blueprint.route("/dataset")
def dataset() -> Response:
    return redirect("/catalog", code=303)


@blueprint.route("/")
def home() -> Response:
    fmt = negotiate((HTML, *RDF_OFFERS), request.args.get("format"))
    if fmt is not HTML:
        return _graph(str(CATALOG_GRAPH), fmt)
    snapshot = served()
    response = Response(render_template("home.html", title="finhealthkg", release=snapshot.info),
                        content_type=HTML.content_type)
    response.vary.add("Accept")
    return response


def _graph(graph: str, fmt) -> Response:  # noqa: ANN001 - Format
    snapshot = served()
    body = snapshot.memo(f"{graph}:{fmt.name}", lambda: graph_bytes(snapshot.graph(graph), fmt))
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.set_etag(f"{snapshot.info.version}-{fmt.name}")
    response.last_modified = snapshot.info.modified
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)
