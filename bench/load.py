#!/usr/bin/env python3
"""A bounded load test of the publisher, on loopback only; it stops by itself.

By default: starts `finhealthkg serve` on a free loopback port from the repository's current
release (built first if there is none), runs 32 concurrent clients for 30 s, each with its own
HTTP session, sending a mix of light requests:

  sparql-lookup   a point lookup: SELECT ?p ?o WHERE { <thing> ?p ?o } (SPARQL JSON)
  sparql-example  one of the example queries of the home page (web/examples.py), SPARQL JSON
  id-303          GET /id/{kind}/{slug} as Turtle: the 303 followed to the document
  doc-turtle      GET /doc/{kind}/{slug} with Accept: text/turtle
  doc-html        GET /doc/{kind}/{slug} with Accept: text/html

and reports errors (zero expected), latency p50/p95/p99 per kind, requests per second, and
the server's peak memory: the resident set of the gunicorn master, its workers and their
child processes summed, sampled from /proc while the load runs.

    .venv/bin/python bench/load.py                       # 32 clients, 30 s, prints the numbers
    .venv/bin/python bench/load.py --write bench/RESULTS.md   # and writes its "Load" section
    .venv/bin/python bench/load.py --url http://127.0.0.1:8080 --clients 8 --duration 5
    .venv/bin/python bench/load.py --front 2 --clients 256 --write bench/RESULTS.md   # make load-front

Exit status: 0 when no request failed, 1 when some did, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from harness import (
    SAMPLE_SECONDS,
    MemorySampler,
    Refused,
    finhealthkg_command,
    free_port,
    git_commit,
    listeners_of,
    load_average,
    loopback_only,
    machine,
    percentile,
    server_defaults,
    write_section,
)

KINDS = ("sparql-lookup", "sparql-example", "id-303", "doc-turtle", "doc-html")
MAX_CLIENTS, MAX_DURATION = 256, 600.0  # the bounds: never more, never longer
REQUEST_TIMEOUT = 30.0
SECTION = "## Load"
FRONT_SECTION = "## Load through the front"
LIBRARIES = ("gunicorn", "flask", "werkzeug", "pyoxigraph", "rdflib", "requests")


# --- the target --------------------------------------------------------------------------------

def ensure_release(where: list[str]) -> None:
    """Build a release from the repository's sources when there is none to serve."""
    listed = subprocess.run([*finhealthkg_command(), "releases", *where], capture_output=True, text=True,
                            check=False, timeout=60)
    if listed.returncode == 0 and "*" in listed.stdout:
        return
    print("no current release: building one (finhealthkg build)", file=sys.stderr, flush=True)
    built = subprocess.run([*finhealthkg_command(), "build", *where], capture_output=True, text=True,
                           check=False, timeout=600)
    if built.returncode != 0:
        raise Refused(f"finhealthkg build failed:\n{built.stdout}{built.stderr}")


