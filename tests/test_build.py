"""`finhealthkg build`: a complete, checked, immutable release, and `current` that only ever
points at one."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from conftest import REPO, cli
from finhealthkg.config import Settings
from finhealthkg.pipeline.sources import load_sources
from finhealthkg.release import CHECKSUMS, MANIFEST, Release, current_release, list_releases

DUMPS = ("dataset.ttl", "dataset.nt.gz", "dataset.jsonld")


def parse_dump(release: Release, name: str) -> Graph:
    path = release.file(name)
    if name.endswith(".gz"):
        return Graph().parse(data=gzip.decompress(path.read_bytes()).decode(), format="nt")
    return Graph().parse(path, format={"ttl": "turtle", "jsonld": "json-ld"}[name.rsplit(".", 1)[1]])


def test_release_has_every_file(release):
    names = {p.name for p in release.path.iterdir()}
    assert {*DUMPS, "dataset.ttl.gz", "dataset.jsonld.gz", "ontology.ttl", "shapes.ttl", "void.ttl",
            "catalog.ttl", "validation.ttl", MANIFEST, CHECKSUMS, "store"} <= names
    assert release.path.parent.joinpath("current").resolve() == release.path


def test_dumps_hold_the_same_triples_as_the_sources(release):
    expected = load_sources(Settings(root=REPO)).knowledge_graph()
    expected_set = set(expected)
    for name in DUMPS:
        graph = parse_dump(release, name)
        assert len(graph) == len(expected) == release.triples, name
        assert set(graph) == expected_set, name  # no blank nodes: plain set equality


def test_checksums_match_with_sha256sum(release):
    done = subprocess.run(["sha256sum", "--check", "--strict", CHECKSUMS], cwd=release.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {line.split("  ", 1)[1] for line in (release.path / CHECKSUMS).read_text().splitlines()}
    assert listed == {*release.checked_files(), MANIFEST}
    release.verify()


def test_damaged_file_fails_verification(release, tmp_path):
    import shutil
    copy = tmp_path / release.version
    shutil.copytree(release.path, copy)
    with (copy / "dataset.ttl").open("ab") as f:
        f.write(b"# tampered\n")
    from finhealthkg.release import ReleaseError
    with pytest.raises(ReleaseError, match="checksum mismatch"):
        Release.open(copy).verify()


def test_manifest_and_void_agree_with_the_store(release):
    manifest = json.loads((release.path / MANIFEST).read_text())
    store = release.open_store()
    assert store.triple_count() == manifest["statistics"]["triples"] == release.triples
    for name, graph in manifest["graphs"].items():
        assert store.triple_count([graph["iri"]]) == graph["triples"], name
    void = Graph().parse(release.file("void.ttl"))
    q = """PREFIX void: <http://rdfs.org/ns/void#>
           SELECT ?t ?e ?c WHERE { ?d void:triples ?t ; void:entities ?e ; void:classes ?c }"""
    (t, e, c), = void.query(q)
    assert int(t) == release.triples
    assert int(e) == manifest["statistics"]["entities"] > 100
    assert int(c) == manifest["statistics"]["classes"]


def test_the_manifest_bounds_the_quads_of_any_one_subject(release):
    """The server skips counting a point lookup's rows when this bound is within the row limit:
    it must hold for every subject of every graph of the store, the build's own graphs included."""
    store = release.open_store().database
    counts = {}
    for quad in store:
        counts[quad.subject] = counts.get(quad.subject, 0) + 1
    largest = max(counts.values())
    assert release.largest_subject is not None and release.largest_subject >= largest
    assert release.largest_subject <= 2 * largest  # an upper bound, and a close one
    void_dataset = next(s for s in counts if str(s.value).endswith("/dataset"))
    assert counts[void_dataset] > 1  # the VoID and catalogue graphs are counted too


def test_void_partitions_count_what_the_data_holds(release):
    data = parse_dump(release, "dataset.ttl")
    void = Graph().parse(release.file("void.ttl"))
    rows = void.query("""PREFIX void: <http://rdfs.org/ns/void#>
        SELECT ?class ?n WHERE { ?d void:classPartition [ void:class ?class ; void:entities ?n ] }""")
    partitions = {str(c): int(n) for c, n in rows}
    biobank = URIRef("https://w3id.org/finhealthkg/def/Biobank")
    assert partitions[str(biobank)] == len(set(data.subjects(RDF.type, biobank))) == 9
    assert sum(1 for _ in void.query("""PREFIX void: <http://rdfs.org/ns/void#>
        SELECT ?p WHERE { ?d void:propertyPartition [ void:property ?p ] }""")) == len(set(data.predicates()))


