"""Releases survive faults: builds killed anywhere, damaged release directories, a full disk.

Whatever happens to a build, `current` names a complete release (every file there and
matching its checksum, a store holding the manifest's triples), a running server keeps
answering from it, and the next build succeeds without anyone cleaning up. A damaged
release is refused when a server starts or follows `current`, with a message saying which
release and what is wrong, and the previous good release is served instead.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import cli, copy_sources, free_port, running_server
from finhealthkg import serving
from finhealthkg.config import Settings
from finhealthkg.pipeline import build as build_module
from finhealthkg.pipeline.build import build_release
from finhealthkg.pipeline.sources import load_sources
from finhealthkg.pipeline.validate import ValidationReport, validate_sources
from finhealthkg.release import (
    Release,
    ReleaseError,
    check_release,
    current_release,
    list_releases,
    release_to_serve,
    switch_current,
)
from finhealthkg.serving import Publication

SCRIPT = Path(sys.executable).parent / "finhealthkg"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def build_command(settings: Settings, *, quiet: bool = True) -> list[str]:
    return [str(SCRIPT), "build", "--force", *(["--quiet"] if quiet else []), "--root", str(settings.root),
            "--releases", str(settings.releases)]


def leftovers(releases: Path) -> list[str]:
    """What dead builds leave: staging directories, temporary `current` links."""
    return sorted(p.name for p in releases.iterdir() if p.name.startswith((".staging-", ".current-")))


def assert_current_is_complete(settings: Settings) -> Release:
    """`current` names a complete release: every file matches its checksum, the store opens
    and holds the manifest's triples, graph by graph."""
    release = current_release(settings)
    release.verify()
    store = release.open_store()
    assert store.triple_count() == release.triples
    for name, graph in release.manifest["graphs"].items():
        assert store.triple_count([graph["iri"]]) == graph["triples"], name
    return release


