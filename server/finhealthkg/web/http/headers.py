"""Headers every answer carries: CORS (public data: any portal may query it), nosniff, the
release that answered; pages also get the security headers (security.py) and vary on the
reader's language."""

from __future__ import annotations

from flask import Response, request

from ..pages.i18n import remember
from . import response_cache, security
from .publication import RELEASE_HEADER, served

CORS_EXPOSED = ", ".join(["ETag", "Last-Modified", "Link", "Content-Location", "Content-Length",
                          "Content-Range", "Accept-Ranges", "Vary", RELEASE_HEADER, "FinHealthKG-Row-Limit",
                          response_cache.CACHE_HEADER])
# Those that do not depend on the answer, in the order they are sent
EVERY_ANSWER = (("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", CORS_EXPOSED))
NOSNIFF = ("X-Content-Type-Options", "nosniff")


def common_headers(response: Response) -> Response:
    """An after_request hook."""
    headers = response.headers
    if "Access-Control-Allow-Origin" in headers:  # set by a route: replaced
        for name, value in EVERY_ANSWER:
            headers[name] = value
    else:
        headers.extend(EVERY_ANSWER)  # one call: cheaper than setting them one by one
    if request.method == "OPTIONS":  # preflight
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
        headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "Accept, Content-Type, If-None-Match, Range")
        headers["Access-Control-Max-Age"] = "86400"
    headers.setdefault(*NOSNIFF)
    mimetype = response.mimetype  # parsed from Content-Type: once
    security.add_headers(response, mimetype)
    if mimetype == "text/html":  # pages speak the reader's language
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        remember(response)
    if RELEASE_HEADER not in headers:  # a past release's answer names its own
        try:
            headers[RELEASE_HEADER] = served().info.version
        except RuntimeError:  # outside an app context (should not happen)
            pass
    return response
