"""What the server publishes right now: a store, the release it holds, the release files.
No Flask here: web/http/publication.py hands it to requests.

The server follows the current release: with the embedded store, the `current` symlink of
the releases directory; with an external store, the store's pointer graph. When it
changes, the next request (it is looked at every `--follow-seconds`, FOLLOW_SECONDS by
default) opens the new release; if that fails, the old one keeps serving and the failure is
logged.

Past releases (`/sparql?release=V`, `/releases/V/...`) are served from snapshots of their
own, opened on first use exactly as the current one is (read-only store, its own query
processes, the same checks) and kept for the next requests, a few at a time.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyoxigraph
from rdflib import Graph

from .config import Settings
from .namespaces import CATALOG_GRAPH, DATASET_GRAPHS, PREFIXES, VOID_GRAPH
from .query.admission import Admission
from .query.pool import QueryPool
from .query.process import Job
from .query.sandbox import CPU_MARGIN
from .release import (
    CURRENT,
    Release,
    ReleaseError,
    ReleaseInfo,
    ServedRelease,
    check_release,
    list_releases,
    release_info,
    release_to_serve,
)
from .stores import Store, StoreError
from .stores.oxigraph import OxigraphStore
from .terms import rdflib_graph

log = logging.getLogger(__name__)
FOLLOW_SECONDS = {"local": 1.0, "remote": 5.0}
KEEP_MEMORY = 256 * 2**20  # bytes: a query process holding more after a query is replaced
RELEASE_FILES = {str(CATALOG_GRAPH): "catalog.ttl", str(VOID_GRAPH): "void.ttl"}  # graphs served as written
MEMO_ENTRIES = 512  # per release and server process (Snapshot.memo)
RETRY_AFTER = 10  # seconds a client waits after a long query of its was refused a slot
REOPEN_SECONDS = 30  # after a release failed to open, a server process tries it again this much later
PAST_SNAPSHOTS = 4  # past releases kept open per server process; the least recently asked is closed
VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,80}")  # what a release name can be (release._new_version)


class UnknownRelease(LookupError):
    """A release this server does not hold (never built, its store removed, not kept by the store)."""


class ReleaseUnavailable(Exception):
    """A release this server holds but cannot serve (damaged); the message says why."""


@dataclass
class Snapshot:
    """One release as served: never changes; a new release gives a new snapshot."""

    store: Store
    info: ReleaseInfo
    release: Release | None  # the local release directory (downloads); None if not on disk
    graphs: tuple[str, ...]
    cache: dict[str, object] = field(default_factory=dict)  # per-release derived answers
    settings: Settings | None = None  # with it, public queries run in a QueryPool over the release's store
    admission: Admission | None = None

    @property
    def external(self) -> bool:
        """Whether an external store (Virtuoso) evaluates this release's queries."""
        return not isinstance(self.store, OxigraphStore)

    @cached_property
    def pool(self) -> QueryPool | None:
        """Confined, killable query processes, started on first use. On the embedded store they
        answer public queries; for an external store they read each public query first (its
        syntax and form, over an empty store), so that no user query is ever parsed, let alone
        evaluated, in a web worker (Oxigraph evaluates some queries while it parses them)."""
        s = self.settings
        if s is None:
            return None
        if not self.external:
            path = self.release.store_path if self.release is not None else self.store.path  # type: ignore[attr-defined]
            if path is None:
                return None
        else:
            path = _empty_store(s)
        return QueryPool(path, s.query_processes or s.threads, float(s.query_timeout),
                         memory=s.query_memory * 2**20, keep_memory=KEEP_MEMORY, admission=self.admission)

    def retire(self) -> None:
        """Another release is served now: stop this one's query processes when they are done."""
        pool = self.__dict__.get("pool")
        if pool is not None:
            pool.close()

    @cached_property
    def graph_triples(self) -> dict[str, int]:
        return {name: self.store.triple_count([name]) for name in self.graphs}

    def select(self, sparql: str, row_limit: int, client: str = "") -> pyoxigraph.QuerySolutions:
        """A SELECT of the publisher's own (the fragments) on the release's knowledge graph, run
        where public queries run: in a query process with the time limit, or by the external store;
        a query process's slots are those of `client` (an address) when the query is asked for one."""
        if self.external or self.pool is None:  # the publisher's own query: the store runs it
            return self.store.query(sparql)  # type: ignore[return-value]
        s = self.settings
        job = Job(sparql, tuple(str(g) for g in DATASET_GRAPHS), None, None, {"solutions": "json"}, row_limit,
                  s.max_answer_bytes if s else 64 * 2**20, float(s.query_timeout if s else 30) + CPU_MARGIN)
        answered = self.pool.run(job, client)
        return pyoxigraph.parse_query_results(answered.body, format=pyoxigraph.QueryResultsFormat.JSON)

    def memo(self, key: str, compute):  # noqa: ANN001, ANN201 - any value
        """compute(), kept for this release under `key`; at most MEMO_ENTRIES are kept, the least
        recently used going first (some keys come from requests: a type asked for, a host name)."""
        cache = self.cache
        if key in cache:
            cache[key] = value = cache.pop(key)  # most recently used: last
            return value
        value = cache[key] = compute()
        while len(cache) > MEMO_ENTRIES:
            cache.pop(next(iter(cache)))
        return value

    def graph(self, name: str) -> Graph:
        """A whole named graph of the release as an rdflib Graph (small graphs only). The VoID
        and the catalogue come from the release's own files, as the build wrote and validated
        them: a store gives numbers back in its own types (Oxigraph reads dcat:byteSize's
        xsd:nonNegativeInteger as xsd:integer), and a harvester checks the datatypes."""
        def fetch() -> Graph:
            written = RELEASE_FILES.get(name)
            if written and self.release is not None and (self.release.path / written).is_file():
                graph = Graph().parse(self.release.path / written, format="turtle")
            else:
                whole = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}"
                graph = rdflib_graph(self.store.query(whole))
            for prefix, namespace in PREFIXES.items():
                graph.bind(prefix, namespace)
            return graph
        return self.memo(f"graph:{name}", fetch)


