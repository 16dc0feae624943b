"""The search index and tables are written by a process of the build's own (derived.py): what
it writes lands in the release, what goes wrong in it fails the build cleanly, and it never
outlives the build."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import alive, cli
from finhealthkg import search
from finhealthkg.pipeline.build import build_release
from finhealthkg.release import ReleaseError, current_release, list_releases


def staging_dirs(releases: Path) -> list[str]:
    return [p.name for p in releases.iterdir() if p.name.startswith(".staging-")] if releases.exists() else []


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def first_release(project) -> str:
    done = cli("build", "--quiet", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_index_and_tables_it_writes_are_in_the_release(project):
    release = build_release(project).release
    for name in (search.INDEX_FILE, "biobanks.csv", "biobanks.json", "biobanks.csv-metadata.json"):
        assert name in release.manifest["files"] and release.file(name).stat().st_size > 0
    release.verify()


def test_a_full_disk_in_that_process_fails_the_build_and_keeps_current(project, monkeypatch):
    good = first_release(project)

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "search.sqlite")

    monkeypatch.setattr(search, "write_search_index", full)  # the forked process has it too
    with pytest.raises(ReleaseError) as failed:
        build_release(project, force=True)
    message = str(failed.value)
    assert "No space left on device" in message and "(the disk is full)" in message, message
    assert message.endswith(f"`current` still points at {good}"), message
    assert [r.version for r in list_releases(project)] == [good] and staging_dirs(project.releases) == []


def test_a_failure_in_that_process_is_reported_by_the_build(project, monkeypatch):
    good = first_release(project)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("no names at all")

    monkeypatch.setattr(search, "write_search_index", broken)
    with pytest.raises(ReleaseError, match="writing the search index and tables failed: ValueError: no names at all"):
        build_release(project, force=True)
    assert current_release(project).version == good and staging_dirs(project.releases) == []


def test_that_process_dying_fails_the_build_with_its_exit_code(project, monkeypatch):
    good = first_release(project)
    monkeypatch.setattr(search, "write_search_index", lambda *_a, **_k: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(ReleaseError, match=r"ended \(exit code -9\) before it was done"):
        build_release(project, force=True)
    assert current_release(project).version == good and staging_dirs(project.releases) == []


SLOW_BUILD = """
import sys, time
from pathlib import Path
from finhealthkg import search
from finhealthkg.pipeline.build import build_release
from finhealthkg.config import Settings
search.write_search_index = lambda *args, **kwargs: time.sleep(120)  # the forked process has it too
build_release(Settings(root=Path(sys.argv[1]), releases_dir=Path(sys.argv[2])), force=True)
"""


def test_it_dies_with_a_killed_build_and_the_next_build_runs(project):
    """A build killed outright (SIGKILL: no clean-up of its own) takes the process with it, even
    one in the middle of a long index."""
    good = first_release(project)
    build = subprocess.Popen([sys.executable, "-c", SLOW_BUILD, str(project.root), str(project.releases)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    forked: list[int] = []
    while time.monotonic() < deadline and build.poll() is None and not forked:
        if staging_dirs(project.releases):
            forked = children(build.pid)
        time.sleep(0.005)
    assert forked, "the build ended before its process for the index could be seen"
    build.kill()
    build.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in forked):
        time.sleep(0.01)
    assert not any(alive(pid) for pid in forked), f"still running after the build was killed: {forked}"
    assert current_release(project).version == good
    again = cli("build", "--quiet", "--force", "--root", str(project.root), "--releases", str(project.releases))
    assert again.returncode == 0, again.stderr
    assert staging_dirs(project.releases) == []


def test_an_invalid_build_stops_it_at_once(project):
    """The sources are invalid: the build says so and nothing of the index or tables is left."""
    good = first_release(project)
    places = project.root / "data" / "places.ttl"
    places.write_text(places.read_text().replace("schema:City", "schema:Town"))
    done = cli("build", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 1
    assert [r.version for r in list_releases(project)] == [good] and staging_dirs(project.releases) == []