def test_version_has_timestamp_and_commit(tmp_path, project):
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    subprocess.run(["git", "-C", str(project.root), "add", "."], check=True)
    subprocess.run(["git", "-C", str(project.root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "sources"], check=True)
    commit = subprocess.run(["git", "-C", str(project.root), "rev-parse", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    done = cli("build", "--quiet", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 0, done.stderr
    version = done.stdout.strip()
    assert version.endswith(commit[:8])
    assert len(version.split("-")[0]) == len("20261125T120000Z")
    release = current_release(project)
    assert release.manifest["commit"] == commit and release.manifest["dirty"] is False


def test_build_prints_progress_for_each_step(project):
    done = cli("build", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 0, done.stderr
    for step in ("[1/12] Reading sources", "[2/12] Validating with SHACL", "[3/12] Loading the Oxigraph store",
                 "[5/12] Writing dumps", "[6/12] Comparing with the release before",
                 "[7/12] Writing the catalogue", "[8/12] Indexing names and writing tables",
                 "[11/12] Checking it as a server will", "[12/12] Switching current"):
        assert step in done.stderr
    assert "is current" in done.stderr


def test_unchanged_sources_are_not_rebuilt_unless_forced(project):
    first = cli("build", "--quiet", "--root", str(project.root), "--releases", str(project.releases))
    again = cli("build", "--root", str(project.root), "--releases", str(project.releases))
    assert first.stdout.strip() in again.stderr
    assert "built from these very sources" in again.stderr
    forced = cli("build", "--quiet", "--force", "--root", str(project.root),
                 "--releases", str(project.releases))
    assert forced.returncode == 0
    assert forced.stdout.strip() != first.stdout.strip()
    assert [r.version for r in list_releases(project)] == [first.stdout.strip(), forced.stdout.strip()]
    assert current_release(project).version == forced.stdout.strip()


def test_invalid_data_builds_nothing_and_keeps_current(project):
    first = cli("build", "--quiet", "--root", str(project.root), "--releases", str(project.releases))
    assert first.returncode == 0
    before = sorted(p.name for p in project.releases.iterdir())
    biobanks = project.root / "data" / "biobanks.ttl"
    biobanks.write_text(biobanks.read_text().replace('"Auria Biopankki"@fi , ', "", 1))
    done = cli("build", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 1
    assert "organization/auria-biobank" in done.stderr and "data/biobanks.ttl" in done.stderr
    assert "Nothing was built" in done.stderr
    assert sorted(p.name for p in project.releases.iterdir()) == before
    assert current_release(project).version == first.stdout.strip()


def test_invalid_data_writes_nothing_at_all_into_a_new_releases_dir(project):
    (project.root / "data" / "places.ttl").write_text(
        (project.root / "data" / "places.ttl").read_text().replace("schema:City", "schema:Town"))
    done = cli("build", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 1
    assert not project.releases.exists()


def test_killed_build_leaves_current_and_next_build_cleans_up(project):
    first = cli("build", "--quiet", "--root", str(project.root), "--releases", str(project.releases))
    good = first.stdout.strip()
    # Start a forced build and kill it as soon as its staging directory appears.
    script = Path(sys.executable).parent / "finhealthkg"
    process = subprocess.Popen([str(script), "build", "--force", "--root", str(project.root),
                                "--releases", str(project.releases)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.name.startswith(".staging-") for p in project.releases.iterdir()):
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert current_release(project).version == good
    current_release(project).verify()
    again = cli("build", "--quiet", "--force", "--root", str(project.root),
                "--releases", str(project.releases))
    assert again.returncode == 0, again.stderr
    assert not [p for p in project.releases.iterdir() if p.name.startswith(".staging-")]
    assert current_release(project).version == again.stdout.strip() != good


def test_a_second_build_at_once_is_refused_and_the_first_completes(project):
    """The build lock is taken before validation (the store loads while SHACL validates): a second
    build says another one is running, writes nothing, and the first publishes its release."""
    script = Path(sys.executable).parent / "finhealthkg"
    first = subprocess.Popen([str(script), "build", "--quiet", "--root", str(project.root),
                              "--releases", str(project.releases)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None and not (
            project.releases.exists() and any(p.name.startswith(".staging-") for p in project.releases.iterdir())):
        time.sleep(0.005)
    assert first.poll() is None, "the first build finished before the second could start"
    second = cli("build", "--force", "--root", str(project.root), "--releases", str(project.releases))
    out, err = first.communicate(timeout=120)
    assert second.returncode == 2, second.stderr  # EXIT_ERROR
    assert "another `finhealthkg build` is writing" in second.stderr
    assert first.returncode == 0, err
    assert [r.version for r in list_releases(project)] == [out.strip()] == [current_release(project).version]


def test_releases_command_lists_and_marks_current(project):
    first = cli("build", "--quiet", "--root", str(project.root), "--releases", str(project.releases))
    done = cli("releases", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 0
    assert done.stdout.startswith(f"* {first.stdout.strip()}")


def test_no_release_yet_is_a_clear_error(project):
    done = cli("query", "ASK {}", "--root", str(project.root), "--releases", str(project.releases))
    assert done.returncode == 2
    assert "run `finhealthkg build` first" in done.stderr
