"""A query process (pool.py): confined by the kernel (sandbox.py), the release's store open
read-only, answering jobs from a pipe.

It is started as a fresh interpreter that runs `main([FD, STORE, MEMORY])`, not through
multiprocessing's spawn, which imports the parent's main module again (the whole command-line
tool and web app); this imports pyoxigraph and the serialiser only.

A job names the format wanted for each form of answer; the engine's answer says which form the
query has, so no one else ever has to parse or run the query to learn it.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection

import pyoxigraph

from . import sandbox
from .answers import bounded_answer, form_of

READY = "ready"  # sent once, when the store is open


@dataclass(frozen=True)
class Job:
    query: str
    default_graphs: tuple[str, ...] | None  # None (and named_graphs None): the query's FROM / FROM NAMED
    named_graphs: tuple[str, ...] | None  # None: every graph of the store
    base_iri: str | None
    formats: dict[str, str | None]  # per form (results.FORMS): the format's name; None: not acceptable
    row_limit: int
    max_bytes: int
    cpu_seconds: float  # the kernel's backstop for this job (sandbox.renew_cpu_limit)
    # (rows, bytes) for the forms whose answer becomes a page in the web worker: far smaller, so
    # that what the worker reads and renders is bounded too
    page_limits: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Answered:
    form: str
    format: str | None  # None: no format the client accepts for this form (406)
    body: bytes
    cut: str | None  # results.Bounded.cut
    cpu: float  # seconds of CPU the process has used, this answer included (the pool's baseline)
    resident: int  # the most bytes of memory the process has held, this answer included


@dataclass(frozen=True)
class Failed:
    message: str
    kind: str  # "syntax", "evaluation", "service" (the sandbox refused a connection), "memory"
    cpu: float = 0.0


def main(argv: list[str]) -> None:
    """`FD STORE MEMORY`: the inherited socket to the server process, the store's directory,
    the address-space limit in bytes (0: none)."""
    sandbox.confine(int(argv[2]))
    serve_jobs(Connection(int(argv[0])), argv[1])


def serve_jobs(connection: Connection, store_path: str) -> None:
    """Answer jobs until the pipe closes (the server process stopped or died)."""
    store = pyoxigraph.Store.read_only(store_path)
    try:
        connection.send((READY, cpu_seconds()))  # its start-up is not counted against its first query's CPU
        while True:
            job = connection.recv()
            reply = answer(store, job)
            connection.send(replace(reply, cpu=cpu_seconds()))
    except (EOFError, OSError):  # the server process stopped, or stopped waiting: nothing to tell
        return


def answer(store: pyoxigraph.Store, job: Job) -> Answered | Failed:
    sandbox.renew_cpu_limit(job.cpu_seconds)
    try:
        dataset: dict = {}  # passed, it would override the query's own FROM / FROM NAMED
        if job.default_graphs is not None:
            dataset["default_graph"] = [pyoxigraph.NamedNode(g) for g in job.default_graphs]
        if job.named_graphs is not None:
            dataset["named_graphs"] = [pyoxigraph.NamedNode(g) for g in job.named_graphs]
        result = store.query(job.query, base_iri=job.base_iri, **dataset)
        form = form_of(result)
        name = job.formats.get(form)
        if name is None:
            return Answered(form, None, b"", None, 0.0, _resident())
        rows, size = job.page_limits.get(form, (job.row_limit, job.max_bytes))
        bounded = bounded_answer(result, name, rows, size)
        return Answered(form, name, bounded.body, bounded.cut, 0.0, _resident())
    except SyntaxError as error:
        return Failed(f"the query does not parse: {error}", "syntax")
    except MemoryError:
        return Failed("the query needed more memory than a query may use here", "memory")
    except Exception as error:  # noqa: BLE001 - an evaluation error goes back to the client
        message = str(error)
        if sandbox.is_network_refusal(message):
            return Failed(message, "service")
        return Failed(f"the query could not be evaluated: {message}", "evaluation")


def cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _resident() -> int:
    """The most memory the process has held (its peak: what a query took may already be freed
    back to the allocator, but not to the system). Its own: getrusage's ru_maxrss also counts
    the memory of the server process it was forked from before its exec, so under a server
    process past `keep_memory` every query process was replaced after every answer."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
