"""Release history: two releases built from data that differ by known triples. The change set
is exactly those triples (RDF Patch and the two Turtle graphs), the summary names the things,
`finhealthkg diff` prints the same, an unchanged rebuild changes nothing, /releases/ and the
catalogue list every release as a DCAT version, and each release answers its own queries,
from the embedded store and from Virtuoso."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph
import pytest
import requests
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from conftest import STORES, VIRTUOSO_PASSWORD, cli, copy_sources, plain_term, run_comunica, running_server
from finhealthkg.config import Settings
from finhealthkg.namespaces import DATA_GRAPH
from finhealthkg.pipeline.build import _new_version, build_release
from finhealthkg.pipeline.changes import ChangeSetError, compare, patch_id
from finhealthkg.release import Release, list_releases, switch_current, version_key

BASE = f"http://history-test-{os.getpid()}.example/"  # a dataset of its own in the shared Virtuoso
DCAT = Namespace("http://www.w3.org/ns/dcat#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
ORG = "https://w3id.org/finhealthkg/id/organization/"
SOURCE = "https://w3id.org/finhealthkg/id/source/"
AURIA = f"<{ORG}auria-biobank>"
DATE = "<https://w3id.org/finhealthkg/def/registrationDate>"
XSD_DATE = "<http://www.w3.org/2001/XMLSchema#date>"
REPORT = f"<{SOURCE}auria-annual-report>"

# What the second release changes, as the N-Triples lines of the change set.
REMOVED = {
    f"{AURIA} <http://xmlns.com/foaf/0.1/homepage> <https://www.auria.fi/biopankki> .",
    f'{AURIA} {DATE} "2014-03-10"^^{XSD_DATE} .',
}
ADDED = {
    f'{AURIA} {DATE} "2014-03-11"^^{XSD_DATE} .',
    f"{AURIA} <http://purl.org/dc/terms/source> {REPORT} .",
    f"{REPORT} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/prov#Entity> .",
    f'{REPORT} <http://purl.org/dc/terms/title> "Auria Biobank annual report" .',
    f'{REPORT} <http://www.w3.org/2000/01/rdf-schema#label> "Auria Biobank annual report" .',
    f"{REPORT} <http://xmlns.com/foaf/0.1/page> <https://auria.fi/biopankki/annual-report/> .",
}
DATE_QUERY = f"SELECT ?date WHERE {{ {AURIA} {DATE} ?date }}"


def change_the_data(root: Path) -> None:
    """Move Auria Biobank's registration date by a day, drop its homepage, cite a new source."""
    biobanks = root / "data" / "biobanks.ttl"
    text = biobanks.read_text(encoding="utf-8")
    auria = "fhkg:sampleCount figure:auria-biobank-samples"
    for old, new in ((f'"2014-03-10"^^xsd:date ;\n    {auria}', f'"2014-03-11"^^xsd:date ;\n    {auria}'),
                     ("    foaf:homepage <https://www.auria.fi/biopankki> ;\n", ""),
                     ("source:vsshp-halsocampus-abo-grundad , source:stm-biobank-harmonisation .",
                      "source:vsshp-halsocampus-abo-grundad , source:stm-biobank-harmonisation , "
                      "source:auria-annual-report .")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    biobanks.write_text(text, encoding="utf-8")
    with (root / "data" / "sources.ttl").open("a", encoding="utf-8") as sources:
        sources.write('\nsource:auria-annual-report a prov:Entity ;\n'
                      '    dcterms:title "Auria Biobank annual report" ;\n'
                      '    rdfs:label "Auria Biobank annual report" ;\n'
                      "    foaf:page <https://auria.fi/biopankki/annual-report/> .\n")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True)


@dataclass(frozen=True)
class History:
    settings: Settings
    first: Release
    second: Release


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """Two releases, each built from its own commit of the sources."""
    root = copy_sources(tmp_path_factory.mktemp("history") / "project")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "first")
    settings = Settings(root=root, releases_dir=root.parent / "releases", base_iri=BASE)
    first = build_release(settings).release
    change_the_data(root)
    git(root, "commit", "-qam", "second")
    second = build_release(settings).release
    return History(settings, first, second)


