"""`create_app(settings)`: the Flask app, one blueprint per concern, headers every answer
carries (CORS, the release version), security headers on pages (security.py), errors mapped
to statuses in one place."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Settings
from ..stores import Store
from . import (
    access_log,
    description,
    downloads,
    fragments,
    health,
    reconcile,
    releases,
    resources,
    response_cache,
    search,
    security,
    sparql,
)
from .errors import register_error_handlers
from .i18n import LANGUAGES, NAMES, language, remember, words
from .publication import EXTENSION, RELEASE_HEADER, Publication, served

CORS_EXPOSED = ", ".join(["ETag", "Last-Modified", "Link", "Content-Location", "Content-Length",
                          "Content-Range", "Accept-Ranges", "Vary", RELEASE_HEADER, "FinHealthKG-Row-Limit",
                          response_cache.CACHE_HEADER])


def create_app(settings: Settings, store: Store | None = None) -> Flask:
    """The publisher's app: serves the current release, or `store` when one is given."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions[EXTENSION] = publication = Publication.open(settings, store)
    _ = publication.now.pool  # start the query processes now, not on the first query
    register_error_handlers(app)
    for module in (sparql, resources, downloads, description, health, releases, fragments, search, reconcile):
        app.register_blueprint(module.blueprint)
    response_cache.init_app(app)
    app.after_request(response_cache.keep)  # registered first: runs last, on the answer as sent
    access_log.init_app(app)
    security.init_app(app)
    app.after_request(_common_headers)
    app.before_request(response_cache.lookup)  # registered last: after the access log's
    app.context_processor(_page_words)
    if settings.proxy_hops:  # behind TLS-terminating proxies: the public scheme and host
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore
    return app


def _page_words() -> dict:
    """What every page template knows: the reader's language and the words in it."""
    lang = language()
    links = []
    for code in LANGUAGES:  # the same page in another language: every other parameter kept
        args = request.args.to_dict(flat=False)
        args["lang"] = [code]
        links.append((code, NAMES[code], f"{request.path}?{urlencode(args, doseq=True)}"))
    return {"lang": lang, "words": words(lang), "languages": links}


def _common_headers(response: Response) -> Response:
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"  # public data: any portal may query it
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    if request.method == "OPTIONS":  # preflight
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
        headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "Accept, Content-Type, If-None-Match, Range")
        headers["Access-Control-Max-Age"] = "86400"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    security.add_headers(response)
    if response.mimetype == "text/html":  # pages speak the reader's language
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        remember(response)
    if RELEASE_HEADER not in headers:  # a past release's answer names its own
        try:
            headers[RELEASE_HEADER] = served().info.version
        except RuntimeError:  # outside an app context (should not happen)
            pass
    return response
