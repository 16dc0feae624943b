"""What a public query may do, checked before it reaches any store.

Oxigraph evaluates SERVICE by making the HTTP request itself, and a remote store may fetch
what FROM names. So a public query is refused when it contains SERVICE (any form), and
FROM / FROM NAMED may only name graphs of this dataset. The check reads rdflib's parse of
the query, never keywords found by a regular expression. Parsing with rdflib costs a few
milliseconds, so it runs only when the query text (with SPARQL's \\u escapes decoded, as a
parser would) contains "service" or "from" at all: a query without either word cannot
contain either clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from rdflib.plugins.sparql import algebra, parser
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import URIRef

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class QueryRefused(Exception):
    """The query is well-formed but not allowed here (400)."""


class UpdateRefused(Exception):
    """The text is a SPARQL Update; the endpoint is read-only (403)."""


class UncheckableQuery(QueryRefused):
    """The query mentions SERVICE or FROM in a form the checker cannot parse."""


def decode_escapes(text: str) -> str:
    """SPARQL 1.1 §19.2: \\uXXXX and \\UXXXXXXXX escapes are decoded before parsing."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def check_query(text: str, allowed_graphs: Iterable[str], *, dataset_given: bool,
                base_iri: str | None = None) -> None:
    """Raise QueryRefused when the query would reach outside this dataset."""
    allowed = frozenset(allowed_graphs)
    service, graphs = _inspect(text, base_iri)
    if service:
        raise QueryRefused(
            "SERVICE (federated query) is not allowed: this endpoint never makes requests "
            "to other servers. Query the other endpoint yourself and combine the results.")
    if dataset_given:
        return  # the protocol's default-graph-uri / named-graph-uri override FROM (§2.1.4)
    outside = sorted(g for g in graphs if g not in allowed)
    if outside:
        raise QueryRefused(
            f"FROM / FROM NAMED may name only this dataset's graphs; <{outside[0]}> is not one. "
            f"Graphs: {', '.join(f'<{g}>' for g in sorted(allowed))}")


def is_update(text: str) -> bool:
    """True when the text parses as SPARQL Update (asked after the query parser failed)."""
    try:
        parser.parseUpdate(text)
    except Exception:  # pyparsing raises several types; all mean "not an update"
        return False
    return True


@lru_cache(maxsize=4096)
def _inspect(text: str, base_iri: str | None) -> tuple[bool, tuple[str, ...]]:
    """(uses SERVICE, graphs named by FROM / FROM NAMED), cached by query text."""
    words = decode_escapes(text).lower()
    if "service" not in words and "from" not in words:
        return False, ()
    try:
        parsed = parser.parseQuery(text)
    except Exception as error:  # pyparsing raises several types; all mean "does not parse"
        if is_update(text):
            raise UpdateRefused("SPARQL Update is not accepted: this endpoint is read-only") from None
        # Unchecked means refused: nothing that mentions SERVICE or FROM reaches a store unread.
        raise UncheckableQuery(f"the query does not parse: {_first_line(error)}") from None
    service = any(node.name == "ServiceGraphPattern" for node in _walk(parsed))
    query = algebra.translateQuery(parsed, base=base_iri)
    graphs = tuple(str(clause.get("default") or clause.get("named"))
                   for clause in query.algebra.get("datasetClause") or ()
                   if isinstance(clause.get("default") or clause.get("named"), URIRef))
    return service, graphs


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300]


def _walk(node: object) -> Iterator[CompValue]:
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list | tuple) or hasattr(node, "asList"):
        for value in node:  # type: ignore[union-attr]
            yield from _walk(value)
