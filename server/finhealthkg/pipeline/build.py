"""Build a release from validated sources, write it, switch `current` to it (release.py
describes the layout a build writes).

`build --keep N` removes the store/ of releases older than the last N (their files stay, for
downloads and history) and leaves `store.pruned` in its place to say so.

Work beside the build's own: the store loads (a thread: pyoxigraph's bulk load releases the
GIL) while SHACL validates, and the search index and tables are written by a process of their
own (derived.py: they are mostly Python) from when the sources have been read. So the build
lock is taken and the staging directory made before validation; an invalid build removes them
again.

Crash safety: everything is written into a hidden staging directory beside the releases,
renamed into place when complete, and only then is the `current` symlink replaced (a
symlink written under another name and renamed over it, which is atomic). A build that
dies at any point leaves `current` on the previous complete release; the next build
removes what the dead one left behind. A build that cannot write (disk full) removes its
unfinished release and says so with a ReleaseError.
"""
from __future__ import annotations

import errno
import fcntl
import gzip
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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

from .. import __version__, search
from ..catalog import catalog_description
from ..change_files import CHANGE_FILES
from ..config import Settings
from ..history import add_versions
from ..namespaces import (
    CATALOG_GRAPH,
    DATA_GRAPH,
    DATASET_GRAPHS,
    GRAPH,
    ONTOLOGY_GRAPH,
    PREFIXES,
    SHAPES_GRAPH,
    VOID_GRAPH,
)
from ..release import (
    CHECKSUMS,
    FORMAT_VERSION,
    MANIFEST,
    STORE_DIR,
    STORE_PRUNED,
    Release,
    ReleaseError,
    check_release,
    current_link_now,
    current_release,
    fsync_directory,
    list_releases,
    sha256_of,
    switch_current,
    version_key,
)
from ..stores.oxigraph import OxigraphStore
from ..terms import to_rdflib
from .changes import ChangeSetError, compare, dataset_store, summary, write_change_set
from .derived import derived_files
from .progress import Steps
from .sources import Sources, digest_of, load_sources, source_files
from .validate import ValidationReport, validate_sources
from .void import largest_subject, statistics, void_description

STAGING_PREFIX = ".staging-"
Loaded = tuple[OxigraphStore, dict[str, dict[str, Any]]]  # the store on disk, its graphs' counts
LOCK_FILE = ".build.lock"
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