def patch_rows(text: str) -> tuple[list[str], list[str], list[str]]:
    """(header rows, D rows, A rows) of an RDF Patch, checking the transaction around them."""
    lines = text.splitlines()
    assert lines[2] == "TX ." and lines[-1] == "TC .", text
    body = lines[3:-1]
    deleted = [line[2:] for line in body if line.startswith("D ")]
    added = [line[2:] for line in body if line.startswith("A ")]
    assert len(deleted) + len(added) == len(body), text
    assert body == [f"D {row}" for row in deleted] + [f"A {row}" for row in added], "deletions come first"
    return lines[:2], deleted, added


def turtle_rows(text: str) -> set[str]:
    graph = Graph().parse(data=text, format="turtle")
    return {f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in graph}


# --- the change set the build wrote ------------------------------------------------------------


def test_build_writes_the_change_set_against_the_release_before(history):
    second = history.second
    changes = second.manifest["changes"]
    assert changes == {"previous": history.first.version, "triples": {"added": 6, "removed": 2}}
    assert history.first.manifest["changes"] is None  # the first release has nothing before it
    assert not (history.first.path / "changes.rdfp").exists()
    header, deleted, added = patch_rows((second.path / "changes.rdfp").read_text(encoding="utf-8"))
    assert header == [f"H id <{patch_id(BASE, second.version)}> .",
                      f"H prev <{patch_id(BASE, history.first.version)}> ."]
    assert set(deleted) == REMOVED and len(deleted) == len(REMOVED)
    assert set(added) == ADDED and len(added) == len(ADDED)
    assert turtle_rows((second.path / "changes-added.ttl").read_text(encoding="utf-8")) == ADDED
    assert turtle_rows((second.path / "changes-removed.ttl").read_text(encoding="utf-8")) == REMOVED
    # listed and checksummed like every other file of the release
    sums = (second.path / "SHA256SUMS").read_text(encoding="utf-8")
    for name in ("changes.rdfp", "changes-added.ttl", "changes-removed.ttl", "changes.json"):
        assert name in second.manifest["files"] and f"  {name}\n" in sums
    second.verify()


def test_summary_names_the_things_added_and_changed_by_type(history):
    summary = json.loads((history.second.path / "changes.json").read_text(encoding="utf-8"))
    assert summary["things"] == {
        "added": [{"iri": f"{SOURCE}auria-annual-report", "types": ["http://www.w3.org/ns/prov#Entity"]}],
        "removed": [],
        "changed": [{"iri": f"{ORG}auria-biobank", "types": ["https://w3id.org/finhealthkg/def/Biobank"]}],
    }
    assert summary["by_type"] == {
        "http://www.w3.org/ns/prov#Entity": {"added": 1, "removed": 0, "changed": 0},
        "https://w3id.org/finhealthkg/def/Biobank": {"added": 0, "removed": 0, "changed": 1},
    }


def test_diff_on_the_terminal_says_the_same(history):
    args = ("--root", str(history.settings.root), "--releases", str(history.settings.releases), "--base-iri", BASE)
    text = cli("diff", history.first.version, history.second.version, *args)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[:2] == [
        f"Changes from release {history.first.version} to {history.second.version}: 6 triple(s) added, 2 removed.",
        "Things: 1 added, 0 removed, 1 changed."]
    assert "   added  source:auria-annual-report" in text.stdout
    assert " changed  organization:auria-biobank" in text.stdout
    patch = cli("diff", history.first.version, *args, "--format", "rdfp")  # the newer defaults to the current one
    assert patch.stdout == (history.second.path / "changes.rdfp").read_text(encoding="utf-8")
    backwards = cli("diff", history.second.version, history.first.version, *args, "--format", "rdfp")
    _, deleted, added = patch_rows(backwards.stdout)
    assert set(deleted) == ADDED and set(added) == REMOVED
    unknown = cli("diff", "20000101T000000Z", *args)
    assert unknown.returncode == 2 and "there is no release '20000101T000000Z'" in unknown.stderr


