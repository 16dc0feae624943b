#!/usr/bin/env python3
"""The search index at scale: build it on a generated graph and time its lookups.

    .venv/bin/python bench/search.py                          # 1M triples, prints the numbers
    .venv/bin/python bench/search.py --write bench/RESULTS.md # and writes its "Search" section
    .venv/bin/python bench/search.py --triples 100000 --queries 100

Steps: bench/generate.py writes the graph; its files are bulk-loaded into an Oxigraph store
(the graphs a release's store holds: ontology and data); `write_search_index` — the very
function `finhealthkg build` calls — builds search.sqlite from that store in a child process
(whose peak memory is measured); then `SearchIndex`, the class the server answers /search
and /reconcile with, looks up names sampled from the generated graph, written as a user
would: exactly, lower-cased without accents, a prefix, one word, a substring, with a type
filter, and a two-letter prefix (the widest). The full build (SHACL validation of the whole
graph first) is not part of this: it does not change how the index is built or read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import load as load_bench  # noqa: E402  (machine, load average, commit: reported alike)
from harness import write_section  # noqa: E402

SECTION = "## Search"
LABEL = re.compile(r'^<(https://w3id\.org/finhealthkg/id/organization/[^>]+)> '
                   r'<http://www\.w3\.org/2004/02/skos/core#prefLabel> "([^"]+)"@(en|fi|sv) \.$')
BIOBANK = "https://w3id.org/finhealthkg/def/Biobank"
KINDS = ("exact", "folded", "prefix", "word", "substring", "typed", "two-letters")
INDEX_CHILD = """
import json, resource, sys, time
from pathlib import Path
from finhealthkg.stores.oxigraph import OxigraphStore
from finhealthkg.search.index import write_search_index
store = OxigraphStore.open_read_only(Path(sys.argv[1]))
started = time.perf_counter()
counts = write_search_index(store, Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - started, **counts,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(triples: int, seed: int, work: Path) -> Path:
    project = work / f"kg-{triples}"
    if not (project / "data" / "generated.ttl").exists():
        subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--triples", str(triples),
                        "--seed", str(seed), "--out", str(project), "--force"], check=True)
    return project


def load_store(project: Path) -> tuple[Path, float | None]:
    from finhealthkg.namespaces import DATA_GRAPH, ONTOLOGY_GRAPH
    from finhealthkg.stores.oxigraph import OxigraphStore

    path = project / "store"
    started = time.perf_counter()
    if path.exists():  # from an earlier run: the same graph
        return path, None
        loads = [(f, str(ONTOLOGY_GRAPH)) for f in sorted((project / "ontology").glob("*.ttl"))]
        loads += [(f, str(DATA_GRAPH)) for f in sorted((project / "data").glob("*.ttl")) if f.name != "catalog.ttl"]
        store = OxigraphStore.create(path, loads)
        store.flush()
        store.close()
    return path, time.perf_counter() - started


def build_index(store: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", INDEX_CHILD, str(store), str(out)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def fold(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", plain))


