"""A closed-loop load generator: N client threads, each sending its next request as soon as the
last is answered, for a bounded time and a bounded number of requests; it stops by itself.
HTTP goes to loopback addresses only (harness.loopback_only); a client keeps its connection
alive (one http.client connection each)."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from harness import Refused, loopback_only, percentile

MAX_CLIENTS, MAX_SECONDS, MAX_REQUESTS = 64, 120.0, 1_000_000  # never more, never longer
REQUEST_TIMEOUT = 30.0

# Sends request number i: (what went wrong or None, whether the answer came from the server's cache)
Send = Callable[[int], tuple[str | None, bool]]
CACHE_HEADER = "FinHealthKG-Cache"  # "hit" on an answer finhealthkg kept from an earlier request


@dataclass(frozen=True)
class Call:
    """One HTTP request: where, with what; answered well when 200 with a body."""

    path: str
    params: dict[str, str | list[str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200


@dataclass
class Round:
    clients: int
    seconds: float
    latencies: list[float]
    errors: int
    first_error: str | None
    stuck: int  # clients still waiting on an answer when the round was given up
    hits: int = 0  # answers from the server's cache

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, share: float) -> float | None:
        return percentile(self.latencies, share) if self.latencies else None


def http_sender(url: str, plan: Callable[[int], Call], timeout: float = REQUEST_TIMEOUT,
                ) -> Callable[[], tuple[Send, Callable[[], None]]]:
    """For each client: a function sending plan(i) to `url` (loopback only) on a keep-alive
    connection of its own. http.client rather than requests: it costs the client about half the
    CPU per request, and the clients share the machine with the servers they measure."""
    parts = urlsplit(loopback_only(url))
    host, port, prefix = parts.hostname or "127.0.0.1", parts.port or 80, parts.path.rstrip("/")

    def make() -> tuple[Send, Callable[[], None]]:
        held: list[http.client.HTTPConnection] = []

        def send(i: int) -> tuple[str | None, bool]:
            call = plan(i)
            target = prefix + call.path + ("?" + urlencode(call.params, doseq=True) if call.params else "")
            if not held:
                held.append(http.client.HTTPConnection(host, port, timeout=timeout))
            try:
                held[0].request("GET", target, headers=call.headers)
                response = held[0].getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as failure:
                held.pop().close()
                return f"{type(failure).__name__}: {failure}"[:300], False
            if response.will_close:
                held.pop().close()
            hit = response.getheader(CACHE_HEADER) == "hit"
            if response.status != call.expect:
                said = " ".join(body.decode("utf-8", "replace").split())[:200]
                return f"GET {call.path[:80]}: {response.status} {said}", hit
            if call.expect == 200 and not body:
                return f"GET {call.path[:80]}: an empty body", hit
            return None, hit

        def close() -> None:
            for connection in held:
                connection.close()

        return send, close

    return make


def run_round(make: Callable[[], tuple[Send, Callable[[], None]]], clients: int, seconds: float,
              max_requests: int = MAX_REQUESTS, start: int = 0) -> Round:
    """`clients` threads sending for `seconds` (each sends at least one request), at most
    `max_requests` in all; request numbers start at `start`, client c sends start + c, + c + N..."""
    if not 1 <= clients <= MAX_CLIENTS or not 0 < seconds <= MAX_SECONDS or not 0 < max_requests <= MAX_REQUESTS:
        raise Refused(f"clients 1..{MAX_CLIENTS}, seconds 0..{MAX_SECONDS:g}, requests 1..{MAX_REQUESTS}")
    latencies: list[float] = []
    errors: list[str] = []
    hits = [0]
    lock = threading.Lock()
    budget = [max_requests]
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        send, close = make()
        try:
            i = start + number
            while True:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                began = time.perf_counter()
                error, hit = send(i)
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    hits[0] += hit
                    if error is not None:
                        errors.append(error)
                i += clients
                if time.monotonic() >= deadline:
                    return
        finally:
            close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT + 5)
    elapsed = time.monotonic() - began
    with lock:
        return Round(clients, elapsed, list(latencies), len(errors), errors[0] if errors else None,
                     sum(t.is_alive() for t in threads), hits[0])
