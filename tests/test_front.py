"""The public deployment: the front (nginx with deploy/nginx/finhealthkg.conf, started by
scripts/cluster as `make cluster` does) before two replicas of `finhealthkg serve`, tried over
loopback as clients and attackers would: slow connections by the hundred, a client past its
limits, a poisoned Host, a new release while answers are cached, 256 clients at once. And the
server without the front: a handful of slow clients do not stop it.

Every client here that must count as a client of its own connects from an address of its own
(127.0.0.0/8 is all loopback), as the front limits each address.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from conftest import REPO, VIRTUOSO_PASSWORD, alive, cli, free_port, not_here, started_server
from finhealthkg.config import Settings
from finhealthkg.pipeline.build import build_release
from finhealthkg.release import Release, switch_current

CLUSTER = REPO / "scripts" / "cluster"
FOLLOW = 0.5  # --follow-seconds of the replicas here
SHARED_MAX_AGE = 5  # web/http/caching.py: how long the front keeps an answer before asking again
VERSION_QUERY = """PREFIX dcat: <http://www.w3.org/ns/dcat#>
SELECT ?version WHERE { GRAPH <https://w3id.org/finhealthkg/graph/void> {
  <https://w3id.org/finhealthkg/dataset> dcat:version ?version } }"""
BIG_QUERY = "SELECT ?a ?b WHERE { ?a ?p ?o . ?b ?q ?r } LIMIT 40000"  # about 6 MB of SPARQL JSON
JSON_RESULTS = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module", autouse=True)
def nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        not_here("nginx is not installed (apt-get install nginx)")
    return found


def cluster(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLUSTER), *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def ports_for(replicas: int) -> int:
    """A front port with the `replicas` ports after it free too."""
    for _ in range(50):
        port = free_port()
        if all(_free(port + i) for i in range(1, replicas + 1)):
            return port
    raise RuntimeError("no run of free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@dataclass
class Front:
    url: str
    state: Path
    releases: Path
    older: Release
    newer: Release
    replicas: list[str]  # their URLs

    def pids(self) -> list[int]:
        started = json.loads((self.state / "pids.json").read_text())
        return [started["front"]["pid"], *(r["pid"] for r in started["replicas"].values())]

    def access_lines(self) -> list[str]:
        time.sleep(1.2)  # the front writes its access log once a second (buffer=64k flush=1s)
        return (self.state / "front-access.log").read_text().splitlines()

    def replica_requests(self, path: str) -> list[dict]:
        """The requests to `path` the replicas answered (their JSON access logs)."""
        records = []
        for log in self.state.glob("replica-*.log"):
            for line in log.read_text().splitlines():
                if line.startswith("{") and f'"path": "{path}"' in line:
                    records.append(json.loads(line))
        return records


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory, release: Release) -> Front:
    """Two releases (the session's and one built after it; the older current), and the cluster."""
    home = tmp_path_factory.mktemp("front")
    releases = home / "releases"
    shutil.copytree(release.path.parent, releases, symlinks=True)
    older = release
    newer = build_release(Settings(root=REPO, releases_dir=releases), force=True).release
    switch_current(releases, older.version)
    port = ports_for(2)
    state = home / "state"
    started = cluster("start", "--port", str(port), "--replicas", "2", "--state", str(state), "--",
                      "--root", str(REPO), "--releases", str(releases), "--workers", "2",
                      "--follow-seconds", str(FOLLOW))
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"http://127.0.0.1:{port}/" in started.stdout
    handle = Front(f"http://127.0.0.1:{port}", state, releases, older, newer,
                   [f"http://127.0.0.1:{port + 1}", f"http://127.0.0.1:{port + 2}"])
    pids = handle.pids()
    yield handle
    stopped = cluster("stop", "--state", str(state))
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids), "`cluster stop` left a process it started running"


