"""Who may run a heavy query now: a few at a time per server, one at a time per client address.

Every query starts light. One still running after HEAVY_AFTER seconds is heavy: it may go on
only with a server slot and a slot of its client's address. Without one it is stopped at once
and its client told 503 with Retry-After; the address then waits that long before any query
of its is run (answered 503 at once, without reaching a query process), so clients that send
heavy queries in a loop cost the server a moment each, not a query process each.

The slots are locks (flock) on files in a directory that every worker process of one server
shares: a slot is held by an open file, and the kernel lets go of it when its holder ends,
however it ends. A penalty is a file whose modification time says until when it holds.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

HEAVY_AFTER = 0.1  # seconds of its own CPU: a query still running then is heavy


@dataclass
class Slots:
    """The held locks of one heavy query; `release` lets them go."""

    files: list[int]

    def release(self) -> None:
        for fd in self.files:
            os.close(fd)
        self.files = []


class Admission:
    def __init__(self, directory: Path, heavy: int, per_client: int, retry_after: int) -> None:
        self.directory = directory
        self.heavy = max(1, heavy)
        self.per_client = max(1, per_client)
        self.retry_after = max(1, retry_after)
        directory.mkdir(parents=True, exist_ok=True)

    def waiting(self, address: str) -> int:
        """Seconds this address must still wait after a refusal (0: it may query now)."""
        try:
            until = os.stat(self._penalty(address)).st_mtime
        except OSError:
            return 0
        left = until - time.time()
        return int(left) + 1 if left > 0 else 0

    def take_heavy(self, address: str) -> Slots | None:
        """A server slot and a slot of this address, or None when either is all taken."""
        client = self._take([f"client-{_bucket(address)}-{i}" for i in range(self.per_client)])
        if client is None:
            return None
        server = self._take([f"heavy-{i}" for i in range(self.heavy)])
        if server is None:
            os.close(client)
            return None
        return Slots([server, client])

    def penalize(self, address: str) -> None:
        path = self._penalty(address)
        path.touch()
        until = time.time() + self.retry_after
        os.utime(path, (until, until))

    def _take(self, names: list[str]) -> int | None:
        for name in names:
            fd = os.open(self.directory / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                os.close(fd)
        return None

    def _penalty(self, address: str) -> Path:
        return self.directory / f"wait-{_bucket(address)}"


def _bucket(address: str) -> str:
    """One of 4096 buckets of client addresses (each with its own slots and waiting time)."""
    return hashlib.sha256(address.encode()).hexdigest()[:3]
