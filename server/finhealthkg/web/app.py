"""`create_app(settings)`: the Flask app, one blueprint per concern, headers every answer
carries (CORS, the release version), security headers on pages (security.py), errors mapped
to statuses in one place."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Settings
from ..serving import Publication
from ..stores import Store
from . import (
    description,
    downloads,
    fragments,
    health,
    releases,
    resources,
    search,
    sparql,
)
from .http import access_log, headers, response_cache, security
from .http.errors import register_error_handlers
from .http.origin import PublicOrigin, public_origin
from .http.publication import EXTENSION
from .pages.i18n import LANGUAGES, NAMES, language, words
from .reconciliation import service as reconciliation


def create_app(settings: Settings, store: Store | None = None) -> Flask:
    """The publisher's app: serves the current release, or `store` when one is given."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.extensions[EXTENSION] = publication = Publication.open(settings, store)
    _ = publication.now.pool  # start the query processes now, not on the first query
    register_error_handlers(app)
    for module in (sparql, resources, downloads, description, health, releases, fragments, search, reconciliation):
        app.register_blueprint(module.blueprint)
    app.after_request(response_cache.note_in_memory)
    access_log.init_app(app)
    security.init_app(app)
    app.after_request(headers.common_headers)
    app.context_processor(_page_words)
    cache = response_cache.ResponseCache(app.wsgi_app, publication)
    app.extensions[response_cache.EXTENSION] = cache.kept
    app.wsgi_app = cache  # type: ignore[method-assign]
    origin = public_origin(settings)
    if origin is not None:  # the origin answers name: never a client's Host (origin.py)
        app.wsgi_app = PublicOrigin(app.wsgi_app, origin)  # type: ignore[method-assign]
    if settings.proxy_hops:  # behind TLS-terminating proxies: the client's address (and the origin, if not set)
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
