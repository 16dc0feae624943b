"""A short way through for the commonest request: GET /doc/<kind>/<slug> in an RDF format.

A description costs the store a few milliseconds; Flask's request context, routing, hooks and werkzeug's
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

from flask import Flask

from ..namespaces import KINDS
from ..serving import Publication
from ..stores import StoreError
from . import response_cache
from .caching import is_conditional
from .errors import BadRequest
from .headers import EVERY_ANSWER, NOSNIFF
from .negotiation import DOCUMENT_FORMATS, HTML, MAX_CACHED_ACCEPT, Format, by_accept
from .protocol import decode_pairs
from .publication import EXTENSION, RELEASE_HEADER
from .resources import SLUG, description_triples, document_etag, document_headers
from .serialize import triples_bytes

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
Answer = tuple[list[tuple[str, str]], bytes]  # headers, body of a 200
DOCUMENTS = "/doc/"


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
        if path.startswith(DOCUMENTS):
            return self.document(environ, path)
        return None

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