def test_rebuilding_unchanged_data_gives_an_empty_change_set(tmp_path):
    settings = Settings(root=copy_sources(tmp_path / "project"), releases_dir=tmp_path / "releases")
    first = build_release(settings).release
    again = build_release(settings, force=True).release  # skipped without --force: the sources are the same
    assert again.version != first.version
    assert again.manifest["changes"] == {"previous": first.version, "triples": {"added": 0, "removed": 0}}
    header, deleted, added = patch_rows((again.path / "changes.rdfp").read_text(encoding="utf-8"))
    assert (deleted, added) == ([], [])
    assert turtle_rows((again.path / "changes-added.ttl").read_text(encoding="utf-8")) == set()
    assert turtle_rows((again.path / "changes-removed.ttl").read_text(encoding="utf-8")) == set()
    summary = json.loads((again.path / "changes.json").read_text(encoding="utf-8"))
    assert summary["things"] == {"added": [], "removed": [], "changed": []}


def test_keep_removes_old_stores_but_not_their_files(tmp_path):
    settings = Settings(root=copy_sources(tmp_path / "project"), releases_dir=tmp_path / "releases")
    first = build_release(settings).release
    change_the_data(settings.root)
    second = build_release(settings, keep=1).release
    old = next(r for r in list_releases(settings) if r.version == first.version)
    assert not old.has_store and not old.store_path.exists() and (old.path / "store.pruned").is_file()
    assert second.has_store
    old.verify()  # every file still there and whole
    listed = cli("releases", "--root", str(settings.root), "--releases", str(settings.releases)).stdout.splitlines()
    assert listed[0].startswith(f"  {first.version}") and listed[0].endswith("(store removed: not queryable)")
    assert listed[1].startswith(f"* {second.version}") and listed[1].endswith("+6 -2")
    done = cli("diff", first.version, "--root", str(settings.root), "--releases", str(settings.releases))
    assert done.returncode == 0 and "6 triple(s) added, 2 removed" in done.stdout, done.stderr  # from the dump
    with running_server(settings.root, settings.releases) as url:
        answer = requests.get(url + "/sparql", params={"query": DATE_QUERY, "release": first.version})
        assert answer.status_code == 404
        assert f"release {first.version} cannot be queried" in answer.text and "--keep" in answer.text
        listing = requests.get(url + "/releases/", headers={"Accept": "application/json"}).json()
        assert {r["version"]: r["queryable"] for r in listing["releases"]} == {
            first.version: False, second.version: True}
        assert requests.get(f"{url}/downloads/{first.version}/dataset.nt.gz").status_code == 200


# --- over HTTP, from each store ----------------------------------------------------------------


@pytest.fixture(scope="module", params=STORES)
def served(request: pytest.FixtureRequest, history: History) -> Iterator[str]:
    """Both releases served, the second current: from the embedded store, or loaded one after the
    other into Virtuoso (which keeps both)."""
    settings = history.settings
    args = ("--root", str(settings.root), "--releases", str(settings.releases), "--base-iri", BASE)
    extra: tuple[str, ...] = ()
    if request.param == "virtuoso":
        virtuoso = request.getfixturevalue("virtuoso")
        for release in (history.first, history.second):
            switch_current(settings.releases, release.version)
            loaded = cli("load", *args, *virtuoso.store_args(), env=VIRTUOSO_PASSWORD)
            assert loaded.returncode == 0, loaded.stderr
        extra = ("--store", virtuoso.query_url)
    with running_server(settings.root, settings.releases, "--base-iri", BASE, *extra) as url:
        yield url


def dates(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["date"]["value"] for row in response.json()["results"]["bindings"]]


def test_each_release_answers_its_own_queries(served, history):
    first, second = history.first.version, history.second.version
    current = requests.get(served + "/sparql", params={"query": DATE_QUERY})
    assert dates(current) == ["2014-03-11"] and current.headers["FinHealthKG-Release"] == second
    past = requests.get(served + "/sparql", params={"query": DATE_QUERY, "release": first})
    assert dates(past) == ["2014-03-10"] and past.headers["FinHealthKG-Release"] == first
    posted = requests.post(f"{served}/releases/{first}/sparql", data={"query": DATE_QUERY})
    assert dates(posted) == ["2014-03-10"]
    direct = requests.post(f"{served}/sparql?release={first}", data=DATE_QUERY.encode(),
                           headers={"Content-Type": "application/sparql-query"})
    assert dates(direct) == ["2014-03-10"]
    named = requests.get(f"{served}/releases/{second}/sparql", params={"query": DATE_QUERY})
    assert dates(named) == ["2014-03-11"]
    # the ETag names the release: a cached answer of one release never answers for the other
    assert past.headers["ETag"] != current.headers["ETag"]


