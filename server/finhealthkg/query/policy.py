"""What a public query may do, decided from its reading (reading.py) before it is run.

A public query is refused when it uses SERVICE (any form the engine takes for it), when FROM /
FROM NAMED name a graph outside this dataset, or when it is an update. None of this keeps the
promise that no query reaches the network: the query processes cannot open a socket
(sandbox.py). This check gives the user a clear 400 first, from a reading that agrees with the
engine on what is code, so that it neither lets through what the engine would run nor refuses
what it would answer.

Oxigraph parses and evaluates recursively: a query nested a thousand levels deep, or a chain of
a few thousand UNIONs, BINDs, operators or DESCRIBE targets, overflows its stack and kills the
query process. The shape of a query is bounded first, far below where that happens.
"""

from __future__ import annotations

from collections.abc import Iterable

from .reading import Unreadable, read


class QueryRefused(Exception):
    """The query is not allowed here (400)."""


class UpdateRefused(Exception):
    """The text is a SPARQL Update; the endpoint is read-only."""


SERVICE_REFUSED = ("SERVICE (federated query) is not allowed: this endpoint never makes requests "
                   "to other servers. Query the other endpoint yourself and combine the results.")
# Measured with pyoxigraph 0.5 on an 8 MiB stack: nesting overflows from ~750 levels (EXISTS in
# FILTER), chains of one kind from ~2500 elements (BIND, MINUS, projections, DESCRIBE targets).
MAX_NESTING = 100
MAX_ELEMENTS = 1000


def check_query(text: str, allowed_graphs: Iterable[str], *, dataset_given: bool,
                base_iri: str | None = None) -> None:
    """Raise QueryRefused (or UpdateRefused) when the query may not run here."""
    try:
        reading = read(text, base_iri)
    except Unreadable as unreadable:
        raise QueryRefused(str(unreadable)) from None
    if reading.update:
        raise UpdateRefused("SPARQL Update is not accepted: this endpoint is read-only")
    if reading.depth > MAX_NESTING:
        raise QueryRefused(f"the query is nested more than {MAX_NESTING} levels deep (brackets and '!'); "
                           f"at most {MAX_NESTING} are accepted here")
    if reading.elements > MAX_ELEMENTS:
        raise QueryRefused(
            f"the query has more than {MAX_ELEMENTS} operators, groups, chained clauses (UNION, OPTIONAL, "
            "MINUS, FILTER, BIND, projections, GRAPH, VALUES), collection members or DESCRIBE targets; at most "
            f"{MAX_ELEMENTS} are accepted here: split it into smaller queries")
    if reading.service:
        raise QueryRefused(SERVICE_REFUSED)
    if reading.store_functions:
        raise QueryRefused("functions in Virtuoso's namespaces (bif:, sql:) are not offered here: some of them "
                           "make requests to other servers. Use the standard SPARQL functions.")
    if dataset_given:
        return  # the protocol's default-graph-uri / named-graph-uri override FROM (§2.1.4)
    allowed = frozenset(allowed_graphs)
    outside = sorted(g for g in reading.graphs if g not in allowed)
    if outside:
        raise QueryRefused(
            f"FROM / FROM NAMED may name only this dataset's graphs; <{outside[0]}> is not one. "
            f"Graphs: {', '.join(f'<{g}>' for g in sorted(allowed))}")
