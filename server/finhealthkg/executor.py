"""Public queries on the embedded store run in worker processes that can be stopped.

pyoxigraph's `Store.query` has no timeout and cannot be interrupted in a thread. So each
server process keeps a few query processes, each with the release's store open read-only.
A query goes to an idle one; if it is not answered by the deadline, that process is killed
(its CPU is released at once) and replaced, and the client gets a timeout. A query that
runs longer than a moment is reniced, so short queries of other clients keep their speed.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from .query_process import Job
from .stores.base import QueryTimeout, StoreError

log = logging.getLogger(__name__)
NICE_AFTER = 0.1  # seconds: a query running longer yields the CPU to short ones
LOW_PRIORITY = 15
# The query process imports this package from where this process did, however it was installed.
_CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(Path(__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])}


class QueryFailed(Exception):
    """The store refused the query (a syntax error it found, or an evaluation error)."""


@dataclass(frozen=True)
class Outcome:
    body: bytes
    truncated: bool


class _Worker:
    """One query process (query_process.py) and its end of the pipe."""

    def __init__(self, store_path: Path) -> None:
        ours, theirs = socket.socketpair()
        # Only the child's end is passed on (close_fds): when this process dies, the pipe closes
        # and the query process ends by itself.
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from finhealthkg.query_process import main; main(sys.argv[1:])",
             str(theirs.fileno()), str(store_path)],
            pass_fds=(theirs.fileno(),), env=_CHILD_ENV, stdin=subprocess.DEVNULL)
        theirs.close()
        self.connection = Connection(ours.detach())
        self.niced = False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("query process %d did not end within 5 s of SIGKILL", self.process.pid)
        self.connection.close()


class QueryPool:
    """`size` query processes over one release's store; `run` answers or raises QueryTimeout."""

    def __init__(self, store_path: Path, size: int, timeout: float) -> None:
        self.store_path = store_path
        self.timeout = timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        for _ in range(max(1, size)):
            self._add()

    def run(self, job: Job) -> Outcome:
        deadline = time.monotonic() + self.timeout
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise QueryTimeout(f"every query process was busy for the limit of {self.timeout:g} s; "
                               "try again later") from None
        try:
            worker.connection.send(job)
            if not worker.connection.poll(min(NICE_AFTER, max(0.0, deadline - time.monotonic()))):
                self._lower_priority(worker)
                if not worker.connection.poll(max(0.0, deadline - time.monotonic())):
                    self._replace(worker)
                    worker = None
                    raise QueryTimeout(f"the query ran longer than the limit of {self.timeout:g} s and was stopped")
            kind, *payload = worker.connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            if worker is not None:
                self._replace(worker)
                worker = None
            raise StoreError("a query process ended unexpectedly; the query was not answered") from None
        finally:
            if worker is not None:
                self._give_back(worker)
        if kind == "ok":
            return Outcome(body=payload[0], truncated=payload[1])
        raise QueryFailed(payload[0])

    def close(self) -> None:
        """Stop the idle processes now, the busy ones when they finish."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break

    def _add(self) -> None:
        worker = _Worker(self.store_path)
        with self._lock:
            self._workers.add(worker)
        self._idle.put(worker)

    def _give_back(self, worker: _Worker) -> None:
        if self._closed:
            worker.kill()
        elif worker.niced and not _restore_priority(worker):
            self._replace(worker)  # cannot raise its priority again: a fresh one instead
        else:
            self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
        if not self._closed:  # a new process takes a moment to start: not on the request's time
            threading.Thread(target=self._add, daemon=True).start()

    @staticmethod
    def _lower_priority(worker: _Worker) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, worker.process.pid, LOW_PRIORITY)
            worker.niced = True
        except OSError:
            pass


def _restore_priority(worker: _Worker) -> bool:
    try:
        os.setpriority(os.PRIO_PROCESS, worker.process.pid, 0)
    except OSError:
        return False
    worker.niced = False
    return True
