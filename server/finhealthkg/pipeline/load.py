"""Load a release into an external SPARQL store, check it, then make it current there.

Each graph of the release goes into the store as `{base}release/{version}/graph/{part}`,
streamed from the release's own Oxigraph store in requests of at most
`store_max_request_bytes`. Only when every graph holds exactly the release's triple count
is the pointer graph switched, in one update, to the new release; an interrupted or
refused load leaves the previous release current, and the next load removes its leftovers.
Releases older than the last `keep` are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph

from ..release import Release
from ..stores.base import StoreError
from ..stores.sparql import POINTER_GRAPH, SOLUTIONS, Connection, current_release_view, release_graph
from .progress import Steps

LOAD_STEPS = 6
PREFIXES = ("PREFIX dcat: <http://www.w3.org/ns/dcat#>\nPREFIX dcterms: <http://purl.org/dc/terms/>\n"
            "PREFIX void: <http://rdfs.org/ns/void#>\nPREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n")


@dataclass(frozen=True)
class LoadResult:
    version: str
    loaded: bool  # False when the release was already current
    triples: int
    dropped: tuple[str, ...]


def load_release(release: Release, connection: Connection, *, base_iri: str, keep: int,
                 max_request_bytes: int, steps: Steps) -> LoadResult:
    dataset = f"{base_iri}dataset"
    with steps.step("Checking the store") as notes:
        connection.select("ASK {}", accept=SOLUTIONS)
        current = current_release_view(connection, base_iri)
        notes.append(f"current release there: {current.version if current else 'none'}")
    if current is not None and current.version == release.version:
        steps.note(f"Release {release.version} is already current in the store; nothing to load.")
        return LoadResult(release.version, loaded=False, triples=release.triples, dropped=())

    with steps.step("Removing what interrupted loads left") as notes:
        kept = _kept_parts(connection, dataset)
        leftovers = [g for g in _release_graphs(connection, base_iri) if g not in kept]
        for graph in leftovers:
            connection.update(f"DROP SILENT GRAPH <{graph}>")
        notes.append(f"{len(leftovers)} graph(s) dropped")

    graphs = {entry["iri"]: entry["triples"] for entry in release.manifest["graphs"].values()}
    targets = {name: release_graph(base_iri, release.version, name) for name in graphs}
    total = sum(graphs.values())
    with steps.step(f"Loading {total} triples in {len(graphs)} graphs") as notes:
        store = release.open_store()
        sent = requests_sent = 0
        next_report = max(total // 10, 1)
        for name, target in targets.items():
            for body, count in _requests(store.triples(name), target, max_request_bytes):
                connection.update(body)
                sent += count
                requests_sent += 1
                if sent >= next_report and sent < total:
                    steps.note(f"      {sent}/{total} triples ({100 * sent // total} %)")
                    next_report = sent + max(total // 10, 1)
        notes.append(f"{sent} triples in {requests_sent} requests")

    with steps.step("Checking triple counts") as notes:
        for name, target in targets.items():
            found = _count(connection, target)
            if found != graphs[name]:
                for graph in targets.values():
                    connection.update(f"DROP SILENT GRAPH <{graph}>")
                raise StoreError(f"the store holds {found} triples in <{target}>, the release "
                                 f"{graphs[name]}: the load was removed and the current release is unchanged")
        notes.append(f"{total} triples, as the release says")

    with steps.step(f"Marking release {release.version} current"):
        release_node = f"{base_iri}release/{release.version}"
        parts = " , ".join(f"<{t}>" for t in targets.values())
        # Insert the new pointer, then delete the old one, in one request: a reader between
        # the two sees two current releases and takes the newer (see current_release_view).
        # (Virtuoso 7 drops DELETE/INSERT whose WHERE is only an OPTIONAL that finds nothing.)
        connection.update(f"""{PREFIXES}
            INSERT DATA {{ GRAPH <{POINTER_GRAPH}> {{
                <{dataset}> dcat:hasCurrentVersion <{release_node}> ; dcat:hasVersion <{release_node}> .
                <{release_node}> a dcat:Dataset ; dcat:version "{release.version}" ;
                    dcterms:issued "{release.created.isoformat()}"^^xsd:dateTime ;
                    void:triples {release.triples} ; dcterms:hasPart {parts} .
            }} }} ;
            DELETE {{ GRAPH <{POINTER_GRAPH}> {{ <{dataset}> dcat:hasCurrentVersion ?old }} }}
            WHERE {{ GRAPH <{POINTER_GRAPH}> {{ <{dataset}> dcat:hasCurrentVersion ?old }}
                     FILTER (?old != <{release_node}>) }}""")
        now = current_release_view(connection, base_iri)
        if now is None or now.version != release.version:
            raise StoreError("the store did not record the new current release")

    with steps.step(f"Dropping releases older than the last {keep}") as notes:
        dropped = _drop_old(connection, dataset, keep, release.version)
        notes.append(", ".join(dropped) if dropped else "none")
    return LoadResult(release.version, loaded=True, triples=total, dropped=tuple(dropped))


def _requests(triples: Iterable[pyoxigraph.Triple], graph: str, limit: int) -> Iterator[tuple[str, int]]:
    """(update text, triple count) chunks of at most `limit` bytes. Triples with blank nodes
    travel with every triple sharing their blank nodes, in INSERT ... WHERE {} (blank nodes
    are scoped to one request, and some stores refuse them in INSERT DATA)."""
    head, tail = f"INSERT DATA {{ GRAPH <{graph}> {{\n", "} }"
    lines: list[str] = []
    size = len(head) + len(tail)
    blank: list[pyoxigraph.Triple] = []
    for triple in triples:
        if isinstance(triple.subject, pyoxigraph.BlankNode) or isinstance(triple.object, pyoxigraph.BlankNode):
            blank.append(triple)
            continue
        line = f"{triple} .\n"
        if lines and size + len(line.encode()) > limit:
            yield head + "".join(lines) + tail, len(lines)
            lines, size = [], len(head) + len(tail)
        lines.append(line)
        size += len(line.encode())
    if lines:
        yield head + "".join(lines) + tail, len(lines)

    head, tail = f"INSERT {{ GRAPH <{graph}> {{\n", "} } WHERE {}"
    lines, size = [], len(head) + len(tail)
    for group in _blank_node_groups(blank):
        group_lines = [f"{t} .\n" for t in group]
        group_size = sum(len(line.encode()) for line in group_lines)
        if lines and size + group_size > limit:
            yield head + "".join(lines) + tail, len(lines)
            lines, size = [], len(head) + len(tail)
        lines += group_lines
        size += group_size
    if lines:
        yield head + "".join(lines) + tail, len(lines)


def _blank_node_groups(triples: list[pyoxigraph.Triple]) -> list[list[pyoxigraph.Triple]]:
    """Triples grouped so that all triples sharing a blank node are in one group."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def blanks(triple: pyoxigraph.Triple) -> list[str]:
        return [t.value for t in (triple.subject, triple.object) if isinstance(t, pyoxigraph.BlankNode)]

    for triple in triples:
        nodes = blanks(triple)
        for other in nodes[1:]:
            parent[find(other)] = find(nodes[0])
    groups: dict[str, list[pyoxigraph.Triple]] = {}
    for triple in triples:
        groups.setdefault(find(blanks(triple)[0]), []).append(triple)
    return list(groups.values())


