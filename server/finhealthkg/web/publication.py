"""What the server publishes right now: a store, the release it holds, the release files.

The embedded store follows `var/releases/current`: when a build switches it, the next
request (at most once a second) opens the new release; if that fails, the old one keeps
serving and the failure is logged.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

from flask import current_app
from rdflib import Graph

from ..config import Settings
from ..describe import ReleaseInfo, release_info
from ..release import CURRENT, Release, ReleaseError, current_release
from ..stores import Store, StoreError

log = logging.getLogger(__name__)
EXTENSION = "finhealthkg"


@dataclass
class Snapshot:
    """One release as served: never changes; a new release gives a new snapshot."""

    store: Store
    info: ReleaseInfo
    release: Release | None  # the local release directory (downloads); None if not on disk
    graphs: tuple[str, ...]
    cache: dict[str, object] = field(default_factory=dict)  # per-release derived answers

    @cached_property
    def graph_triples(self) -> dict[str, int]:
        return {name: self.store.triple_count([name]) for name in self.graphs}

    def memo(self, key: str, compute):  # noqa: ANN001, ANN201 - any value
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def graph(self, name: str) -> Graph:
        """A whole named graph of the release as an rdflib Graph (small graphs only)."""
        def fetch() -> Graph:
            from ..namespaces import PREFIXES
            from .serialize import to_rdflib
            graph = to_rdflib(self.store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}"))
            for prefix, namespace in PREFIXES.items():
                graph.bind(prefix, namespace)
            return graph
        return self.memo(f"graph:{name}", fetch)


class Publication:
    def __init__(self, settings: Settings, snapshot: Snapshot, follow_current: bool) -> None:
        self.settings = settings
        self._snapshot = snapshot
        self._follow = follow_current
        self._link = os.readlink(settings.releases / CURRENT) if follow_current else None
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, store: Store | None = None) -> Publication:
        if store is not None:  # a store given by the caller (tests, remote stores)
            return cls(settings, _snapshot(settings, store, None), follow_current=False)
        release = current_release(settings)
        return cls(settings, _snapshot(settings, release.open_store(), release), follow_current=True)

    @property
    def now(self) -> Snapshot:
        """The snapshot to answer this request from."""
        if self._follow and time.monotonic() - self._checked > 1.0:
            self._follow_current()
        return self._snapshot

    def _follow_current(self) -> None:
        with self._lock:
            self._checked = time.monotonic()
            try:
                link = os.readlink(self.settings.releases / CURRENT)
            except OSError:
                return
            if link == self._link:
                return
            try:
                release = current_release(self.settings)
                snapshot = _snapshot(self.settings, release.open_store(), release)
            except (ReleaseError, StoreError) as error:
                log.error("release %s cannot be served, still serving %s: %s",
                          link, self._snapshot.info.version, error)
                self._link = link  # do not retry on every request
                return
            log.info("now serving release %s (was %s)", snapshot.info.version, self._snapshot.info.version)
            self._snapshot, self._link = snapshot, link


def _snapshot(settings: Settings, store: Store, release: Release | None) -> Snapshot:
    info = release_info(store, settings.base_iri)
    return Snapshot(store=store, info=info, release=release, graphs=tuple(store.graph_names()))


def publication() -> Publication:
    return current_app.extensions[EXTENSION]


def served() -> Snapshot:
    """The release this request is answered from."""
    return publication().now
