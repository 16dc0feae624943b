"""GET /healthz: can the served release answer every kind of request? For load balancers and monitors.

200 `{"status": "ok", "release": V, "store": "embedded"|"sparql", "parts": {...}}` when every
part a request needs works: "store" (`ASK {}` through the served snapshot answers within
`TIMEOUT` seconds), "search" (the release's search index opens and answers a lookup) and
"downloads" (every file of the release is there with the size its manifest gives; the
checksums are read when a release is opened, release.check_release). Each part is "ok", or
why not, with paths relative to the releases directory; a server without the release files
(an external store) says "not served here" for search and downloads, which is not a fault.
Otherwise 503 with the same fields, `"status": "unavailable"` and the first reason. Never
cached. One store check runs at a time per server process: concurrent health requests wait
for the same answer, and a store that hangs ties up one thread, not one per request.
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import pyoxigraph
from flask import Blueprint, Response, jsonify

from ..release import Release
from ..search.index import INDEX_FILE
from ..serving import Snapshot
from ..stores import Store, StoreError
from ..stores.oxigraph import OxigraphStore
from .http.errors import ServiceUnavailable
from .http.publication import served
from .http.served_search import search_index

OK = "ok"
ABSENT = "not served here: this server has no release files (an external store)"

blueprint = Blueprint("health", __name__)
TIMEOUT = 5.0  # seconds the store has to answer

_lock = threading.Lock()
_pending: tuple[Store, Future] | None = None  # the last check: of which store, its answer
_executor: ThreadPoolExecutor | None = None  # made on first use, in the process that serves


@blueprint.route("/healthz", methods=["GET"])
def healthz() -> Response:
    try:
        snapshot = served()
    except Exception as error:  # noqa: BLE001 - whatever it is, the answer is 503
        return _answer(503, None, None, f"no release is served: {_reason(error)}")
    store = snapshot.store
    kind = "embedded" if isinstance(store, OxigraphStore) else "sparql"
    try:
        answered = _check(store).result(timeout=TIMEOUT)
    except FutureTimeout:
        return _answer(503, snapshot.info.version, kind, f"the store did not answer within {TIMEOUT:g} s")
    except Exception as error:  # noqa: BLE001
        return _answer(503, snapshot.info.version, kind, _reason(error))
    if answered is not True:
        return _answer(503, snapshot.info.version, kind, f"ASK {{}} answered {answered!r}, not true")
    parts = {"store": OK, "search": _search_part(snapshot), "downloads": _downloads_part(snapshot)}
    broken = next((reason for reason in parts.values() if reason not in (OK, ABSENT)), None)
    return _answer(503 if broken else 200, snapshot.info.version, kind, broken, parts)


def _search_part(snapshot: Snapshot) -> str:
    release = snapshot.release
    if release is None:
        return ABSENT
    # The file first: an index this process opened before it was damaged or removed still
    # answers here, but not in a worker that starts now.
    fault = _file_fault(release, INDEX_FILE) if INDEX_FILE in release.checked_files() else None
    if fault:
        return f"search: {fault}"
    try:
        search_index().search("biobank", limit=1)
    except ServiceUnavailable as error:
        return f"search: {error.message}"
    except sqlite3.Error as error:
        return f"search: the index of release {snapshot.release.version} cannot be read: {error}"
    return OK


def _downloads_part(snapshot: Snapshot) -> str:
    release = snapshot.release
    if release is None:
        return ABSENT
    for name in sorted(release.checked_files()):
        fault = _file_fault(release, name)
        if fault:
            return f"downloads: {fault}"
    return OK


def _file_fault(release: Release, name: str) -> str | None:
    """Why a file of the release is not as its manifest gives it (missing, another size), or None."""
    expected = release.checked_files()[name]["bytes"]
    try:
        size = (release.path / name).stat().st_size
    except OSError:
        return f"{release.version}/{name} is missing"
    return f"{release.version}/{name} has {size} bytes, its release says {expected}" if size != expected else None


def _check(store: Store) -> Future:
    """The check of `store` in flight, or a new one."""
    global _executor, _pending
    with _lock:
        if _pending is None or _pending[0] is not store or _pending[1].done():
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")
            _pending = (store, _executor.submit(_ask, store))
        return _pending[1]


def _ask(store: Store) -> object:
    answer = store.query("ASK {}")
    return bool(answer) if isinstance(answer, pyoxigraph.QueryBoolean) else answer


def _reason(error: BaseException) -> str:
    # StoreError messages name the store with its credentials redacted; others only by kind.
    return str(error) if isinstance(error, StoreError) and str(error) else type(error).__name__


def _answer(status: int, release: str | None, store: str | None, reason: str | None,
            parts: dict[str, str] | None = None) -> Response:
    body: dict[str, object] = {"status": "ok" if status == 200 else "unavailable", "release": release,
                               "store": store}
    if parts is not None:
        body["parts"] = parts
    if reason is not None:
        body["reason"] = reason
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
