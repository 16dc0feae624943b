"""The Store protocol: a read-only view of one release, queried with SPARQL 1.1.

Answers are pyoxigraph's result types (solutions, a boolean, or triples), whichever store
produced them, so one serialisation path serves every store byte for byte alike.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import pyoxigraph

# SELECT -> QuerySolutions, ASK -> QueryBoolean, CONSTRUCT/DESCRIBE -> iterable of Triple
Answer = pyoxigraph.QuerySolutions | pyoxigraph.QueryBoolean | Iterable[pyoxigraph.Triple]


class StoreError(Exception):
    """The store cannot be opened or does not answer; the message says which and why."""


class StoreRejected(StoreError):
    """The store refused a query the publisher accepted (a dialect difference)."""


def redact(url: str) -> str:
    """A URL without user and password, fit for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class QueryTimeout(StoreError):
    """A query ran past the publisher's time limit and was given up."""


@dataclass(frozen=True)
class QueryDataset:
    """The RDF dataset of one query (SPARQL 1.1 Protocol default-graph-uri / named-graph-uri).

    Both empty means "the store's own default": the release's dataset graphs as the default
    graph and every graph of the release as a named graph. Otherwise the two lists are the
    whole dataset: a default graph made of no graph is empty, and so are absent named graphs.
    """

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()


class Store(Protocol):
    """A read-only store holding one release in named graphs (see namespaces.GRAPH)."""

    def query(
        self, sparql: str, *, dataset: QueryDataset | None = None, base_iri: str | None = None
    ) -> Answer:
        """Evaluate a query; SyntaxError for a query the store cannot parse."""
        ...

    def triple_count(self, graphs: Iterable[str] | None = None) -> int:
        """Number of distinct triples in the given graphs (default: the dataset graphs)."""
        ...

    def graph_names(self) -> list[str]:
        """The IRIs of every named graph the store holds."""
        ...

    def close(self) -> None:
        ...


class QueryCancelled(StoreError):
    """The request was ended from outside (Cancel.now) before the store answered."""


class Cancel:
    """A way for another thread to end a query request: `now()` shuts its connection down."""

    def __init__(self) -> None:
        self.cancelled = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._socket = sock
            if self.cancelled:
                self._shut()

    def now(self) -> None:
        with self._lock:
            self.cancelled = True
            self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