@dataclass
class Follower:
    """How to tell which release is current (a cheap key) and how to open it."""

    kind: str
    key: Callable[[], str | None]
    open: Callable[[], Snapshot]


class Publication:
    def __init__(self, settings: Settings, follower: Follower | None, snapshot: Snapshot) -> None:
        self.settings = settings
        self._follower = follower
        self._follow_seconds = (settings.follow_seconds if settings.follow_seconds is not None
                                else FOLLOW_SECONDS[follower.kind] if follower else 0.0)
        self._snapshot = snapshot
        self._key = follower.key() if follower else None
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._past: OrderedDict[str, Snapshot] = OrderedDict()

    @classmethod
    def open(cls, settings: Settings, store: Store | None = None) -> Publication:
        if store is not None:  # a store given by the caller: served as it is
            return cls(settings, None, _snapshot(settings, store, None))
        follower = _remote_follower(settings) if settings.store_url else _local_follower(settings)
        return cls(settings, follower, follower.open())

    @property
    def now(self) -> Snapshot:
        """The snapshot to answer from now (the current release, looked at again every FOLLOW_SECONDS)."""
        if self._follower and time.monotonic() - self._checked > self._follow_seconds:
            self._follow()
        return self._snapshot

    def release(self, version: str | None) -> Snapshot:
        """The snapshot of release `version` (None: the current one); UnknownRelease when this server
        does not hold it (never built, its store removed, or not kept by the external store)."""
        now = self.now
        if version is None or version == now.info.version:
            return now
        if not VERSION.fullmatch(version):
            raise UnknownRelease(f"there is no release {version!r}; /releases/ lists them")
        with self._lock:
            if version in self._past:
                self._past.move_to_end(version)
                return self._past[version]
            snapshot = self._open_past(version)
            self._past[version] = snapshot
            while len(self._past) > PAST_SNAPSHOTS:
                self._past.popitem(last=False)[1].retire()
            return snapshot

    def _open_past(self, version: str) -> Snapshot:
        settings = self.settings
        local = next((r for r in list_releases(settings) if r.version == version), None)
        if settings.store_url:
            from .stores import sparql as remote  # requests: only for an external store

            view = remote.release_view(remote.connection_from(settings), settings.base_iri, version)
            if view is None:
                held = "it was never loaded there or `finhealthkg load --keep` dropped it"
                raise UnknownRelease(f"the store behind this server does not hold release {version!r} ({held}); "
                               "/releases/ lists the releases")
            return _snapshot(settings, view, local)
        if local is None:
            raise UnknownRelease(f"there is no release {version!r}; /releases/ lists them")
        if not local.has_store:
            raise UnknownRelease(f"release {version} cannot be queried: `finhealthkg build --keep` removed its store; "
                           f"its files are still at /downloads/{version}/")
        try:
            release, store = check_release(local.path)
        except ReleaseError as error:
            log.error("release %s cannot be served: %s", version, error)
            raise ReleaseUnavailable(f"release {version} cannot be served: {error}") from None
        return _snapshot(settings, store, release)

    def _follow(self) -> None:
        assert self._follower is not None
        with self._lock:
            self._checked = time.monotonic()
            try:
                key = self._follower.key()
            except (OSError, StoreError) as error:
                log.warning("cannot tell which release is current, still serving %s: %s",
                            self._snapshot.info.version, error)
                return
            if key == self._key or key is None:
                return
            try:
                snapshot = self._follower.open()
            except (ReleaseError, StoreError) as error:
                # Tried again later, not on every request; and not never: a failure that passes
                # (one process short of memory, the store busy) must not leave this process on the
                # old release while the others serve the new one, until a restart.
                log.error("release %s cannot be served, still serving %s: %s (trying again in %d s)",
                          key, self._snapshot.info.version, error, REOPEN_SECONDS)
                self._checked = time.monotonic() + REOPEN_SECONDS - self._follow_seconds
                return
            log.info("now serving release %s (was %s)", snapshot.info.version, self._snapshot.info.version)
            previous, self._snapshot, self._key = self._snapshot, snapshot, key
            previous.retire()


