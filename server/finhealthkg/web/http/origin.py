"""The origin that answers name (scheme, host and port of this server as its users reach it).

Links in answers, the fragments' Hydra controls, the reconciliation manifest and sd:endpoint are
built from the request's host as werkzeug reads it (`request.host_url`). So that host must be one
the operator chose, never what a client writes in `Host` (one request with `Host: evil.example`
would otherwise put evil.example in answers that caches keep for others):

- `--public-url https://kg.example.org`: every request is given that origin;
- else, behind trusted proxies (`--proxy-hops`), their X-Forwarded-Proto/Host/Port say it
  (werkzeug's ProxyFix, outside this middleware);
- else the address the server listens on (`http://127.0.0.1:8080`); a wildcard address
  (0.0.0.0, ::) names no host, so there the request's Host stays, and README says a public
  deployment sets `--public-url`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ...config import Settings, parse_origin

WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def public_origin(settings: Settings) -> str | None:
    """The origin every request is given, or None where the proxies' headers or Host say it."""
    if settings.public_url:
        return parse_origin(settings.public_url)
    if settings.proxy_hops or settings.host in WILDCARDS:
        return None
    host = f"[{settings.host}]" if ":" in settings.host and not settings.host.startswith("[") else settings.host
    return f"http://{host}:{settings.port}"


class PublicOrigin:
    """WSGI middleware: every request as if sent to `origin` (its scheme, Host, server name and port)."""

    def __init__(self, app: Callable, origin: str) -> None:
        self.app = app
        parts = urlsplit(origin)
        self.scheme = parts.scheme
        self.host = parts.netloc
        self.name = parts.hostname or ""
        self.port = str(parts.port or (443 if parts.scheme == "https" else 80))

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ["wsgi.url_scheme"] = self.scheme
        environ["HTTP_HOST"] = self.host
        environ["SERVER_NAME"] = self.name
        environ["SERVER_PORT"] = self.port
        return self.app(environ, start_response)