def from_address(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


class _FromAddress(requests.adapters.HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - requests'
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


# --- the front and its replicas ----------------------------------------------------------------

def test_the_front_answers_from_both_replicas_and_each_replica_only_on_loopback(front: Front):
    for n in range(12):  # POSTs: never from the cache
        answer = requests.post(front.url + "/sparql", data={"query": f"SELECT ({n} AS ?n) {{}}"},
                               headers=JSON_RESULTS, timeout=10)
        assert answer.status_code == 200 and answer.json()["results"]["bindings"][0]["n"]["value"] == str(n)
    upstreams = {m.group(1) for line in front.access_lines() if (m := re.search(r" upstream=(\S+)", line))}
    assert {url.removeprefix("http://") for url in front.replicas} <= upstreams
    listening = {}  # port: local addresses listening on it (/proc/net/tcp: hex, little-endian IPv4)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A":
            address, port = local.split(":")
            listening.setdefault(int(port, 16), set()).add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    for url in [front.url, *front.replicas]:
        assert listening.get(int(url.rsplit(":", 1)[1])) == {"127.0.0.1"}, (url, listening.get(int(url.rsplit(":")[1])))


def test_the_cache_answers_repeats_by_url_and_vary_and_revalidates_with_if_none_match(front: Front):
    query = f"SELECT ?o WHERE {{ ?s ?p ?o }} LIMIT {time.monotonic_ns() % 997 + 3}"  # a URL no test asked before
    ask = {"query": query}
    first = requests.get(front.url + "/sparql", params=ask, headers=JSON_RESULTS, timeout=10)
    again = requests.get(front.url + "/sparql", params=ask, headers=JSON_RESULTS, timeout=10)
    assert (first.headers["X-Cache-Status"], again.headers["X-Cache-Status"]) == ("MISS", "HIT")
    assert again.content == first.content and again.headers["ETag"] == first.headers["ETag"]
    assert "s-maxage=5" in first.headers["Cache-Control"]
    csv = requests.get(front.url + "/sparql", params=ask, headers={"Accept": "text/csv"}, timeout=10)
    assert csv.headers["Content-Type"].startswith("text/csv") and csv.headers["X-Cache-Status"] == "MISS"
    json_again = requests.get(front.url + "/sparql", params=ask, headers=JSON_RESULTS, timeout=10)
    assert json_again.headers["Content-Type"].startswith("application/sparql-results+json")
    assert json_again.headers["X-Cache-Status"] == "HIT"
    not_modified = requests.get(front.url + "/sparql", params=ask, timeout=10,
                                headers={**JSON_RESULTS, "If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and not not_modified.content
    asked = [r for r in front.replica_requests("/sparql") if r["status"] == 200]
    before = len(asked)
    time.sleep(SHARED_MAX_AGE + 1)
    later = requests.get(front.url + "/sparql", params=ask, headers=JSON_RESULTS, timeout=10)
    assert later.headers["X-Cache-Status"] == "REVALIDATED" and later.content == first.content
    time.sleep(1.2)  # the access logs are written as the answers go out
    answered = front.replica_requests("/sparql")
    assert any(r["status"] == 304 for r in answered), "the front did not ask a replica with If-None-Match"
    assert len([r for r in answered if r["status"] == 200]) == before  # nothing computed again


def test_a_host_header_of_a_client_is_not_a_link_for_others(front: Front):
    poisoned = requests.get(front.url + "/fragments", headers={"Host": "evil.example", "Accept": "text/turtle"},
                            timeout=10)
    assert poisoned.status_code == 200 and "evil.example" not in poisoned.text
    for _ in range(3):
        normal = requests.get(front.url + "/fragments", headers={"Accept": "text/turtle"}, timeout=10)
        assert "evil.example" not in normal.text and f"{front.url}/fragments" in normal.text


def test_a_client_past_its_limits_is_told_to_slow_down_and_others_are_not(front: Front):
    greedy = from_address("127.99.0.1")
    answers = [greedy.get(front.url + "/healthz", timeout=10) for _ in range(300)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "300 requests at once from one address were all answered"
    assert refused[0].headers["Retry-After"] == "1" and "Too many requests" in refused[0].text
    assert from_address("127.99.0.2").get(front.url + "/healthz", timeout=10).status_code == 200
    # connections at once: 40 requests whose bodies are still coming, from one address
    sockets = [socket.create_connection(front.url.removeprefix("http://").split(":"), source_address=("127.99.0.3", 0))
               for _ in range(40)]
    try:
        for sock in sockets:
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                         b"Content-Length: 1000\r\n\r\nSELECT")
        time.sleep(0.5)
        statuses = []
        for sock in sockets:
            sock.settimeout(0.05)
            try:
                statuses.append(sock.recv(100).split(b" ")[1])
            except (TimeoutError, IndexError):
                statuses.append(None)
        assert statuses.count(b"429") == 40 - 32 and statuses.count(None) == 32, statuses
    finally:
        for sock in sockets:
            sock.close()


def test_a_client_runs_one_long_query_at_a_time_across_the_replicas(front: Front):
    """--heavy-per-client 1 holds for the cluster, not per replica: the replicas share a run
    directory, so a client's second long query is refused whichever replica it reaches."""
    def ask(offset: int) -> requests.Response:
        return from_address("127.66.0.1").post(front.url + "/sparql", data={"query": f"{BIG_QUERY} OFFSET {offset}"},
                                               headers=JSON_RESULTS, timeout=60)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(ask, range(2)))
    assert sorted(a.status_code for a in answers) == [200, 503], [a.status_code for a in answers]
    refused = next(a for a in answers if a.status_code == 503)
    assert "Retry-After" in refused.headers
    upstreams = [m.group(1) for line in front.access_lines() if "POST /sparql" in line and "127.66.0.1" in line
                 for m in [re.search(r" upstream=(\S+)", line)] if m]
    assert len(set(upstreams)) == 2, f"both queries went to one replica: {upstreams}"


# --- slow clients --------------------------------------------------------------------------------

class SlowClients:
    """Connections that hold on: a request header sent a byte at a time, a body likewise, and
    answers not read (a small receive buffer, nothing taken from it). Each from one of a few
    dozen addresses (few enough each to stay within the front's per-address limits)."""

    def __init__(self, host: str, port: int, count: int, reader_path: str, readers: int | None = None) -> None:
        """`count` connections, a third of each kind, or at most `readers` of them readers."""
        self.host, self.port, self.count, self.reader_path = host, port, count, reader_path
        self.readers = count if readers is None else readers
        self.sockets: list[socket.socket] = []
        self.kinds: list[int] = []  # 0: a header a byte at a time, 1: a body likewise, 2: an answer not read
        self.stop = threading.Event()
        self.failed_to_open = 0

    def open(self) -> None:
        for n in range(self.count):
            address = f"127.88.{n % 60}.{n % 60 + 1}"
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.bind((address, 0))
            try:
                sock.connect((self.host, self.port))
            except OSError:
                self.failed_to_open += 1
                sock.close()
                continue
            kind = n % 3 if n % 3 != 2 or n // 3 < self.readers else n % 2
            if kind == 0:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            elif kind == 1:
                sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                             b"Content-Length: 100000\r\n\r\nSELECT")
            else:
                sock.sendall(f"GET {self.reader_path} HTTP/1.1\r\nHost: x\r\nAccept: application/sparql-results+json"
                             "\r\n\r\n".encode())
            self.sockets.append(sock)
            self.kinds.append(kind)
        threading.Thread(target=self._trickle, daemon=True).start()

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for sock, kind in zip(self.sockets, self.kinds, strict=True):
                if kind != 2:
                    try:
                        sock.send(b"X-a: b\r\n" if kind == 0 else b" ", socket.MSG_DONTWAIT)
                    except OSError:
                        pass

    def still_open(self) -> int:
        """Connections the far end has not closed (a peek finds no end of stream)."""
        count = 0
        for sock in self.sockets:
            try:
                count += sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
            except BlockingIOError:
                count += 1
            except OSError:
                pass
        return count

    def close(self) -> None:
        self.stop.set()
        for sock in self.sockets:
            sock.close()


def normal_latencies(url: str, seconds: float, clients: int = 4) -> tuple[list[float], list[str]]:
    """Clients asking as users do (pages, descriptions, queries) for `seconds`: latencies, errors."""
    latencies: list[float] = []
    errors: list[str] = []
    paths = ["/doc/organization/auria-biobank", "/id/organization/auria-biobank", "/", "/healthz"]

    def one(n: int) -> None:
        session = from_address(f"127.0.0.{n + 1}")
        deadline = time.monotonic() + seconds
        i = 0
        while time.monotonic() < deadline:
            i += 1
            started = time.perf_counter()
            try:
                if i % 3 == 0:
                    answer = session.post(url + "/sparql", data={"query": f"SELECT ({i} AS ?i) {{}}"},
                                          headers=JSON_RESULTS, timeout=10)
                else:
                    answer = session.get(url + paths[i % len(paths)], headers={"Accept": "text/turtle"}, timeout=10)
                if answer.status_code != 200:
                    errors.append(f"{answer.request.path_url}: {answer.status_code}")
            except requests.RequestException as error:
                errors.append(repr(error)[:200])
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


@pytest.fixture
def many_sockets() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_500_slow_connections_do_not_slow_the_front_for_others(front: Front, many_sockets):
    reader_path = "/sparql?" + requests.compat.urlencode({"query": BIG_QUERY})
    warm = requests.get(front.url + reader_path, headers=JSON_RESULTS, timeout=60)  # the front keeps it
    assert warm.status_code == 200 and len(warm.content) > 4 * 2**20
    host, port = front.url.removeprefix("http://").split(":")
    slow = SlowClients(host, int(port), 500, reader_path)
    slow.open()
    try:
        time.sleep(1)
        latencies, errors = normal_latencies(front.url, 6)
        held = slow.still_open()
    finally:
        slow.close()
    assert slow.failed_to_open == 0
    assert held >= 450, f"only {held} of 500 slow connections were still open: the test did not hold them"
    assert not errors, errors[:5]
    assert len(latencies) > 50 and p95(latencies) < 1.0, f"p95 {p95(latencies):.3f} s over {len(latencies)} requests"


def test_without_the_front_a_handful_of_slow_clients_do_not_stop_the_server(release: Release):
    """`finhealthkg serve` alone, its defaults: three times as many connections that send a
    header or a body a byte at a time as it has threads, a few that do not read a large answer,
    and one that went silent mid-request, while others are answered; a request not whole after
    --client-timeout seconds (10 by default; 3 here) is dropped however it trickles in."""
    settings = Settings.from_env()
    threads = settings.workers * settings.threads
    with started_server(REPO, release.path.parent, "--client-timeout", "3", workers=None) as server:
        host, port = server.url.removeprefix("http://").split(":")
        reader_path = "/sparql?" + requests.compat.urlencode({"query": BIG_QUERY})
        slow = SlowClients(host, int(port), 3 * threads + 4, reader_path, readers=2)
        slow.open()
        assert slow.kinds.count(0) + slow.kinds.count(1) >= 3 * threads
        silent = socket.create_connection((host, int(port)))
        silent.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        opened = time.monotonic()
        try:
            latencies, errors = normal_latencies(server.url, 3, clients=2)
            silent.settimeout(20)
            assert silent.recv(100) == b"", "the silent client's connection was not closed"
            waited = time.monotonic() - opened
            time.sleep(1.5)  # the tricklers began with it; the worker's loop looks once a second
            left = slow.still_open()
        finally:
            slow.close()
            silent.close()
        assert not errors, errors[:5]
        assert p95(latencies) < 1.0, f"p95 {p95(latencies):.3f} s"
        assert 2.5 < waited < 10, f"the silent client was dropped after {waited:.1f} s, not about 3"
        assert left <= 2, f"{left} tricklers were still connected after the time a request may take"
    log = server.stderr.read_text()
    assert "closed the connection of a client whose request was not whole after 3 s" in log
    assert "Traceback" not in log


FORM = b"Content-Type: application/x-www-form-urlencoded\r\nAccept: application/sparql-results+json\r\n"
QUERY_FORM = b"query=SELECT%20%28%22ok%22%20AS%20%3Fx%29%20%7B%7D"
# Requests that a thread would take before they are whole, each with the byte it then trickles
EARLY_TAKERS = {
    "chunked body": (b"POST /sparql HTTP/1.1\r\nHost: x\r\n" + FORM + b"Transfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n" % len(QUERY_FORM), b"q"),
    "body after 100-continue": (b"POST /sparql HTTP/1.1\r\nHost: x\r\n" + FORM + b"Expect: 100-continue\r\n"
                                b"Content-Length: 1000\r\n\r\n", b"q"),
    "pipelined second request": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nG", b"E"),
    "13-digit Content-Length": (b"POST /sparql HTTP/1.1\r\nHost: x\r\n" + FORM
                                + b"Content-Length: 0000000001000\r\n\r\n", b"q"),
    "head over 64 KiB": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                         + b"".join(b"X-F%d: %s\r\n" % (i, b"a" * 1100) for i in range(62)), b"Y"),
}


def test_requests_that_trickle_in_any_framing_hold_no_thread(release: Release):
    """Chunked bodies, bodies after `100 Continue`, a pipelined request behind an answered one,
    a Content-Length with leading zeros, a head longer than 64 KiB: each waits for its bytes
    without a thread, and is dropped when not whole in --client-timeout; twice as many of them
    as the server has threads leave others answered at once. Whole, each is answered."""
    settings = Settings.from_env()
    threads = settings.workers * settings.threads
    with started_server(REPO, release.path.parent, "--client-timeout", "3", workers=None) as server:
        host, port = server.url.removeprefix("http://").split(":")
        holders = []
        for n in range(2 * threads):
            start, _ = list(EARLY_TAKERS.values())[n % len(EARLY_TAKERS)]
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(start)
            holders.append((sock, list(EARLY_TAKERS.values())[n % len(EARLY_TAKERS)][1]))
        began = time.monotonic()
        latencies = []
        while time.monotonic() - began < 2.5:
            for sock, byte in holders:
                try:
                    sock.send(byte, socket.MSG_DONTWAIT)
                except OSError:
                    pass
            started = time.perf_counter()
            assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.5)
        assert max(latencies) < 1.0, latencies
        time.sleep(3 + 1.5 - (time.monotonic() - began))
        open_still = 0
        for sock, _ in holders:  # after a `100 Continue` or the pipelined one's first 200, each is closed
            sock.settimeout(0.5)
            try:
                while sock.recv(65536):
                    pass
            except TimeoutError:
                open_still += 1
            except ConnectionResetError:
                pass
            sock.close()
        assert open_still == 0, f"{open_still} of {len(holders)} were still open after the time a request may take"
        # whole, the same framings are answered
        whole = {
            "chunked": b"POST /sparql HTTP/1.1\r\nHost: x\r\n" + FORM + b"Transfer-Encoding: chunked\r\n\r\n"
                       + b"%x\r\n" % len(QUERY_FORM) + QUERY_FORM + b"\r\n0\r\n\r\n",
            "zeros": b"POST /sparql HTTP/1.1\r\nHost: x\r\n" + FORM
                     + b"Content-Length: 000%d\r\n\r\n" % len(QUERY_FORM) + QUERY_FORM,
            "pipelined": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n",
        }
        for name, request_bytes in whole.items():
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.sendall(request_bytes)
                answer = b""
                deadline = time.monotonic() + 5
                wanted = 2 if name == "pipelined" else 1
                while time.monotonic() < deadline and (answer.count(b"HTTP/1.1 200 ") < wanted
                                                       or name != "pipelined" and b'"ok"' not in answer):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
            assert answer.count(b"HTTP/1.1 200 ") == wanted, (name, answer[:300])
            if name != "pipelined":
                assert b'"ok"' in answer, (name, answer[-300:])
    log = server.stderr.read_text()
    assert log.count("closed the connection of a client whose request was not whole after 3 s") >= 2 * threads - 2
    assert "Traceback" not in log


