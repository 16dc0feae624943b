"""Releases as a server reads them: the layout, the manifest, which release to serve.

A release is a directory `<releases>/<version>/` that is never changed once written (pipeline/build.py
writes it):

    release.json    manifest: version, dates, commit, counts, graphs, files and checksums
    SHA256SUMS      `sha256sum -c` compatible checksums of every file (release.json too)
    dataset.ttl  dataset.nt.gz  dataset.jsonld    the knowledge graph (ontology + data)
    dataset.ttl.gz  dataset.jsonld.gz              the same, gzip-compressed for HTTP
    ontology.ttl  shapes.ttl  void.ttl  catalog.ttl  validation.ttl
    search.sqlite   the names of every thing, for /search and /reconcile (search/index.py)
    <table>.csv  <table>.json  <table>.csv-metadata.json    tables of the main classes (tables/)
    store/          Oxigraph database holding each part in its named graph (namespaces.GRAPH)
    changes.rdfp  changes-added.ttl  changes-removed.ttl  changes.json
                    what changed since the release before it (pipeline/changes.py); not in the first

`current` is a symlink to the release served; `switch_current` replaces it atomically.

Serving: `release_to_serve` picks the release a server opens, `check_release` decides
whether a release is fit to serve (complete, checksums, a store holding the manifest's
triples). When `current` is not fit, the newest older release that is gets served. This
module imports nothing of the build (SHACL, tables, search index), so a server starts light.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import Settings
from .namespaces import DCAT, VOID, VOID_GRAPH, dataset_iri
from .stores import Store, StoreError
from .stores.oxigraph import OxigraphStore

MANIFEST = "release.json"
CHECKSUMS = "SHA256SUMS"
STORE_DIR = "store"
STORE_PRUNED = "store.pruned"  # left by `build --keep` where it removed an old release's store
CURRENT = "current"
VERIFIED_DIR = ".verified"  # fingerprints of releases that passed check_release
FORMAT_VERSION = 1  # of the release layout; a reader refuses layouts it does not know


class ReleaseError(Exception):
    """A release cannot be built, found or trusted; the message says what to do."""


@dataclass(frozen=True)
class Release:
    """A complete release directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created"])

    @property
    def triples(self) -> int:
        return int(self.manifest["statistics"]["triples"])

    @property
    def largest_subject(self) -> int | None:
        """Quads of the subject with the most (None from a release built before it was counted)."""
        value = self.manifest.get("largest_subject")
        return value if isinstance(value, int) else None

    @property
    def store_path(self) -> Path:
        return self.path / STORE_DIR

    @property
    def has_store(self) -> bool:
        """False for an old release whose store `build --keep` removed: listed, downloadable, not queryable."""
        return not (self.path / STORE_PRUNED).exists()

    def file(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            raise ReleaseError(f"release {self.version} has no file {name!r}")
        return self.path / name

    @classmethod
    def open(cls, path: Path) -> Release:
        """Read a release directory; ReleaseError if it is incomplete or of another layout."""
        manifest_path = path / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReleaseError(f"{path}: not a complete release ({MANIFEST} is missing)") from None
        except (OSError, ValueError) as error:
            raise ReleaseError(f"{manifest_path}: unreadable manifest: {error}") from None
        if not isinstance(manifest, dict):
            raise ReleaseError(f"{manifest_path}: unreadable manifest: not a JSON object")
        if manifest.get("format") != FORMAT_VERSION:
            raise ReleaseError(
                f"{path}: release layout {manifest.get('format')!r}, this finhealthkg reads "
                f"{FORMAT_VERSION}; rebuild it with `finhealthkg build --force`")
        release = cls(path=path, manifest=manifest)
        try:
            _ = (release.version, release.created, release.triples)  # what a server reads first
            entries = release.checked_files()
            if not entries or not all(isinstance(e, dict) and "sha256" in e for e in entries.values()):
                raise ValueError("no files with checksums")
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ReleaseError(f"{manifest_path}: unreadable manifest: {type(error).__name__}: {error}") from None
        for name in entries:
            if not (path / name).is_file():
                raise ReleaseError(f"{path}: release file {name} is missing")
        if not (path / STORE_DIR).is_dir() and not (path / STORE_PRUNED).is_file():
            raise ReleaseError(f"{path}: the release's store/ directory is missing")
        return release

    def checked_files(self) -> dict[str, dict[str, Any]]:
        """Every file of the release with its size, checksum and media type, twins included."""
        files = dict(self.manifest.get("files", {}))
        for name, twins in self.manifest.get("encodings", {}).items():
            for encoding, entry in twins.items():
                files[f"{name}.{'gz' if encoding == 'gzip' else encoding}"] = entry
        return files

    def verify(self) -> None:
        """Check every file against the checksums of the manifest, and the manifest against
        SHA256SUMS; ReleaseError on a mismatch."""
        for name, entry in self.checked_files().items():
            try:
                actual = sha256_of(self.path / name)
            except OSError as error:
                raise ReleaseError(f"{self.path / name}: unreadable: {error}") from None
            if actual != entry["sha256"]:
                raise ReleaseError(f"{self.path / name}: checksum mismatch (the file is damaged)")
        try:
            sums = (self.path / CHECKSUMS).read_text(encoding="utf-8")
        except (OSError, ValueError) as error:
            raise ReleaseError(f"{self.path / CHECKSUMS}: unreadable: {error}") from None
        listed = {name: sha for sha, _, name in (line.partition("  ") for line in sums.splitlines())}
        if listed.get(MANIFEST) != sha256_of(self.path / MANIFEST):
            raise ReleaseError(f"{self.path / MANIFEST}: checksum mismatch with {CHECKSUMS} (the manifest is damaged)")

    def open_store(self) -> OxigraphStore:
        if not self.has_store:
            raise ReleaseError(f"release {self.version} is kept without its store (`finhealthkg build --keep` "
                               "removed it); its files are still in /downloads/")
        return OxigraphStore.open_read_only(self.store_path)


def current_release(settings: Settings) -> Release:
    link = settings.releases / CURRENT
    if not link.exists():
        raise ReleaseError(
            f"no current release in {settings.releases}: run `finhealthkg build` first")
    return Release.open(link.resolve())


def list_releases(settings: Settings) -> list[Release]:
    """Every complete release, oldest first; incomplete directories are skipped."""
    releases = []
    for path in _release_directories(settings.releases):
        try:
            releases.append(Release.open(path))
        except ReleaseError:
            continue
    return sorted(releases, key=lambda r: (r.created, version_key(r.version)))


def version_key(name: str) -> tuple[str, int, str]:
    """Orders release names by age: `<timestamp>[-<commit>]`, `.2`, `.3`... for builds in one second."""
    base, _, suffix = name.partition(".")
    return (base[:16], int(suffix) if suffix.isdigit() else 1, name)


def _release_directories(releases: Path) -> list[Path]:
    """Every directory that may be a release (complete or not), oldest first by name."""
    if not releases.is_dir():
        return []
    found = [p for p in releases.iterdir()
             if not p.name.startswith(".") and p.name != CURRENT and p.is_dir()]
    return sorted(found, key=lambda p: version_key(p.name))


def check_release(path: Path) -> tuple[Release, OxigraphStore]:
    """A release fit to serve, with its store opened read-only; ReleaseError saying what is wrong.

    Fit to serve: complete (`Release.open`); every file matches its checksum; the store opens
    and each of its graphs holds the number of triples the manifest gives. Reading every file
    and counting every triple takes seconds for a million triples, so a release that passed
    is recorded with the fingerprint of its files (name, size, inode, device, modification
    and status-change times: `_fingerprint`) in <releases>/.verified/, and a later check whose fingerprint is the same
    only opens the store. Any write to a file of the release (a truncated dump, a damaged or
    missing table of the store) changes the fingerprint, and the whole check runs again.
    """
    release = Release.open(path)
    try:
        fingerprint = _fingerprint(path)
    except OSError as error:
        raise ReleaseError(f"{path}: unreadable: {error}") from None
    record = path.parent / VERIFIED_DIR / path.name
    verified = _read_text(record) == fingerprint
    if not verified:
        release.verify()
    try:
        store = release.open_store()
        if not verified:
            _check_counts(release, store)
    except ReleaseError:
        raise
    except StoreError as error:
        raise ReleaseError(str(error)) from None
    except Exception as error:  # pyoxigraph reports a damaged database as OSError, RuntimeError...
        raise ReleaseError(f"{release.store_path}: the Oxigraph store is damaged: {error}") from None
    if not verified:
        _record_verified(record, fingerprint)
    return release, store


def _check_counts(release: Release, store: OxigraphStore) -> None:
    for name, graph in sorted(release.manifest.get("graphs", {}).items()):
        count = store.triple_count([graph["iri"]])
        if count != graph["triples"]:
            raise ReleaseError(f"{release.store_path}: graph {name} holds {count} triples, the manifest "
                               f"says {graph['triples']} (the store is damaged)")
    count = store.triple_count()
    if count != release.triples:
        raise ReleaseError(f"{release.store_path}: the store holds {count} triples, the manifest says "
                           f"{release.triples} (the store is damaged)")


def _fingerprint(path: Path) -> str:
    """Every file of a release directory with its size, inode, device, modification time and
    status-change time. The last is the kernel's own: a write in place that keeps the size and
    puts the modification time back (os.utime) still moves it, and no program can set it."""
    entries = []
    for directory, _dirs, names in os.walk(path):
        for name in names:
            file = Path(directory, name)
            stat = file.stat()
            entries.append(f"{file.relative_to(path)}\0{stat.st_size}\0{stat.st_ino}\0{stat.st_dev}"
                           f"\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}")
    return hashlib.sha256("\n".join(sorted(entries)).encode("utf-8", "surrogateescape")).hexdigest()


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def _record_verified(record: Path, fingerprint: str) -> None:
    """Remember a release that passed; where the releases are read-only, checks stay whole."""
    try:
        record.parent.mkdir(exist_ok=True)
        temporary = record.with_name(f".{record.name}.{os.getpid()}")
        temporary.write_text(fingerprint, encoding="utf-8")
        os.replace(temporary, record)
    except OSError:
        pass


@dataclass(frozen=True)
class ServedRelease:
    """The release a server opens, and why it is not `current` when it is not."""

    release: Release
    store: OxigraphStore
    current: str | None  # the directory `current` names; None without a `current` link
    refused: tuple[tuple[str, str], ...]  # (release, what is wrong) of each passed over, in order

    @property
    def is_current(self) -> bool:
        return self.current == self.release.path.name

    def explanation(self) -> str:
        """What was refused and what is served instead (empty when `current` is served)."""
        if self.is_current:
            return ""
        what = "the previous release" if self.current is not None else "the newest release"
        if self.current is None:
            what += f" (there is no `current` link in {self.release.path.parent})"
        why = "".join(f"release {name} cannot be served: {reason}; " for name, reason in self.refused)
        return f"{why}serving {what} {self.release.path.name} instead"


def release_to_serve(settings: Settings) -> ServedRelease:
    """The release to serve: `current` when it is fit to serve (`check_release`), else the
    newest release older than it that is (the one served before, as far as this directory
    tells); without a `current` link, the newest that is. Releases newer than `current`
    were never published (a build died before switching, or `current` was set back on
    purpose) and are not served in its place. ReleaseError when none is fit, listing why."""
    releases = settings.releases
    link = releases / CURRENT
    directories = _release_directories(releases)
    current: str | None = None
    candidates: list[tuple[str, Path]] = []
    unpublished: list[str] = []
    if link.is_symlink() or link.exists():
        try:
            target = link.resolve(strict=False)
            current = target.name
        except (OSError, RuntimeError) as error:  # a loop of links
            raise ReleaseError(f"{link}: unreadable link: {error}") from None
        candidates.append((current, target))
        newer = version_key(current)
        candidates += [(p.name, p) for p in reversed(directories)
                       if version_key(p.name) < newer and p.resolve() != target]
        unpublished = [p.name for p in directories if version_key(p.name) > newer and p.resolve() != target]
    else:
        candidates += [(p.name, p) for p in reversed(directories)]
    if not candidates:
        raise ReleaseError(f"no current release in {releases}: run `finhealthkg build` first")
    refused: list[tuple[str, str]] = []
    for name, path in candidates:
        if not path.is_dir():
            refused.append((name, f"{path} does not exist"))
            continue
        try:
            release, store = check_release(path)
        except ReleaseError as error:
            refused.append((name, str(error)))
            continue
        return ServedRelease(release, store, current, tuple(refused))
    listing = "".join(f"\n  {name}{' (current)' if name == current else ''}: {reason}" for name, reason in refused)
    newer = (f"; releases newer than `current` were never published and are not served in its place "
             f"({', '.join(unpublished)}): point `current` at one to serve it") if unpublished else ""
    raise ReleaseError(f"no release in {releases} can be served:{listing}\n"
                       f"run `finhealthkg build --force` to build a new one{newer}")


def current_link_now(releases: Path) -> str:
    try:
        return f"`current` still points at {os.readlink(releases / CURRENT)}"
    except OSError:
        return "there is no current release yet"


def switch_current(releases: Path, version: str) -> None:
    """Point `current` at a release directory: one atomic rename."""
    if not (releases / version / MANIFEST).is_file():
        raise ReleaseError(f"{releases / version}: not a complete release")
    temporary = releases / f".current-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(version, temporary)  # relative: the releases directory can move
    os.replace(temporary, releases / CURRENT)
    fsync_directory(releases)


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class ReleaseInfo:
    """What a store says about the release it holds (read from its VoID graph)."""

    version: str
    modified: datetime
    triples: int
    entities: int


def release_info(store: Store, base_iri: str) -> ReleaseInfo:
    """The release a store serves; StoreError when the store holds no release description."""
    answer = store.query(f"""
        PREFIX void: <{VOID}> PREFIX dcat: <{DCAT}> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?version ?modified ?triples ?entities WHERE {{ GRAPH <{VOID_GRAPH}> {{
            <{dataset_iri(base_iri)}> dcat:version ?version ; dcterms:modified ?modified ;
                void:triples ?triples ; void:entities ?entities }} }}""")
    row = next(iter(answer), None)
    if row is None:
        raise StoreError(f"the store holds no release description for <{dataset_iri(base_iri)}> "
                         f"in <{VOID_GRAPH}> (was it built with this base IRI?)")
    return ReleaseInfo(version=row["version"].value,
                       modified=datetime.fromisoformat(row["modified"].value),
                       triples=int(row["triples"].value), entities=int(row["entities"].value))