def served(url: str) -> tuple[str, int]:
    """The release a server answers from and the triples it counts there."""
    answer = requests.get(url + "/sparql", params={"query": COUNT},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.headers["FinHealthKG-Release"], int(answer.json()["results"]["bindings"][0]["n"]["value"])


def served_after_following(url: str, version: str, seconds: float = 10) -> tuple[str, int]:
    deadline = time.monotonic() + seconds
    while True:
        answer = served(url)
        if answer[0] == version or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def server_log(releases: Path) -> str:
    """What the servers of `running_server` wrote (stdout and stderr) beside `releases`."""
    return "".join(p.read_text() for p in sorted(releases.parent.glob("server-*.log")))


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> ValidationReport:
    """The SHACL report of the sources, computed once: validation is most of a build's time."""
    root = copy_sources(tmp_path_factory.mktemp("validated"))
    return validate_sources(load_sources(Settings(root=root)))


def quick_build(settings: Settings, validated: ValidationReport, *, force: bool = False) -> Release:
    """A release built in-process, as `finhealthkg build` does, but with the SHACL report of
    the same sources computed before (for tests that need releases, not validation)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build_module, "validate_sources", lambda sources, engine="sparql": validated)
        return build_release(settings, force=force).release


# --- SIGKILL anywhere ---------------------------------------------------------------------------

def new_staging(releases: Path, before: set[str]) -> list[Path]:
    """Staging directories of the build under test (a dead one's may still lie about)."""
    return [p for p in releases.glob(".staging-*") if p.name not in before]


def in_staging(pattern: str) -> Callable[[Path, set[str]], bool]:
    """When something matching `pattern` appears in the build's staging directory."""
    def appeared(releases: Path, before: set[str]) -> bool:
        return any(True for staging in new_staging(releases, before) for _ in staging.glob(pattern))
    return appeared


def release_renamed_into_place(releases: Path, before: set[str]) -> bool:
    """Between the rename of the staging directory and the switch of `current`."""
    return any(not p.name.startswith(".") and p.name not in before for p in releases.iterdir())


TRIGGERS: dict[str, Callable[[Path, set[str]], bool]] = {
    "staging directory": lambda releases, before: bool(new_staging(releases, before)),
    "store/": in_staging("store"),
    "first store table": in_staging("store/*.sst"),
    "dataset.ttl": in_staging("dataset.ttl"),
    "dataset.jsonld": in_staging("dataset.jsonld"),
    "catalog.ttl": in_staging("catalog.ttl"),
    "release.json": in_staging("release.json"),
    "release directory": release_renamed_into_place,
}
# Where to kill: at fractions of a whole build (most of which reads and validates, writing
# nothing), at fractions of the part that writes (from its staging directory appearing),
# and when files appear. Two lanes share them out, each with its own copy of the sources,
# releases and server, so that the kills run two at a time. A build may finish before its
# kill point (a late trigger, a faster build): then lanes kill at EXTRA_POINTS, in turn,
# until KILLS builds were killed or a lane has tried MAX_TRIES points.
KILL_POINTS: list[tuple[str, object]] = [
    *(("whole", f) for f in (0.1, 0.3, 0.5, 0.65)),
    *(("writing", f) for f in (0.1, 0.35, 0.6, 0.8)),
    *(("when", name) for name in TRIGGERS),
]
EXTRA_POINTS: list[tuple[str, object]] = [("writing", 0.2), ("writing", 0.55), ("whole", 0.2)]
KILLS, MAX_TRIES = 15, 12


class Tally:
    """Kills and builds that finished first, over both lanes."""

    def __init__(self, planned: int) -> None:
        self.lock = threading.Lock()
        self.planned = planned  # points not tried yet: each may still kill a build
        self.killed: list[str] = []
        self.finished: list[str] = []
        self.left_behind: list[str] = []

    def enough(self) -> bool:
        with self.lock:
            return len(self.killed) + self.planned >= KILLS


def build_killed(settings: Settings, how: str, at: object, timing: dict[str, float]) -> tuple[str, int]:
    """A forced build, SIGKILLed at the point (how, at): its label and exit status (-SIGKILL,
    or 0 when it finished first)."""
    before = {p.name for p in settings.releases.iterdir()}
    if how == "whole":
        label = f"after {at:.0%} of a build"
    elif how == "writing":
        label = f"after {at:.0%} of its writing"
    else:
        label = f"when {at} appears"
    process = subprocess.Popen(build_command(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    writing_since = None
    try:
        while process.poll() is None:
            now = time.monotonic()
            if how == "whole":
                due = now - started >= at * timing["whole"]  # type: ignore[operator]
            elif how == "writing":
                if writing_since is None and new_staging(settings.releases, before):
                    writing_since = now
                due = writing_since is not None and now - writing_since >= at * timing["writing"]  # type: ignore[operator]
            else:
                due = TRIGGERS[at](settings.releases, before)  # type: ignore[index]
            if due:
                process.kill()
                break
            time.sleep(0.002)
        return label, process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def timed_build(settings: Settings) -> dict[str, float]:
    """An unkilled build: how long it takes, and how long its writing (from the staging
    directory appearing)."""
    settings.releases.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    process = subprocess.Popen(build_command(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    writing = None
    while process.poll() is None:
        if writing is None and new_staging(settings.releases, set()):
            writing = time.monotonic()
        time.sleep(0.002)
    finished = time.monotonic()
    assert process.wait() == 0, process.stderr.read() if process.stderr else ""
    assert writing is not None
    return {"whole": finished - started, "writing": finished - writing}


def kill_lane(settings: Settings, points: list[tuple[str, object]], timing: dict[str, float],
              tally: Tally) -> None:
    """Builds killed at each point while a server serves the releases; after every kill
    `current` is complete and served; a last build needs no clean-up."""
    with running_server(settings.root, settings.releases) as url:
        first = assert_current_is_complete(settings)
        assert served(url) == (first.version, first.triples)
        extra = itertools.cycle(EXTRA_POINTS)
        todo = list(points)
        for _ in range(MAX_TRIES):
            if not todo and tally.enough():
                break
            planned = bool(todo)
            how, at = todo.pop(0) if todo else next(extra)
            before = current_release(settings).version
            complete_before = {r.version for r in list_releases(settings)}
            label, status = build_killed(settings, how, at, timing)
            assert status in (0, -signal.SIGKILL), (label, status)
            with tally.lock:
                tally.planned -= planned
                (tally.killed if status == -signal.SIGKILL else tally.finished).append(label)
                if leftovers(settings.releases):
                    tally.left_behind.append(label)
            # `current` names a complete release: the one before, or one the build finished
            now = assert_current_is_complete(settings)
            assert now.version == before or now.version not in complete_before, label
            # and the server started before the kills answers from it
            assert served_after_following(url, now.version) == (now.version, now.triples), label

        # The next build needs no clean-up by hand, and removes what the dead ones left.
        done = cli(*build_command(settings)[1:])
        assert done.returncode == 0, done.stderr
        assert leftovers(settings.releases) == []
        final = assert_current_is_complete(settings)
        assert final.version == done.stdout.strip()
        assert served_after_following(url, final.version) == (final.version, final.triples)


def test_builds_killed_anywhere_leave_current_complete_and_served(project, tmp_path):
    timing = timed_build(project)  # its release is the first `current` of both lanes
    other = Settings(root=copy_sources(tmp_path / "other"), releases_dir=tmp_path / "other-releases")
    shutil.copytree(project.releases, other.releases, symlinks=True)
    tally = Tally(len(KILL_POINTS))
    with ThreadPoolExecutor(2) as lanes:
        runs = [lanes.submit(kill_lane, project, KILL_POINTS[0::2], timing, tally),
                lanes.submit(kill_lane, other, KILL_POINTS[1::2], timing, tally)]
        for run in runs:
            run.result()
    print(f"killed {len(tally.killed)}: {tally.killed}; finished first: {tally.finished}; "
          f"left leftovers: {tally.left_behind}")
    assert len(tally.killed) >= KILLS, f"only {len(tally.killed)} builds were killed; finished: {tally.finished}"
    assert tally.left_behind, "no kill left a staging directory behind: the clean-up was not exercised"


# --- damaged release directories ----------------------------------------------------------------

@pytest.fixture(scope="module")
def two_releases(tmp_path_factory: pytest.TempPathFactory, validated: ValidationReport) -> Path:
    """A releases directory with two good releases, the newer one current (copied per test)."""
    root = copy_sources(tmp_path_factory.mktemp("sources"))
    settings = Settings(root=root, releases_dir=tmp_path_factory.mktemp("two") / "releases")
    quick_build(settings, validated)
    quick_build(settings, validated, force=True)
    return settings.releases


def copy_of(releases: Path, tmp_path: Path) -> tuple[Settings, Release, Release]:
    """A private copy of the two releases: settings, the older and the newer (current)."""
    copy = tmp_path / "releases"
    shutil.copytree(releases, copy, symlinks=True)
    settings = Settings(root=tmp_path, releases_dir=copy)
    older, newer = list_releases(settings)
    assert current_release(settings).version == newer.version
    return settings, older, newer


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def largest_table(release: Release) -> Path:
    return max(release.store_path.glob("*.sst"), key=lambda p: p.stat().st_size)


def rebuild_empty_store(release: Release) -> None:
    shutil.rmtree(release.store_path)
    release.store_path.mkdir()


def manifest_as_directory(release: Release) -> None:
    (release.path / "release.json").unlink()
    (release.path / "release.json").mkdir()


DAMAGE: dict[str, tuple[Callable[[Release], object], str]] = {
    "truncated dump": (lambda r: truncate(r.path / "dataset.nt.gz"), "dataset.nt.gz: checksum mismatch"),
    "missing dump": (lambda r: (r.path / "dataset.ttl").unlink(), "release file dataset.ttl is missing"),
    "missing store": (lambda r: shutil.rmtree(r.store_path), "store/ directory is missing"),
    "empty store": (rebuild_empty_store, "the Oxigraph store cannot be opened"),
    "damaged store": (lambda r: truncate(largest_table(r)), "the Oxigraph store is damaged"),
    "missing release.json": (lambda r: (r.path / "release.json").unlink(), "release.json is missing"),
    "truncated release.json": (lambda r: truncate(r.path / "release.json"), "unreadable manifest"),
    "unreadable release.json": (manifest_as_directory, "unreadable manifest"),
    "release directory gone": (lambda r: shutil.rmtree(r.path), "does not exist"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_current_release_is_refused_and_the_previous_opened(damage, two_releases, tmp_path, caplog):
    """What a server opens when it starts (every worker, and `serve` before it forks)."""
    settings, older, newer = copy_of(two_releases, tmp_path)
    spoil, problem = DAMAGE[damage]
    spoil(newer)
    with caplog.at_level(logging.WARNING, logger="finhealthkg.serving"):
        snapshot = Publication.open(settings).now
    assert snapshot.info.version == snapshot.release.version == older.version
    assert snapshot.store.triple_count() == older.triples
    [record] = [r for r in caplog.records if r.name == "finhealthkg.serving"]
    assert record.levelno == logging.WARNING
    refusal = f"release {newer.version} cannot be served: "
    assert record.getMessage().startswith(refusal), record.getMessage()
    assert problem in record.getMessage()
    assert record.getMessage().endswith(f"; serving the previous release {older.version} instead")


@pytest.mark.parametrize("damage", ["truncated dump", "empty store", "truncated release.json"])
def test_serve_refuses_a_damaged_current_release_and_serves_the_previous(damage, two_releases, tmp_path):
    settings, older, newer = copy_of(two_releases, tmp_path)
    spoil, problem = DAMAGE[damage]
    spoil(newer)
    with running_server(tmp_path, settings.releases) as url:
        assert served(url) == (older.version, older.triples)
    log = server_log(settings.releases)
    refusal = f"release {newer.version} cannot be served: "
    assert refusal in log, log
    assert problem in log.split(refusal, 1)[1].splitlines()[0], log
    assert f"serving the previous release {older.version} instead" in log
    assert "Traceback" not in log


def test_a_damaged_release_made_current_while_serving_is_refused(two_releases, tmp_path):
    settings, older, newer = copy_of(two_releases, tmp_path)
    switch_current(settings.releases, older.version)
    truncate(newer.path / "dataset.ttl")  # only the checksums tell: the store is whole
    with running_server(tmp_path, settings.releases) as url:
        assert served(url) == (older.version, older.triples)
        switch_current(settings.releases, newer.version)
        time.sleep(2.5)  # the server looks at `current` at most once a second
        for _ in range(3):
            assert served(url) == (older.version, older.triples)
    log = server_log(settings.releases)
    assert f"release {newer.version} cannot be served, still serving {older.version}: " in log, log
    assert "dataset.ttl: checksum mismatch" in log


def test_a_release_that_failed_to_open_is_tried_again_and_served_once_it_opens(two_releases, tmp_path, monkeypatch):
    """A server process that could not open the new release (a failure that passes) tries again
    later, so it does not stay on the old release until a restart while the others switch."""
    settings, older, newer = copy_of(two_releases, tmp_path)
    switch_current(settings.releases, older.version)
    dump = newer.path / "dataset.ttl"
    intact = dump.read_bytes()
    truncate(dump)
    monkeypatch.setattr(serving, "REOPEN_SECONDS", 1.0)
    publication = Publication.open(settings.with_overrides(follow_seconds=0.05))
    try:
        assert publication.now.info.version == older.version
        switch_current(settings.releases, newer.version)
        time.sleep(0.1)
        assert publication.now.info.version == older.version  # refused: the checksum
        dump.write_bytes(intact)  # what failed is mended
        time.sleep(0.1)
        assert publication.now.info.version == older.version  # not tried on every request
        deadline = time.monotonic() + 5
        while publication.now.info.version != newer.version and time.monotonic() < deadline:
            time.sleep(0.1)
        assert publication.now.info.version == newer.version
    finally:
        publication.now.retire()


def test_no_release_fit_to_serve_is_a_clear_error(two_releases, tmp_path):
    settings, older, newer = copy_of(two_releases, tmp_path)
    truncate(older.path / "dataset.jsonld")
    shutil.rmtree(newer.store_path)
    done = cli("serve", "--root", str(tmp_path), "--releases", str(settings.releases),
               "--host", "127.0.0.1", "--port", str(free_port()), timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"finhealthkg serve: no release in {settings.releases} can be served:")
    assert f"{newer.version} (current): " in done.stderr and "store/ directory is missing" in done.stderr
    assert f"{older.version}: " in done.stderr and "dataset.jsonld: checksum mismatch" in done.stderr
    assert "Traceback" not in done.stderr


def test_which_release_is_served(two_releases, tmp_path):
    settings, older, newer = copy_of(two_releases, tmp_path)
    chosen = release_to_serve(settings)
    assert chosen.release.version == newer.version and chosen.is_current and chosen.explanation() == ""
    # Without a `current` link (the first build died before switching): the newest that is fit.
    (settings.releases / "current").unlink()
    chosen = release_to_serve(settings)
    assert chosen.release.version == newer.version and not chosen.is_current
    assert "no `current` link" in chosen.explanation()
    # A release newer than `current` was never published: not served in its place.
    switch_current(settings.releases, older.version)
    (older.path / "SHA256SUMS").write_text("")
    with pytest.raises(ReleaseError) as refused:
        release_to_serve(settings)
    message = str(refused.value)
    assert f"{older.version} (current): " in message and "SHA256SUMS" in message
    assert f"never published and are not served in its place ({newer.version})" in message


# --- a full disk --------------------------------------------------------------------------------

def file_size_limit(size: int) -> Callable[[], None]:
    """For preexec_fn: files may grow to `size` bytes; a write past it fails with EFBIG."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def test_a_full_disk_fails_the_build_cleanly_at_every_point(project, validated):
    good = quick_build(project, validated)
    # Limits a build cannot stay under: below the store's first files, below each of two dumps
    # (a store file bigger than that fails first). RocksDB's own log and background compactions
    # may fail without failing the build, so the limits follow files the build itself writes.
    failures = set()
    for size in (4096, good.file("dataset.ttl").stat().st_size - 1, good.file("dataset.jsonld").stat().st_size - 1):
        done = subprocess.run(build_command(project, quiet=False), capture_output=True, text=True, timeout=120,
                              check=False, preexec_fn=file_size_limit(size))
        assert done.returncode == 2, (size, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        message = done.stderr.strip().splitlines()[-1]
        assert message.startswith(f"finhealthkg build: cannot write a release into {project.releases}: "), message
        assert "File too large" in message and "file size limit" in message, message
        assert message.endswith(f"nothing was published and `current` still points at {good.version}"), message
        step = re.search(r"\[\d+/\d+\] [^.]+ \.\.\. failed", done.stderr)
        written = re.search(r"(?:staging-[^/]+/)([^:' ]+)", message)
        assert step and written, done.stderr
        failures.add((step.group(0), re.sub(r"\d+", "N", written.group(1))))
        assert current_release(project).version == good.version
        assert_current_is_complete(project)
        assert leftovers(project.releases) == []  # the unfinished release was removed at once
    print(f"failed at: {sorted(failures)}")
    assert len(failures) >= 2, f"every size failed at the same point: {failures}"

    done = cli(*build_command(project)[1:])
    assert done.returncode == 0, done.stderr
    assert assert_current_is_complete(project).version == done.stdout.strip() != good.version
    assert leftovers(project.releases) == []


def no_space(path: object) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@pytest.mark.parametrize("where", ["SHA256SUMS", "release.json", "publishing", "switching"])
def test_a_full_disk_late_in_the_build_leaves_current(where, project, validated):
    """The steps a file size limit cannot reach (small files, the rename, the link), with
    ENOSPC injected in-process."""
    good = quick_build(project, validated)
    writing = build_module._writing

    def full_disk_writing(path: Path):  # noqa: ANN202 - a context manager
        if path.name == where:
            raise no_space(path)
        return writing(path)

    def full_disk(*args: object) -> None:
        raise no_space(args[-1])

    with pytest.MonkeyPatch.context() as fault, pytest.raises(ReleaseError) as failed:
        if where in ("SHA256SUMS", "release.json"):
            fault.setattr(build_module, "_writing", full_disk_writing)
        else:
            fault.setattr(build_module.os, "rename" if where == "publishing" else "symlink", full_disk)
        quick_build(project, validated, force=True)
    message = str(failed.value)
    assert "No space left on device" in message and "(the disk is full)" in message, message
    assert message.endswith(f"`current` still points at {good.version}"), message
    assert current_release(project).version == good.version
    assert_current_is_complete(project)
    assert leftovers(project.releases) == []
    versions = [r.version for r in list_releases(project)]
    if where == "switching":  # written and complete, just not current
        assert "could not be switched" in message and len(versions) == 2
    else:
        assert "nothing was published" in message and versions == [good.version]
    again = quick_build(project, validated, force=True)  # the next build needs no clean-up
    assert assert_current_is_complete(project).version == again.version
    assert leftovers(project.releases) == []


def test_a_release_is_read_whole_once_then_opened_by_its_fingerprint(project, validated, monkeypatch):
    """The build checks the release as a server will and records it; a server then opens it
    without reading every file again (start-up does not grow with the data), until a file of
    the release changes: then the whole check runs again, and damage is found."""
    built = quick_build(project, validated)
    assert (project.releases / ".verified" / built.version).is_file()
    reads: list[str] = []
    real_verify = Release.verify
    monkeypatch.setattr(Release, "verify", lambda self: (reads.append(self.version), real_verify(self))[1])
    check_release(built.path)[1].close()
    assert reads == []
    dump = built.path / "dataset.ttl"
    before = dump.stat()
    dump.write_bytes(dump.read_bytes().replace(b"Auria", b"Aurja", 1))  # same size, new bytes
    os.utime(dump, ns=(before.st_atime_ns, before.st_mtime_ns))  # and its old modification time
    after = dump.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    with pytest.raises(ReleaseError, match="dataset.ttl: checksum mismatch"):
        check_release(built.path)
    assert reads == [built.version]
