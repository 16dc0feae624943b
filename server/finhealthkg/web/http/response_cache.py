"""Answers kept in memory, keyed by release: the same GET to the same release is answered
without asking the store or serialising again.

A WSGI layer around the Flask app: a hit is answered before Flask sees the request, and a
miss goes through the app like every other request (there is one request path; this layer
only replays what it said). A release never changes, so an answer is valid for as long as its
release is served: the key holds the release version, the scheme and host (links in some
answers are built from them), the URL and every request header the answer may vary on
(Accept, Accept-Language, Accept-Encoding, the language cookie), and a new release simply
makes new keys while the old ones age out. Only complete, public, 200 answers of GET whose
body the app made in memory (not downloads, which stream from disk) of at most MAX_BODY bytes
are kept, nor answers that set a cookie; each server process keeps at most MAX_BYTES of them,
the least recently used going first (cachetools' LRUCache, sized in bytes). An answer from the
cache says so: `FinHealthKG-Cache: hit`. A conditional request (If-None-Match, Range ...) is
always the app's to judge, so that a hit and a miss answer it alike; an answer from another
release than the key's (the current one changed while the app answered) is not kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable

from cachetools import LRUCache
from flask import Response, request
from werkzeug.sansio.http import parse_cookie  # as request.cookies reads the header (no UTF-8 decoding)
from werkzeug.wsgi import get_host

from ...serving import Publication
from ..pages.i18n import COOKIE
from .access_log import QUERY_HASH
from .caching import is_conditional
from .publication import RELEASE_HEADER

CACHE_HEADER = "FinHealthKG-Cache"  # "hit" on an answer that came from this cache
MAX_BYTES = 32 * 1024 * 1024  # per server process
MAX_BODY = 256 * 1024
ENTRY_OVERHEAD = 500  # bytes of an entry besides its body and headers: the key, the tuple, the LRU's slots
HEADER_OVERHEAD = 160  # bytes of one kept header besides its text: two str objects and a tuple
EXTENSION = "finhealthkg.response_cache"
IN_MEMORY = "finhealthkg.in_memory"  # the WSGI environ key: the answer's body is bytes in memory

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
Kept = tuple[str, list[tuple[str, str]], bytes, str | None]  # status, headers, body, query hash


def note_in_memory(response: Response) -> Response:
    """An after_request hook: tell the cache whether the answer's body is bytes in memory (not a
    file sent from disk or a stream), the only kind it may keep."""
    if not (response.direct_passthrough or response.is_streamed):
        request.environ[IN_MEMORY] = True
    return response


class ResponseCache:
    """WSGI middleware: kept answers in front of `inner` (the Flask app's wsgi_app)."""

    def __init__(self, inner: WSGIApp, publication: Publication) -> None:
        self.inner = inner
        self.publication = publication
        self.kept: LRUCache = LRUCache(maxsize=MAX_BYTES, getsizeof=_size)
        self.lock = threading.Lock()  # a worker may have threads; LRUCache is not thread-safe

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET":
            return self.inner(environ, start_response)
        if is_conditional(environ):  # 304, 412, 206: the app judges, each route as it does
            return self.inner(environ, start_response)
        version = self.publication.now.info.version
        key = request_key(version, environ)
        with self.lock:
            kept: Kept | None = self.kept.get(key)
        if kept is not None:
            return _replay(kept, environ, start_response)
        sent: list = []

        def noting_start_response(status: str, headers: list[tuple[str, str]], exc_info=None):  # noqa: ANN001, ANN202
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        answer = self.inner(environ, noting_start_response)
        if not (sent and environ.get(IN_MEMORY) and _keepable(*sent, version)):
            return answer
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        if len(body) <= MAX_BODY:
            with self.lock:
                # without Date: the WSGI server dates each answer as it sends it
                headers = [(name, value) for name, value in sent[1] if name.lower() != "date"]
                self.kept[key] = (sent[0], headers, body, environ.get(QUERY_HASH))
        return [body]


def _size(kept: Kept) -> int:
    """The bytes an entry holds, near enough (measured with tracemalloc): its body, its headers
    (two strings and a tuple each) and a fixed overhead (the key, the entry, the LRU's books)."""
    return len(kept[2]) + sum(len(name) + len(value) + HEADER_OVERHEAD for name, value in kept[1]) + ENTRY_OVERHEAD


def _replay(kept: Kept, environ: dict, start_response: Callable) -> Iterable[bytes]:
    status, headers, body, query_hash = kept
    if query_hash is not None:  # the access log's, as the app would have noted it
        environ[QUERY_HASH] = query_hash
    start_response(status, [*headers, (CACHE_HEADER, "hit")])
    return [body]


def _keepable(status: str, headers: list[tuple[str, str]], version: str) -> bool:
    """A complete public answer without a cookie, from the release the key names (the current
    one may have changed while the app answered)."""
    if not status.startswith("200 "):
        return False
    public = False
    for name, value in headers:
        name = name.lower()
        if name == "set-cookie":
            return False
        if name == RELEASE_HEADER.lower() and value != version:
            return False
        if name == "cache-control":
            public = "public" in (part.strip().lower() for part in value.split(","))
    return public


def request_key(version: str, environ: dict) -> str:
    """The key of a request's answer from release `version`."""
    cookie = parse_cookie(environ["HTTP_COOKIE"]).get(COOKIE, "") if "HTTP_COOKIE" in environ else ""
    # The URL as it came (werkzeug's request.full_path costs more, decoding and encoding it again)
    # The host as werkzeug reads it (links are built from it; SERVER_NAME when Host is missing),
    # and the path the app routes on apart from the prefix a proxy may give (SCRIPT_NAME)
    parts = [version, environ.get("wsgi.url_scheme", ""), get_host(environ), environ.get("SCRIPT_NAME", ""),
             environ.get("PATH_INFO", ""),
             environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT", ""), environ.get("HTTP_ACCEPT_LANGUAGE", ""),
             environ.get("HTTP_ACCEPT_ENCODING", ""), cookie]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
