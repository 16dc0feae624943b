"""Build a release from validated sources, write it, switch `current` to it.

A release is a directory `<releases>/<version>/` that is never changed once written:

    release.json    manifest: version, dates, commit, counts, graphs, files and checksums
    SHA256SUMS      `sha256sum -c` compatible checksums of every file (release.json too)
    dataset.ttl  dataset.nt.gz  dataset.jsonld    the knowledge graph (ontology + data)
    dataset.ttl.gz  dataset.jsonld.gz              the same, gzip-compressed for HTTP
    ontology.ttl  shapes.ttl  void.ttl  catalog.ttl  validation.ttl
    search.sqlite   the names of every thing, for /search and /reconcile (search/index.py)
    <table>.csv  <table>.json  <table>.csv-metadata.json    tables of the main classes (tables/)
    store/          Oxigraph database holding each part in its named graph (namespaces.GRAPH)
    changes.rdfp  changes-added.ttl  changes-removed.ttl  changes.json
                    what changed since the release before it (changes.py); not in the first

`build --keep N` removes the store/ of releases older than the last N (their files stay, for
downloads and history) and leaves `store.pruned` in its place to say so.

Crash safety: everything is written into a hidden staging directory beside the releases,
renamed into place when complete, and only then is the `current` symlink replaced (a
symlink written under another name and renamed over it, which is atomic). A build that
dies at any point leaves `current` on the previous complete release; the next build
removes what the dead one left behind. A build that cannot write (disk full) removes its
unfinished release and says so with a ReleaseError.

Serving: `release_to_serve` picks the release a server opens, `check_release` decides
whether a release is fit to serve (complete, checksums, a store holding the manifest's
triples). When `current` is not fit, the newest older release that is gets served.
"""

from __future__ import annotations

import errno
import fcntl
import gzip
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import IO, Any

import pyoxigraph
from pyoxigraph import RdfFormat
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from . import __version__, search, tables
from .catalog import catalog_description
from .changes import CHANGE_FILES, ChangeSetError, compare, dataset_store, summary, write_change_set
from .config import Settings
from .describe import statistics, void_description
from .history import add_versions
from .namespaces import (
    CATALOG_GRAPH,
    DATA_GRAPH,
    DATASET_GRAPHS,
    GRAPH,
    ONTOLOGY_GRAPH,
    PREFIXES,
    SHAPES_GRAPH,
    VOID_GRAPH,
)
from .progress import Steps
from .sources import Sources, digest_of, load_sources, source_files
from .stores import StoreError
from .stores.oxigraph import OxigraphStore
from .terms import to_rdflib
from .validate import ValidationReport, validate_sources

MANIFEST = "release.json"
CHECKSUMS = "SHA256SUMS"
STORE_DIR = "store"
STORE_PRUNED = "store.pruned"  # left by `build --keep` where it removed an old release's store
CURRENT = "current"
STAGING_PREFIX = ".staging-"
LOCK_FILE = ".build.lock"
VERIFIED_DIR = ".verified"  # fingerprints of releases that passed check_release
FORMAT_VERSION = 1  # of the release layout; a reader refuses layouts it does not know

MEDIA_TYPES = {
    "dataset.ttl": "text/turtle",
    "dataset.nt.gz": "application/gzip",  # a gzip file of N-Triples (DCAT: compressFormat)
    "dataset.jsonld": "application/ld+json",
    "ontology.ttl": "text/turtle",
    "shapes.ttl": "text/turtle",
    "void.ttl": "text/turtle",
    "catalog.ttl": "text/turtle",
    "validation.ttl": "text/turtle",
    MANIFEST: "application/json",
    CHECKSUMS: "text/plain",
}
# Compressed twins of the larger dumps, served with Content-Encoding: gzip when asked.
GZIP_TWINS = ("dataset.ttl", "dataset.jsonld")
BUILD_STEPS = 12


