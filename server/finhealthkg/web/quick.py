"""A short way through for the two commonest requests: GET /sparql?query=<point lookup> and
GET /doc/<kind>/<slug> in an RDF format.

A point lookup (query_cost.py: the triples of one IRI) costs the store about a quarter of a
millisecond, a description a few; Flask's request context, routing, hooks and werkzeug's
response objects cost about half a millisecond more (bench/RESULTS.md). This WSGI middleware
answers such a request itself, with the bytes and headers the Flask path gives: the same
policy check, negotiation, queries, serialisers, header values and response cache, taken from
the modules that make them (tests/test_quick.py compares the two paths header by header).

Any other request goes to the app, and so does any request this path would answer
differently: a conditional one (If-None-Match ...), one asking for a page, for a format by
parameter or suffix, a past release, one with a cookie, one the app answers with an error
(the app says why), a lookup on an external store or on a release where one subject has more
quads than the row limit, and anything that fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyoxigraph
from flask import Flask

from ..namespaces import KINDS
from ..query_cost import point_lookup_form
from ..query_policy import QueryRefused, UpdateRefused, check_query
from ..stores import QueryDataset, StoreError
from . import response_cache
from .access_log import QUERY_HASH, query_hash
from .errors import BadRequest
from .headers import EVERY_ANSWER, NOSNIFF
from .negotiation import DOCUMENT_FORMATS, HTML, MAX_CACHED_ACCEPT, Format, by_accept
from .protocol import ProtocolRequest, decode_pairs
from .publication import EXTENSION, RELEASE_HEADER, Publication, is_conditional
from .resources import SLUG, description_triples, document_etag, document_headers
from .serialize import answer_bytes, triples_bytes
from .sparql import OFFERS, answer_etag, answer_headers

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
Answer = tuple[list[tuple[str, str]], bytes]  # headers, body of a 200
ENDPOINT = "/sparql"
DOCUMENTS = "/doc/"
FORMS = {"SELECT": pyoxigraph.QuerySolutions, "ASK": pyoxigraph.QueryBoolean}
NO_DATASET = QueryDataset(default_graphs=(), named_graphs=())


class QuickAnswers:
    """WSGI middleware in front of the Flask app `app` (whose wsgi_app is `inner`)."""

    def __init__(self, app: Flask, inner: WSGIApp) -> None:
        self.publication: Publication = app.extensions[EXTENSION]
        self.cache = app.extensions[response_cache.EXTENSION]
        self.inner = inner

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        answered = self.answer(environ)
        if answered is not None:
            headers, body = answered
            start_response("200 OK", headers)
            return [body]
        return self.inner(environ, start_response)

    def answer(self, environ: dict) -> Answer | None:
        """The headers and body of the answer; None: the app answers this request."""
        if environ.get("REQUEST_METHOD") != "GET" or is_conditional(environ):
            return None
        path = environ.get("PATH_INFO", "")
        if path == ENDPOINT:
            return self.lookup(environ)
        if path.startswith(DOCUMENTS):
            return self.document(environ, path)
        return None

    def lookup(self, environ: dict) -> Answer | None:
        params = _parameters(environ)
        if params is None or list(params) != ["query"] or len(params.getlist("query")) != 1:
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
        # Not kept in the response cache: a lookup costs no more than looking it up
        # (response_cache.not_worth_keeping)
        return _headers(fmt, body, answer_headers(etag, snapshot.info)), body

    def document(self, environ: dict, path: str) -> Answer | None:
        kind, _, slug = path[len(DOCUMENTS):].partition("/")
        if kind not in KINDS or not SLUG.match(slug):
            return None  # a suffix (.ttl) or not an IRI of this dataset (404)
        accept = environ.get("HTTP_ACCEPT", "")
        if "HTTP_COOKIE" in environ or len(accept) > MAX_CACHED_ACCEPT:
            return None  # a browser's (the language cookie is part of the cache key)
        params = _parameters(environ)
        if params is None or "format" in params:
            return None
        fmt = by_accept(DOCUMENT_FORMATS, accept)
        if fmt is None or fmt is HTML:
            return None  # 406, or a page
        snapshot = self.publication.now
        key = response_cache.request_key(snapshot.info.version, environ)
        kept = self.cache.get(key)
        if kept is not None:  # what response_cache.lookup answers, with the app's hooks' headers
            _, headers, body = kept
            return [*headers, (response_cache.CACHE_HEADER, "hit")], body
        iri = f"{self.publication.settings.base_iri}id/{kind}/{slug}"
        try:
            triples = description_triples(snapshot, iri)
            if triples is None:
                return None  # 404
            body = triples_bytes(triples, fmt)
        except (StoreError, OSError):
            return None
        etag = document_etag(snapshot.info.version, path, fmt)
        headers = _headers(fmt, body, document_headers(iri, path, None, fmt, etag, snapshot.info),
                           (RELEASE_HEADER, snapshot.info.version))  # as headers.common_headers adds it
        response_cache.keep_answer(self.cache, key, 200, headers, body)  # as response_cache.keep
        return headers, body


def _headers(fmt: Format, body: bytes, about: list[tuple[str, str]], *last: tuple[str, str]) -> list[tuple[str, str]]:
    """The headers the Flask path sends, in its order: the body's, the answer's own (`about`),
    then those of headers.common_headers."""
    return [("Content-Type", fmt.content_type), ("Content-Length", str(len(body))), *about,
            *EVERY_ANSWER, NOSNIFF, *last]


def _parameters(environ: dict) -> Any:
    """The URL's parameters, decoded as the app decodes them; None if they are not UTF-8 (400)."""
    try:
        return decode_pairs(environ.get("QUERY_STRING", "").encode("latin-1"))
    except (BadRequest, UnicodeEncodeError):
        return None
