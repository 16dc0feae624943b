"""Reconciliation queries answered: candidates for a name from the search index, narrowed by
type (subclasses included), re-scored by property constraints read from the store, and a
`match` flag only for a clear single best.

Scores are 0–100. Without property constraints a candidate's score is its name's (search/
text.py: 100 the same words, 96 the same without accents, lower for prefixes, words and
substrings). With constraints: 75 % name, 25 % the share of constraints the candidate meets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph

from ...search import Hit, SearchIndex, fold
from ...search.text import exact_form, score
from ...stores import Store

MATCH_SCORE = 95.0  # the same name (accents aside), every constraint met
MATCH_MARGIN = 10.0  # ahead of the next candidate by at least this much
POOL = 25  # candidates ranked before constraints are applied and the answer is cut to `limit`
NAME_SHARE = 0.75
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*\Z")  # safe in <...> in SPARQL; \Z, not $
LABELS = ("http://www.w3.org/2004/02/skos/core#prefLabel", "http://www.w3.org/2000/01/rdf-schema#label")


@dataclass(frozen=True)
class Constraint:
    property: str  # an IRI
    values: tuple[object, ...]  # strings, numbers, booleans, or {"id": IRI}


@dataclass(frozen=True)
class Query:
    text: str
    types: tuple[str, ...] = ()
    limit: int = 10
    constraints: tuple[Constraint, ...] = ()


@dataclass
class Candidate:
    hit: Hit
    score: float
    name_score: float
    met: float | None = None  # share of constraints met, when there are any
    match: bool = False
    features: list[dict] = field(default_factory=list)


def reconcile(index: SearchIndex, store: Store, query: Query, lang: str) -> list[Candidate]:
    """The candidates for one query, best first, with `match` set on a clear single best."""
    hits = _by_identifier(index, query, lang) or index.search(
        query.text, types=query.types, lang=lang, limit=max(POOL, query.limit))
    candidates = [Candidate(hit, hit.score, hit.score) for hit in hits]
    if query.constraints and candidates:
        met = _constraints_met(store, [c.hit.iri for c in candidates], query.constraints)
        for candidate in candidates:
            candidate.met = met[candidate.hit.iri]
            candidate.score = round(NAME_SHARE * candidate.name_score + 100 * (1 - NAME_SHARE) * candidate.met, 2)
        candidates.sort(key=lambda c: (-c.score, -c.name_score, c.hit.name, c.hit.iri))
    candidates = candidates[:query.limit]
    for candidate in candidates:
        candidate.features = [{"id": "name", "name": "Name similarity (0-100)", "value": candidate.name_score}]
        if candidate.met is not None:
            candidate.features.append({"id": "properties", "name": "Share of property constraints met",
                                       "value": round(candidate.met, 3)})
    if candidates:
        best = candidates[0]
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        best.match = (best.score >= MATCH_SCORE and best.name_score >= MATCH_SCORE - 1
                      and best.score - runner_up >= MATCH_MARGIN)
    return candidates


def _by_identifier(index: SearchIndex, query: Query, lang: str) -> list[Hit]:
    """A query that is the IRI of a thing finds that thing (of the types asked for)."""
    text = query.text.strip()
    if not IRI.match(text):
        return []
    hit = index.thing(text, lang)
    if hit is None or (query.types and not set(query.types) & index.types_of(text)):
        return []
    return [hit]


def _constraints_met(store: Store, iris: Sequence[str], constraints: Sequence[Constraint]) -> dict[str, float]:
    """For each candidate, the share of constraints one of its values meets (0..1)."""
    wanted = {c.property for c in constraints}
    values: dict[tuple[str, str], list[tuple[str, str, bool]]] = {}  # (thing, property) -> (value, label, is IRI)
    answer = store.query(f"""SELECT ?s ?p ?o ?label WHERE {{
        VALUES ?s {{ {' '.join(f'<{iri}>' for iri in iris)} }}
        VALUES ?p {{ {' '.join(f'<{p}>' for p in sorted(wanted))} }}
        ?s ?p ?o OPTIONAL {{ ?o <{LABELS[0]}>|<{LABELS[1]}> ?label }} }}""")
    for row in answer:
        label = row["label"].value if row["label"] is not None else ""
        obj = row["o"]
        values.setdefault((row["s"].value, row["p"].value), []).append(
            (obj.value, label, isinstance(obj, pyoxigraph.NamedNode)))
    met: dict[str, float] = {}
    for iri in iris:
        shares = [max((_agreement(given, found) for given in c.values for found in values.get((iri, c.property), [])),
                      default=0.0) for c in constraints]
        met[iri] = sum(shares) / len(shares)
    return met


def _agreement(given: object, found: tuple[str, str, bool]) -> float:
    """How well a value from the client's table agrees with a value of the graph (0..1)."""
    value, label, is_iri = found
    if isinstance(given, dict):
        given = given.get("id", "")
    if isinstance(given, bool):
        given = "true" if given else "false"
    text = str(given).strip()
    if not text:
        return 0.0
    if is_iri and text == value:
        return 1.0
    if not is_iri:
        try:  # numbers compare as numbers: 2017 and "2017" and 2017.0 agree
            if float(text) == float(value):
                return 1.0
        except ValueError:
            pass
    best = 0.0
    for candidate in (value, label) if not is_iri else (label,):
        if candidate:
            best = max(best, score(exact_form(text), fold(text), exact_form(candidate), fold(candidate)) / 100)
    return best if best >= 0.7 else 0.0  # a weak resemblance is not agreement
