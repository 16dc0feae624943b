"""A release's change set as a server and the command line read it: the names and media types
of its files (pipeline/changes.py computes and writes them at build time), and its summary
as a person reads it."""

from __future__ import annotations

from typing import Any

from .prefixes import PREFIXES

PATCH = "changes.rdfp"
ADDED = "changes-added.ttl"
REMOVED = "changes-removed.ttl"
SUMMARY = "changes.json"
PATCH_MEDIA_TYPE = "application/rdf-patch"
CHANGE_FILES = {PATCH: PATCH_MEDIA_TYPE, ADDED: "text/turtle", REMOVED: "text/turtle", SUMMARY: "application/json"}
UNTYPED = "(no type)"  # the class a changed thing without rdf:type is counted under


def summary_text(document: dict[str, Any]) -> str:
    """The summary as a person reads it on a terminal."""
    counts, things = document["triples"], document["things"]
    lines = [f"Changes from release {document['previous']} to {document['version']}: "
             f"{counts['added']} triple(s) added, {counts['removed']} removed."]
    if not counts["added"] and not counts["removed"]:
        lines.append("The knowledge graph is the same in both releases.")
        return "\n".join(lines) + "\n"
    lines.append(f"Things: {len(things['added'])} added, {len(things['removed'])} removed, "
                 f"{len(things['changed'])} changed.")
    for cls, kinds in document["by_type"].items():
        parts = ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
        lines.append(f"  {curie(cls)}: {parts}")
    for kind in ("added", "removed", "changed"):
        for thing in things[kind]:
            lines.append(f"{kind:>8}  {curie(thing['iri'])}")
    return "\n".join(lines) + "\n"


def curie(iri: str) -> str:
    """A prefixed name for a known namespace (the longest match), else the IRI in brackets."""
    best = max(((p, ns) for p, ns in PREFIXES.items() if iri.startswith(ns)), key=lambda pn: len(pn[1]), default=None)
    if best is None or iri == UNTYPED:
        return iri if iri == UNTYPED else f"<{iri}>"
    return f"{best[0]}:{iri[len(best[1]):]}"