def test_a_past_release_keeps_the_endpoint_rules(served, history):
    first = history.first.version
    update = requests.post(f"{served}/releases/{first}/sparql", data={"update": "DROP ALL"})
    assert update.status_code == 403 and "read-only" in update.text
    service = requests.get(f"{served}/releases/{first}/sparql",
                           params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert service.status_code == 400 and "SERVICE" in service.text
    broken = requests.get(served + "/sparql", params={"query": "SELECT ?x WHERE {", "release": first})
    assert broken.status_code == 400 and "does not parse" in broken.text
    csv = requests.get(served + "/sparql", params={"query": DATE_QUERY, "release": first},
                       headers={"Accept": "text/csv"})
    assert csv.headers["Content-Type"].startswith("text/csv") and csv.text.splitlines() == ["date", "2014-03-10"]
    two = requests.get(f"{served}/releases/{first}/sparql",
                       params={"query": DATE_QUERY, "release": history.second.version})
    assert two.status_code == 400


@pytest.mark.parametrize("path", ["/sparql?release={v}", "/releases/{v}/sparql", "/releases/{v}/fragments",
                                  "/releases/{v}/changes"])
def test_an_unknown_release_is_not_found(served, path):
    url = served + path.format(v="20000101T000000Z-00000000")
    answer = requests.get(url, params={"query": DATE_QUERY} if "sparql" in path else {},
                          headers={"Accept": "application/json"})
    assert answer.status_code == 404, answer.text
    assert "20000101T000000Z-00000000" in answer.json()["error"]["message"]


def test_past_release_fragments(served, history):
    params = {"subject": f"{ORG}auria-biobank", "predicate": DATE[1:-1]}
    for version, expected in ((history.first.version, "2014-03-10"), (history.second.version, "2014-03-11")):
        answer = requests.get(f"{served}/releases/{version}/fragments", params=params,
                              headers={"Accept": "text/turtle"})
        assert answer.status_code == 200, answer.text
        graph = Graph().parse(data=answer.text, format="turtle")
        assert list(graph.objects(URIRef(params["subject"]), URIRef(params["predicate"]))) == [
            Literal(expected, datatype=XSD.date)]


def test_comunica_queries_each_release_over_its_fragments(served, history, comunica):
    query = (f"SELECT ?biobank ?date ?source WHERE {{ ?biobank {DATE} ?date ; "
             f"<http://purl.org/dc/terms/source> ?source . FILTER (?biobank = {AURIA}) }}")
    found = {}
    for release in (history.first, history.second):
        answer = requests.get(served + "/sparql", params={"query": query, "release": release.version},
                              headers={"Accept": "application/sparql-results+json"}).json()
        expected = {tuple(json.dumps(plain_term(row.get(n)), sort_keys=True) for n in answer["head"]["vars"])
                    for row in answer["results"]["bindings"]}
        found[release.version] = run_comunica(comunica, f"{served}/releases/{release.version}/fragments", query)
        assert found[release.version] == expected and len(expected) >= 8, release.version
    registered = {version: {json.loads(row[1])["value"] for row in rows} for version, rows in found.items()}
    assert registered == {history.first.version: {"2014-03-10"}, history.second.version: {"2014-03-11"}}


def test_release_parameter_of_fragments_leads_to_that_release(served, history):
    first = history.first.version
    params = {"subject": f"{ORG}auria-biobank", "predicate": DATE[1:-1], "release": first}
    answer = requests.get(f"{served}/fragments", params=params, headers={"Accept": "application/trig"})
    assert answer.status_code == 200 and answer.headers["FinHealthKG-Release"] == first
    assert '"2014-03-10"' in answer.text and '"2014-03-11"' not in answer.text
    assert f'"{served}/releases/{first}/fragments{{?subject,predicate,object}}"' in answer.text


def test_changes_over_http(served, history):
    first, second = history.first.version, history.second.version
    base = f"{served}/releases/{second}"
    patch = requests.get(base + "/changes", headers={"Accept": "application/rdf-patch"})
    assert patch.status_code == 200 and patch.headers["Content-Type"].startswith("application/rdf-patch")
    assert patch.content == (history.second.path / "changes.rdfp").read_bytes()
    assert requests.get(base + "/changes.rdfp").content == patch.content
    assert turtle_rows(requests.get(base + "/changes/added.ttl").text) == ADDED
    assert turtle_rows(requests.get(base + "/changes/removed.ttl").text) == REMOVED
    summary = requests.get(base + "/changes", headers={"Accept": "application/json"}).json()
    assert summary["previous"] == first and summary["triples"] == {"added": 6, "removed": 2}
    text = requests.get(base + "/changes", headers={"Accept": "text/plain"}).text
    assert requests.get(base + "/changes", headers={"Accept": "*/*"}).text == text  # curl gets the text
    assert text == cli("diff", first, second, "--root", str(history.settings.root),
                       "--releases", str(history.settings.releases)).stdout
    page = requests.get(base + "/changes", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "organization:auria-biobank" in page.text and "prov:Entity" in page.text
    none_before = requests.get(f"{served}/releases/{first}/changes", headers={"Accept": "application/json"})
    assert none_before.status_code == 404 and "the first release" in none_before.json()["error"]["message"]
    assert requests.get(f"{served}/releases/{first}/changes/nothing.ttl").status_code == 404


def test_builds_of_one_second_are_named_in_the_order_they_were_made(tmp_path):
    """A later commit's hash may sort before an earlier one's: the order is in the number after
    the name, not in the hash (seen: two releases of one second listed oldest first)."""
    created = datetime(2026, 12, 6, 1, 32, 3, tzinfo=UTC)
    names = []
    for commit, dirty in (("ebc22ec7" * 5, False), ("5f9f03fd" * 5, False), ("5f9f03fd" * 5, True), (None, False)):
        names.append(_new_version(tmp_path, created, commit, dirty))
        (tmp_path / names[-1]).mkdir()
    assert names == ["20261206T013203Z-ebc22ec7", "20261206T013203Z-5f9f03fd.2",
                     "20261206T013203Z-5f9f03fd-dirty.3", "20261206T013203Z.4"]
    assert sorted(reversed(names), key=version_key) == names


def test_releases_are_listed_in_html_json_turtle_and_json_ld(served, history):
    first, second = history.first, history.second
    listing = requests.get(served + "/releases/", headers={"Accept": "application/json"}).json()
    rows = listing["releases"]
    assert [r["version"] for r in rows] == [second.version, first.version]  # newest first
    for row, release in zip(rows, (second, first), strict=True):
        assert row["created"] == release.manifest["created"] and row["triples"] == release.triples
        assert row["commit"] == release.manifest["commit"] and len(row["commit"]) == 40
        assert row["validation"] == {"conforms": True, "violations": 0, "warnings": 0}
    anything = requests.get(served + "/releases/", headers={"Accept": "*/*"})
    assert anything.headers["Content-Type"].startswith("text/turtle")
    page = requests.get(served + "/releases/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200
    for release in (first, second):
        assert release.version in page.text and release.manifest["commit"][:12] in page.text
    for accept, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld")):
        answer = requests.get(served + "/releases/", headers={"Accept": accept})
        assert answer.headers["Content-Type"].startswith(accept)
        graph = Graph().parse(data=answer.text, format=fmt)
        check_versions(graph, history)


def test_a_release_iri_dereferences_to_the_history(served, history):
    version = history.first.version
    answer = requests.get(f"{served}/release/{version}", allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/releases/#{version}")
    followed = requests.get(f"{served}/release/{version}", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=followed.text, format="turtle")
    assert (URIRef(f"{BASE}release/{version}"), DCAT.version, Literal(version)) in graph
    assert requests.get(f"{served}/release/20000101T000000Z").status_code == 404


def check_versions(graph: Graph, history: History) -> None:
    """The dataset has both releases as DCAT 3 versions, each with its own distributions."""
    dataset = URIRef(BASE + "dataset")
    first, second = (URIRef(f"{BASE}release/{r.version}") for r in (history.first, history.second))
    assert set(graph.objects(dataset, DCAT.hasVersion)) == {first, second}
    assert list(graph.objects(dataset, DCAT.hasCurrentVersion)) == [second]
    assert list(graph.objects(second, DCAT.previousVersion)) == [first]
    assert list(graph.objects(first, DCAT.previousVersion)) == []
    for node, release in ((first, history.first), (second, history.second)):
        assert (node, RDF.type, DCAT.Dataset) in graph
        assert list(graph.objects(node, DCAT.version)) == [Literal(release.version)]
        issued = Literal(release.manifest["created"], datatype=XSD.dateTime)
        assert list(graph.objects(node, DCTERMS.issued)) == [issued]
        (notes,) = graph.objects(node, ADMS.versionNotes)
        assert f"{release.triples} triples" in notes and "conforms to the shapes" in notes
        downloads = {str(url) for d in graph.objects(node, DCAT.distribution)
                     for url in graph.objects(d, DCAT.downloadURL)}
        assert downloads == {f"{BASE}downloads/{release.version}/{name}"
                             for name in ("dataset.ttl", "dataset.nt.gz", "dataset.jsonld")}
    (notes,) = graph.objects(second, ADMS.versionNotes)
    assert f"Since release {history.first.version}: 6 triples added, 2 removed." in notes


def test_the_catalogue_describes_every_release_as_a_version(history):
    catalogue = Graph().parse(history.second.path / "catalog.ttl", format="turtle")
    check_versions(catalogue, history)


def test_the_dumps_and_the_change_set_agree(history):
    """Applying the RDF Patch to the first release's dump gives the second release's dump."""
    def triples(release: Release) -> set[str]:
        with gzip.open(release.path / "dataset.nt.gz", "rt", encoding="utf-8") as dump:
            return {line.strip() for line in dump if line.strip()}
    _, deleted, added = patch_rows((history.second.path / "changes.rdfp").read_text(encoding="utf-8"))
    assert (triples(history.first) - set(deleted)) | set(added) == triples(history.second)


def test_no_blank_nodes_reach_a_change_set(tmp_path):
    """A blank node cannot be matched across releases: the shapes refuse one in the data, and a
    comparison refuses graphs holding one rather than report a false change."""
    settings = Settings(root=copy_sources(tmp_path / "project"), releases_dir=tmp_path / "releases")
    build_release(settings)
    places = settings.root / "data" / "places.ttl"
    places.write_text(places.read_text(encoding="utf-8") + '\n[] rdfs:label "somewhere"@en .\n', encoding="utf-8")
    done = cli("build", "--root", str(settings.root), "--releases", str(settings.releases))
    assert done.returncode == 1 and "Blank nodes are not allowed" in done.stdout + done.stderr
    assert len(list_releases(settings)) == 1

    old, new = pyoxigraph.Store(), pyoxigraph.Store()
    graph = pyoxigraph.NamedNode(str(DATA_GRAPH))
    label = pyoxigraph.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    for store in (old, new):
        store.add(pyoxigraph.Quad(pyoxigraph.BlankNode(), label, pyoxigraph.Literal("somewhere"), graph))
    with pytest.raises(ChangeSetError, match="blank node"):
        compare(old, new, previous="a", version="b")


def test_virtuoso_answers_only_for_the_releases_it_keeps(tmp_path, virtuoso):
    """`load --keep 1` drops the older release from the store: asked for, it is not found there,
    though its files are still on disk; the kept one answers."""
    base = f"http://history-keep-{os.getpid()}.example/"
    settings = Settings(root=copy_sources(tmp_path / "project"), releases_dir=tmp_path / "releases", base_iri=base)
    args = ("--root", str(settings.root), "--releases", str(settings.releases), "--base-iri", base,
            *virtuoso.store_args())
    first = build_release(settings).release
    assert cli("load", *args, env=VIRTUOSO_PASSWORD).returncode == 0
    change_the_data(settings.root)
    second = build_release(settings).release
    loaded = cli("load", *args, "--keep", "1", env=VIRTUOSO_PASSWORD)
    assert loaded.returncode == 0, loaded.stderr
    with running_server(settings.root, settings.releases, "--base-iri", base, "--store", virtuoso.query_url) as url:
        gone = requests.get(url + "/sparql", params={"query": DATE_QUERY, "release": first.version},
                            headers={"Accept": "application/json"})
        assert gone.status_code == 404
        assert "does not hold release" in gone.json()["error"]["message"]
        kept = requests.get(f"{url}/releases/{second.version}/sparql", params={"query": DATE_QUERY})
        assert dates(kept) == ["2014-03-11"]
        assert requests.get(f"{url}/downloads/{first.version}/dataset.nt.gz").status_code == 200