def test_a_client_that_waits_for_100_continue_is_asked_for_its_body(server: str):
    """A request head with `Expect: 100-continue` goes to a thread at once (the body waits for
    the server's word), where other bodies are read whole first."""
    host, port = server.removeprefix("http://").split(":")
    body = b"SELECT (1 AS ?one) {}"
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                     b"Accept: application/sparql-results+json\r\nExpect: 100-continue\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        started = time.monotonic()
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        assert time.monotonic() - started < 1
        sock.sendall(body)
        answer = b""
        while b'"one"' not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")


# --- a new release --------------------------------------------------------------------------------

def test_a_new_release_reaches_every_replica_and_the_cache_in_bounded_time_and_no_answer_mixes_two(front: Front):
    old, new = front.older.version, front.newer.version
    urls = {front.url + "/sparql?" + requests.compat.urlencode({"query": VERSION_QUERY}): JSON_RESULTS["Accept"],
            front.url + "/doc/organization/auria-biobank": "text/turtle", front.url + "/catalog": "text/turtle"}
    for url, accept in urls.items():  # in the front's cache now
        assert requests.get(url, headers={"Accept": accept}, timeout=10).headers["FinHealthKG-Release"] == old
    switched = time.monotonic()
    switch_current(front.releases, new)
    bound = FOLLOW + SHARED_MAX_AGE + 3  # a replica looks every FOLLOW s; the front asks again after s-maxage
    seen: list[tuple[float, str, str]] = []  # (when, url, release)
    mixed: list[str] = []
    while time.monotonic() - switched < bound + 2:
        for url, accept in urls.items():
            answer = requests.get(url, headers={"Accept": accept}, timeout=10)
            release = answer.headers.get("FinHealthKG-Release")
            assert answer.status_code == 200 and release in (old, new), (url, answer.status_code, release)
            if "query=" in url:
                said = answer.json()["results"]["bindings"][0]["version"]["value"]
                if said != release:
                    mixed.append(f"{url}: the body says {said}, the header {release}")
            seen.append((time.monotonic() - switched, url, release))
        time.sleep(0.1)
    assert not mixed, mixed[:3]
    last_old = max((when for when, _, release in seen if release == old), default=0.0)
    assert last_old < bound, f"an answer from the old release {last_old:.1f} s after the switch"
    for url in urls:
        assert [r for when, u, r in seen if u == url and when > bound] == [new] * len(
            [1 for when, u, _ in seen if u == url and when > bound])
    for replica in front.replicas:  # each replica, asked directly, serves the new release
        assert requests.get(replica + "/healthz", timeout=10).json()["release"] == new


