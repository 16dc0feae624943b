"""Run the app under gunicorn (a production WSGI server), each worker opening the release
store read-only. The master checks the release first, so a broken set-up fails at once."""

from __future__ import annotations

import sys

from gunicorn.app.base import BaseApplication

from .config import Settings
from .stores.sparql import redact
from .web import create_app
from .web.publication import Publication


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
            "worker_class": "gthread" if s.threads > 1 else "sync",
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "timeout": max(120, s.query_timeout + 30),  # a worker past this is killed
            "graceful_timeout": 30,
            "preload_app": False,  # each worker opens the store itself
            "proc_name": "finhealthkg",
            "control_socket_disable": True,  # no socket in the user's home directory
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201 - the WSGI app
        return create_app(self.settings)


def serve(settings: Settings) -> None:
    # Open what will be served once, so a broken set-up fails with a message before forking.
    snapshot = Publication.open(settings).now
    where = f"the store {redact(settings.store_url)}" if settings.store_url else "the embedded store"
    print(f"Serving release {snapshot.info.version} from {where} on http://{settings.host}:{settings.port}/ "
          f"({settings.workers} worker(s))", file=sys.stderr, flush=True)
    PublisherServer(settings).run()
