"""A short way through for the commonest request: GET /sparql?query=<point lookup>.

A point lookup (query_cost.py: the triples of one IRI) costs the store about a quarter of a
millisecond; Flask's request context, routing, hooks and werkzeug's response objects cost as
much again (bench/RESULTS.md). This WSGI middleware answers such a request itself, with the
bytes and headers the Flask path gives: the same policy check, negotiation, serialisers and
header values, taken from the modules that make them (tests/test_quick_lookups.py compares
the two paths header by header). Any other request goes to the app, and so does any request
this path would answer differently: a conditional one (If-None-Match ...), one asking for a
page or for a format by parameter, a past release, an external store, a release where one
subject has more quads than the row limit, and anything that fails (the app says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyoxigraph
from flask import Flask

from ..query_cost import point_lookup_form
from ..query_policy import QueryRefused, UpdateRefused, check_query
from ..stores import QueryDataset, StoreError
from .access_log import QUERY_HASH, query_hash
from .errors import BadRequest
from .headers import EVERY_ANSWER, NOSNIFF
from .negotiation import HTML, MAX_CACHED_ACCEPT, by_accept
from .protocol import ProtocolRequest, decode_pairs
from .publication import EXTENSION, Publication, is_conditional
from .serialize import answer_bytes
from .sparql import OFFERS, answer_etag, answer_headers

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
ENDPOINT = "/sparql"
FORMS = {"SELECT": pyoxigraph.QuerySolutions, "ASK": pyoxigraph.QueryBoolean}
NO_DATASET = QueryDataset(default_graphs=(), named_graphs=())


class QuickLookups:
    """WSGI middleware in front of the Flask app `app` (whose wsgi_app is `inner`)."""

    def __init__(self, app: Flask, inner: WSGIApp) -> None:
        self.publication: Publication = app.extensions[EXTENSION]
        self.inner = inner

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == ENDPOINT
                and not is_conditional(environ)):
            answered = self.answer(environ)
            if answered is not None:
                headers, body = answered
                start_response("200 OK", headers)
                return [body]
        return self.inner(environ, start_response)

    def answer(self, environ: dict) -> tuple[list[tuple[str, str]], bytes] | None:
        """The headers and body of a point lookup; None: the app answers this request."""
        try:
            params = decode_pairs(environ.get("QUERY_STRING", "").encode("latin-1"))
        except (BadRequest, UnicodeEncodeError):
            return None
        if list(params) != ["query"] or len(params.getlist("query")) != 1:
            return None  # a dataset, a format, a release, an update or two queries: all the app's
        query = params["query"]
        form = point_lookup_form(query)
        accept = environ.get("HTTP_ACCEPT", "")
        if form is None or len(accept) > MAX_CACHED_ACCEPT:
            return None
        fmt = by_accept(OFFERS[FORMS[form]], accept)
        if fmt is None or fmt is HTML:
            return None
        snapshot = self.publication.now  # follows `current`, as the app does
        settings = self.publication.settings
        largest = snapshot.release.largest_subject if snapshot.release is not None else None
        if snapshot.pool is None or largest is None or largest > settings.row_limit:
            return None  # the app counts the rows (sparql._in_store)
        base_iri = settings.base_iri + "sparql"
        try:
            check_query(query, snapshot.graphs, dataset_given=False, base_iri=base_iri)
            body = answer_bytes(snapshot.store.query(query, dataset=NO_DATASET, base_iri=base_iri), fmt)
        except (QueryRefused, UpdateRefused, SyntaxError, StoreError, OSError):
            return None
        environ[QUERY_HASH] = query_hash(query)  # for the access log, as access_log._note_query
        etag = answer_etag(snapshot.info.version, ProtocolRequest(query, NO_DATASET, ()), accept)
        headers: list[Any] = [("Content-Type", fmt.content_type), ("Content-Length", str(len(body))),
                              *answer_headers(etag, snapshot.info), *EVERY_ANSWER, NOSNIFF]
        return headers, body
