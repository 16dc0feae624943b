"""Public queries on the embedded store run in query processes (process.py) that can be stopped.

pyoxigraph's `Store.query` has no timeout and cannot be interrupted in a thread. So each
server process keeps a few query processes, confined by the kernel (sandbox.py), each with the
release's store open read-only. A query goes to an idle one. If it is still running after a
moment it is heavy and needs slots (admission.py); it runs on at low priority until its
answer, its time limit or its client's leaving, whichever comes first, and then the process is
killed (its CPU and memory released at once) and replaced. A process that has grown past
`keep_memory` after a query is replaced too, so memory a heavy query took is given back.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path

from ..stores.base import QueryTimeout, StoreError
from .admission import HEAVY_AFTER, Admission
from .process import READY, Answered, Failed, Job

log = logging.getLogger(__name__)
LOW_PRIORITY = 15
TICKS = os.sysconf("SC_CLK_TCK")
START_WAIT = 2.0  # seconds a query waits for a process being replaced; then 503 at once
RESTART_DELAYS = (0.5, 1, 2, 5, 10, 30)  # seconds between tries when a query process does not start
# The query process imports this package from where this process did, however it was installed.
# glibc gives each thread that allocates its own 64 MiB malloc arena of address space; under
# RLIMIT_AS those reservations, not data, used up the limit (an idle process at 1M triples:
# 606 MiB of address space with the default, 278 MiB with two arenas) and RocksDB could not
# start its threads.
_CHILD_ENV = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": os.pathsep.join(
    [str(Path(__file__).resolve().parents[2]), *filter(None, [os.environ.get("PYTHONPATH")])])}


class QueryFailed(Exception):
    """The engine refused the query (a syntax or evaluation error, a SERVICE it tried): 400."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class Busy(Exception):
    """Not run now (no heavy slot, or the client must wait): 503 with Retry-After."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueryStopped(StoreError):
    """The query process ended during the query: past its memory limit, or the kernel's CPU backstop."""


class ClientGone(Exception):
    """The client closed its connection; its query was stopped."""


class _Worker:
    """One query process (process.py) and its end of the pipe."""

    def __init__(self, store_path: Path, memory: int) -> None:
        ours, theirs = socket.socketpair()
        # Only the child's end is passed on (close_fds): when this process dies, the pipe closes
        # and the query process ends by itself.
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from finhealthkg.query.process import main; main(sys.argv[1:])",
             str(theirs.fileno()), str(store_path), str(memory)],
            pass_fds=(theirs.fileno(),), env=_CHILD_ENV, stdin=subprocess.DEVNULL)
        theirs.close()
        self.connection = Connection(ours.detach())
        self.cpu = 0.0  # seconds of CPU used when it last finished a query (process.cpu_seconds)
        self.niced = False

    def ready(self, timeout: float = 30) -> bool:
        """Wait until the process has started and opened the store."""
        try:
            if not self.connection.poll(timeout):
                return False
            word, self.cpu = self.connection.recv()
        except (EOFError, OSError, TypeError, ValueError):
            return False
        return word == READY

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("query process %d did not end within 5 s of SIGKILL", self.process.pid)
        self.connection.close()

    def cpu_seconds(self) -> float:
        """CPU time the process has used (user and system), from /proc."""
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / TICKS

    def priority(self, value: int) -> bool:
        if self.niced == (value != 0):
            return True
        try:
            os.setpriority(os.PRIO_PROCESS, self.process.pid, value)
        except OSError:
            return False
        self.niced = value != 0
        return True


