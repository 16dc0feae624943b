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
cache says so: `FinHealthKG-Cache: hit`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable

from cachetools import LRUCache
from flask import Response, request
from werkzeug.sansio.http import parse_cookie  # as request.cookies reads the header (no UTF-8 decoding)

from ...serving import Publication
from ..pages.i18n import COOKIE
from .access_log import QUERY_HASH
from .caching import is_conditional

CACHE_HEADER = "FinHealthKG-Cache"  # "hit" on an answer that came from this cache
MAX_BYTES = 32 * 1024 * 1024  # per server process
MAX_BODY = 256 * 1024
ENTRY_OVERHEAD = 300  # bytes of an entry besides its body and headers: the key, the tuple, the dict's slot
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
        key = request_key(self.publication.now.info.version, environ)
        with self.lock:
            kept: Kept | None = self.kept.get(key)
        if kept is not None:
            return _replay(kept, environ, start_response)
        sent: list = []

        def noting_start_response(status: str, headers: list[tuple[str, str]], exc_info=None):  # noqa: ANN001, ANN202
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        answer = self.inner(environ, noting_start_response)
        if not (sent and environ.get(IN_MEMORY) and _keepable(*sent)):
            return answer
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        if len(body) <= MAX_BODY:
            with self.lock:
                self.kept[key] = (sent[0], list(sent[1]), body, environ.get(QUERY_HASH))
        return [body]


def _size(kept: Kept) -> int:
    """The bytes an entry holds, near enough: its body, its headers and a fixed overhead."""
    return len(kept[2]) + sum(len(name) + len(value) for name, value in kept[1]) + ENTRY_OVERHEAD


def _replay(kept: Kept, environ: dict, start_response: Callable) -> Iterable[bytes]:
    status, headers, body, query_hash = kept
    if query_hash is not None:  # the access log's, as the app would have noted it
        environ[QUERY_HASH] = query_hash
    headers = [*headers, (CACHE_HEADER, "hit")]
    if is_conditional(environ):  # 304, 412 or 206: werkzeug judges, as for a fresh answer
        response = Response(body, status=status, headers=headers).make_conditional(environ)
        return response(environ, start_response)
    start_response(status, headers)
    return [body]


def _keepable(status: str, headers: list[tuple[str, str]]) -> bool:
    if not status.startswith("200 "):
        return False
    public = False
    for name, value in headers:
        name = name.lower()
        if name == "set-cookie":
            return False
        if name == "cache-control":
            public = "public" in (part.strip().lower() for part in value.split(","))
    return public


def request_key(version: str, environ: dict) -> str:
    """The key of a request's answer from release `version`."""
    cookie = parse_cookie(environ["HTTP_COOKIE"]).get(COOKIE, "") if "HTTP_COOKIE" in environ else ""
    # The URL as it came (werkzeug's request.full_path costs more, decoding and encoding it again)
    parts = [version, environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""),
             environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
             environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT", ""), environ.get("HTTP_ACCEPT_LANGUAGE", ""),
             environ.get("HTTP_ACCEPT_ENCODING", ""), cookie]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