class InvalidSources(ReleaseError):
    """The sources do not conform to the shapes; nothing was written."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.summary())
        self.report = report


@dataclass(frozen=True)
class BuildResult:
    release: Release
    built: bool  # False when the current release was already built from these sources


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
    new_directory = not settings.releases.exists()
    try:
        settings.releases.mkdir(parents=True, exist_ok=True)
        with _build_lock(settings.releases):
            result = _publish(settings, sources, steps, digest)
            if keep is not None:
                prune_stores(settings, keep)
            return result
    except InvalidSources:
        if new_directory:  # it holds only the lock file now: an invalid build leaves no trace
            _remove_empty_releases(settings.releases)
        raise
    except OSError as error:  # disk full, quota, file size limit, permissions
        raise ReleaseError(f"cannot write a release into {settings.releases}: {error}{_hint(error)}; "
                           f"nothing was published and {current_link_now(settings.releases)}") from None


def _publish(settings: Settings, sources: Sources, steps: Steps, digest: str) -> BuildResult:
    """Validate the sources and write the release into a staging directory, rename it into
    place, switch `current` (holding the build lock). InvalidSources: the staging directory
    is removed and nothing else was written."""
    _remove_leftovers(settings.releases)
    created = datetime.now(UTC).replace(microsecond=0)
    commit, dirty = _git_state(settings.root)
    version = _new_version(settings.releases, created, commit, dirty)
    staging = settings.releases / f"{STAGING_PREFIX}{version}"
    final = settings.releases / version
    staging.mkdir()
    loading: Future[Loaded] | None = None
    try:
        # Beside the build's own thread: the index and tables in a process forked now, before any
        # thread is started (it shares the in-memory store), and the store's bulk load in a
        # thread. Leaving this block stops the one and waits for the other, also when a step
        # fails, before the staging is removed.
        memory = OxigraphStore(sources.store)
        with derived_files(memory, staging, version) as derived, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="build") as alongside:
            loading = alongside.submit(_load_store, staging / STORE_DIR, sources)
            with steps.step("Validating with SHACL") as notes:
                report = validate_sources(sources, settings.shacl_engine)
                notes.append(report.summary())
            if not report.conforms:
                raise InvalidSources(report)
            manifest = _write_release(staging, sources, report, settings, steps, loading, derived,
                                      version=version, created=created, commit=commit,
                                      dirty=dirty, digest=digest)
        with steps.step(f"Publishing release {version}"):
            os.rename(staging, final)
            fsync_directory(settings.releases)
    except BaseException:
        _close_loaded(loading)
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
            now = current_link_now(settings.releases)
            raise ReleaseError(f"release {version} was written to {final}, but `current` could not be "
                               f"switched to it: {error}{_hint(error)}; {now}") from None
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


def _load_store(path: Path, sources: Sources) -> Loaded:
    """The release's store on disk, each source file in its graph, and its graphs' counts."""
    parts = [(ONTOLOGY_GRAPH, sources.files["ontology"]), (DATA_GRAPH, sources.files["data"]),
             (SHAPES_GRAPH, sources.files["shapes"])]
    store = OxigraphStore.create(path, [(file, str(graph)) for graph, files in parts for file in files])
    try:
        return store, _load_named_graphs(store, sources, parts)
    except BaseException:
        store.close()  # before the failed build removes the staging directory (_close_loaded)
        raise


def _load_named_graphs(store: OxigraphStore, sources: Sources,
                       parts: list[tuple[URIRef, list[Path]]]) -> dict[str, dict[str, Any]]:
    for file in sources.files["graphs"]:
        store.load_dataset(file)
    graphs = {}
    # The store on disk must hold what was validated: each graph's count is compared with
    # the in-memory store the sources were read into (a short write shows here).
    for name in [*sorted(sources.named_graphs), *(str(graph) for graph, _files in parts)]:
        count, read = store.triple_count([name]), sources.triple_count([name])
        if count != read:
            raise ReleaseError(f"the store on disk holds {count} triples in <{name}>, the sources {read}")
        key = name.rsplit("/", 1)[-1] if name.startswith(str(GRAPH)) else name
        graphs[key] = {"iri": name, "triples": count}
    return graphs


def _close_loaded(loading: Future[Loaded] | None) -> None:
    """Close the store a failed build loaded before its staging directory is removed: an open
    RocksDB keeps writing into it (flushes, a new MANIFEST), files that would outlive the removal.
    The executor has already waited for the load."""
    if loading is not None and loading.done() and not loading.cancelled() and loading.exception() is None:
        loading.result()[0].close()


def _write_release(
    staging: Path, sources: Sources, report: ValidationReport, settings: Settings, steps: Steps,
    loading: Future[Loaded],
    derived: Callable[[], tuple[dict[str, int], dict[str, str]]],
    *, version: str, created: datetime, commit: str | None, dirty: bool, digest: str,
) -> dict[str, Any]:
    history = list_releases(settings)  # the releases before this one, oldest first
    validation = {"conforms": report.conforms, "violations": len(report.violations), "warnings": len(report.warnings)}
    with steps.step("Loading the Oxigraph store") as notes:
        store, graphs = loading.result()  # begun before validation
        notes.append(f"{sum(g['triples'] for g in graphs.values())} triples in {len(graphs)} graphs "
                     "(loaded while validating)")
    # Statistics and dumps are read from the in-memory store the sources were parsed into: the
    # same triples (counted above), read several times faster than from disk.
    memory = OxigraphStore(sources.store)

    with steps.step("Describing the dataset (VoID)") as notes:
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
        largest = largest_subject(memory, void, catalog)  # every graph of the store on disk
        store.flush()
        store.close()
        notes.append(f"{len(catalog)} triples")

    with steps.step("Indexing names and writing tables") as notes:
        indexed, table_files = derived()  # begun when the sources had been read
        written = {search.INDEX_FILE: search.INDEX_MEDIA_TYPE, **table_files}
        files.update({name: _file_entry(staging / name, media_type) for name, media_type in written.items()})
        notes.append(f"search index of {indexed['names']} names, {len(table_files)} table files "
                     "(written by a process of their own)")

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
            "largest_subject": largest,  # quads of one subject at most: a point lookup's rows
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
        fsync_directory(staging)
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


@contextmanager
def _build_lock(releases: Path) -> Iterator[None]:
    with (releases / LOCK_FILE).open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReleaseError(
                f"another `finhealthkg build` is writing {releases}; wait for it to finish") from None
        yield


def _remove_empty_releases(releases: Path) -> None:
    """The releases directory this build created, if it holds nothing but the lock file."""
    (releases / LOCK_FILE).unlink(missing_ok=True)
    try:
        releases.rmdir()
    except OSError:  # something else is in it now: leave it
        pass


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
    """`<timestamp>[-<commit>]`, and `.2`, `.3`... after it for a later build in the same second,
    whatever its commit: releases are ordered by name (release.version_key), and two commits'
    hashes do not say which came first."""
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    version = stamp + (f"-{commit[:8]}" + ("-dirty" if dirty else "") if commit else "")
    same_second = [p for p in releases.iterdir() if p.name.startswith(stamp)] if releases.is_dir() else []
    n = max((version_key(p.name)[1] for p in same_second), default=0) + 1
    candidate = version if n == 1 else f"{version}.{n}"
    while (releases / candidate).exists():
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
