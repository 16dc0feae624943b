"""HTTP caching of answers from one release: its validators (ETag, Last-Modified) and
Cache-Control, and the conditional requests werkzeug judges (304, 412, 206)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from flask import Response, request
from werkzeug.http import http_date, quote_etag

from ...release import ReleaseInfo

# A release never changes: a client may keep its answers for a while. A shared cache (the front,
# deploy/nginx/; a CDN) asks again sooner, with If-None-Match, so that a new release reaches its
# clients within seconds of the servers switching to it.
SHARED_MAX_AGE = 5
CACHE_CONTROL = f"public, max-age=300, s-maxage={SHARED_MAX_AGE}"


def cacheable(response: Response, etag: str, info: ReleaseInfo) -> Response:
    """The validators and caching headers of an answer from one release (ETag, Last-Modified,
    Cache-Control), set as plain strings: werkzeug's header objects cost more than a point
    lookup does."""
    for name, value in validators(etag, info):
        response.headers[name] = value
    return response


# Requests whose answer may be a 304, 412 or 206: werkzeug's make_conditional is the judge
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE",
               "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE")


def is_conditional(environ: dict) -> bool:
    return any(name in environ for name in CONDITIONAL)


def conditional(response: Response) -> Response:
    """The answer to this request's conditions (304, 412), if it has any: werkzeug's
    make_conditional, left out when there are none (it would only add a Date header, which
    the WSGI server adds anyway)."""
    return response.make_conditional(request) if is_conditional(request.environ) else response


def validators(etag: str, info: ReleaseInfo) -> tuple[tuple[str, str], ...]:
    """ETag, Last-Modified and Cache-Control of an answer from one release."""
    return (("ETag", quote_etag(etag)), ("Last-Modified", _http_date(info.modified)),
            ("Cache-Control", CACHE_CONTROL))


@lru_cache(maxsize=16)  # the few releases served: formatted once each
def _http_date(modified: datetime) -> str:
    return http_date(modified)
