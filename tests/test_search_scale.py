"""The search index on a generated graph of 100,000 triples (bench/generate.py): built by the
same function as `finhealthkg build` from an Oxigraph store holding the graph, it finds the
generated organisations by their names — exact, lower-cased without accents, with a type
filter — and answers every lookup well under 50 ms (bench/search.py measures 1M triples)."""

from __future__ import annotations

import random
import statistics
import time
import unicodedata

from conftest import generate_graph
from finhealthkg.namespaces import DATA_GRAPH, ONTOLOGY_GRAPH
from finhealthkg.search import SearchIndex
from finhealthkg.search.index import write_search_index
from finhealthkg.stores.oxigraph import OxigraphStore

TRIPLES = 100_000
PREF_LABEL = "<http://www.w3.org/2004/02/skos/core#prefLabel>"
BIOBANK = "https://w3id.org/finhealthkg/def/Biobank"


def plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def test_index_of_a_generated_graph_finds_names_fast(tmp_path):
    project = tmp_path / "kg"
    made = generate_graph(project, TRIPLES, 7)
    assert made.returncode == 0, made.stderr
    loads = [(f, str(ONTOLOGY_GRAPH)) for f in sorted((project / "ontology").glob("*.ttl"))]
    loads += [(f, str(DATA_GRAPH)) for f in sorted((project / "data").glob("*.ttl")) if f.name != "catalog.ttl"]
    store = OxigraphStore.create(tmp_path / "store", loads)
    counts = write_search_index(store, tmp_path)
    index = SearchIndex(tmp_path / "search.sqlite")

    labels: list[tuple[str, str, str]] = []  # (IRI, name, language) of generated organisations
    for line in (project / "data" / "generated.ttl").read_text(encoding="utf-8").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] == PREF_LABEL and "/id/organization/" in parts[0]:
            text, _, lang = parts[2].rstrip(" .").rpartition("@")
            labels.append((parts[0].strip("<>"), text.strip('"'), lang))
    assert counts["names"] >= len(labels) > 1000
    sample = random.Random(7).sample(labels, 150)

    timings = []
    for iri, name, lang in sample:
        for query, types in ((name, ()), (plain(name), ()), (name, (BIOBANK,) if "biobank" in iri else ())):
            started = time.perf_counter()
            hits = index.search(query, types=types, lang=lang, limit=10)
            timings.append(time.perf_counter() - started)
            best = {hit.iri for hit in hits if hit.score == hits[0].score}
            assert iri in best, (query, [(h.iri, h.score, h.matched) for h in hits[:3]])
            if types:
                assert all(BIOBANK in index.types_of(h.iri) for h in hits)
    for query in ("bi", "Biobank", "sairaanhoito", "yliopisto", "universitet"):  # wide: many thousands match
        started = time.perf_counter()
        assert len(index.search(query, limit=10)) == 10
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(f"{len(timings)} lookups on {counts['names']} names: median {statistics.median(timings) * 1000:.2f} ms, "
          f"max {timings[-1] * 1000:.2f} ms")
    # Generous on a shared machine: the bound the issue sets, for the slowest but a few
    assert timings[int(len(timings) * 0.95)] < 0.050
