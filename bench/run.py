#!/usr/bin/env python3
"""`make bench`: build, start-up, endpoint and downloads benchmarks of finhealthkg on generated
graphs of several sizes, the endpoint side by side with its limits and peers; writes the
"Scale and peers" section of bench/RESULTS.md (other sections are kept) and PNG plots beside it.

    make bench                                     # 10k, 100k, 1M; endpoint at 100k and 1M
    BENCH_SIZES=10k BENCH_SECONDS=0.3 .venv/bin/python bench/run.py --write /tmp/RESULTS.md

Environment (defaults in brackets):
  BENCH_SIZES           graph sizes to generate and build [10k,100k,1M]; 10M only when named
  BENCH_ENDPOINT_SIZES  sizes of the endpoint benchmark, of those built [100k,1M]
  BENCH_SECONDS         seconds of one measurement round [1.0]
  BENCH_ROUNDS          rounds per target, request kind and client count, alternating [4]
  BENCH_CLIENTS         the client counts of the endpoint benchmark [1,4,16]
  BENCH_SEED            the generator's seed [1]
  BENCH_BUILD_TIMEOUT   seconds a build may take [300, 1800 for 10M]
  BENCH_STARTUP_RUNS    starts of the server per size [3]
  BENCH_RDFLIB          0: skip rdflib-endpoint [1]
  BENCH_VIRTUOSO        0: skip Virtuoso (run when virtuoso-t is installed) [1]
  BENCH_LOAD_TIMEOUT    seconds for rdflib-endpoint to parse the dump, for `finhealthkg load` [180]
  BENCH_SLOW_SECONDS    a target slower than this per request is not run at more clients [1.0]
  BENCH_MAX_MINUTES     the run's time budget; what is left when it is used up is not measured [30; 60 with 10M]
  BENCH_REUSE_BUILDS    1: take the release and build numbers of an earlier run (development) [0]
  BENCH_CACHE           where generated graphs, releases and server logs are kept [var/bench]

Everything runs on loopback; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pyoxigraph

import build_bench
import endpoint_bench
import report
import serve_bench
from harness import REPO, git_commit, load_average, machine
from peers import server_defaults, virtuoso_version
from queries import workload

LIBRARIES = ("pyoxigraph", "rdflib", "pyshacl", "flask", "gunicorn", "rdflib-endpoint", "uvicorn", "requests")
BUILD_RATE = 1_000_000 / 60  # triples/s the estimate assumes: the target for 1M


def env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def sizes_from(text: str) -> list[int]:
    return sorted({build_bench.size_of(part) for part in text.split(",") if part.strip()})


class Run:
    def __init__(self) -> None:
        self.began = time.monotonic()
        self.sizes = sizes_from(env("BENCH_SIZES", "10k,100k,1M"))
        self.endpoint_sizes = sizes_from(env("BENCH_ENDPOINT_SIZES", "100k,1M"))
        self.seconds = float(env("BENCH_SECONDS", "1.0"))
        self.rounds = int(env("BENCH_ROUNDS", "4"))
        self.clients = tuple(int(n) for n in env("BENCH_CLIENTS", "1,4,16").split(",") if n.strip())
        self.seed = int(env("BENCH_SEED", "1"))
        self.build_timeout = os.environ.get("BENCH_BUILD_TIMEOUT")
        self.startup_runs = int(env("BENCH_STARTUP_RUNS", "3"))
        self.rdflib = env("BENCH_RDFLIB", "1") != "0"
        self.virtuoso = env("BENCH_VIRTUOSO", "1") != "0"  # peers.virtuoso says so when it is not installed
        self.load_timeout = float(env("BENCH_LOAD_TIMEOUT", "180"))
        self.slow_s = float(env("BENCH_SLOW_SECONDS", "1.0"))
        longest = "60" if max(self.sizes, default=0) >= 10_000_000 else "30"  # 10M may build for 15 min
        self.deadline = self.began + 60 * float(env("BENCH_MAX_MINUTES", longest))
        self.reuse = env("BENCH_REUSE_BUILDS", "0") == "1"

    def say(self, text: str) -> None:
        print(f"[{(time.monotonic() - self.began) / 60:5.1f} min] {text}", flush=True)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def timeout_for(self, triples: int) -> float:
        return float(self.build_timeout) if self.build_timeout else (1800.0 if triples >= 10_000_000 else 300.0)

    def estimate(self) -> str:
        """Minutes each phase should take, assuming the build meets its target rate."""
        builds = sum(min(self.timeout_for(n), 5 + n / BUILD_RATE) for n in self.sizes)
        startup = len(self.sizes) * self.startup_runs * 4
        virtuoso = self.virtuoso and shutil.which("virtuoso-t") is not None
        targets = 3 + self.rdflib + virtuoso
        endpoint = 0.0
        for n in self.endpoint_sizes:
            if n in self.sizes:
                loads = (min(self.load_timeout, n / 20_000) if self.rdflib else 0) + \
                        (min(self.load_timeout, n / 15_000) if virtuoso else 0)
                endpoint += 5 * 3 * self.rounds * targets * (self.seconds + 0.3) + loads + 20
        total = builds + startup + endpoint + 30
        return (f"estimate: builds {builds / 60:.1f} min (at the target rate of 1M triples in 60 s), start-up "
                f"{startup / 60:.1f} min, endpoint {endpoint / 60:.1f} min ({targets} targets, {self.rounds} rounds "
                f"of {self.seconds:g} s), about {total / 60:.0f} min in all; the run stops measuring at "
                f"{(self.deadline - self.began) / 60:.0f} min")

    def settings_text(self) -> str:
        return (f"BENCH_SIZES {','.join(map(build_bench.label_of, self.sizes))}, endpoint at "
                f"{','.join(map(build_bench.label_of, self.endpoint_sizes))}, {self.rounds} rounds of "
                f"{self.seconds:g} s, seed {self.seed}, slow above {self.slow_s:g} s, "
                f"load timeout {self.load_timeout:g} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, default=REPO / "bench" / "RESULTS.md", metavar="RESULTS.md",
                        help="the file whose section is written, the plots beside it (default bench/RESULTS.md)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every number as JSON")
    args = parser.parse_args(argv)
    run = Run()
    logs = build_bench.CACHE / "logs"  # the servers' output of this run only (access logs grow fast)
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    workers, threads = server_defaults()
    about = {"machine": machine(LIBRARIES), "commit": git_commit(), "load_before": load_average(),
             "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
             "command": " ".join(["make bench" if argv is None and len(sys.argv) == 1 else "bench/run.py",
                                  *(argv if argv is not None else sys.argv[1:])]),
             "virtuoso": virtuoso_version() if run.virtuoso else "not run", "settings": run.settings_text(),
             "server": f"{workers} {'gthread' if threads > 1 else 'sync'} gunicorn worker(s), "
                       f"{threads} thread(s) each (finhealthkg's Settings)",
             "endpoint_plan": f"Each cell: {run.rounds} rounds of {run.seconds:g} s per target, the targets' order "
                              "reversed every other round; closed-loop clients (threads of this process, http.client), "
                              "each on a connection of its own, kept alive where the server keeps it (gunicorn's sync "
                              "workers close it after each answer, for finhealthkg and the thin app alike); "
                              "pyoxigraph = the query and its serialization in the benchmark's own process."}
    results: dict = {"about": about, "builds": [], "generation": {}, "startup": {}, "endpoint": {}}
    run.say(run.estimate())

    graphs = []
    for triples in run.sizes:
        label = build_bench.label_of(triples)
        graph, took = build_bench.generated(triples, run.seed)
        results["generation"][label] = took
        made = f"generated in {took:.1f} s" if took is not None else "from the cache"
        run.say(f"{label}: graph {made}; building (at most {run.timeout_for(triples):g} s) ...")
        if run.out_of_time():
            results["builds"].append({"label": label, "triples": triples, "error": "not built: out of time"})
            continue
        built = build_bench.build(graph, run.timeout_for(triples), reuse=run.reuse)
        results["builds"].append(built)
        run.say(f"{label}: " + (built["error"] if "error" in built else
                                f"built in {built['seconds']:.1f} s, peak {built['peak_rss_bytes'] / 2**20:.0f} MiB"))
        if "error" not in built:
            graphs.append((graph, Path(built["release"]), built["version"]))

    works = {}
    for graph, release, _ in graphs:
        works[graph.label] = workload(pyoxigraph.Store.read_only(str(release / "store")))
        if run.out_of_time():
            break
        run.say(f"{graph.label}: start-up, {run.startup_runs} runs ...")
        found = serve_bench.start_up(graph.root, graph.releases, works[graph.label], logs, run.startup_runs,
                                     timeout=120)
        results["startup"][graph.label] = found
        run.say(f"{graph.label}: " + (found["error"] if "error" in found else
                                      f"start-up {found['median_s']:.2f} s, RSS {found['rss_bytes'] / 2**20:.0f} MiB"))

    plan = endpoint_bench.Plan(seconds=run.seconds, rounds=run.rounds, max_requests=100_000, slow_s=run.slow_s,
                               rdflib=run.rdflib, virtuoso=run.virtuoso, load_timeout=run.load_timeout,
                               out_of_time=run.out_of_time, clients=run.clients)
    for graph, release, version in graphs:
        if graph.triples not in run.endpoint_sizes or run.out_of_time():
            continue
        run.say(f"{graph.label}: endpoint ...")
        results["endpoint"][graph.label] = endpoint_bench.measure(graph.root, graph.releases, release, version, logs,
                                                                  plan, run.say)

    if graphs and not run.out_of_time():
        graph, release, _ = max(graphs, key=lambda g: (g[0].triples <= 1_000_000, g[0].triples))
        run.say(f"{graph.label}: downloads ...")
        results["downloads"] = {"size": graph.label, "files": serve_bench.downloads(
            graph.root, graph.releases, release, logs, runs=3)}

    about["load_after"] = load_average()
    about["elapsed_min"] = round((time.monotonic() - run.began) / 60, 1)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    (build_bench.CACHE / "last-run.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    for path in report.write(results, args.write):
        run.say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
