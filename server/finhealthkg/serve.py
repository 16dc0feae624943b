"""Run the app under gunicorn (a production WSGI server), each worker opening the release
store read-only. The master checks the release first, so a broken set-up fails at once.

Operations: the access log is one JSON line per request on stdout (web/http/access_log.py), the
server's own messages go to stderr. On SIGTERM the server stops listening at once, so new
connections are refused (a balancer tries another server), lets the requests in flight
finish for up to `graceful_timeout` seconds, then exits with status 0. (SIGINT and SIGQUIT
stop it at once, as gunicorn does.)
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gunicorn.app.base import BaseApplication

from .config import Settings
from .query.process import Job
from .serving import Publication
from .stores.base import redact
from .web import create_app
from .web.http.access_log import JsonAccessLogger
from .workers import GracefulSyncWorker, GracefulThreadWorker


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
        GracefulThreadWorker.body_bytes = s.max_body_bytes

    def load(self):  # noqa: ANN201 - the WSGI app
        return create_app(self.settings)


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