# --- the load -------------------------------------------------------------------------------------

def test_256_clients_through_the_front_get_answers_without_errors(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmarks\n\n## Load\n\nkept\n")
    done = subprocess.run([sys.executable, str(REPO / "bench" / "load.py"), "--front", "2", "--clients", "256",
                           "--duration", "3", "--write", str(results), "--json", str(tmp_path / "load.json")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "load.json").read_text())
    assert result["clients"] == 256 and result["errors"] == 0 and result["requests"] > 256
    assert not result["stuck_clients"]
    assert set(result["front_statuses"]) <= {"200", "303"}, result["front_statuses"]
    assert result["front_error_count"] == 0, result["front_errors"]
    text = results.read_text()
    assert "## Load\n\nkept\n" in text and "## Load through the front" in text
    assert "**0 errors in" in text.split("## Load through the front", 1)[1]


# --- what starts and stops it ---------------------------------------------------------------------

def test_cluster_start_refuses_a_port_in_use_and_leaves_nothing_running(tmp_path: Path):
    front_port = ports_for(1)  # free, and the port after it too, which is then taken here
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", front_port + 1))
        taken.listen()
        port = front_port + 1
        done = cluster("start", "--port", str(front_port), "--replicas", "1", "--state", str(tmp_path / "s"))
    assert done.returncode == 1 and f"port {port} is in use" in done.stderr
    assert not (tmp_path / "s" / "pids.json").exists()
    assert cluster("stop", "--state", str(tmp_path / "s")).stdout.strip() == "cluster: nothing was running"


def test_cluster_stop_stops_exactly_what_start_started(tmp_path: Path, release: Release):
    """Another server on the machine, started the same way, is not stopped."""
    port = ports_for(1)
    state = tmp_path / "state"
    with started_server(REPO, release.path.parent) as other:
        started = cluster("start", "--port", str(port), "--replicas", "1", "--state", str(state), "--",
                          "--root", str(REPO), "--releases", str(release.path.parent), "--workers", "1")
        assert started.returncode == 0, started.stderr
        again = cluster("start", "--port", str(port + 10), "--replicas", "1", "--state", str(state))
        assert again.returncode == 1 and "is running" in again.stderr
        pids = [p["pid"] for p in [json.loads((state / "pids.json").read_text())["front"],
                                    *json.loads((state / "pids.json").read_text())["replicas"].values()]]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        stopped = cluster("stop", "--state", str(state))
        assert stopped.returncode == 0 and "stopped 2 process(es)" in stopped.stdout
        assert not any(alive(pid) for pid in pids)
        assert other.process.poll() is None and requests.get(other.url + "/healthz", timeout=10).status_code == 200
    assert not (state / "pids.json").exists()


def test_a_cluster_serves_from_an_external_store(tmp_path: Path, release: Release, request: pytest.FixtureRequest):
    """`make cluster STORE=URL`: the replicas answer from Virtuoso, loaded first as `finhealthkg load` does."""
    virtuoso = request.getfixturevalue("virtuoso")
    loaded = cli("load", "--root", str(REPO), "--releases", str(release.path.parent), *virtuoso.store_args(),
                 env=VIRTUOSO_PASSWORD)
    assert loaded.returncode == 0, loaded.stderr
    port = ports_for(2)
    state = tmp_path / "state"
    started = cluster("start", "--port", str(port), "--replicas", "2", "--state", str(state),
                      "--store", virtuoso.query_url, "--", "--root", str(REPO), "--releases", str(release.path.parent),
                      "--workers", "1")
    try:
        assert started.returncode == 0, started.stderr
        for _ in range(4):
            answer = requests.post(f"http://127.0.0.1:{port}/sparql", data={"query": VERSION_QUERY},
                                   headers=JSON_RESULTS, timeout=30)
            assert answer.status_code == 200
            assert answer.json()["results"]["bindings"][0]["version"]["value"] == release.version
        for replica in (port + 1, port + 2):
            health = requests.get(f"http://127.0.0.1:{replica}/healthz", timeout=10).json()
            assert health["release"] == release.version and "store" in json.dumps(health)
        commands = [r["command"] for r in json.loads((state / "pids.json").read_text())["replicas"].values()]
        assert all(c[c.index("--store") + 1] == virtuoso.query_url for c in commands)
    finally:
        cluster("stop", "--state", str(state))


def test_make_cluster_runs_the_script_with_port_and_replicas():
    shown = subprocess.run(["make", "-n", "cluster", "PORT=8090", "REPLICAS=3", "STORE=http://127.0.0.1:8890/sparql"],
                           cwd=REPO, capture_output=True, text=True, check=False)
    assert "scripts/cluster start --port 8090 --replicas 3 --store http://127.0.0.1:8890/sparql" in shown.stdout
    assert "scripts/cluster stop" in subprocess.run(["make", "-n", "cluster-stop"], cwd=REPO, capture_output=True,
                                                    text=True, check=False).stdout


def test_the_systemd_units_run_what_the_tests_run(tmp_path: Path, release: Release, nginx: str):
    """finhealthkg@.service's command starts a replica (paths of this checkout for /opt/finhealthkg),
    and finhealthkg-front.service's check accepts the configuration `scripts/cluster render` writes."""
    units = REPO / "deploy" / "systemd"
    replica_unit = (units / "finhealthkg@.service").read_text()
    command = shlex.split(re.search(r"^ExecStart=(.+)$", replica_unit, re.M).group(1))
    assert command[0] == "/opt/finhealthkg/.venv/bin/finhealthkg"
    port = free_port()
    command = [str(Path(sys.executable).with_name("finhealthkg")),
               *[part.replace("%i", str(port)).replace("/run/finhealthkg", str(tmp_path / "run"))
                 for part in command[1:]], "--releases", str(release.path.parent), "--workers", "1"]
    env = {**os.environ, "FINHEALTHKG_PUBLIC_URL": "https://kg.example.org"}
    with (tmp_path / "replica.log").open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/fragments", headers={"Accept": "text/turtle"}, timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "replica.log").read_text()
                time.sleep(0.2)
        assert "https://kg.example.org/fragments" in page.text
    finally:
        process.terminate()
        process.wait(timeout=30)
    front_unit = (units / "finhealthkg-front.service").read_text()
    check = shlex.split(re.search(r"^ExecStartPre=(.+)$", front_unit, re.M).group(1))
    config = tmp_path / "nginx.conf"
    (tmp_path / "spool" / "tmp").mkdir(parents=True)
    rendered = cluster("render", "--listen", "127.0.0.1:8443", "--replica", "127.0.0.1:8081", "--replica",
                       "127.0.0.1:8082", "--state", str(tmp_path), "--spool", str(tmp_path / "spool"),
                       *(["--user", "www-data"] if os.geteuid() == 0 else []))
    assert rendered.returncode == 0, rendered.stderr
    config.write_text(rendered.stdout)
    assert check[0] == "/usr/sbin/nginx" and check[-1] == "/etc/finhealthkg/nginx.conf"
    tried = subprocess.run([nginx, *check[1:-1], str(config)], capture_output=True, text=True, check=False)
    assert tried.returncode == 0, tried.stderr
