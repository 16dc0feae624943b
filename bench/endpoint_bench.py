"""Endpoint benchmark at one size: the kinds of request (queries.py) at 1, 4 and 16 clients against every
target (peers.py), in short rounds that alternate between the targets (the order reversed every
other round), so that each ratio compares numbers measured side by side, not at different moments.

A peer (rdflib-endpoint, Virtuoso) whose single request (at 1 client) takes longer than `slow_s`
is not run at more clients for that kind (it would only queue); a target that lets a request time out is stopped
for the rest of the size (it may still be working on it) and the rest is reported as not
measured. The kinds are measured cheapest first so that this costs the fewest numbers.
"""

from __future__ import annotations

import os
import signal
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import requests

from harness import MemorySampler
from loadgen import Call, Round, http_sender, run_round
from peers import NotMeasured, Target, finhealthkg, in_process, rdflib_endpoint, thin, virtuoso
from queries import KINDS, workload

CLIENTS = (1, 4, 16)
ORDER = ("lookup", "dereference", "count", "optional", "join-iri", "join", "join-all")  # cheapest first
# Kinds a peer may take minutes over (rdflib's cross product at 1M): not sent to peers as a warm-up,
# where nothing would stop them and they would still be computing while the other kinds are measured.
NO_WARM_UP_FOR_PEERS = ("join", "join-all")
PAIRS = (("finhealthkg", "thin"), ("finhealthkg", "rdflib-endpoint"), ("thin", "pyoxigraph"),
         ("finhealthkg", "virtuoso"))
ALWAYS = ("pyoxigraph", "thin", "finhealthkg")  # run at every client count, slow or not: the targets' ratios
assert set(ORDER) == set(KINDS)


@dataclass(frozen=True)
class Plan:
    seconds: float  # one round
    rounds: int  # per target, kind and client count
    max_requests: int  # per round
    slow_s: float
    rdflib: bool
    virtuoso: bool
    load_timeout: float  # rdflib-endpoint's parse of the dump, Virtuoso's `finhealthkg load`
    out_of_time: Callable[[], bool]  # the run's time budget is used up
    clients: tuple[int, ...] = CLIENTS  # the client counts measured


def summary(rounds: list[Round]) -> dict:
    latencies = [x for r in rounds for x in r.latencies]
    pooled = Round(rounds[0].clients, 1.0, latencies, 0, None, 0)
    # Four significant digits, not a fixed number of decimals: a peer's 0.16 requests/s must not
    # become 0.2 (the ratios are computed from these numbers).
    return {"rps": float(f"{statistics.median(r.rps for r in rounds):.4g}"),
            "rounds_rps": [round(r.rps, 1) for r in rounds],
            "p50_ms": round(pooled.p(0.5) * 1000, 2) if latencies else None,
            "p95_ms": round(pooled.p(0.95) * 1000, 2) if latencies else None,
            "requests": len(latencies), "errors": sum(r.errors for r in rounds),
            "cache_hits": sum(r.hits for r in rounds),
            "first_error": next((r.first_error for r in rounds if r.first_error), None)}


def start_targets(stack: ExitStack, graph_root: Path, releases: Path, release: Path, version: str,
                  logs: Path, plan: Plan, say: Callable[[str], None]) -> tuple[list[Target], dict[str, str]]:
    targets: list[Target] = []
    missing: dict[str, str] = {}
    starters = [("pyoxigraph", lambda: in_process(release / "store")), ("thin", lambda: thin(release / "store", logs)),
                ("finhealthkg", lambda: finhealthkg(graph_root, releases, logs))]
    starters.append(("rdflib-endpoint", lambda: rdflib_endpoint(release / "dataset.ttl", logs, plan.load_timeout))
                    if plan.rdflib else ("rdflib-endpoint", None))
    starters.append(("virtuoso", lambda: virtuoso(graph_root, releases, version, logs, plan.load_timeout))
                    if plan.virtuoso else ("virtuoso", None))
    for name, start in starters:
        if start is None:
            missing[name] = "skipped (BENCH_" + name.split("-")[0].upper() + "=0)"
            continue
        began = time.monotonic()
        say(f"    starting {name} ...")
        try:
            targets.append(stack.enter_context(start()))
            say(f"    {name} answers after {time.monotonic() - began:.1f} s")
        except NotMeasured as why:
            missing[name] = f"not measured: {why}"
            say(f"    {name} {missing[name]}")
    return targets, missing


