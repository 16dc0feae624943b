"""A query process (executor.py): the release's store open read-only, answering jobs from a pipe.

It is started as a fresh interpreter that runs `main([FD, STORE])`, not through multiprocessing's
spawn, which imports the parent's main module again (the whole command-line tool and web app,
most of a second of CPU per process); this imports pyoxigraph and the serialiser only.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.connection import Connection

import pyoxigraph

from .results import answer_bytes, capped


@dataclass(frozen=True)
class Job:
    query: str
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...] | None  # None: every graph of the store
    base_iri: str | None
    format: str  # a name of results.RESULT_FORMATS or results.RDF_FORMATS
    row_limit: int


def main(argv: list[str]) -> None:
    """`FD STORE`: the inherited socket to the server process and the store's directory."""
    serve_jobs(Connection(int(argv[0])), argv[1])


def serve_jobs(connection: Connection, store_path: str) -> None:
    """Answer jobs until the pipe closes (the server process stopped or died)."""
    store = pyoxigraph.Store.read_only(store_path)
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = store.query(
                job.query, base_iri=job.base_iri,
                default_graph=[pyoxigraph.NamedNode(g) for g in job.default_graphs],
                **({"named_graphs": [pyoxigraph.NamedNode(g) for g in job.named_graphs]}
                   if job.named_graphs is not None else {}))
            truncated = False
            if isinstance(answer, pyoxigraph.QuerySolutions):
                answer, truncated = capped(answer, job.row_limit)
            connection.send(("ok", answer_bytes(answer, job.format), truncated))
        except SyntaxError as error:
            connection.send(("failed", f"the query does not parse: {error}"))
        except Exception as error:  # noqa: BLE001 - an evaluation error goes back to the client
            connection.send(("failed", f"the query could not be evaluated: {error}"))
