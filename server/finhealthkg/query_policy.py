"""What a public query may do, checked before it reaches any store.

Oxigraph evaluates SERVICE by making the HTTP request itself, and a remote store may fetch
what FROM names. So a public query is refused when it contains SERVICE (any form), and
FROM / FROM NAMED may only name graphs of this dataset. The check reads rdflib's parse of
the query, never keywords found by a regular expression. Parsing with rdflib costs a few
milliseconds, so it runs only when the query text (with SPARQL's \\u escapes decoded, as a
parser would) contains "service" or "from" at all: a query without either word cannot
contain either clause.

Oxigraph parses and evaluates recursively, on the stack of the process that asks: a query
nested a thousand levels deep, or a chain of a few thousand UNIONs, BINDs, operators or
DESCRIBE targets, overflows it and kills the server process (SIGSEGV), not just the query.
So the shape of a query is bounded first (`check_shape`), far below where that happens.
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
    return _ESCAPE.sub(_decode_escape, text)


def _decode_escape(match: re.Match[str]) -> str:
    code = int(match.group(1) or match.group(2), 16)
    # Beyond U+10FFFF is no character: left as written, for the parser to refuse.
    return chr(code) if code <= 0x10FFFF else match.group(0)


def check_query(text: str, allowed_graphs: Iterable[str], *, dataset_given: bool,
                base_iri: str | None = None) -> None:
    """Raise QueryRefused when the query would reach outside this dataset, or is shaped so
    that parsing it could crash the server."""
    check_shape(text)
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


# Measured with pyoxigraph 0.5 on an 8 MiB stack: nesting overflows from ~750 levels (EXISTS in
# FILTER), chains of one kind from ~2500 elements (BIND, MINUS, projections, DESCRIBE targets).
MAX_NESTING = 100
MAX_ELEMENTS = 1000
_SHAPE_TOKEN = re.compile(r"""
      (?P<skip>\#[^\n]*                                          # a comment
        |"\"\"(?:[^"\\]|\\.|"(?!""))*(?:"\"\"|$)|'\'\'(?:[^'\\]|\\.|'(?!''))*(?:'\'\'|$)
        |"(?:[^"\\\n]|\\.)*(?:"|$)|'(?:[^'\\\n]|\\.)*(?:'|$)   # strings
        |<[^<>"{}|^`\\\x00-\x20]*>                              # an IRI
        |@[A-Za-z]+(?:-[A-Za-z0-9]+)*|\^\^)                       # a language tag, ^^
    | (?P<open>[({\[]) | (?P<close>[)}\]])
    | (?P<op>&&|\|\||!=|<=|>=|[=<>+\-*/|^])
    | (?P<bang>!)
    | (?P<word>[?$][^\s(){}\[\]<>"'#,;=!&|+\-*/^?$@.]*              # a variable
        |(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?          # a number
        |[^\s(){}\[\]<>"'#,;=!&|+\-*/^?$@.][^\s(){}\[\]<>"'#,;=!&|+*/^?$@]*)  # a keyword or name
    | (?P<other>\S)
""", re.VERBOSE)
_CHAIN_WORDS = frozenset({"UNION", "OPTIONAL", "MINUS", "FILTER", "AS", "GRAPH", "SERVICE", "VALUES"})


def check_shape(text: str) -> None:
    """Refuse a query nested deeper than MAX_NESTING levels (brackets, and runs of the unary
    `!`), or with more than MAX_ELEMENTS operators, groups, clauses that chain (UNION,
    OPTIONAL, MINUS, FILTER, BIND ... AS, projections, GRAPH, VALUES) or DESCRIBE targets.
    The text is only tokenised (strings, IRIs and comments skipped), never parsed."""
    if len(text) <= MAX_NESTING:
        return  # too short to reach either bound
    depth = deepest = bangs = elements = 0
    describing = False
    values_depth: int | None = None  # inside a VALUES block: its data is flat, not counted
    for token in _SHAPE_TOKEN.finditer(decode_escapes(text)):
        kind = token.lastgroup
        if kind == "skip":
            if describing and token.group().startswith("<"):
                elements += 1  # DESCRIBE <a> <b> ...
            continue
        bangs = bangs + 1 if kind == "bang" else 0
        if kind == "open":
            depth += 1
            if token.group() == "{":
                describing = False
                if values_depth is None:
                    elements += 1
        elif kind == "close":
            depth = max(0, depth - 1)
            if values_depth is not None and depth <= values_depth and token.group() == "}":
                values_depth = None  # the end of the VALUES block
        elif kind == "op":
            if values_depth is None:
                elements += 1
        elif kind == "word":
            word = token.group().upper()
            if word in _CHAIN_WORDS:
                elements += 1
                if word == "VALUES":
                    values_depth = depth
            elif word == "DESCRIBE":
                describing = True
            elif word in ("WHERE", "FROM"):
                describing = False
            elif describing:
                elements += 1
        deepest = max(deepest, depth + bangs)
        if deepest > MAX_NESTING:
            raise QueryRefused(f"the query is nested more than {MAX_NESTING} levels deep (brackets and '!'); "
                               f"at most {MAX_NESTING} are accepted here")
        if elements > MAX_ELEMENTS:
            break
    if elements > MAX_ELEMENTS:
        raise QueryRefused(
            f"the query has more than {MAX_ELEMENTS} operators, groups, chained clauses (UNION, OPTIONAL, "
            "MINUS, FILTER, BIND, projections, GRAPH, VALUES) or DESCRIBE targets; at most "
            f"{MAX_ELEMENTS} are accepted here: split it into smaller queries")


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
    try:
        query = algebra.translateQuery(parsed, base=base_iri)
    except Exception as error:  # e.g. an undeclared prefix: rdflib parses it, then cannot translate it
        if service:
            return True, ()
        raise UncheckableQuery(f"the query does not parse: {_first_line(error)}") from None
    # CompValue.get(key) answers the key itself when it is absent, so `clause.get("default")`
    # is never falsy: the IRIs are read with dict.get, or every FROM NAMED would go unchecked.
    graphs = tuple(str(iri) for clause in query.algebra.get("datasetClause") or ()
                   for iri in (dict.get(clause, "default"), dict.get(clause, "named"))
                   if isinstance(iri, URIRef))
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