def sample_names(project: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """(IRI, name) of generated organisations, a uniform sample read in one pass."""
    rng, chosen, seen = random.Random(seed), [], 0
    with (project / "data" / "generated.ttl").open(encoding="utf-8") as lines:
        for line in lines:
            found = LABEL.match(line.rstrip("\n"))
            if not found:
                continue
            seen += 1
            if len(chosen) < count:
                chosen.append((found.group(1), found.group(2)))
            elif (slot := rng.randrange(seen)) < count:
                chosen[slot] = (found.group(1), found.group(2))
    return chosen


def queries(names: list[tuple[str, str]], seed: int) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(kind, query, expected IRI or "", types) for every sampled name and kind."""
    rng, made = random.Random(seed), []
    for iri, name in names:
        words = name.split()
        made.append(("exact", name, iri, ()))
        made.append(("folded", fold(name), iri, ()))
        made.append(("prefix", name[:max(3, int(len(name) * 0.6))], "", ()))
        made.append(("word", rng.choice(words), "", ()))
        start = rng.randrange(max(1, len(name) - 5))
        made.append(("substring", name[start:start + 5], "", ()))
        made.append(("typed", name, iri if "biobank" in iri else "", (BIOBANK,)))
        made.append(("two-letters", name[:2], "", ()))
    return made


def run(args: argparse.Namespace) -> dict:
    from finhealthkg.search import SearchIndex

    work = Path(args.work)
    project = generate(args.triples, args.seed, work)
    store, load_seconds = load_store(project)
    built = build_index(store, work / f"index-{args.triples}")
    index = SearchIndex(work / f"index-{args.triples}" / "search.sqlite")
    asked = queries(sample_names(project, args.queries, args.seed), args.seed)
    index.search("warm up")
    timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
    found = {kind: [0, 0] for kind in KINDS}  # [found first among equals, expected]
    for kind, text, expected, types in asked:
        started = time.perf_counter()
        hits = index.search(text, types=types, limit=10)
        timings[kind].append((time.perf_counter() - started) * 1000)
        if expected:  # a generated name may be shared by several things: any of the best is right
            found[kind][1] += 1
            found[kind][0] += expected in {h.iri for h in hits if h.score == hits[0].score}
    size = (work / f"index-{args.triples}" / "search.sqlite").stat().st_size
    http = over_http(work, args.http_requests, args.seed) if args.http_requests else None
    return {"triples": args.triples, "load_seconds": load_seconds, "index": built, "index_mib": size / 2**20,
            "timings": timings, "found": found, "queries": len(asked), "http": http}


def over_http(work: Path, count: int, seed: int) -> dict:
    """The same kinds of lookups over HTTP against `finhealthkg serve` of the repository's own
    release (the 1M graph has no release here: validating it is not what is measured), and
    OpenRefine-sized reconciliation batches of 10: what the web layer adds to a lookup."""
    import csv

    import requests

    releases = work / "releases"
    where = ["--root", str(REPO), "--releases", str(releases)]
    load_bench.ensure_release(where)
    current = releases / "current"
    names = [row[column] for row in csv.DictReader((current / "organizations.csv").open(encoding="utf-8"))
             for column in ("name_en", "name_fi", "name_sv") if row[column]]
    rng = random.Random(seed)
    asked = [rng.choice((lambda n: n, fold, lambda n: n[:max(3, len(n) // 2)]))(rng.choice(names))
             for _ in range(count)]
    timings: dict[str, list[float]] = {"GET /search": [], "POST /reconcile (10 queries)": []}
    with load_bench.own_server(where, ["--workers", "1"], work / "server.log") as (url, _pid), \
            requests.Session() as session:
        session.get(url + "/search", params={"q": "warm up"}, headers={"Accept": "application/json"})
        for query in asked:
            started = time.perf_counter()
            answer = session.get(url + "/search", params={"q": query}, headers={"Accept": "application/json"})
            timings["GET /search"].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
        for start in range(0, len(asked), 10):
            batch = {f"q{i}": {"query": q, "limit": 3} for i, q in enumerate(asked[start:start + 10])}
            started = time.perf_counter()
            answer = session.post(url + "/reconcile", data={"queries": json.dumps(batch)})
            timings["POST /reconcile (10 queries)"].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
    return timings


def _table(rows: dict[str, list[float]], found: dict | None = None) -> list[str]:
    lines = []
    for kind, times in rows.items():
        if not times:
            continue
        ordered = sorted(times)

        def at(share: float, ordered: list[float] = ordered) -> float:
            return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
        hit, expected = (found or {}).get(kind, (0, 0))
        cells = [kind, str(len(times)), f"{statistics.median(times):.2f}", f"{at(0.95):.2f}", f"{at(0.99):.2f}",
                 f"{ordered[-1]:.2f}"] + ([f"{hit}/{expected}" if expected else "—"] if found is not None else [])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(result: dict) -> str:
    built, machine = result["index"], load_bench.machine()
    libraries = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items() if k in ("pyoxigraph", "rdflib"))
    import sqlite3
    lines = [
        SECTION, "",
        f"`bench/search.py --triples {result['triples']}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"commit `{load_bench.git_commit()}`.", "",
        f"- Machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['ram_gib']} GiB RAM, Linux "
        f"{machine['kernel']}; 1-minute load average {load_bench.load_average()} just before the lookups "
        "(other work shares the CPUs)",
        f"- Python {machine['python']}, SQLite {sqlite3.sqlite_version} (FTS5); {libraries}",
        f"- Graph: bench/generate.py, {result['triples']} triples (seed 1), bulk-loaded into Oxigraph"
        + (f" in {result['load_seconds']:.1f} s" if result["load_seconds"] is not None else " (by an earlier run)"),
        f"- Index: {built['things']} things, {built['names']} names; built in {built['seconds']:.1f} s by "
        f"`write_search_index` (peak memory of that process {built['peak_mib']:.0f} MiB, store included); "
        f"search.sqlite {result['index_mib']:.1f} MiB", "",
        f"**{result['queries']} lookups** through `SearchIndex.search(limit=10)` (what /search and /reconcile "
        "call, in-process: no HTTP), names sampled from the generated organisations:", "",
        "| kind | lookups | p50 ms | p95 ms | p99 ms | max ms | found first |", "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += _table(result["timings"], result["found"])
    lines += ["", "Kinds: `exact` the name as written; `folded` lower case without accents; `prefix` its first 60 %; "
              "`word` one of its words; `substring` five characters from inside it; `typed` the name with "
              "`type=fhkg:Biobank`; `two-letters` its first two letters (the widest match). *Found first*: the "
              "thing is among the best-scored results (generated names repeat, so ties count); a `folded` query that "
              "misses is a name that, without its accents, is another thing's exact name (\"Tikö Biopankki\" "
              "asked as \"tiko biopankki\" finds \"Tiko Biopankki\" first, as it should).", ""]
    if result.get("http"):
        lines += ["Over HTTP (`finhealthkg serve`, one sync worker, loopback, client-side latency), on the "
                  "repository's own release: names, folded names and prefixes of its organisations; the "
                  "time the web layer adds to a lookup:", "",
                  "| request | requests | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|",
                  *_table(result["http"]), ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=300, help="names to sample (each asked in 7 ways)")
    parser.add_argument("--work", default="/tmp/finhealthkg-search-bench", help="where the graph and index go")
    parser.add_argument("--http-requests", type=int, default=200,
                        help="searches over HTTP against the repository's release (0: none)")
    parser.add_argument("--write", type=Path, help="write the Search section of this file (bench/RESULTS.md)")
    args = parser.parse_args()
    text = report(run(args))
    print(text)
    if args.write:
        write_section(args.write, text)
        print(f"wrote the {SECTION!r} section of {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
