"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only, bounded to this dataset."""

from __future__ import annotations

import hashlib

import pyoxigraph
from flask import Blueprint, Response, request

from ..query_policy import QueryRefused, UpdateRefused, check_query, is_update
from .errors import BadRequest, ReadOnly
from .negotiation import BOOLEAN_FORMATS, HTML, RDF_FORMATS, SOLUTION_FORMATS, negotiate
from .pages import results_page
from .protocol import READ_ONLY, ProtocolRequest, read_request
from .publication import publication, served
from .serialize import answer_bytes, capped
from .service_description import service_description

blueprint = Blueprint("sparql", __name__)
ROW_LIMIT_HEADER = "FinHealthKG-Row-Limit"


@blueprint.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    protocol = read_request()
    if protocol.query is None:
        return service_description()
    snapshot = served()
    etag = _etag(snapshot.info.version, protocol)
    if request.if_none_match.contains(etag):  # the same question to the same release
        return _cached(Response(status=304), etag, snapshot.info)
    base_iri = publication().settings.base_iri + "sparql"
    try:
        check_query(protocol.query, snapshot.graphs, dataset_given=protocol.dataset_given,
                    base_iri=base_iri)
    except UpdateRefused:
        raise ReadOnly(READ_ONLY) from None
    except QueryRefused as refused:
        raise BadRequest(str(refused)) from None
    try:
        answer = snapshot.store.query(protocol.query, dataset=protocol.dataset, base_iri=base_iri)
    except SyntaxError as error:
        if is_update(protocol.query):
            raise ReadOnly(READ_ONLY) from None
        raise BadRequest(f"the query does not parse: {error}") from None
    # HTML comes last: only a client that prefers it (a browser) gets a page, never a default
    if isinstance(answer, pyoxigraph.QuerySolutions):
        offers = (*SOLUTION_FORMATS, HTML)
    elif isinstance(answer, pyoxigraph.QueryBoolean):
        offers = (*BOOLEAN_FORMATS, HTML)
    else:
        offers = (*RDF_FORMATS, HTML)
    fmt = negotiate(offers, protocol.format)
    truncated = False
    limit = publication().settings.row_limit
    if isinstance(answer, pyoxigraph.QuerySolutions):
        answer, truncated = capped(answer, limit)
    if fmt is HTML:
        body = results_page(protocol.query, answer, truncated=truncated, limit=limit)
    else:
        body = answer_bytes(answer, fmt)
    response = Response(body, content_type=fmt.content_type)
    if truncated:  # the answer says it was cut, and where
        response.headers[ROW_LIMIT_HEADER] = f"{publication().settings.row_limit}; truncated"
    response.vary.add("Accept")
    return _cached(response, etag, snapshot.info)


def _etag(version: str, protocol: ProtocolRequest) -> str:
    """Equal for the same query, dataset, format and Accept against the same release."""
    key = "\n".join([version, protocol.query or "", *protocol.dataset.default_graphs, "|",
                     *protocol.dataset.named_graphs, "|", *protocol.format,
                     request.headers.get("Accept", "")])
    return f"{version}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def _cached(response: Response, etag: str, info) -> Response:  # noqa: ANN001 - ReleaseInfo
    response.set_etag(etag)
    response.last_modified = info.modified
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.vary.add("Accept")
    return response
