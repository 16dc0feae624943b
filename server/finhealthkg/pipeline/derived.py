"""The files of a release derived for people who search and read tables, not RDF (the search
index and the tables), written by a process of their own while the build validates and writes
the rest.

Why a process: the index and the tables are mostly Python (names folded, rows formatted), and
so are parts of validation and of the dumps; as threads of one process they take turns at the
GIL and the build's two cores sit half idle (measured at 1M triples: bench/RESULTS.md). The
process is forked when the sources have been read, before the build starts any thread, so it
reads the very in-memory store the sources were parsed into (shared, copy-on-write) and
nothing is parsed or copied twice.

It ends with the build: a build that fails or is interrupted stops it (terminate), and if the
build is killed outright the kernel kills it too (PR_SET_PDEATHSIG), so it never writes into a
staging directory a later build is cleaning up.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from .. import search
from ..release import ReleaseError
from ..stores.oxigraph import OxigraphStore
from . import tables

PR_SET_PDEATHSIG = 1  # prctl(2)
Outcome = tuple[dict[str, int], dict[str, str]]  # the index's counts, {table file: media type}


@contextmanager
def derived_files(memory: OxigraphStore, staging: Path, version: str) -> Iterator[Callable[[], Outcome]]:
    """Start writing the index and tables of `memory` into `staging`; yields a function that
    waits for them and returns what they wrote (raising what they raised)."""
    context = multiprocessing.get_context("fork")  # the store is shared, not pickled
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_write, args=(memory, staging, version, sending, os.getpid()),
                            name="finhealthkg-build-derived", daemon=True)
    child.start()
    sending.close()

    def outcome() -> Outcome:
        try:
            kind, *details = receiving.recv()
        except EOFError:  # it died without a word
            child.join()
            raise ReleaseError("the process writing the search index and tables ended "
                               f"(exit code {child.exitcode}) before it was done") from None
        if kind == "oserror":  # disk full and the like: build.py says what it means
            raise OSError(*details)
        if kind == "error":
            raise ReleaseError(f"writing the search index and tables failed: {details[0]}")
        return details[0], details[1]

    try:
        yield outcome
    finally:
        if child.is_alive() and not receiving.poll():
            child.terminate()  # the build stops before it needs them
        child.join()
        receiving.close()


def _write(memory: OxigraphStore, staging: Path, version: str, sending: Connection, parent: int) -> None:
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle (it stops this)
    try:
        indexed = search.write_search_index(memory, staging)
        written = tables.write_tables(memory, staging, version=version)
    except OSError as error:
        sending.send(("oserror", error.errno, error.strerror, error.filename))
    except Exception as error:  # noqa: BLE001 - passed to the build, which reports it
        sending.send(("error", f"{type(error).__name__}: {error}"))
    else:
        sending.send(("ok", indexed, written))
    finally:
        sending.close()


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when the build's process dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the build's terminate() is what stops it
        pass
    if os.getppid() != parent:  # the build died before the line above
        os._exit(1)