@contextmanager
def own_server(where: list[str], extra: list[str], log_path: Path) -> Iterator[tuple[str, int]]:
    """`finhealthkg serve` on a free loopback port: (base URL, pid of the gunicorn master).
    Its stderr goes to `log_path`, its stdout (the access log) beside it, with .access added."""
    ensure_release(where)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log, access_log_of(log_path).open("w") as access:
        process = subprocess.Popen([*finhealthkg_command(), "serve", *where, "--host", "127.0.0.1",
                                    "--port", str(port), *extra], stdout=access, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise Refused(f"the server exited with status {process.returncode}; see {log_path}")
                try:
                    if requests.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise Refused(f"the server did not answer within 60 s; see {log_path}")
                time.sleep(0.2)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


CLUSTER = Path(__file__).resolve().parents[1] / "scripts" / "cluster"


@contextmanager
def own_front(where: list[str], extra: list[str], replicas: int, state: Path) -> Iterator[tuple[str, set[int]]]:
    """The front before `replicas` servers (scripts/cluster, as `make cluster` starts it) on free
    loopback ports: (the front's URL, the process ids of nginx and the replicas)."""
    ensure_release(where)
    for _ in range(20):  # the front's port and the replicas' after it must all be free
        port = free_port()
        if all(_port_free(port + i) for i in range(1, replicas + 1)):
            break
    started = subprocess.run([sys.executable, str(CLUSTER), "start", "--port", str(port), "--replicas", str(replicas),
                              "--state", str(state), "--", *where, *extra], capture_output=True, text=True,
                             check=False, timeout=180)
    if started.returncode != 0:
        raise Refused(f"scripts/cluster start failed:\n{started.stdout}{started.stderr}")
    try:
        pids = json.loads((state / "pids.json").read_text())
        yield f"http://127.0.0.1:{port}", {pids["front"]["pid"], *(r["pid"] for r in pids["replicas"].values())}
    finally:
        subprocess.run([sys.executable, str(CLUSTER), "stop", "--state", str(state)], capture_output=True,
                       check=False, timeout=120)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def front_log_summary(state: Path) -> dict:
    """What the front's access log says of the run: answers by status, and how many came from its cache."""
    statuses: dict[str, int] = defaultdict(int)
    cache: dict[str, int] = defaultdict(int)
    for line in (state / "front-access.log").read_text(errors="replace").splitlines():
        parts = line.split('" ', 1)
        if len(parts) == 2:
            statuses[parts[1].split(" ", 1)[0]] += 1
            found = re.search(r" cache=(\S+)", line)
            cache[found.group(1) if found else "-"] += 1
    said = (state / "front-error.log").read_text(errors="replace").splitlines()
    troubles = [line[:300] for line in said if re.search(r"\[(error|crit|alert|emerg)\]", line)]
    return {"front_statuses": dict(statuses), "front_cache": dict(cache), "front_errors": troubles[:10],
            "front_error_count": len(troubles)}


def access_log_of(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + ".access")


ERROR_LINE = re.compile(r"^(\w+\.)*\w*(Error|Exception)\b|\[(WARNING|ERROR|CRITICAL)\]")


def server_log_summary(log_path: Path) -> dict:
    """What the server said of itself during the run: tracebacks are failures even when no
    client saw one; and the access log should hold one line per request the server answered."""
    said = log_path.read_text(errors="replace").splitlines()
    access = access_log_of(log_path).read_text(errors="replace").splitlines()
    return {"server_log": str(log_path), "server_tracebacks": sum(line.startswith("Traceback") for line in said),
            "server_log_excerpt": sorted({line[:300] for line in said if ERROR_LINE.search(line)})[:10],
            "access_log_lines": len(access)}


# --- memory ------------------------------------------------------------------------------------

# --- the load ----------------------------------------------------------------------------------

@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)  # the first few errors, said in words
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error is not None:
                self.errors[kind] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{kind}: {error}")


def targets(url: str, base_iri: str) -> tuple[list[str], list[str]]:
    """(paths of things under /id/, queries) to send: asked of the server itself."""
    from finhealthkg.web.pages.examples import EXAMPLES

    query = f"""SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER (STRSTARTS(STR(?s), "{base_iri}id/")) }}"""
    answer = requests.get(url + "/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"}, timeout=REQUEST_TIMEOUT)
    answer.raise_for_status()
    things = sorted(row["s"]["value"][len(base_iri) - 1:] for row in answer.json()["results"]["bindings"])
    if not things:
        raise Refused(f"the server holds no things under {base_iri}id/ (another --base-iri?)")
    return things, [example.text() for example in EXAMPLES]


