"""The publication as a request sees it: the `Publication` (serving.py) kept in the app, and
the snapshot a request is answered from."""

from __future__ import annotations

from flask import current_app

from ...serving import Publication, Snapshot

EXTENSION = "finhealthkg"
RELEASE_HEADER = "FinHealthKG-Release"  # on every answer: the release it comes from


def publication() -> Publication:
    return current_app.extensions[EXTENSION]


def served() -> Snapshot:
    """The release this request is answered from."""
    return publication().now
