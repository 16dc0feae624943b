"""Build benchmark: a generated graph per size (cached under var/bench/, keyed by size and seed),
built by `build_release` in a fresh process of its own, so the peak memory is that build's.

The steps are whatever `build_release` reports (progress.Steps records): their titles are
not written here. The child writes each record to a JSON-lines file as the step ends, so a
build that is stopped at its time limit still says how far it got.

    .venv/bin/python bench/build_bench.py --child ROOT RELEASES RECORDS.jsonl   (what the bench runs)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import REPO

CACHE = Path(os.environ.get("BENCH_CACHE") or REPO / "var" / "bench")  # git-ignored
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}
COMPLETE = ".complete"  # written last into a generated root: a killed generation is redone


def size_of(label: str) -> int:
    """"100k" -> 100000; also plain numbers and 2M, 500k."""
    text = label.strip()
    if text in SIZES:
        return SIZES[text]
    scale = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    try:
        return int(float(text[:-1] if scale != 1 else text) * scale)
    except ValueError:
        raise ValueError(f"not a size: {label!r} (e.g. 10k, 100k, 1M, 10M)") from None


def label_of(triples: int) -> str:
    for label, size in SIZES.items():
        if size == triples:
            return label
    return f"{triples // 1_000_000}M" if triples % 1_000_000 == 0 else f"{triples // 1000}k" \
        if triples % 1000 == 0 else str(triples)


@dataclass(frozen=True)
class Graph:
    label: str
    triples: int
    seed: int
    directory: Path

    @property
    def root(self) -> Path:
        return self.directory / "root"

    @property
    def releases(self) -> Path:
        return self.directory / "releases"

    @property
    def records(self) -> Path:
        return self.directory / "build.jsonl"

    @property
    def summary(self) -> Path:
        return self.directory / "build.json"


def generated(triples: int, seed: int, cache: Path = CACHE, timeout: float = 3600) -> tuple[Graph, float | None]:
    """The generated project root for (triples, seed), made unless cached: (graph, seconds it
    took to generate, None when it came from the cache)."""
    graph = Graph(label_of(triples), triples, seed, cache / f"{label_of(triples)}-seed{seed}")
    if (graph.root / COMPLETE).exists():
        return graph, None
    shutil.rmtree(graph.root, ignore_errors=True)
    graph.directory.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--triples", str(triples), "--seed", str(seed),
                    "--out", str(graph.root)], check=True, timeout=timeout, stdout=subprocess.DEVNULL)
    (graph.root / COMPLETE).write_text("")
    return graph, time.monotonic() - began


def build(graph: Graph, timeout: float, reuse: bool = False) -> dict:
    """Build a release of `graph` in a child process, at most `timeout` seconds: its steps,
    total seconds, peak memory, triples/s; or what stopped it ("error"). With `reuse`, a
    release built by an earlier run is taken with that run's numbers (marked "reused")."""
    if reuse and graph.summary.exists() and (graph.releases / "current").exists():
        return {**json.loads(graph.summary.read_text()), "reused": True}
    shutil.rmtree(graph.releases, ignore_errors=True)
    graph.records.unlink(missing_ok=True)
    log = graph.directory / "build.log"
    began = time.monotonic()
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, __file__, "--child", str(graph.root), str(graph.releases),
                                  str(graph.records)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            status = None
    elapsed = time.monotonic() - began
    lines = [json.loads(line) for line in graph.records.read_text().splitlines()] if graph.records.exists() else []
    steps = [line for line in lines if line.get("kind") == "step"]
    done = next((line for line in lines if line.get("kind") == "done"), None)
    started = [line["title"] for line in lines if line.get("kind") == "started"]
    result: dict = {"label": graph.label, "triples": graph.triples, "seed": graph.seed, "steps": steps,
                    "seconds": round(elapsed, 2), "log": str(log)}
    if done is not None and status == 0:
        for step in steps:  # "Publishing release <version>": the same step at every size
            step["title"] = step["title"].replace(done["version"], "<version>")
        result.update({key: value for key, value in done.items() if key != "kind"})
        result["triples_per_s"] = round(graph.triples / done["seconds"]) if done["seconds"] else None
        graph.summary.write_text(json.dumps(result, indent=1) + "\n")
    elif status is None:
        running = started[len(steps)] if len(started) > len(steps) else "?"
        result["error"] = f"did not finish within {timeout:g} s (stopped in the step {running!r})"
    else:
        tail = " ".join(log.read_text(errors="replace").split()[-40:])
        result["error"] = f"the build exited with status {status}: {tail[-300:]}"
    return result


# --- the child: one build, its records as JSON lines ------------------------------------------------

def child(root: Path, releases: Path, records: Path) -> int:
    from finhealthkg.config import Settings
    from finhealthkg.pipeline.build import BUILD_STEPS, build_release
    from finhealthkg.pipeline.progress import Steps

    out = records.open("a", encoding="utf-8")

    def write(line: dict) -> None:
        out.write(json.dumps(line) + "\n")
        out.flush()

    class RecordingSteps(Steps):
        @contextmanager
        def step(self, title: str) -> Iterator[list[str]]:
            write({"kind": "started", "title": title})
            with super().step(title) as notes:
                yield notes
            record = self.records[-1]
            write({"kind": "step", "title": record.title, "seconds": round(record.seconds, 3),
                   "peak_rss_bytes": record.peak_rss_bytes})

    steps = RecordingSteps(BUILD_STEPS, out=sys.stderr)
    began = time.perf_counter()
    result = build_release(Settings(root=root, releases_dir=releases), steps=steps, force=True)
    seconds = time.perf_counter() - began
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
    release = result.release
    files = {name: entry["bytes"] for name, entry in release.checked_files().items()}
    write({"kind": "done", "seconds": round(seconds, 3), "peak_rss_bytes": peak, "version": release.version,
           "release": str(release.path), "released_triples": release.triples, "files": files})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=3, metavar=("ROOT", "RELEASES", "RECORDS"), required=True)
    args = parser.parse_args(argv)
    root, releases, records = (Path(p) for p in args.child)
    return child(root, releases, records)


if __name__ == "__main__":
    sys.exit(main())
