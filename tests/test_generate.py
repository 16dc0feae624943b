"""bench/generate.py: a synthetic knowledge graph that conforms to the project's own shapes,
byte-identical for the same seed and size, of the size asked, written with flat memory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest

from conftest import REPO, cli, generate_graph

GENERATOR = REPO / "bench" / "generate.py"
TARGET = 10_000
SEED = 11


def generate(out: Path, triples: int = TARGET, seed: int = SEED, *extra: str) -> subprocess.CompletedProcess:
    return generate_graph(out, triples, seed, *extra)


def knowledge_triples(root: Path) -> int:
    """Distinct triples of ontology + data without data/catalog.ttl: what validate and the
    release count as the knowledge graph."""
    store = pyoxigraph.Store()
    paths = sorted((root / "ontology").glob("*.ttl")) + sorted(
        p for p in (root / "data").glob("*.ttl") if p.name != "catalog.ttl")
    for path in paths:
        store.bulk_load(path=str(path), format=pyoxigraph.RdfFormat.TURTLE,
                        to_graph=pyoxigraph.DefaultGraph())
    return len(store)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated") / "kg"
    result = generate(root)
    assert result.returncode == 0, result.stderr
    assert "Generated things:" in result.stdout
    return root


def test_the_generated_root_is_a_project_root(generated: Path) -> None:
    for part in ("ontology", "shapes", "data"):
        written = sorted(p.name for p in (generated / part).iterdir())
        repository = sorted(p.name for p in (REPO / part).iterdir())
        assert written == sorted(repository + ["generated.ttl"] if part == "data" else repository)
    for path in sorted((REPO / "ontology").glob("*.ttl")) + sorted((REPO / "shapes").glob("*.ttl")):
        assert (generated / path.parent.name / path.name).read_bytes() == path.read_bytes()


def test_the_generated_graph_conforms_to_the_shapes(generated: Path) -> None:
    result = cli("validate", "--root", str(generated), timeout=900)
    assert result.returncode == 0, result.stdout[:5000] + result.stderr
    summary = result.stdout.splitlines()[0]
    assert "The graph conforms: 0 violation(s)" in summary
    validated = int(re.search(r"in (\d+) triples", summary).group(1))
    assert abs(validated - TARGET) <= TARGET // 100, summary


def test_the_triple_count_is_within_one_percent(generated: Path) -> None:
    lines = (generated / "data" / "generated.ttl").read_text(encoding="utf-8").splitlines()
    assert len(set(lines)) == len(lines), "every generated line is a distinct triple"
    assert all(line.endswith(" .") and "_:" not in line for line in lines), "N-Triples, no blank nodes"
    total = knowledge_triples(generated)
    copied = knowledge_triples(REPO)
    assert total == copied + len(lines), "no generated triple repeats one of the repository's"
    assert abs(total - TARGET) <= TARGET // 100, total


def test_the_generated_things_link_to_the_real_ones(generated: Path) -> None:
    store = pyoxigraph.Store()
    store.bulk_load(path=str(generated / "data" / "generated.ttl"), format=pyoxigraph.RdfFormat.N_TRIPLES)
    prefixes = ("PREFIX fhkg: <https://w3id.org/finhealthkg/def/> PREFIX org: <http://www.w3.org/ns/org#> "
                "PREFIX organization: <https://w3id.org/finhealthkg/id/organization/> ")

    def count(pattern: str) -> int:
        answer = store.query(prefixes + f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")
        return int(next(iter(answer))["n"].value)

    biobanks = count("?b a fhkg:Biobank")
    assert biobanks > 50
    assert count("?b a fhkg:Biobank ; org:memberOf organization:finnish-biobank-cooperative") == biobanks
    assert count("organization:finnish-biobank-cooperative org:hasMember ?b") == biobanks
    assert count("?c a fhkg:RegionalCentre ; fhkg:partOfNetwork organization:national-cancer-centre") > 0
    assert count("?c a fhkg:CampusNetwork ; org:hasMember ?m") > 0
    assert count("?m a org:Membership ; org:memberDuring ?p") > 0
    assert count("?f fhkg:isApproximate true") > 0 and count("?f fhkg:isApproximate false") > 0


def test_the_same_seed_writes_the_same_bytes(generated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert generate(again).returncode == 0
    assert (again / "data" / "generated.ttl").read_bytes() == (generated / "data" / "generated.ttl").read_bytes()


def test_another_seed_writes_other_bytes(generated: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert generate(other, seed=SEED + 1).returncode == 0
    assert (other / "data" / "generated.ttl").read_bytes() != (generated / "data" / "generated.ttl").read_bytes()


def test_an_existing_root_is_replaced_only_when_forced(generated: Path, tmp_path: Path) -> None:
    root = tmp_path / "kg"
    assert generate(root).returncode == 0
    refused = generate(root)
    assert refused.returncode != 0 and "--force" in refused.stderr
    assert generate(root, TARGET, SEED, "--force").returncode == 0
    assert (root / "data" / "generated.ttl").read_bytes() == (generated / "data" / "generated.ttl").read_bytes()


def test_a_target_below_the_repository_is_refused(tmp_path: Path) -> None:
    refused = generate(tmp_path / "tiny", triples=100)
    assert refused.returncode != 0 and "at least" in refused.stderr


PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss_kib(out: Path, triples: int) -> int:
    """The generator's peak resident set (KiB), measured by a process whose only child it is."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, sys.executable, str(GENERATOR), "--triples", str(triples),
         "--seed", str(SEED), "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def test_generating_streams_with_flat_memory(tmp_path: Path) -> None:
    small = peak_rss_kib(tmp_path / "small", 30_000)
    large = peak_rss_kib(tmp_path / "large", 300_000)
    assert sum(1 for _ in (tmp_path / "large" / "data" / "generated.ttl").open("rb")) > 290_000
    assert large < 150 * 1024, f"peak RSS {large} KiB for 300k triples"
    # Ten times the triples, (almost) the same memory: nothing is kept once written.
    assert large - small < 16 * 1024, f"peak RSS grew from {small} to {large} KiB"
