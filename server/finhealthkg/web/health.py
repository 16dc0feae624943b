"""GET /healthz: does the served release's store answer? For load balancers and monitors.

200 `{"status": "ok", "release": V, "store": "embedded"|"sparql"}` when `ASK {}` through the
served snapshot answers within `TIMEOUT` seconds; otherwise 503 with the same fields,
`"status": "unavailable"` and the reason. Never cached. One check runs at a time per
server process: concurrent health requests wait for the same answer, and a store that
hangs ties up one thread, not one per request.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import pyoxigraph
from flask import Blueprint, Response, jsonify

from ..stores import Store, StoreError
from ..stores.oxigraph import OxigraphStore
from .http.publication import served

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
    return _answer(200, snapshot.info.version, kind, None)


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


def _answer(status: int, release: str | None, store: str | None, reason: str | None) -> Response:
    body: dict[str, object] = {"status": "ok" if status == 200 else "unavailable", "release": release,
                               "store": store}
    if reason is not None:
        body["reason"] = reason
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
