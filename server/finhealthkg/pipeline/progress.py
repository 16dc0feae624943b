"""Numbered steps with timings on the terminal, for anything that can take a while; each
step's time and peak memory are also kept (`Steps.records`) for the benchmarks."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class StepRecord:
    title: str
    seconds: float
    peak_rss_bytes: int  # the process's largest resident size while the step ran


def rss_bytes() -> int:
    """The resident size of this process now (Linux /proc; 0 where it is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class _PeakSampler:
    """Samples the resident size every 20 ms in a thread while a step runs."""

    def __init__(self) -> None:
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, rss_bytes())


class Steps:
    """Prints `[2/8] Validating with SHACL ... done (3.1 s)`; silent when quiet."""

    def __init__(self, total: int, out: TextIO | None = None, quiet: bool = False) -> None:
        self.total = total
        self.done = 0
        self.out = out or sys.stderr
        self.quiet = quiet
        self._open_line = False
        self.records: list[StepRecord] = []

    @contextmanager
    def step(self, title: str) -> Iterator[list[str]]:
        """Yields a list; strings appended to it are printed as the step's result."""
        self.done += 1
        notes: list[str] = []
        started = time.perf_counter()
        sampler = _PeakSampler()
        self._print(f"[{self.done}/{self.total}] {title} ...", end="")
        self._open_line = True
        try:
            yield notes
        except BaseException:
            sampler.stop()
            self._print(" failed" if self._open_line else "    ... failed")
            self._open_line = False
            raise
        elapsed = time.perf_counter() - started
        self.records.append(StepRecord(title, elapsed, sampler.stop()))
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
