"""Data extension for reconciled columns: which properties things of a type have (property
proposals) and the values of chosen properties for a list of things (data extension
queries), as the Reconciliation Service API 0.2 shapes them. Read from the store in one
bounded query per request."""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph
from rdflib import Graph
from rdflib.namespace import RDF, RDFS

from ...namespaces import VOID, VOID_GRAPH
from ...serving import Snapshot
from ..http.publication import publication
from ..pages.i18n import preference
from ..pages.thing_page import Labeller
from .matching import IRI, LABELS

SAMPLE = 500  # things of a type looked at to propose its properties
HIDDEN = {str(RDFS.label)}  # the same as skos:prefLabel here


def labeller(snapshot: Snapshot, lang: str) -> Labeller:
    return Labeller(snapshot, Graph(), lang)


def known_properties(snapshot: Snapshot) -> list[tuple[str, int]]:
    """Every property the dataset uses, with its number of triples (from the release's VoID)."""
    def compute() -> list[tuple[str, int]]:
        void = snapshot.graph(str(VOID_GRAPH))
        found = [(str(void.value(p, VOID.property)), int(void.value(p, VOID.triples) or 0))
                 for p in void.objects(None, VOID.propertyPartition)]
        return sorted(found, key=lambda item: (-item[1], item[0]))
    return snapshot.memo("reconcile-properties", compute)


def propose(snapshot: Snapshot, type_iri: str | None, limit: int) -> list[str]:
    """The properties things of a type have, the most common first."""
    def compute() -> list[str]:
        if type_iri is None:
            return [p for p, _ in known_properties(snapshot) if p not in HIDDEN and p != str(RDF.type)]
        answer = snapshot.store.query(f"""SELECT ?p (COUNT(*) AS ?n) WHERE {{
            {{ SELECT DISTINCT ?s WHERE {{ ?s <{RDF.type}>/<{RDFS.subClassOf}>* <{type_iri}> }} LIMIT {SAMPLE} }}
            ?s ?p ?o }} GROUP BY ?p ORDER BY DESC(?n) ?p""")
        return [row["p"].value for row in answer if row["p"].value not in HIDDEN]
    return snapshot.memo(f"reconcile-propose:{type_iri}", compute)[:limit]


def extend(snapshot: Snapshot, ids: Sequence[str], properties: Sequence[str], lang: str) -> dict:
    """The data extension response: `meta` names each property, `rows` each thing's values."""
    label = labeller(snapshot, lang)
    base = publication().settings.base_iri
    rows: dict[str, dict[str, list]] = {iri: {p: [] for p in properties} for iri in ids}
    usable = [iri for iri in ids if IRI.match(iri)]
    literals: dict[tuple[str, str], list[pyoxigraph.Literal]] = {}
    if usable and properties:
        answer = snapshot.store.query(f"""SELECT ?s ?p ?o ?name WHERE {{
            VALUES ?s {{ {' '.join(f'<{iri}>' for iri in usable)} }}
            VALUES ?p {{ {' '.join(f'<{p}>' for p in properties)} }}
            ?s ?p ?o OPTIONAL {{ ?o <{LABELS[0]}> ?name }} }} ORDER BY ?s ?p ?o""")
        names: dict[str, dict[str, str]] = {}
        for row in answer:
            subject, predicate, obj = row["s"].value, row["p"].value, row["o"]
            if isinstance(obj, pyoxigraph.NamedNode) and not obj.value.startswith(base):
                # an address elsewhere (a homepage) is a value, not a thing this service reconciles
                literals.setdefault((subject, predicate), [])
                if obj.value not in [v.value for v in literals[(subject, predicate)]]:
                    literals[(subject, predicate)].append(pyoxigraph.Literal(obj.value))
            elif isinstance(obj, pyoxigraph.NamedNode):
                if row["name"] is not None:
                    names.setdefault(obj.value, {})[row["name"].language or ""] = row["name"].value
                else:
                    names.setdefault(obj.value, {})
                if obj.value not in [v.get("id") for v in rows[subject][predicate]]:
                    rows[subject][predicate].append({"id": obj.value})
            elif isinstance(obj, pyoxigraph.Literal):
                literals.setdefault((subject, predicate), [])
                if obj not in literals[(subject, predicate)]:
                    literals[(subject, predicate)].append(obj)
        for values in (v for row in rows.values() for v in row.values()):
            for value in values:
                found = names.get(value["id"], {})
                value["name"] = next((found[code] for code in (*preference(lang), "") if code in found),
                                     None) or label.text(value["id"])
        for (subject, predicate), found in literals.items():
            rows[subject][predicate] += [_literal(v) for v in _in_language(found, lang)]
    meta = [{"id": p, "name": label.text(p)} for p in properties]
    return {"meta": meta, "rows": rows}


def _in_language(literals: list[pyoxigraph.Literal], lang: str) -> list[pyoxigraph.Literal]:
    """Texts in the reader's language (and texts without one), or all when there are none such."""
    chosen = [v for v in literals if not v.language or v.language == lang]
    return chosen or literals


def _literal(literal: pyoxigraph.Literal) -> dict:
    datatype = literal.datatype.value.rsplit("#", 1)[-1] if literal.datatype else "string"
    if datatype in ("integer", "int", "long", "short", "nonNegativeInteger", "positiveInteger"):
        return {"int": int(literal.value)}
    if datatype in ("decimal", "double", "float"):
        return {"float": float(literal.value)}
    if datatype == "date":
        return {"date": f"{literal.value}T00:00:00Z"}
    if datatype == "dateTime":
        value = literal.value
        return {"date": value if value.endswith("Z") or "+" in value[10:] else value + "Z"}
    return {"str": literal.value}
