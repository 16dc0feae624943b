"""Which public queries are cheap enough to run in the web worker itself.

Public queries on the embedded store run in query processes that can be killed at the time
limit (executor.py), at the price of a hand-over between two processes. One kind of query
cannot run long: a point lookup, one triple pattern whose subject is a constant,

    [PREFIX p: <...>]* SELECT [DISTINCT|REDUCED] (* | ?v ...) [WHERE] { <s> P O [.] } [LIMIT n] [OFFSET n]
    ASK [WHERE] { <s> P O [.] }

with P a variable, an IRI, a prefixed name or `a`, and O a variable, an IRI or a prefixed name.
Oxigraph answers it by reading one range of one index, as long as the subject's own triples
(the row limit caps the rest), so it is answered in the worker like the /doc/ descriptions.
Everything else, or anything this reader does not recognise, goes to the query processes:
the test is a whitelist over the query's tokens, so a mistake can only send a cheap query
the slow way, never an expensive one the fast way.
"""

from __future__ import annotations

import re

from .query_policy import decode_escapes

_TOKEN = re.compile(r"""
      (?P<space>\s+|\#[^\n]*)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][A-Za-z0-9_]+)
    | (?P<pname>[A-Za-z][A-Za-z0-9_-]*:(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)?|:[A-Za-z0-9_-]+)
    | (?P<word>[A-Za-z]+)
    | (?P<number>[0-9]+)
    | (?P<punct>[{}.*])
    | (?P<other>.)
""", re.VERBOSE | re.DOTALL)
_MAX_LENGTH = 2000  # a point lookup is short; longer texts are not looked at


def point_lookup_form(text: str) -> str | None:
    """The form of a point lookup (see above), "SELECT" or "ASK"; None for any other query."""
    if len(text) > _MAX_LENGTH:
        return None
    tokens = _tokens(decode_escapes(text))
    if tokens is None:
        return None
    at = _prologue(tokens)
    form = tokens[at][1] if at < len(tokens) else None
    return form if _is_lookup(tokens, at) else None


def _is_lookup(tokens: list[tuple[str, str]], at: int) -> bool:
    if at < len(tokens) and tokens[at] == ("word", "SELECT"):
        at += 1
        if at < len(tokens) and tokens[at] in (("word", "DISTINCT"), ("word", "REDUCED")):
            at += 1
        if at < len(tokens) and tokens[at] == ("punct", "*"):
            at += 1
        else:
            start = at
            while at < len(tokens) and tokens[at][0] == "var":
                at += 1
            if at == start:
                return False
    elif at < len(tokens) and tokens[at] == ("word", "ASK"):
        at += 1
    else:
        return False
    if at < len(tokens) and tokens[at] == ("word", "WHERE"):
        at += 1
    pattern = tokens[at:at + 5]
    if len(pattern) < 5 or pattern[0] != ("punct", "{"):
        return False
    subject, predicate, obj = pattern[1:4]
    if subject[0] not in ("iri", "pname"):
        return False
    if predicate[0] not in ("var", "iri", "pname") and predicate != ("word", "A"):
        return False
    if obj[0] not in ("var", "iri", "pname"):
        return False
    at += 4
    if tokens[at] == ("punct", "."):
        at += 1
    if at >= len(tokens) or tokens[at] != ("punct", "}"):
        return False
    return _modifiers(tokens[at + 1:])


def _tokens(text: str) -> list[tuple[str, str]] | None:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "space":
            continue
        if kind == "other":
            return None
        value = match.group()
        tokens.append((kind, value.upper() if kind == "word" else value))
    return tokens


def _prologue(tokens: list[tuple[str, str]]) -> int:
    at = 0
    while at < len(tokens):
        if tokens[at] == ("word", "PREFIX") and at + 2 < len(tokens) and tokens[at + 1][0] == "pname" \
                and tokens[at + 1][1].endswith(":") and tokens[at + 2][0] == "iri":
            at += 3
        elif tokens[at] == ("word", "BASE") and at + 1 < len(tokens) and tokens[at + 1][0] == "iri":
            at += 2
        else:
            break
    return at


def _modifiers(rest: list[tuple[str, str]]) -> bool:
    """Nothing, or LIMIT n and OFFSET n, each at most once."""
    seen = set()
    at = 0
    while at < len(rest):
        keyword = rest[at]
        if keyword not in (("word", "LIMIT"), ("word", "OFFSET")) or keyword in seen:
            return False
        if at + 1 >= len(rest) or rest[at + 1][0] != "number":
            return False
        seen.add(keyword)
        at += 2
    return True