def _rows(connection: Connection, query: str) -> list[dict[str, str]]:
    _, body = connection.select(query, accept=SOLUTIONS)
    return [{k: v["value"] for k, v in row.items()} for row in json.loads(body)["results"]["bindings"]]


def _count(connection: Connection, graph: str) -> int:
    rows = _rows(connection, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(rows[0]["n"]) if rows else 0


def _release_graphs(connection: Connection, base_iri: str) -> list[str]:
    rows = _rows(connection, f"""SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }}
        FILTER (STRSTARTS(STR(?g), "{base_iri}release/")) }}""")
    return [row["g"] for row in rows]


def _kept_parts(connection: Connection, dataset: str) -> set[str]:
    rows = _rows(connection, f"""{PREFIXES} SELECT ?part WHERE {{ GRAPH <{POINTER_GRAPH}> {{
        <{dataset}> dcat:hasVersion ?release . ?release dcterms:hasPart ?part }} }}""")
    return {row["part"] for row in rows}


def _drop_old(connection: Connection, dataset: str, keep: int, current: str) -> list[str]:
    rows = _rows(connection, f"""{PREFIXES} SELECT ?release ?version ?issued WHERE {{ GRAPH <{POINTER_GRAPH}> {{
        <{dataset}> dcat:hasVersion ?release . ?release dcat:version ?version ; dcterms:issued ?issued }} }}""")
    newest_first = sorted(rows, key=lambda row: row["issued"], reverse=True)
    dropped = []
    for row in newest_first[max(keep, 1):]:
        if row["version"] == current:
            continue
        for part in _rows(connection, f"""{PREFIXES} SELECT ?part WHERE {{ GRAPH <{POINTER_GRAPH}> {{
                <{row['release']}> dcterms:hasPart ?part }} }}"""):
            connection.update(f"DROP SILENT GRAPH <{part['part']}>")
        connection.update(f"""{PREFIXES} WITH <{POINTER_GRAPH}>
            DELETE {{ <{dataset}> dcat:hasVersion <{row['release']}> . <{row['release']}> ?p ?o }}
            WHERE {{ <{row['release']}> ?p ?o }}""")
        dropped.append(row["version"])
    return dropped
