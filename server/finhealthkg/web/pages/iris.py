"""How a page names and links an IRI: on this server when it is one of this dataset's, and
short (a prefixed name) when a known namespace holds it."""

from __future__ import annotations

import re

from ...namespaces import KINDS, PREFIXES
from ..http.publication import publication

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # a thing's name, whole (fullmatch: "$" lets a final newline by)

_PREFIX_BY_NAMESPACE = sorted(((ns, prefix) for prefix, ns in PREFIXES.items()), key=lambda p: -len(p[0]))


def is_thing_iri(iri: str) -> bool:
    """Whether `iri` has the form of this dataset's things: <base>id/<kind>/<slug>."""
    base = publication().settings.base_iri + "id/"
    kind, slash, slug = iri[len(base):].partition("/")
    return iri.startswith(base) and bool(slash) and kind in KINDS and SLUG.fullmatch(slug) is not None


def local_url(iri: str) -> str:
    """Where a link to `iri` goes: this dataset's IRIs stay on this server, whatever its host;
    other http(s) IRIs are themselves; any other IRI (javascript:, data:, a query's IRI("…"))
    is no link at all: "" (the templates show it as text)."""
    base = publication().settings.base_iri
    if iri.startswith(base):
        return "/" + iri[len(base):]
    return iri if iri[:8].lower().startswith(("http://", "https://")) else ""


def short(iri: str) -> str:
    for namespace, prefix in _PREFIX_BY_NAMESPACE:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri
