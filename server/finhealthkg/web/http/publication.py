"""The publication as a request sees it: the `Publication` (serving.py) kept in the app, and
the snapshot a request is answered from."""

from __future__ import annotations

from flask import current_app, g

from ...serving import Publication, Snapshot

EXTENSION = "finhealthkg"
RELEASE_HEADER = "FinHealthKG-Release"  # on every answer: the release it comes from


def publication() -> Publication:
    return current_app.extensions[EXTENSION]


def served() -> Snapshot:
    """The release this request is answered from: taken once per request, so that an answer
    never mixes two releases when the current one changes while it is made."""
    snapshot = g.get("finhealthkg_snapshot")
    if snapshot is None:
        snapshot = g.finhealthkg_snapshot = publication().now
    return snapshot


def served_release(version: str | None) -> Snapshot:
    """Release `version`'s snapshot, or this request's current one (None, or its version)."""
    now = served()
    if version is None or version == now.info.version:
        return now
    return publication().release(version)
