"""Read a SPARQL 1.1 Protocol request: the query, the RDF dataset, the format asked for.

Checks run in the order the W3C protocol tests expect: method, then media type and
charset of a POST body, then the parameters (one query, no update), then (in sparql.py)
the query itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

import pyoxigraph
from flask import request
from werkzeug.datastructures import MultiDict

from ...stores import QueryDataset
from .errors import BadRequest, PayloadTooLarge, ReadOnly, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"
_URL_PARAMETERS = "finhealthkg.url_parameters"  # where url_parameters keeps them in the WSGI environ
READ_ONLY = ("SPARQL Update is not accepted: this endpoint is read-only. "
             "Download the data (/downloads/) to change it in a store of your own.")


@dataclass(frozen=True)
class ProtocolRequest:
    query: str | None  # None: no query, the client asks for the service description
    dataset: QueryDataset
    format: tuple[str, ...]  # explicit `format` parameters (some clients send two names of one)
    release: str | None = None  # `release=V`: answer from that past release (None: the current one)

    @property
    def dataset_given(self) -> bool:
        return bool(self.dataset.default_graphs or self.dataset.named_graphs)


def read_request() -> ProtocolRequest:
    params, body_query = _parameters()
    if "update" in params:
        if "query" in params or body_query is not None:
            raise BadRequest("a request carries either a query or an update, not both")
        raise ReadOnly(READ_ONLY)
    queries = params.getlist("query")
    if body_query is not None:
        if queries:
            raise BadRequest("the query is in the body (application/sparql-query); "
                             "a query parameter must not be given as well")
        queries = [body_query]
    if len(queries) > 1:
        raise BadRequest(f"{len(queries)} query parameters given; send exactly one")
    query = queries[0] if queries else None
    if query is not None and not query.strip():
        raise BadRequest("the query is empty")
    dataset = QueryDataset(
        default_graphs=tuple(_iris(params, "default-graph-uri")),
        named_graphs=tuple(_iris(params, "named-graph-uri")))
    releases = params.getlist("release")
    if len(releases) > 1 and len(set(releases)) > 1:
        raise BadRequest(f"{len(releases)} different release parameters given; name one release")
    # format= (Virtuoso), output= (Joseki, Fuseki) and results= all name the answer's format
    # (SPARQLWrapper sends all three); an empty value names none.
    formats = tuple(value for name in FORMAT_PARAMETERS for value in params.getlist(name) if value.strip())
    return ProtocolRequest(query=query, dataset=dataset, format=formats,
                           release=releases[0] if releases else None)


FORMAT_PARAMETERS = ("format", "output", "results")


def url_parameters() -> MultiDict:
    """The URL's parameters, decoded once per request (the access log reads them too);
    BadRequest when they are not UTF-8."""
    params = request.environ.get(_URL_PARAMETERS)
    if params is None:
        params = request.environ[_URL_PARAMETERS] = decode_pairs(request.query_string)
    return params


def _parameters() -> tuple[MultiDict, str | None]:
    """(parameters, query from a direct POST body) of a GET or POST request."""
    url_params = url_parameters()
    if request.method in ("GET", "HEAD"):
        return url_params, None
    media_type = request.mimetype
    charset = request.mimetype_params.get("charset")
    if media_type == UPDATE:
        raise ReadOnly(READ_ONLY)
    if media_type not in (FORM, DIRECT):
        given = f"Content-Type {request.content_type!r}" if request.content_type else "no Content-Type"
        raise UnsupportedMediaType(
            f"a POST to the endpoint needs Content-Type {FORM} or {DIRECT} (UTF-8); it had {given}")
    if charset and charset.strip().lower() not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"the body must be UTF-8, not charset={charset}")
    body = _body()
    if media_type == DIRECT:
        return url_params, _utf8(body, "the query")
    form = decode_pairs(body)
    for key, values in url_params.lists():  # protocol parameters may also sit in the URL
        for value in values:
            form.add(key, value)
    return form, None


def _body() -> bytes:
    """The request body; 413 when it is over the limit. A body without Content-Length
    (chunked) is cut at the limit by Werkzeug without an error, so what is left is looked at."""
    body = request.get_data(cache=False)
    limit = request.max_content_length
    if (limit is not None and request.content_length is None and len(body) >= limit
            and request.environ["wsgi.input"].read(1)):
        raise PayloadTooLarge(f"the request body is larger than this endpoint accepts ({limit} bytes)")
    return body


def decode_pairs(raw: bytes) -> MultiDict:
    """URL-encoded parameters; BadRequest when they are not UTF-8."""
    try:
        text = raw.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the parameters are not UTF-8 (percent-encode UTF-8 bytes)") from None
    return MultiDict(pairs)


def _utf8(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"{what} is not valid UTF-8 (byte {error.start})") from None


def _iris(params: MultiDict, name: str) -> list[str]:
    values = params.getlist(name)
    for value in values:
        if not value or any(c in value for c in ' <>"{}|\\^`') or ":" not in value or not _is_iri(value):
            raise BadRequest(f"{name}={value!r} is not an absolute IRI")
    return values


def _is_iri(value: str) -> bool:
    """An IRI the store accepts as a graph name (no control characters, valid escapes ...);
    anything else would fail inside the store instead of being answered here."""
    try:
        pyoxigraph.NamedNode(value)
    except (ValueError, UnicodeError):
        return False
    return True
