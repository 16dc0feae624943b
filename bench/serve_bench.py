"""Start-up, memory and downloads of `finhealthkg serve`.

Start-up: seconds from spawning `finhealthkg serve` to the first answered SPARQL query (polled
every 20 ms), the median of a few starts. Memory: the resident size summed over the server's
process tree (the gunicorn master, its workers, their query processes; harness.MemorySampler)
after a warm-up that reaches every worker. Downloads: MB/s of GET /downloads/{file} on loopback,
against reading the same file from disk in Python, each the median of a few reads.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import requests

from harness import MemorySampler
from loadgen import Call, http_sender, run_round
from peers import NotMeasured, finhealthkg
from queries import Workload

CHUNK = 1 << 20
DOWNLOADS = ("dataset.ttl", "dataset.nt.gz")


def warm_up(url: str, work: Workload, seconds: float = 1.0) -> int:
    """Lookups and dereferences from more clients than there are workers; requests sent."""
    def plan(i: int) -> Call:
        if i % 2:
            return Call(work.document(i), headers={"Accept": "text/turtle"})
        return Call("/sparql", params={"query": work.text("lookup", i)},
                    headers={"Accept": "application/sparql-results+json"})
    return run_round(http_sender(url, plan), clients=16, seconds=seconds).requests


def start_up(root: Path, releases: Path, work: Workload, logs: Path, runs: int, timeout: float) -> dict:
    """Start-up seconds (each run, median) and memory after the warm-up of the last run."""
    seconds: list[float] = []
    memory: dict = {}
    for run in range(runs):
        try:
            with finhealthkg(root, releases, logs, timeout=timeout) as target:
                assert target.started_s is not None and target.url is not None and target.pid is not None
                seconds.append(round(target.started_s, 3))
                if run == runs - 1:
                    warm_up(target.url, work)
                    sampler = MemorySampler({target.pid})
                    sampler.sample()
                    memory = {"rss_bytes": sampler.peak_bytes, "pss_bytes": sampler.peak_pss_bytes,
                              "processes": sampler.peak_processes}
        except NotMeasured as why:
            return {"error": f"finhealthkg serve: {why}", "runs": seconds}
    return {"runs": seconds, "median_s": statistics.median(seconds), **memory}


def read_disk(path: Path) -> float:
    began = time.perf_counter()
    with path.open("rb") as file:
        while file.read(CHUNK):
            pass
    return time.perf_counter() - began


def read_http(url: str, expect: int) -> float:
    """Seconds to read the whole body as sent (no Content-Encoding asked, none undone)."""
    began = time.perf_counter()
    got = 0
    with requests.get(url, headers={"Accept-Encoding": "identity"}, stream=True, timeout=60) as response:
        response.raise_for_status()
        for block in response.raw.stream(CHUNK, decode_content=False):
            got += len(block)
    took = time.perf_counter() - began
    if got != expect:
        raise NotMeasured(f"{url}: {got} bytes received, the file has {expect}")
    return took


def downloads(root: Path, releases: Path, release: Path, logs: Path, runs: int) -> dict:
    """Per file: bytes, disk MB/s, HTTP MB/s (medians over `runs`), and their ratio."""
    files: dict = {}
    try:
        with finhealthkg(root, releases, logs) as target:
            for name in DOWNLOADS:
                path = release / name
                size = path.stat().st_size
                read_disk(path)  # into the page cache: both are then read from memory
                disk = statistics.median(read_disk(path) for _ in range(runs))
                http = statistics.median(read_http(f"{target.url}/downloads/{name}", size) for _ in range(runs))
                files[name] = {"bytes": size, "disk_mb_s": round(size / disk / 1e6, 1),
                               "http_mb_s": round(size / http / 1e6, 1), "ratio": round(disk / http, 3)}
    except (NotMeasured, requests.RequestException) as why:
        return {"error": f"{type(why).__name__}: {why}", **files}
    return files