class QueryPool:
    """Up to `size` query processes over one release's store; `run` answers or raises.

    One starts at once; another only when a query finds none idle, so a server with many
    threads has as many query processes as it has had queries at once, not one per thread.
    """

    def __init__(self, store_path: Path, size: int, timeout: float, *, memory: int = 0,
                 keep_memory: int = 0, admission: Admission | None = None) -> None:
        self.store_path = store_path
        self.timeout = timeout
        self.memory = memory
        self.keep_memory = keep_memory
        self.admission = admission
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self.size = max(1, size)
        self._starting = 0  # processes being started (under _lock)
        self.not_starting: str | None = None  # why the last query process did not start, until one does
        if not self._admit(_Worker(store_path, memory)):
            self._start_later()

    def run(self, job: Job, address: str = "", client: socket.socket | None = None) -> Answered:
        """The answer to `job` for the client at `address` (whose connection is `client`, if known)."""
        admission = self.admission
        if admission is not None:
            waiting = admission.waiting(address)
            if waiting:
                raise Busy("a query of yours was stopped for want of room for long queries a moment ago; "
                           f"try again in {waiting} s", waiting)
        deadline = time.monotonic() + self.timeout
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            self._grow()
            worker = None
        try:
            worker = worker or self._idle.get(timeout=START_WAIT)
        except queue.Empty:
            if self.not_starting:
                raise QueryStopped(f"no query process can start here: {self.not_starting}") from None
            raise Busy("every query process is busy; try again in a moment", 1) from None
        if client is not None and client_gone(client):
            self._give_back(worker, None)
            raise ClientGone()
        answered: Answered | Failed | None = None
        slots = None
        try:
            spent = worker.cpu
            worker.connection.send(job)
            if not self._light(worker, spent, deadline, client):
                slots = admission.take_heavy(address) if admission is not None else None
                if admission is not None and slots is None:
                    admission.penalize(address)
                    raise Busy(f"the query runs long, and as many long queries as this server runs at once "
                               f"(or one of yours) are running; try again in {admission.retry_after} s",
                               admission.retry_after)
                worker.priority(LOW_PRIORITY)  # short queries of other clients keep their speed
                if not _answered_by(worker.connection, deadline - time.monotonic(), client):
                    if client is not None and client_gone(client):
                        raise ClientGone()
                    raise QueryTimeout(f"the query ran longer than the limit of {self.timeout:g} s and was stopped")
            answered = worker.connection.recv()
            worker.cpu = answered.cpu  # type: ignore[union-attr] - before another request may take it
        except (EOFError, OSError):
            if admission is not None:  # a query that ends its process is not run again at once
                admission.penalize(address)
            raise self._stopped(worker) from None
        finally:
            if slots is not None:
                slots.release()
            self._give_back(worker, answered)
        if isinstance(answered, Failed):
            raise QueryFailed(answered.message, answered.kind)
        return answered  # type: ignore[return-value]

    def _light(self, worker: _Worker, spent: float, deadline: float, client: socket.socket | None) -> bool:
        """Whether the query is answered before it has used HEAVY_AFTER seconds of CPU. A query
        that waited for the CPU (the machine busy) is not heavy for that: only its own CPU counts."""
        while time.monotonic() < deadline:
            if _answered_by(worker.connection, min(HEAVY_AFTER, deadline - time.monotonic()), client):
                return True
            if client is not None and client_gone(client):
                raise ClientGone()
            if worker.cpu_seconds() - spent >= HEAVY_AFTER:
                return False
        return False

    def close(self) -> None:
        """Stop the idle processes now, the busy ones when they finish."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break

    def _stopped(self, worker: _Worker) -> QueryStopped:
        try:
            code = worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # the pipe broke but the process runs on: it is replaced
            return QueryStopped("the connection to a query process broke; the query was not answered")
        if code == -signal.SIGXCPU:
            return QueryStopped("the query used more CPU time than a query may and was stopped")
        if code in (-signal.SIGSEGV, -signal.SIGBUS):
            return QueryStopped("the engine failed on this query (its process crashed); it was not answered")
        if self.memory:
            return QueryStopped(f"the query process ended (status {code}): the query needed more than the "
                                f"{self.memory // 2**20} MiB of memory a query may use, or failed; it was not answered")
        return QueryStopped(f"a query process ended unexpectedly (status {code}); the query was not answered")

    def _add(self) -> None:
        """Start a query process; if it does not start, try again later, for as long as it takes."""
        try:
            for attempt in itertools.count():
                if self._closed:
                    return
                if attempt:
                    time.sleep(RESTART_DELAYS[min(attempt, len(RESTART_DELAYS)) - 1])
                if self._admit(_Worker(self.store_path, self.memory)):
                    return
        finally:
            with self._lock:
                self._starting -= 1

    def _start_later(self) -> None:
        with self._lock:
            self._starting += 1
        threading.Thread(target=self._add, daemon=True).start()

    def _grow(self) -> None:
        """One more query process, in the background, if the pool has fewer than `size`."""
        with self._lock:
            if self._closed or len(self._workers) + self._starting >= self.size:
                return
        self._start_later()

    def _admit(self, worker: _Worker) -> bool:
        if not worker.ready():
            worker.kill()
            self.not_starting = f"a query process ended as it started (status {worker.process.returncode})" + (
                f"; the store may not fit in --query-memory {self.memory // 2**20} MiB" if self.memory else "")
            log.error("%s", self.not_starting)
            return False
        self.not_starting = None
        with self._lock:
            self._workers.add(worker)
        self._idle.put(worker)
        return True

    def _give_back(self, worker: _Worker, answered: Answered | Failed | None) -> None:
        """An idle process again, or a fresh one when this one is stopped, spent or grown."""
        finished = answered is not None
        grown = isinstance(answered, Answered) and self.keep_memory and answered.resident > self.keep_memory
        if self._closed:
            worker.kill()
        elif not finished or grown or not worker.priority(0):
            self._replace(worker)
        else:
            self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
        if not self._closed:  # a new process takes a moment to start: not on the request's time
            self._start_later()


def _answered_by(connection: Connection, seconds: float, client: socket.socket | None) -> bool:
    """Whether the process answers within `seconds`; False at once if the client goes away."""
    end = time.monotonic() + max(0.0, seconds)
    watched: list = [connection] + ([client] if client is not None else [])
    while True:
        left = end - time.monotonic()
        # a client that sent more bytes is watched by looking every so often, not by waiting on it
        step = left if client is None or client in watched else min(left, CLIENT_LOOK)
        ready = wait(watched, timeout=max(0.0, step))
        if connection in ready:
            return True
        if client is not None:
            if client in ready or client not in watched:
                if client_gone(client):
                    return False
                watched = [connection]  # bytes wait to be read (a pipelined request), or none came
        if left <= 0:
            return False


CLIENT_LOOK = 0.25  # seconds between looks at a client whose socket has bytes waiting
_TCP_CLOSE_WAIT = 8  # the kernel's state of a connection whose peer has closed its end


def client_gone(client: socket.socket) -> bool:
    """Whether the client closed its end. Bytes it sent before closing hide the end of stream
    from a read, so the connection's TCP state is asked too (a pipelined request is not leaving)."""
    try:
        if client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
            return True
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    try:
        return client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == _TCP_CLOSE_WAIT
    except OSError:  # not TCP (a Unix socket): the bytes may be a pipelined request
        return False
