"""Answers kept in memory, keyed by release: the same GET to the same release is answered
without asking the store or serialising again.

A release never changes, so an answer is valid for as long as its release is served: the key
holds the release version, the URL and every request header the answer may vary on (Accept,
Accept-Language, Accept-Encoding, the language cookie), and a new release simply makes new
keys while the old ones age out. Only complete, public, 200 answers of GET of at most
MAX_BODY bytes are kept (not downloads, which stream from disk; not /healthz, which is never
cached), nor answers that set a
cookie; each server process keeps at most MAX_ENTRIES (cachelib's SimpleCache). An answer
from the cache says so: `FinHealthKG-Cache: hit`.

`keep` must be the first after_request hook registered (Flask runs them last registered first,
so it sees the answer as it is finally sent) and `lookup` the last before_request hook (the
access log has noted the request by then).
"""

from __future__ import annotations

import hashlib

from cachelib import SimpleCache
from flask import Flask, Response, current_app, g, request

from .caching import conditional
from .i18n import COOKIE
from .publication import served

CACHE_HEADER = "FinHealthKG-Cache"  # "hit" on an answer that came from this cache
MAX_ENTRIES = 2000
MAX_BODY = 256 * 1024
EXTENSION = "finhealthkg.response_cache"
_HIT = "finhealthkg_cache_hit"
_KEY = "finhealthkg_cache_key"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = SimpleCache(threshold=MAX_ENTRIES, default_timeout=0)


def lookup() -> Response | None:
    """A before_request hook: the kept answer to this request, if there is one."""
    if request.method != "GET":
        return None
    g.setdefault(_KEY, _key())
    kept = current_app.extensions[EXTENSION].get(g.get(_KEY))
    if kept is None:
        return None
    status, headers, body = kept
    g.setdefault(_HIT, True)
    response = Response(body, status=status, headers=headers)
    response.headers[CACHE_HEADER] = "hit"
    return conditional(response)


def keep(response: Response) -> Response:
    """An after_request hook: keep a cacheable answer as it is finally sent."""
    key = g.get(_KEY)
    if g.get(_HIT) or key is None:
        return response
    if (response.status_code != 200 or response.direct_passthrough or response.is_streamed
            or not _public(response) or "Set-Cookie" in response.headers):
        return response
    keep_answer(current_app.extensions[EXTENSION], key, response.status_code, list(response.headers.items()),
                response.get_data())
    return response


def keep_answer(cache: SimpleCache, key: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    """Keep an answer, as it is sent, under `key` (request_key's), unless it is too large."""
    if len(body) <= MAX_BODY:
        cache.set(key, (status, headers, body))


def _public(response: Response) -> bool:
    return "public" in (part.strip().lower() for part in response.headers.get("Cache-Control", "").split(","))


def _key() -> str:
    cookie = request.cookies.get(COOKIE, "") if "Cookie" in request.headers else ""
    return request_key(served().info.version, request.environ, cookie)


def request_key(version: str, environ: dict, cookie: str = "") -> str:
    """The key of a request's answer from release `version`; `cookie`: the language cookie's value."""
    # The URL as it came (werkzeug's request.full_path costs more, decoding and encoding it again)
    parts = [version, environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
             environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT", ""), environ.get("HTTP_ACCEPT_LANGUAGE", ""),
             environ.get("HTTP_ACCEPT_ENCODING", ""), cookie]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