class ReleaseError(Exception):
    """A release cannot be built, found or trusted; the message says what to do."""


class InvalidSources(ReleaseError):
    """The sources do not conform to the shapes; nothing was written."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.summary())
        self.report = report


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


@dataclass(frozen=True)
class BuildResult:
    release: Release
    built: bool  # False when the current release was already built from these sources


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
    is recorded with the fingerprint of its files (name, size, modification time, inode:
    `_fingerprint`) in <releases>/.verified/, and a later check whose fingerprint is the same
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
    """Every file of a release directory with its size, modification time and inode."""
    entries = []
    for directory, _dirs, names in os.walk(path):
        for name in names:
            file = Path(directory, name)
            stat = file.stat()
            entries.append(f"{file.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}")
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


def build_release(settings: Settings, *, steps: Steps | None = None, force: bool = False,
                  keep: int | None = None) -> BuildResult:
    """Validate, build and publish a release; InvalidSources (nothing written) if invalid.
    `keep`: keep the stores of only the last `keep` releases (None: all)."""
    steps = steps or Steps(BUILD_STEPS, quiet=True)
    digest = digest_of(settings.root, source_files(settings))
    if not force:
        unchanged = _release_built_from(settings, digest)
        if unchanged is not None:
            steps.note(f"Release {unchanged.version} was built from these very sources; "
                       "nothing to do (use --force to build anyway).")
            return BuildResult(unchanged, built=False)
    with steps.step("Reading sources") as notes:
        sources = load_sources(settings)
        notes.append(f"{len(sources.all_files())} files")
    with steps.step("Validating with SHACL") as notes:
        report = validate_sources(sources, settings.shacl_engine)
        notes.append(report.summary())
    if not report.conforms:
        raise InvalidSources(report)

    try:
        settings.releases.mkdir(parents=True, exist_ok=True)
        with _build_lock(settings.releases):
            result = _publish(settings, sources, report, steps, digest)
            if keep is not None:
                prune_stores(settings, keep)
            return result
    except OSError as error:  # disk full, quota, file size limit, permissions
        raise ReleaseError(f"cannot write a release into {settings.releases}: {error}{_hint(error)}; "
                           f"nothing was published and {_current_now(settings.releases)}") from None


def _publish(settings: Settings, sources: Sources, report: ValidationReport, steps: Steps,
             digest: str) -> BuildResult:
    """Write the release into a staging directory, rename it into place, switch `current`
    (holding the build lock)."""
    _remove_leftovers(settings.releases)
    created = datetime.now(UTC).replace(microsecond=0)
    commit, dirty = _git_state(settings.root)
    version = _new_version(settings.releases, created, commit, dirty)
    staging = settings.releases / f"{STAGING_PREFIX}{version}"
    final = settings.releases / version
    staging.mkdir()
    try:
        manifest = _write_release(staging, sources, report, settings, steps,
                                  version=version, created=created, commit=commit,
                                  dirty=dirty, digest=digest)
        with steps.step(f"Publishing release {version}"):
            os.rename(staging, final)
            _fsync_directory(settings.releases)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a killed build is cleaned next time
        raise
    with steps.step("Checking it as a server will"):
        # The same check a server makes before serving (checksums, triple counts), made here so
        # that the first server to open the release finds it recorded and starts at once.
        try:
            _release, store = check_release(final)
            store.close()
        except ReleaseError:
            shutil.rmtree(final, ignore_errors=True)
            raise
    with steps.step("Switching current"):
        try:
            switch_current(settings.releases, version)
        except OSError as error:
            raise ReleaseError(f"release {version} was written to {final}, but `current` could not be "
                               f"switched to it: {error}{_hint(error)}; {_current_now(settings.releases)}") from None
    return BuildResult(Release(path=final, manifest=manifest), built=True)


def prune_stores(settings: Settings, keep: int) -> list[str]:
    """Remove the stores of releases older than the last `keep` (never the current one); their
    files stay. The versions pruned now."""
    if keep < 1:
        raise ReleaseError("--keep must be at least 1: the current release needs its store")
    try:
        current = current_release(settings).version
    except ReleaseError:
        current = None
    pruned = []
    for release in list_releases(settings)[:-keep]:
        if release.version == current or not release.has_store:
            continue
        (release.path / STORE_PRUNED).write_text(
            f"finhealthkg build --keep {keep} removed this release's store on "
            f"{datetime.now(UTC).replace(microsecond=0).isoformat()}\n", encoding="utf-8")
        shutil.rmtree(release.store_path, ignore_errors=True)
        pruned.append(release.version)
    return pruned


def _hint(error: OSError) -> str:
    text = str(error)
    if error.errno == errno.ENOSPC or "No space left" in text:
        return " (the disk is full)"
    if error.errno == errno.EDQUOT or "quota" in text.lower():
        return " (the disk quota is used up)"
    if error.errno == errno.EFBIG or "File too large" in text:
        return " (a file outgrew the file size limit: `ulimit -f`, or the disk is full)"
    return ""


def _current_now(releases: Path) -> str:
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
    _fsync_directory(releases)


def _write_release(
    staging: Path, sources: Sources, report: ValidationReport, settings: Settings, steps: Steps,
    *, version: str, created: datetime, commit: str | None, dirty: bool, digest: str,
) -> dict[str, Any]:
    history = list_releases(settings)  # the releases before this one, oldest first
    validation = {"conforms": report.conforms, "violations": len(report.violations), "warnings": len(report.warnings)}
    parts = [(ONTOLOGY_GRAPH, sources.files["ontology"]), (DATA_GRAPH, sources.files["data"]),
             (SHAPES_GRAPH, sources.files["shapes"])]
    with steps.step("Loading the Oxigraph store") as notes:
        store = OxigraphStore.create(
            staging / STORE_DIR, [(path, str(graph)) for graph, paths in parts for path in paths])
        for path in sources.files["graphs"]:
            store.load_dataset(path)
        graphs = {}
        # The store on disk must hold what was validated: each graph's count is compared with
        # the in-memory store the sources were read into (a short write shows here).
        for name in [*sorted(sources.named_graphs), *(str(graph) for graph, _paths in parts)]:
            count, read = store.triple_count([name]), sources.triple_count([name])
            if count != read:
                raise ReleaseError(f"the store on disk holds {count} triples in <{name}>, the sources {read}")
            key = name.rsplit("/", 1)[-1] if name.startswith(str(GRAPH)) else name
            graphs[key] = {"iri": name, "triples": count}
        notes.append(f"{sum(g['triples'] for g in graphs.values())} triples in {len(graphs)} graphs")

    with steps.step("Describing the dataset (VoID)") as notes:
        # Statistics and dumps are read from the in-memory store the sources were parsed into:
        # the same triples (counted above), read several times faster than from the disk.
        memory = OxigraphStore(sources.store)
        void = void_description(memory, base_iri=settings.base_iri, version=version,
                                created=created, catalog=sources.catalog)
        void_bytes = void.serialize(format="turtle", encoding="utf-8")
        store.add_turtle(void_bytes, str(VOID_GRAPH))
        graphs["void"] = {"iri": str(VOID_GRAPH), "triples": len(void)}
        stats = statistics(void, settings.base_iri)
        notes.append(f"{stats['triples']} triples, {stats['entities']} entities, "
                     f"{stats['classes']} classes")

    with steps.step("Writing dumps") as notes:
        header = (f"# finhealthkg release {version}, {created.isoformat()}. "
                  "Licence: CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).\n")

        def dataset() -> Iterator[pyoxigraph.Triple]:
            for graph in DATASET_GRAPHS:
                yield from memory.triples(str(graph))

        with _writing(staging / "dataset.ttl") as out:
            out.write(header.encode())
            pyoxigraph.serialize(dataset(), out, RdfFormat.TURTLE, prefixes=PREFIXES)
        with _writing(staging / "dataset.nt.gz") as out, _gzip(out) as zipped:
            pyoxigraph.serialize(dataset(), zipped, RdfFormat.N_TRIPLES)
        with _writing(staging / "dataset.jsonld") as out:
            pyoxigraph.serialize(dataset(), out, RdfFormat.JSON_LD)
        for name, graph in (("ontology.ttl", ONTOLOGY_GRAPH), ("shapes.ttl", SHAPES_GRAPH)):
            with _writing(staging / name) as out:
                out.write(header.encode())
                pyoxigraph.serialize(memory.triples(str(graph)), out, RdfFormat.TURTLE,
                                     prefixes=PREFIXES)
        for name in GZIP_TWINS:
            with (staging / name).open("rb") as plain, _writing(staging / f"{name}.gz") as out, \
                    _gzip(out) as zipped:
                shutil.copyfileobj(plain, zipped)
        with _writing(staging / "void.ttl") as out:
            out.write(void_bytes)
        with _writing(staging / "validation.ttl") as out:
            out.write(report.graph.serialize(format="turtle", encoding="utf-8"))
        files = {name: _file_entry(staging / name, media_type)
                 for name, media_type in sorted(MEDIA_TYPES.items())
                 if name not in (MANIFEST, CHECKSUMS, "catalog.ttl")}
        notes.append(", ".join(sorted(files)))

    with steps.step("Comparing with the release before" + (f" ({history[-1].version})" if history else "")) as notes:
        changes = None
        if history:
            previous = history[-1]
            try:
                changeset = compare(dataset_store(previous.store_path if previous.has_store else None,
                                                  previous.file("dataset.nt.gz")),
                                    sources.store, previous=previous.version, version=version)
            except ChangeSetError as error:
                raise ReleaseError(str(error)) from None
            write_change_set(staging, changeset, settings.base_iri, _writing)
            files.update({name: _file_entry(staging / name, media_type) for name, media_type in CHANGE_FILES.items()})
            changes = {"previous": previous.version, "triples": summary(changeset)["triples"]}
            notes.append(f"{len(changeset.added)} triple(s) added, {len(changeset.removed)} removed")
        else:
            notes.append("none: the first release")

    with steps.step("Writing the catalogue") as notes:
        catalog = catalog_description(sources.catalog, _publishers(sources), base_iri=settings.base_iri,
                                      version=version, created=created, files=files)
        this = {"version": version, "created": created.isoformat(), "commit": commit, "statistics": stats,
                "validation": validation, "changes": changes, "files": files}
        add_versions(catalog, sources.catalog, settings.base_iri, [*(r.manifest for r in history), this])
        catalog_bytes = catalog.serialize(format="turtle", encoding="utf-8")
        with _writing(staging / "catalog.ttl") as out:
            out.write(catalog_bytes)
        files["catalog.ttl"] = _file_entry(staging / "catalog.ttl", MEDIA_TYPES["catalog.ttl"])
        store.add_turtle(catalog_bytes, str(CATALOG_GRAPH))
        graphs["catalog"] = {"iri": str(CATALOG_GRAPH), "triples": len(catalog)}
        store.flush()
        store.close()
        notes.append(f"{len(catalog)} triples")

    with steps.step("Indexing names and writing tables") as notes:
        # For people who search and who read tables, not RDF; read from the in-memory store
        indexed = search.write_search_index(memory, staging)
        derived = {search.INDEX_FILE: search.INDEX_MEDIA_TYPE, **tables.write_tables(memory, staging, version=version)}
        files.update({name: _file_entry(staging / name, media_type) for name, media_type in derived.items()})
        notes.append(f"search index of {indexed['names']} names, {len(derived) - 1} table files")

    with steps.step("Writing checksums and manifest"):
        encodings = {name: {"gzip": _file_entry(staging / f"{name}.gz", MEDIA_TYPES[name])}
                     for name in GZIP_TWINS}
        manifest = {
            "format": FORMAT_VERSION,
            "version": version,
            "created": created.isoformat(),
            "commit": commit,
            "dirty": dirty,
            "source_digest": digest,
            "base_iri": settings.base_iri,
            "statistics": stats,
            "graphs": graphs,
            "default_graph": [str(g) for g in DATASET_GRAPHS],
            "validation": validation,
            "sources": [sources.relative(p) for p in sources.all_files()],
            "software": _software_versions(),
            "changes": changes,  # since the release before (None for the first)
            "files": files,
            "encodings": encodings,
        }
        with _writing(staging / MANIFEST) as out:
            out.write(json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n")
        sums = {**{name: entry["sha256"] for name, entry in files.items()},
                **{f"{name}.gz": twin["gzip"]["sha256"] for name, twin in encodings.items()},
                MANIFEST: sha256_of(staging / MANIFEST)}
        with _writing(staging / CHECKSUMS) as out:
            out.write("".join(f"{sums[name]}  {name}\n" for name in sorted(sums)).encode())
        _fsync_directory(staging)
    return manifest


def _publishers(sources: Sources) -> Graph:
    """The triples of the data that describe the agents the catalogue names as publishers."""
    graph = Graph()
    for agent in set(sources.catalog.objects(None, DCTERMS.publisher)):
        if isinstance(agent, URIRef):
            for quad in sources.store.quads_for_pattern(pyoxigraph.NamedNode(str(agent)), None, None,
                                                        pyoxigraph.NamedNode(str(DATA_GRAPH))):
                graph.add((agent, to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


def _file_entry(path: Path, media_type: str) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256_of(path), "media_type": media_type}


@contextmanager
def _gzip(out: IO[bytes]) -> Iterator[IO[bytes]]:
    # mtime=0 and no file name: identical data gives identical bytes
    # Level 6, as the gzip command: level 9 (Python's default) takes twice as long for 2 % less.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as zipped:
        yield zipped  # type: ignore[misc]


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


@contextmanager
def _writing(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that is flushed to disk before the build goes on; an OSError names it."""
    try:
        with path.open("wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
    except OSError as error:
        if error.filename is None and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def _build_lock(releases: Path) -> Iterator[None]:
    with (releases / LOCK_FILE).open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReleaseError(
                f"another `finhealthkg build` is writing {releases}; wait for it to finish") from None
        yield


def _remove_leftovers(releases: Path) -> None:
    """Staging directories and temporary links of builds that died (we hold the lock)."""
    for path in releases.iterdir():
        if path.name.startswith(STAGING_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(".current-") and path.is_symlink():
            path.unlink()


def _release_built_from(settings: Settings, digest: str) -> Release | None:
    try:
        release = current_release(settings)
    except ReleaseError:
        return None
    same = (release.manifest.get("source_digest") == digest
            and release.manifest.get("base_iri") == settings.base_iri
            and release.manifest.get("software", {}).get("finhealthkg") == __version__)
    return release if same else None


def _new_version(releases: Path, created: datetime, commit: str | None, dirty: bool) -> str:
    version = created.strftime("%Y%m%dT%H%M%SZ")
    if commit:
        version += f"-{commit[:8]}" + ("-dirty" if dirty else "")
    candidate, n = version, 1
    while (releases / candidate).exists():  # two builds in one second
        n += 1
        candidate = f"{version}.{n}"
    return candidate


def _git_state(root: Path) -> tuple[str | None, bool]:
    """The commit of the sources and whether ontology/, shapes/ or data/ differ from it."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None, False
    changes = git("status", "--porcelain", "--", "ontology", "shapes", "data")
    return commit, bool(changes)


def _software_versions() -> dict[str, str]:
    versions = {"finhealthkg": __version__}
    for name in ("rdflib", "pyshacl", "pyoxigraph"):
        versions[name] = package_version(name)
    return versions