def _local_follower(settings: Settings) -> Follower:
    """Follows the `current` link of the releases directory.

    The first open serves `current` if it is fit to serve (`check_release`: complete,
    checksums, a store holding the manifest's triples), else the newest older release that
    is, and says why on stderr; no release fit to serve is a ReleaseError. Each later open,
    when `current` names another release, takes it only if it is fit to serve; otherwise
    the ReleaseError makes the Publication keep the release it serves and log why.
    """
    opened = False

    def key() -> str | None:
        try:
            return os.readlink(settings.releases / CURRENT)
        except FileNotFoundError:  # no link (yet): nothing to follow until a build makes one
            return None

    def open_current() -> Snapshot:
        nonlocal opened
        if not opened:
            served = _first_release(settings)
            opened = True
            return _snapshot(settings, served.store, served.release)
        release, store = _followed_release(settings)
        return _snapshot(settings, store, release)
    return Follower("local", key, open_current)


def _first_release(settings: Settings) -> ServedRelease:
    """The release a starting server serves (`release_to_serve`), any fallback logged."""
    served = release_to_serve(settings)
    if not served.is_current:
        log.warning("%s", served.explanation())
    return served


def _followed_release(settings: Settings) -> tuple[Release, Store]:
    """The release `current` names now, if it is fit to serve; ReleaseError saying why not."""
    link = settings.releases / CURRENT
    target = link.resolve()
    if not target.is_dir():
        raise ReleaseError(f"{link} points at {target}, which does not exist")
    return check_release(target)


def _remote_follower(settings: Settings) -> Follower:
    from .stores import sparql as remote  # requests: only for an external store

    connection = remote.connection_from(settings)

    def current() -> remote.RemoteStore:
        view = remote.current_release_view(connection, settings.base_iri)
        if view is None:
            raise StoreError(f"the store {remote.redact(connection.query_url)} holds no release of "
                             f"<{settings.base_iri}dataset>: run `finhealthkg load --store URL` first")
        return view

    def key() -> str | None:
        return current().version

    def open_current() -> Snapshot:
        view = current()
        local = next((r for r in list_releases(settings) if r.version == view.version), None)
        return _snapshot(settings, view, local)
    return Follower("remote", key, open_current)


def _snapshot(settings: Settings, store: Store, release: Release | None) -> Snapshot:
    info = release_info(store, settings.base_iri)
    return Snapshot(store=store, info=info, release=release, graphs=tuple(store.graph_names()),
                    settings=settings, admission=_admission(settings))


_ADMISSIONS: dict[Path, Admission] = {}


def _run_directory(settings: Settings) -> Path:
    """What the worker processes of one server share (serve.py makes it); a private one for an
    app made without a server (tests, scripts)."""
    return settings.run_dir or Path(tempfile.gettempdir()) / f"finhealthkg-{os.getpid()}"


def _empty_store(settings: Settings) -> Path:
    """An empty Oxigraph store of this process's own, for query processes that only read queries."""
    path = _run_directory(settings) / f"empty-store-{os.getpid()}"
    if not (path / "CURRENT").exists():
        path.mkdir(parents=True, exist_ok=True)
        store = pyoxigraph.Store(str(path))
        store.flush()
        del store
    return path


def _admission(settings: Settings) -> Admission:
    """The heavy-query slots of this server: in its run directory, shared by its worker processes."""
    directory = _run_directory(settings)
    if directory not in _ADMISSIONS:
        _ADMISSIONS[directory] = Admission(directory, settings.heavy_queries, settings.heavy_per_client,
                                           RETRY_AFTER)
    return _ADMISSIONS[directory]