def one_request(session: requests.Session, url: str, kind: str, thing: str, examples: list[str],
                base_iri: str) -> str | None:
    """Send one request of `kind`; None if it was answered as it should be, else what went wrong."""
    json_results = {"Accept": "application/sparql-results+json"}
    if kind == "sparql-lookup":
        query = f"SELECT ?p ?o WHERE {{ <{base_iri}{thing[1:]}> ?p ?o }}"
        response = session.get(url + "/sparql", params={"query": query}, headers=json_results,
                               timeout=REQUEST_TIMEOUT)
        expect = "application/sparql-results+json"
    elif kind == "sparql-example":
        response = session.post(url + "/sparql", data={"query": random.choice(examples)}, headers=json_results,
                                timeout=REQUEST_TIMEOUT)
        expect = "application/sparql-results+json"
    elif kind == "id-303":
        response = session.get(url + thing, headers={"Accept": "text/turtle"}, timeout=REQUEST_TIMEOUT)
        if not response.history or response.history[0].status_code != 303:
            return f"GET {thing}: no 303 (history {[r.status_code for r in response.history]})"
        expect = "text/turtle"
    else:
        accept = "text/turtle" if kind == "doc-turtle" else "text/html"
        response = session.get(url + thing.replace("/id/", "/doc/", 1), headers={"Accept": accept},
                               timeout=REQUEST_TIMEOUT)
        expect = accept
    if response.status_code != 200:
        said = " ".join(response.text.split())[:200]
        return f"{response.request.method} {response.request.path_url[:100]}: {response.status_code} {said}"
    if not response.headers.get("Content-Type", "").startswith(expect):
        return f"{response.request.path_url[:120]}: {response.headers.get('Content-Type')!r}, not {expect}"
    if not response.content:
        return f"{response.request.path_url[:120]}: an empty body"
    return None


