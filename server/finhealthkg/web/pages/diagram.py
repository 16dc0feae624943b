"""Diagrams of the graph as SVG drawn on the server: the whole network on the home page,
and each thing's neighbourhood on its page. Readable without JavaScript; every node is a
link to its page; a text list beside each diagram says the same for screen readers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from ...namespaces import FHKG, ORG
from ...serving import Snapshot
from .iris import local_url, short

# Which things the network diagram shows, in which row, with which style.
LAYERS: tuple[tuple[str, str, str], ...] = (  # (class IRI, kind, row)
    (str(FHKG.Strategy), "strategy", "1"),
    (str(FHKG.FlagshipProject), "project", "1"),
    (str(FHKG.CampusNetwork), "campus", "1"),
    (str(FHKG.NationalCentreOfExcellence), "centre", "2"),
    (str(FHKG.RegionalCentre), "regional", "3"),
    (str(FHKG.Biobank), "biobank", "4"),
)
NETWORK_LINKS = (FHKG.supports, FHKG.promotes, FHKG.aimsToEstablish, FHKG.implements, FHKG.partOfNetwork,
                 ORG.memberOf, FHKG.collaboratesWith)
# types and sources have their own place on a page; they would crowd the drawing
NOT_NEIGHBOURS = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "http://purl.org/dc/terms/source")
MINISTRY = "https://w3id.org/finhealthkg/id/organization-kind/ministry"
WIDTH, NODE_W, NODE_H, ROW_H = 1180, 150, 52, 110


@dataclass
class Node:
    iri: str
    label: str
    kind: str
    x: float = 0.0
    y: float = 0.0

    @property
    def href(self) -> str:
        return local_url(self.iri)


@dataclass
class Diagram:
    title: str
    description: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, label)
    width: float = WIDTH
    height: float = 0.0

    def svg(self, labelled_edges: bool = False) -> str:
        return _svg(self, labelled_edges)


def network(snapshot: Snapshot, lang: str, label) -> Diagram:  # noqa: ANN001 - a Labeller
    """The ministry, the strategy, the centres, the cooperative and its biobanks, the regional
    cancer centres and Health Campus Turku, and the relations between them."""
    rows: dict[str, list[Node]] = {"0": [], "1": [], "2": [], "3": [], "4": []}
    members: list[tuple[str, str, str]] = []  # (iri, kind, row)
    for class_iri, kind, row in LAYERS:
        members += [(iri, kind, row) for iri in _instances(snapshot, class_iri)]
    members += [(iri, "ministry", "0") for iri in _select(snapshot, f"""SELECT DISTINCT ?m WHERE {{
        ?m <{ORG.classification}> <{MINISTRY}> ; <{FHKG.supports}>|<{FHKG.promotes}> ?x }}""")]
    label.prefetch([iri for iri, _, _ in members] + [str(p) for p in NETWORK_LINKS])
    seen: dict[str, Node] = {}
    for iri, kind, row in members:
        if iri not in seen:
            seen[iri] = Node(iri, label.text(iri), kind)
            rows[row].append(seen[iri])
    diagram = Diagram(title=label.word("network"), description="")
    values = " ".join(f"<{iri}>" for iri in seen)
    links = " ".join(f"<{p}>" for p in NETWORK_LINKS)
    answer = snapshot.store.query(f"""SELECT ?a ?p ?b WHERE {{
        VALUES ?a {{ {values} }} VALUES ?b {{ {values} }} VALUES ?p {{ {links} }} ?a ?p ?b }}""")
    for row in answer:
        diagram.edges.append((row["a"].value, row["b"].value, label.text(row["p"].value)))
    _layout_rows(diagram, rows)
    diagram.description = _edges_in_words(diagram)
    return diagram


def neighbourhood(snapshot: Snapshot, iri: str, graph, label, limit: int = 18) -> Diagram:  # noqa: ANN001
    """The thing in the middle, the things it links to and that link to it around it."""
    from rdflib import URIRef

    subject = URIRef(iri)
    centre = Node(iri, label.text(iri), "focus", WIDTH / 2, 0)
    diagram = Diagram(title=label.word("neighbourhood"), description="")
    diagram.nodes[iri] = centre
    neighbours: list[tuple[str, str, bool]] = []  # (iri, property label, outgoing)
    for predicate, obj in sorted(graph.predicate_objects(subject)):
        if isinstance(obj, URIRef) and str(predicate) not in NOT_NEIGHBOURS \
                and obj != subject and (obj, None, None) in graph:
            neighbours.append((str(obj), label.text(str(predicate)), True))
    for s, predicate in sorted(graph.subject_predicates(subject)):
        if isinstance(s, URIRef) and s != subject:
            neighbours.append((str(s), label.text(str(predicate)), False))
    kept: dict[str, tuple[str, bool]] = {}
    for other, text, outgoing in neighbours:
        if other not in kept and len(kept) < limit:
            kept[other] = (text, outgoing)
    radius_x, radius_y = 430.0, 170.0 if len(kept) > 6 else 120.0
    centre.y = radius_y + NODE_H
    for index, (other, (text, outgoing)) in enumerate(kept.items()):
        angle = 2 * math.pi * index / max(len(kept), 1) - math.pi / 2
        node = Node(other, label.text(other), "neighbour",
                    centre.x + radius_x * math.cos(angle), centre.y + radius_y * math.sin(angle))
        diagram.nodes[other] = node
        diagram.edges.append((iri, other, text) if outgoing else (other, iri, text))
    diagram.height = 2 * (radius_y + NODE_H)
    diagram.description = _edges_in_words(diagram)
    return diagram


def _layout_rows(diagram: Diagram, rows: dict[str, list[Node]]) -> None:
    """Rows top to bottom; within a row, things sit near the things they link to. The first
    pass looks at the rows above; two more passes look at every neighbour (barycentres),
    which keeps lines from crossing where it can."""
    placed: dict[str, float] = {}
    for sweep in range(3):
        previous = dict(placed)
        y = NODE_H
        for key in sorted(rows):
            row = rows[key]
            if not row:
                continue

            def anchor(node: Node, known: dict[str, float]) -> float:
                xs = [known[b] for a, b, _ in diagram.edges if a == node.iri and b in known]
                xs += [known[a] for a, b, _ in diagram.edges if b == node.iri and a in known]
                return sum(xs) / len(xs) if xs else WIDTH * 2  # unlinked things go to the end of the row

            known = placed if sweep == 0 else previous
            row.sort(key=lambda n: (anchor(n, known), n.label))
            per_line = max(1, int((WIDTH - 20) // (NODE_W + 12)))
            for start in range(0, len(row), per_line):
                line = row[start:start + per_line]
                step = WIDTH / (len(line) + 1)
                for index, node in enumerate(line, 1):
                    node.x, node.y = step * index, y
                    placed[node.iri] = node.x
                    diagram.nodes[node.iri] = node
                y += ROW_H
        diagram.height = y


def _instances(snapshot: Snapshot, class_iri: str) -> list[str]:
    return _select(snapshot, f"SELECT DISTINCT ?x WHERE {{ ?x a <{class_iri}> }} ORDER BY ?x")


def _select(snapshot: Snapshot, query: str) -> list[str]:
    answer = snapshot.store.query(query)
    name = answer.variables[0].value
    return [row[name].value for row in answer]


def _edges_in_words(diagram: Diagram) -> str:
    lines = [f"{diagram.nodes[a].label} — {text} — {diagram.nodes[b].label}"
             for a, b, text in diagram.edges if a in diagram.nodes and b in diagram.nodes]
    return "; ".join(lines)


def _wrap(text: str, width: int = 19, lines: int = 3) -> list[str]:
    words, out, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    out.append(current)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "…"
    return out


def _svg(diagram: Diagram, labelled_edges: bool) -> str:
    height = diagram.height + NODE_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" viewBox="0 0 {diagram.width:.0f} {height:.0f}" '
        f'role="img" aria-labelledby="diagram-title diagram-desc">',
        f'<title id="diagram-title">{escape(diagram.title)}</title>',
        f'<desc id="diagram-desc">{escape(diagram.description)}</desc>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5b6675"/></marker></defs>',
        '<g class="edges">',
    ]
    for a, b, text in diagram.edges:
        if a not in diagram.nodes or b not in diagram.nodes:
            continue
        start, end = diagram.nodes[a], diagram.nodes[b]
        x1, y1, x2, y2 = _clip(start, end)
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" marker-end="url(#arrow)">'
                     f'<title>{escape(start.label)} — {escape(text)} — {escape(end.label)}</title></line>')
        if labelled_edges:
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            parts.append(f'<text class="edge-label" x="{mx:.1f}" y="{my:.1f}">{escape(text)}</text>')
    parts.append("</g><g class=\"nodes\">")
    for node in diagram.nodes.values():
        lines = _wrap(node.label)
        top = node.y - 7 * (len(lines) - 1)
        texts = "".join(f'<tspan x="{node.x:.1f}" y="{top + 14 * i + 4:.1f}">{escape(line)}</tspan>'
                        for i, line in enumerate(lines))
        parts.append(
            f'<a href="{escape(node.href)}" class="node {node.kind}">'
            f'<rect x="{node.x - NODE_W / 2:.1f}" y="{node.y - NODE_H / 2:.1f}" width="{NODE_W}" '
            f'height="{NODE_H}" rx="8"/><text text-anchor="middle">{texts}</text>'
            f'<title>{escape(node.label)} ({escape(short(node.iri))})</title></a>')
    parts.append("</g></svg>")
    return "".join(parts)


def _clip(start: Node, end: Node) -> tuple[float, float, float, float]:
    """A line from box edge to box edge, not from centre to centre."""
    dx, dy = end.x - start.x, end.y - start.y
    length = math.hypot(dx, dy) or 1.0

    def cut(node_dx: float, node_dy: float) -> float:
        scale_x = (NODE_W / 2) / abs(node_dx) if node_dx else math.inf
        scale_y = (NODE_H / 2) / abs(node_dy) if node_dy else math.inf
        return min(scale_x, scale_y)

    ux, uy = dx / length, dy / length
    s = cut(ux, uy)
    return start.x + ux * s, start.y + uy * s, end.x - ux * s, end.y - uy * s