def repeated(fhkg: Target, thin_target: Target | None, document: str, plan: Plan) -> dict:
    """The same /doc request again and again (answered from finhealthkg's cache where it keeps one):
    unconditional, and with If-None-Match (304); the thin app has no cache."""
    assert fhkg.url is not None
    etag = requests.get(fhkg.url + document, headers={"Accept": "text/turtle"}, timeout=30).headers.get("ETag")
    if not etag:
        return {"error": f"GET {document} has no ETag"}
    variants: dict[str, tuple[str, Callable[[int], Call]]] = {
        "finhealthkg": (fhkg.url, lambda i: Call(document, headers={"Accept": "text/turtle"})),
        "finhealthkg If-None-Match": (fhkg.url, lambda i: Call(document, headers={
            "Accept": "text/turtle", "If-None-Match": etag}, expect=304))}
    if thin_target is not None and thin_target.url:
        variants["thin"] = (thin_target.url, lambda i: Call(document, headers={"Accept": "text/turtle"}))
    rounds: dict[str, list[Round]] = {name: [] for name in variants}
    for r in range(plan.rounds):
        names = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in names:
            url, call = variants[name]
            rounds[name].append(run_round(http_sender(url, call), 4, plan.seconds, plan.max_requests))
    result = {name: summary(found) for name, found in rounds.items()}
    return {"document": document, "clients": 4, **result}


def measure(graph_root: Path, releases: Path, release: Path, version: str, logs: Path, plan: Plan,
            say: Callable[[str], None]) -> dict:
    work = workload(pyoxigraph.Store.read_only(str(release / "store")))
    results: dict = {kind: {} for kind in KINDS}  # kind -> clients -> target -> summary or note
    with ExitStack() as stack:
        targets, missing = start_targets(stack, graph_root, releases, release, version, logs, plan, say)
        notes = {t.name: t.note for t in targets if t.note}
        startup = {t.name: round(t.started_s, 2) for t in targets if t.started_s is not None}
        for target in targets:  # one request of each kind first: connections, caches, pages
            for kind in ORDER:
                if target.name in ALWAYS or kind not in NO_WARM_UP_FOR_PEERS:
                    run_round(target.sender(kind, work), 1, 0.05, 3)
        stopped: dict[str, str] = {}
        slow: dict[tuple[str, str], str] = {}
        for kind in ORDER:
            for clients in plan.clients:
                if plan.out_of_time():
                    results[kind][clients] = {"note": "not measured: the run's time budget was used up"}
                    continue
                active = [t for t in targets if t.name not in stopped and (t.name, kind) not in slow]
                rounds: dict[str, list[Round]] = {t.name: [] for t in active}
                for r in range(plan.rounds):
                    for target in active if r % 2 == 0 else reversed(active):
                        if target.name in stopped:
                            continue
                        done = run_round(target.sender(kind, work), clients, plan.seconds, plan.max_requests,
                                         start=r * clients)
                        rounds[target.name].append(done)
                        if done.stuck or (done.first_error and "Timeout" in done.first_error):
                            stopped[target.name] = (f"stopped: a {kind} request at {clients} client(s) took longer "
                                                    f"than the request time limit")
                            say(f"    {target.name}: {stopped[target.name]}")
                            if target.pid:  # it may be busy with that request for minutes: not beside the others
                                os.killpg(target.pid, signal.SIGKILL)
                row = {name: summary(found) for name, found in rounds.items() if found}
                for name, why in list(stopped.items()) + [(n, w) for (n, k), w in slow.items() if k == kind]:
                    row.setdefault(name, {"note": why})
                results[kind][clients] = row
                if clients == 1:
                    for name, found in row.items():
                        if name not in ALWAYS and found.get("p50_ms") and found["p50_ms"] / 1000 > plan.slow_s:
                            slow[(name, kind)] = (f"not run at more clients: one request takes "
                                                  f"{found['p50_ms'] / 1000:.1f} s")
                say(f"    {kind:11} {clients:>2} clients: " + ", ".join(
                    f"{name} {found['rps']:.0f}/s" for name, found in row.items() if "rps" in found))
        by_name = {t.name: t for t in targets}
        memory = {}
        for name in ("finhealthkg", "thin"):
            if name in by_name and by_name[name].pid:
                sampler = MemorySampler({by_name[name].pid})
                sampler.sample()
                memory[name] = {"rss_bytes": sampler.peak_bytes, "pss_bytes": sampler.peak_pss_bytes}
        conditional = repeated(by_name["finhealthkg"], by_name.get("thin"), work.document(0), plan) \
            if "finhealthkg" in by_name and not plan.out_of_time() else {"error": "not measured"}
        for name in stopped:
            missing.setdefault(name, stopped[name])
    return {"results": results, "missing": missing, "notes": notes, "startup": startup, "memory": memory,
            "ratios": ratios(results), "conditional": conditional, "targets": [t.name for t in targets]}


def ratios(results: dict) -> dict:
    """(kind, clients) -> "a/b" -> the ratio of the medians of their rounds' requests/s."""
    found: dict = {}
    for kind, by_clients in results.items():
        for clients, row in by_clients.items():
            for a, b in PAIRS:
                if "rps" in row.get(a, {}) and "rps" in row.get(b, {}) and row[b]["rps"]:
                    found.setdefault(kind, {}).setdefault(clients, {})[f"{a}/{b}"] = \
                        round(row[a]["rps"] / row[b]["rps"], 3)
    return found
