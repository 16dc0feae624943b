"""How a page names and links an IRI: on this server when it is one of this dataset's, and
short (a prefixed name) when a known namespace holds it."""

from __future__ import annotations

from ...namespaces import PREFIXES
from ..http.publication import publication

_PREFIX_BY_NAMESPACE = sorted(((ns, prefix) for prefix, ns in PREFIXES.items()), key=lambda p: -len(p[0]))


def local_url(iri: str) -> str:
    """Links to this dataset's IRIs stay on this server, whatever its host."""
    base = publication().settings.base_iri
    return "/" + iri[len(base):] if iri.startswith(base) else iri


def short(iri: str) -> str:
    for namespace, prefix in _PREFIX_BY_NAMESPACE:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri
