"""Numbered steps with timings on the terminal, for anything that can take a while."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Steps:
    """Prints `[2/8] Validating with SHACL ... done (3.1 s)`; silent when quiet."""

    def __init__(self, total: int, out: TextIO | None = None, quiet: bool = False) -> None:
        self.total = total
        self.done = 0
        self.out = out or sys.stderr
        self.quiet = quiet
        self._open_line = False

    @contextmanager
    def step(self, title: str) -> Iterator[list[str]]:
        """Yields a list; strings appended to it are printed as the step's result."""
        self.done += 1
        notes: list[str] = []
        started = time.perf_counter()
        self._print(f"[{self.done}/{self.total}] {title} ...", end="")
        self._open_line = True
        try:
            yield notes
        except BaseException:
            self._print(" failed" if self._open_line else "    ... failed")
            self._open_line = False
            raise
        elapsed = time.perf_counter() - started
        result = "; ".join(notes) if notes else "done"
        self._print(f" {result} ({elapsed:.1f} s)" if self._open_line else f"    ... {result} ({elapsed:.1f} s)")
        self._open_line = False

    def note(self, text: str) -> None:
        """A line of its own, also in the middle of a step (progress of a long one)."""
        if self._open_line:
            self._print("")
            self._open_line = False
        self._print(text)

    def _print(self, text: str, end: str = "\n") -> None:
        if not self.quiet:
            print(text, end=end, file=self.out, flush=True)
