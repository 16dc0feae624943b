"""Shared fixtures: the repository's sources, copies of them to break, built releases."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from finhealthkg.config import Settings
from finhealthkg.release import Release, build_release

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("ontology", "shapes", "data")


def copy_sources(destination: Path) -> Path:
    """A private copy of ontology/, shapes/ and data/ that a test may break."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in SOURCE_DIRS:
        shutil.copytree(REPO / name, destination / name)
    return destination


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed `finhealthkg` console script, as a user would."""
    script = Path(sys.executable).parent / "finhealthkg"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "finhealthkg.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    """Settings for a fresh copy of the sources with its own releases directory."""
    root = copy_sources(tmp_path / "project")
    return Settings(root=root, releases_dir=tmp_path / "releases")


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """One release built from the repository's own sources, shared by read-only tests."""
    releases = tmp_path_factory.mktemp("releases")
    return build_release(Settings(root=REPO, releases_dir=releases)).release
