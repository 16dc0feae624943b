"""Run the app under gunicorn (a production WSGI server), each worker opening the release
store read-only. The master checks the release first, so a broken set-up fails at once.

Operations: the access log is one JSON line per request on stdout (web/http/access_log.py), the
server's own messages go to stderr. On SIGTERM the server stops listening at once, so new
connections are refused (a balancer tries another server), lets the requests in flight
finish for up to `graceful_timeout` seconds, then exits with status 0. (SIGINT and SIGQUIT
stop it at once, as gunicorn does.)
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import socket
import struct
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from .config import Settings
from .query.process import Job
from .serving import Publication
from .stores.base import redact
from .web import create_app
from .web.http.access_log import JsonAccessLogger


class PublisherServer(BaseApplication):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options = {
            "bind": f"[{s.host}]:{s.port}" if ":" in s.host else f"{s.host}:{s.port}",
            "workers": s.workers,
            "threads": s.threads,
            "worker_class": GracefulThreadWorker if s.threads > 1 else GracefulSyncWorker,
            "logger_class": JsonAccessLogger,
            "accesslog": "-",  # stdout, one JSON line per request
            "errorlog": "-",  # stderr
            "loglevel": "info",
            "timeout": max(120, s.query_timeout + 30),  # a worker past this is killed
            "graceful_timeout": max(30, s.query_timeout + 10),  # a query at its limit still finishes
            "preload_app": False,  # each worker opens the store itself
            "proc_name": "finhealthkg",
            "control_socket_disable": True,  # no socket in the user's home directory
        }
        for key, value in options.items():
            self.cfg.set(key, value)
        GracefulThreadWorker.client_seconds = s.client_timeout

    def load(self):  # noqa: ANN201 - the WSGI app
        return create_app(self.settings)


# gunicorn's master closes its listening sockets on SIGTERM, but each worker holds the same
# sockets until it exits: connections made meanwhile wait in the backlog and are reset when
# the last worker is done. These workers let go of the listening sockets as soon as they are
# told to stop, so the port refuses new connections while the requests in flight finish.

class GracefulSyncWorker(SyncWorker):
    def handle_exit(self, sig, frame) -> None:  # noqa: ANN001 - a signal handler
        super().handle_exit(sig, frame)  # not alive: the loop ends after the request in flight
        # In a signal handler the listening socket may be in use by select() or accept(): its file
        # descriptor is pointed at a fresh socket that listens nowhere, rather than closed.
        for listener in self.sockets:
            try:
                placeholder = socket.socket(listener.family, socket.SOCK_STREAM)
                os.dup2(placeholder.fileno(), listener.fileno(), inheritable=False)
                placeholder.close()
            except OSError:
                pass

    def accept(self, listener) -> None:  # noqa: ANN001 - a gunicorn listener
        try:
            super().accept(listener)
        except OSError as error:
            if self.alive or error.errno not in (errno.EINVAL, errno.EBADF):
                raise  # accept() on the placeholder when stopping is expected; nothing else


class GracefulThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, but a slow client cannot hold up the others.

    A connection waits for its first bytes without a thread (gunicorn's own poller), a thread
    reads its request and writes its answer, and the worker accepts a new connection only while
    it has a thread free: connections it could not serve at once are left to the other workers,
    not queued behind busy threads. A client that stops sending or reading for `client_seconds`
    (--client-timeout; as nginx's client_body_timeout and send_timeout) is dropped: the kernel's
    SO_RCVTIMEO and SO_SNDTIMEO, since gunicorn puts its sockets back in blocking mode on every
    request, which would undo a Python-level timeout. So a handful of slow clients take a
    handful of threads; a public endpoint still needs the buffering front (deploy/nginx/),
    which takes any number of them.
    """

    client_seconds = 10  # set from Settings.client_timeout before the workers are forked

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - gunicorn's
        self._busy = 0  # connections handed to the thread pool, not yet finished
        super().__init__(*args, **kwargs)

    # gunicorn's run loop accepts while `nr_conns < worker_connections`: read as "a thread is free"
    @property
    def worker_connections(self) -> int:
        return self.nr_conns + 1 if self._busy < self.cfg.threads else 0

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        pass  # gunicorn's __init__ sets it from the configuration; the property above decides

    def enqueue_req(self, conn) -> None:  # noqa: ANN001 - a gunicorn TConn
        if not getattr(conn, "finhealthkg_timeouts", False):
            timeout = struct.pack("ll", self.client_seconds, 0)  # struct timeval
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
            conn.finhealthkg_timeouts = True
        self._busy += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs) -> None:  # noqa: ANN001 - gunicorn's
        self._busy -= 1
        super().finish_request(conn, fs)

    def handle_exit(self, sig, frame) -> None:  # noqa: ANN001 - a signal handler
        # The event loop, not the signal handler, stops listening (through gunicorn's method
        # queue; an older gunicorn without one is left to its own way of stopping).
        if self.alive and hasattr(self, "method_queue"):
            self.method_queue.defer(self._stop_listening)
        super().handle_exit(sig, frame)

    def _stop_listening(self) -> None:
        self.set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()


def _served_version(settings: Settings) -> str:
    """Open what will be served once, so a broken set-up fails with a message before forking.

    It is opened in a child process: the master must not open the embedded store itself, for
    RocksDB's state inherited by the forked workers makes each of them crash (SIGSEGV) on exit.
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as child:
        return child.submit(_open_and_tell, settings).result()


def _open_and_tell(settings: Settings) -> str:
    """The version served; a query process must start and answer, confined (query/sandbox.py),
    or the server does not start: it never runs public queries unconfined."""
    snapshot = Publication.open(settings).now
    if snapshot.pool is not None:
        try:
            snapshot.pool.run(Job("SELECT * {}", (), None, None, {"solutions": "json"}, 1, 2**10, 10.0))
        except Exception as error:  # noqa: BLE001 - any failure means no query process can run
            hint = ("raise --query-memory" if "--query-memory" in str(error)
                    else "is libseccomp2 installed (apt-get install libseccomp2)?")
            raise SystemExit(f"a confined query process cannot start here ({error}); {hint}") from None
        finally:
            snapshot.retire()
    return snapshot.info.version


def serve(settings: Settings) -> None:
    with tempfile.TemporaryDirectory(prefix="finhealthkg-run-") as run_dir:
        _serve(settings.with_overrides(run_dir=settings.run_dir or Path(run_dir)))


def _serve(settings: Settings) -> None:
    version = _served_version(settings)
    where = f"the store {redact(settings.store_url)}" if settings.store_url else "the embedded store"
    print(f"Serving release {version} from {where} on http://{settings.host}:{settings.port}/ "
          f"({settings.workers} worker(s))", file=sys.stderr, flush=True)
    PublisherServer(settings).run()