class FromAddress(requests.adapters.HTTPAdapter):
    """Connections from one local address: each client is a client of its own to a front that
    limits requests per address (127.0.0.0/8 is all loopback)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - requests'
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_address(number: int) -> str:
    return f"127.77.{number // 250}.{number % 250 + 1}"


def client(number: int, url: str, deadline: float, things: list[str], examples: list[str], base_iri: str,
           tally: Tally, own_address: bool = False) -> None:
    rng = random.Random(number)
    with requests.Session() as session:
        if own_address:
            session.mount("http://", FromAddress(client_address(number)))
        while time.monotonic() < deadline:
            kind = rng.choice(KINDS)
            thing = rng.choice(things)
            started = time.perf_counter()
            try:
                error = one_request(session, url, kind, thing, examples, base_iri)
            except requests.RequestException as failure:
                error = f"{type(failure).__name__}: {failure}"[:300]
            tally.add(kind, time.perf_counter() - started, error)


def run_load(url: str, clients: int, duration: float, base_iri: str, roots: set[int],
             own_addresses: bool = False) -> dict:
    things, examples = targets(url, base_iri)
    tally = Tally()
    sampler = MemorySampler(roots) if roots else None
    if sampler:
        sampler.start()
    started = time.monotonic()
    deadline = started + duration
    threads = [threading.Thread(target=client, args=(n, url, deadline, things, examples, base_iri, tally,
                                                     own_addresses), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 2 * REQUEST_TIMEOUT + 10)
    elapsed = time.monotonic() - started
    if sampler:
        sampler.stop()
    kinds = {}
    for kind in KINDS:
        values = tally.latencies.get(kind, [])
        kinds[kind] = {"requests": len(values), "errors": tally.errors.get(kind, 0),
                       **({f"p{p}_ms": round(percentile(values, p / 100) * 1000, 1) for p in (50, 95, 99)}
                          if values else {})}
    everything = [v for values in tally.latencies.values() for v in values]
    return {
        "url": url, "clients": clients, "duration_s": round(elapsed, 2), "requests": len(everything),
        "errors": sum(tally.errors.values()), "error_examples": tally.examples,
        "requests_per_s": round(len(everything) / elapsed, 1) if elapsed else 0.0,
        "all": {f"p{p}_ms": round(percentile(everything, p / 100) * 1000, 1) for p in (50, 95, 99)}
        if everything else {},
        "kinds": kinds, "things": len(things),
        "server_peak_rss_mib": round(sampler.peak_bytes / 2**20, 1) if sampler else None,
        "server_peak_pss_mib": round(sampler.peak_pss_bytes / 2**20, 1) if sampler else None,
        "server_processes": sampler.peak_processes if sampler else None,
        "memory_samples": sampler.samples if sampler else 0,
        "stuck_clients": sum(thread.is_alive() for thread in threads),
    }


# --- the report --------------------------------------------------------------------------------

def server_release(url: str) -> str:
    try:
        return requests.get(url + "/healthz", timeout=5).json().get("release") or "unknown"
    except (requests.RequestException, ValueError):
        return "unknown"


def markdown(result: dict, about: dict) -> str:
    m = about["machine"]
    libraries = ", ".join(f"{name} {version}" for name, version in m["libraries"].items())
    lines = [
        about["section"], "",
        f"`{about['command']}` on {about['date']}, commit `{about['commit']}`, release `{about['release']}`.",
        "",
        f"- Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
        f"1-minute load average {about['load_before']} just before the run (other work shares the CPUs)",
        f"- Python {m['python']}; {libraries}",
        f"- Server: {about['server']}; the clients run on the same machine",
        f"- Load: {result['clients']} concurrent clients (a thread and an HTTP session each) for "
        f"{result['duration_s']} s, each sending the next request as soon as the last is answered; kinds drawn "
        f"at random, evenly, over {result['things']} things and the {about['examples']} example queries",
        "",
        f"**{result['errors']} errors in {result['requests']} requests; {result['requests_per_s']} requests/s; "
        f"server peak memory {result['server_peak_rss_mib']} MiB** (RSS summed over the gunicorn master, its "
        f"workers and their children, {result['server_processes']} processes at most, sampled every "
        f"{SAMPLE_SECONDS} s from /proc; pages shared between them count once in each, so the sum of their "
        f"PSS, {result['server_peak_pss_mib']} MiB at its peak, is nearer to what the server takes)",
        "",
        "| kind | requests | errors | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [*result["kinds"].items(), ("all", {"requests": result["requests"], "errors": result["errors"],
                                               **result["all"]})]
    for kind, row in rows:
        lines.append(f"| {kind} | {row['requests']} | {row['errors']} | {row.get('p50_ms', '–')} | "
                     f"{row.get('p95_ms', '–')} | {row.get('p99_ms', '–')} |")
    lines += ["", "Kinds: `sparql-lookup` SELECT ?p ?o of one thing (GET, SPARQL JSON); `sparql-example` one of "
              "the home page's example queries (POST form, SPARQL JSON); `id-303` GET /id/… as Turtle, the 303 "
              "followed (both requests in one latency); `doc-turtle`, `doc-html` GET /doc/… with that Accept. "
              "An error is any exception, a status other than 200 (after the 303), another content type or an "
              "empty body. Latency is client-side, from sending to the last byte read.", ""]
    if "front_statuses" in result:
        lines += [f"The front's access log: answers by status {dict(sorted(result['front_statuses'].items()))}; "
                  f"by its cache {dict(sorted(result['front_cache'].items()))} (`-`: not cacheable, a POST or a "
                  "redirect; HIT: from the cache; MISS, EXPIRED, REVALIDATED: asked of a replica). Its error log "
                  f"holds {result['front_error_count']} errors" + (":" if result["front_errors"] else "."), ""]
        lines += [f"    {line}" for line in result["front_errors"]] + ([""] if result["front_errors"] else [])
    if result["error_examples"]:
        lines += ["First errors:", "", *[f"- {e}" for e in result["error_examples"]], ""]
    if "server_tracebacks" in result:
        lines += [f"The server's access log has {result['access_log_lines']} lines (one per request it answered: "
                  f"an `id-303` is two). Its log of itself (stderr) holds {result['server_tracebacks']} tracebacks"
                  + (", and these errors and warnings:" if result["server_log_excerpt"] else "."), ""]
        lines += [f"    {line}" for line in result["server_log_excerpt"]]
        lines += [""] if result["server_log_excerpt"] else []
    return "\n".join(lines)


def print_result(result: dict) -> None:
    print(f"{result['requests']} requests in {result['duration_s']} s from {result['clients']} clients: "
          f"{result['requests_per_s']} requests/s, {result['errors']} errors; server peak RSS "
          f"{result['server_peak_rss_mib']} MiB (PSS {result['server_peak_pss_mib']} MiB) over "
          f"{result['server_processes']} processes")
    print(f"{'kind':16} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, row in [*result["kinds"].items(), ("all", {**result["all"], "requests": result["requests"],
                                                          "errors": result["errors"]})]:
        print(f"{kind:16} {row['requests']:>8} {row['errors']:>6} {row.get('p50_ms', '-'):>8} "
              f"{row.get('p95_ms', '-'):>8} {row.get('p99_ms', '-'):>8}")
    for example in result["error_examples"]:
        print("error:", example)
    if "server_tracebacks" in result:
        print(f"server log {result['server_log']}: {result['server_tracebacks']} tracebacks; "
              f"{result['access_log_lines']} access log lines")
        for line in result["server_log_excerpt"]:
            print("  ", line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help=f"concurrent clients (at most {MAX_CLIENTS})")
    parser.add_argument("--duration", type=float, default=30.0, help=f"seconds (at most {MAX_DURATION:g})")
    parser.add_argument("--url", help="a running server on this machine (default: start one)")
    parser.add_argument("--front", type=int, metavar="REPLICAS",
                        help="start the front (scripts/cluster: nginx) before REPLICAS servers and load it, "
                             "each client from an address of its own (127.77.x.y); writes the section "
                             "'Load through the front'")
    parser.add_argument("--root", help="for the server started here: where ontology/ shapes/ data/ are")
    parser.add_argument("--releases", help="for the server started here: the releases directory")
    parser.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                        help="passed on to `finhealthkg serve` (repeat: --server-arg=--workers --server-arg=4)")
    parser.add_argument("--base-iri", help="the published base IRI (default: the package's)")
    parser.add_argument("--write", type=Path, metavar="RESULTS.md", help="write the numbers as its Load section")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the numbers as JSON")
    args = parser.parse_args(argv)
    from finhealthkg.namespaces import BASE

    base_iri = args.base_iri or BASE
    try:
        if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.duration <= MAX_DURATION:
            raise Refused(f"clients must be 1..{MAX_CLIENTS} and duration 0..{MAX_DURATION:g} s")
        where = [flag for flag, value in (("--root", args.root), ("--releases", args.releases)) if value
                 for flag in (flag, value)]
        if args.url:
            load_before = load_average()
            url = loopback_only(args.url)
            port = urlsplit(url).port or 80
            result = run_load(url, args.clients, args.duration, base_iri, listeners_of(port))
        elif args.front:
            state = Path(tempfile.mkdtemp(prefix="finhealthkg-front-"))
            load_before = load_average()
            with own_front(where, args.server_arg, args.front, state) as (url, pids):
                release = server_release(url)
                result = run_load(url, args.clients, args.duration, base_iri, pids, own_addresses=True)
            result.update(front_log_summary(state))
        else:
            log = Path(os.environ.get("TMPDIR", "/tmp")) / f"finhealthkg-load-{os.getpid()}.log"
            load_before = load_average()
            with own_server(where, args.server_arg, log) as (url, pid):
                release = server_release(url)
                result = run_load(url, args.clients, args.duration, base_iri, {pid})
            result.update(server_log_summary(log))
    except Refused as refusal:
        print(f"load: {refusal}", file=sys.stderr)
        return 2
    if args.url:
        release = server_release(url)
    print_result(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.write:
        from finhealthkg.web.pages.examples import EXAMPLES

        about = {"section": FRONT_SECTION if args.front else SECTION,
                 "machine": machine(LIBRARIES), "commit": git_commit(), "release": release, "load_before": load_before,
                 "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "command": " ".join(["bench/load.py", *(argv if argv is not None else sys.argv[1:])]),
                 "server": (f"the one at {url}" if args.url else
                            f"nginx (deploy/nginx/finhealthkg.conf, started by scripts/cluster) before {args.front} "
                            f"`{' '.join(['finhealthkg serve', *args.server_arg])}` replicas ({server_defaults()}), "
                            "each client from a loopback address of its own" if args.front else
                            f"`{' '.join(['finhealthkg serve', *args.server_arg])}` started by the script (the "
                            f"defaults{' but for the flags shown' if args.server_arg else ''}: "
                            f"{server_defaults()}) on loopback, "
                            f"{'an external store' if '--store' in args.server_arg else 'the embedded store'}"),
                 "examples": len(EXAMPLES)}
        write_section(args.write, markdown(result, about))
        print(f"wrote the {about['section']!r} section of {args.write}")
    return 0 if result["errors"] == 0 and result["requests"] > 0 and not result["stuck_clients"] else 1


if __name__ == "__main__":
    sys.exit(main())
