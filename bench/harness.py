"""What the benchmarks share: the loopback-only guard, free ports, the `finhealthkg` command,
the memory of a process tree read from /proc, percentiles, the machine and commit a run was
on, and writing one section of bench/RESULTS.md without touching the others."""

from __future__ import annotations

import ipaddress
import os
import platform
import re
import socket
import subprocess
import sys
import threading
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SECONDS = 0.2


class Refused(Exception):
    """A benchmark will not run as asked (a non-loopback target, bounds exceeded, no server)."""


def loopback_only(url: str) -> str:
    """The URL without a trailing slash, if every address its host names is a loopback one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url!r} is not an http(s) URL")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise Refused(f"{parts.hostname} does not resolve: {error}") from None
    addresses = {info[4][0] for info in infos}
    outside = sorted(a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    if not addresses or outside:
        raise Refused(f"{parts.hostname} is not loopback-only ({', '.join(outside) or 'no address'}): "
                      "this load generator only targets this machine")
    return url.rstrip("/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def finhealthkg_command() -> list[str]:
    script = Path(sys.executable).parent / "finhealthkg"
    return [str(script)] if script.exists() else [sys.executable, "-m", "finhealthkg.cli"]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        tree[ppid].append(int(entry.name))
    return tree


def process_tree(roots: set[int]) -> set[int]:
    tree, found, todo = _children(), set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(tree.get(pid, ()))
    return found


def memory_bytes(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process: PSS shares the pages it shares with others (forked workers,
    the store's files) among them, so a sum of PSS counts each page once."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass  # gone, or not ours to read
    return rss, pss


def listeners_of(port: int) -> set[int]:
    """The processes holding a socket that listens on `port` (gunicorn's master and workers)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(fields[9])
    links, pids = {f"socket:[{inode}]" for inode in inodes}, set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in links:
                    pids.add(int(entry.name))
                    break
        except OSError:
            continue
    return pids


class MemorySampler(threading.Thread):
    """The peak of the summed RSS of a process tree, sampled every SAMPLE_SECONDS."""

    def __init__(self, roots: set[int]) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.peak_bytes = 0  # RSS summed
        self.peak_pss_bytes = 0
        self.peak_processes = 0
        self.samples = 0
        self._halt = threading.Event()

    def sample(self) -> None:
        pids = process_tree(self.roots)
        sizes = [memory_bytes(pid) for pid in pids]
        self.peak_bytes = max(self.peak_bytes, sum(rss for rss, _ in sizes))
        self.peak_pss_bytes = max(self.peak_pss_bytes, sum(pss for _, pss in sizes))
        self.peak_processes = max(self.peak_processes, len(pids))
        self.samples += 1

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def machine(libraries: tuple[str, ...]) -> dict:
    """CPUs, RAM, kernel, Python and the versions of `libraries`."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    versions = {}
    for name in libraries:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpus": os.cpu_count(), "cpu_model": model.group(1).strip() if model else platform.processor() or "unknown",
        "ram_gib": round(int(total.group(1)) / 2**20, 1) if total else None,
        "kernel": platform.release(), "python": platform.python_version(), "libraries": versions,
    }


def load_average() -> str:
    """The 1-minute load average: how busy the machine was with other work."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def server_defaults() -> str:
    from finhealthkg.config import Settings

    defaults = Settings()
    names = ("workers", "threads", "query_processes", "query_timeout")
    return ", ".join(f"{name} {getattr(defaults, name)}" for name in names if hasattr(defaults, name))


def git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""
    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def write_section(path: Path, section: str) -> None:
    """Replace the section of `path` that `section` heads (its first line, a `## ` heading, up to
    the next heading of that level), keeping the rest; append it when there is none."""
    heading = section.split("\n", 1)[0]
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
