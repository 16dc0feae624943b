"""Public queries on an external store (Virtuoso), waited for as the pool waits for a query
process (pool.py): stopped when their client leaves, and needing heavy-query slots
(admission.py) once they run long.

The store's CPU cannot be seen from here, so a query is heavy after HEAVY_WALL seconds of
waiting. The request runs in a thread of its own; this thread watches the client's connection
and the clock, and ends the request by shutting its connection down (stores/base.Cancel):
the store sees its client go, and its own time limit (sent with every query) ends what it
still computes.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import TypeVar

from ..stores.base import Cancel, QueryTimeout
from .admission import Admission, Slots
from .pool import CLIENT_LOOK, Busy, ClientGone, client_gone

HEAVY_WALL = 0.5  # seconds an external store may take before the query needs heavy slots
MARGIN = 5.0  # seconds past the time limit before the request is ended here (the store's own limit first)
T = TypeVar("T")


def run_upstream(call: Callable[[Cancel], T], *, timeout: float, admission: Admission | None, address: str,
                 client: socket.socket | None) -> T:
    """`call(cancel)`'s result, or Busy / ClientGone / QueryTimeout (after `timeout` seconds and
    a margin) after ending it; its own errors pass on."""
    if admission is not None:
        waiting = admission.waiting(address)
        if waiting:
            raise Busy("a query of yours was stopped for want of room for long queries a moment ago; "
                       f"try again in {waiting} s", waiting)
    cancel = Cancel()
    done_read, done_write = os.pipe()
    outcome: dict[str, object] = {}

    def request() -> None:
        try:
            outcome["value"] = call(cancel)
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = error
        finally:  # this thread owns the pipe's writing end: it is never written once closed
            try:
                os.write(done_write, b".")
            except OSError:
                pass
            os.close(done_write)

    thread = threading.Thread(target=request, name="finhealthkg-upstream", daemon=True)
    slots: Slots | None = None
    try:
        thread.start()
        began = time.monotonic()
        heavy_at, deadline = began + HEAVY_WALL, began + timeout + MARGIN
        watched: list = [done_read] + ([client] if client is not None else [])
        while True:
            until = heavy_at if slots is None and admission is not None else deadline
            step = until - time.monotonic()
            if client is not None and client not in watched:
                step = min(step, CLIENT_LOOK)  # bytes wait on its socket: look every so often
            ready = wait(watched, timeout=max(0.0, step))
            if done_read in ready:
                break
            if time.monotonic() >= deadline:
                cancel.now()
                raise QueryTimeout(f"the query ran longer than the limit of {timeout:g} s and was stopped")
            if client is not None and (client in ready or client not in watched):
                if client_gone(client):
                    cancel.now()
                    raise ClientGone()
                watched = [done_read]  # bytes wait to be read (a pipelined request): not gone
            if slots is None and admission is not None and time.monotonic() >= heavy_at:
                slots = admission.take_heavy(address)
                if slots is None:
                    admission.penalize(address)
                    cancel.now()
                    raise Busy(f"the query runs long, and as many long queries as this server runs at once "
                               f"(or one of yours) are running; try again in {admission.retry_after} s",
                               admission.retry_after)
    finally:
        if slots is not None:
            slots.release()
        if cancel.cancelled:
            thread.join(timeout=5)  # a cancelled request ends as soon as its socket is shut down
        os.close(done_read)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
