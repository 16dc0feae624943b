"""What a query text says, read the way the engine (Oxigraph 0.5) reads it: never parsed,
only scanned once into tokens, with the lexical rules of the SPARQL 1.2 grammar.

The reading must agree with the engine on exactly the things a policy depends on: where
strings, IRIs and comments begin and end (what is code and what is not), and which code is
a keyword. Oxigraph's rules, checked against it in tests/test_query_reading.py:

- `\\u` takes four hex digits and `\\U` eight, and only inside strings and IRIs: an escape
  elsewhere is no keyword (`\\u0053ERVICE` is a syntax error, not SERVICE), and an escaped
  quote never ends a string.
- A local name may escape `#`, `'` and other punctuation (`ex:a\\#b`): no comment or string
  starts there.
- Keywords need no space after them: `SERVICE:x {`, `SERVICEex:x {`, `SERVICESILENT<...>`
  and `FROMex:g` are SERVICE and FROM to the engine.
- `<` is less-than only inside an expression, right after an operand; anywhere else it opens
  an IRI (or `<<` a triple term). So `FILTER(?a<1&&'>'=?b)` holds no IRI, and its `'` opens
  a string.
- A comment ends at a carriage return or a line feed; whitespace is space, tab, CR, LF only.

Anything the reading does not recognise is read as code, one character at a time, so a
mistake can only make it see more keywords than the engine, never fewer. The operating
system, not this reading, keeps queries from reaching the network (sandbox.py); the reading
exists so that a refused query gets a clear message before anything runs.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urljoin

_WS = re.compile(r"[ \t\r\n]+")
_COMMENT = re.compile(r"#[^\r\n]*")
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_ECHAR = r"""\\[tbnrf\\"']"""
_STRING = re.compile(
    rf"""'''(?:(?:'|'')?(?:[^'\\]|{_ECHAR}|{_UCHAR}))*'''"""
    rf'''|"""(?:(?:"|"")?(?:[^"\\]|{_ECHAR}|{_UCHAR}))*"""'''
    rf"""|'(?:[^'\\\n\r]|{_ECHAR}|{_UCHAR})*'"""
    rf'''|"(?:[^"\\\n\r]|{_ECHAR}|{_UCHAR})*"''')
_IRI = re.compile(rf"""<(?:[^<>"{{}}|^`\\\x00-\x20]|{_UCHAR})*>""")
_VAR = re.compile(r"[?$][\w\u00B7\u0300-\u036F\u203F\u2040]+")
_LANG = re.compile(r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*(?:--[A-Za-z]+)?")
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# A keyword, a prefixed name or a blank node label: letters, digits, _ - . : % and the
# local-name escapes (PN_LOCAL_ESC); it never ends with a dot.
_NAME = re.compile(r"""(?:[\w\u00B7\u0300-\u036F\u203F\u2040.:%-]|\\[_~.\-!$&'()*+,;=/?#@%])+""")
_NAME_START = re.compile(r"[^\W\d]|[_:]")
_OPERATOR = re.compile(r"&&|\|\||!=|<=|>=|\^\^|<<\(|\)>>|<<|>>|[=<>+\-*/|^!?,;.(){}\[\]~]")
_UCHAR_RE = re.compile(_UCHAR)
_LOCAL_ESCAPE = re.compile(r"\\(.)")

# What a group, a triple term or a list of terms holds: terms, so `<` opens an IRI there.
_TERMS = ("{", "[", "list", "<<")
_UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")
_STORE_NAMESPACES = ("bif:", "sql:")
_FORM_WORDS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
_NOT_EXPRESSION_WORDS = frozenset({"VALUES", "A"})  # `VALUES (`, `?s a (` open lists of terms
_CHAIN_WORDS = frozenset({"UNION", "OPTIONAL", "MINUS", "FILTER", "AS", "GRAPH", "SERVICE", "VALUES"})
_OPERAND_KINDS = frozenset({"var", "string", "iri", "number", "lang"})


@dataclass(frozen=True)
class Reading:
    service: bool  # SERVICE appears as code (any spelling the engine takes for it)
    graphs: tuple[str, ...]  # the IRIs FROM and FROM NAMED name, resolved
    update: bool  # the first keyword after the prologue is an update operation's
    store_functions: bool  # names a function of Virtuoso's own (bif:, sql:), some of which fetch URLs
    depth: int  # deepest nesting of brackets and runs of `!`
    elements: int  # groups, operators, chained clauses (UNION, FILTER, BIND ...), DESCRIBE targets


@dataclass
class _Token:
    kind: str  # ws comment string iri var lang number name op
    text: str
    listed: bool = False  # a member of a list of terms: a collection, a path group, a VALUES row


def read(text: str, base_iri: str | None = None) -> Reading:
    """The reading of a query text, cached under the text's digest: the same text is read once,
    and the cache keeps readings, not the texts (which may each be up to a request body long)."""
    key = (hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest(), base_iri)
    with _CACHE_LOCK:
        reading = _CACHE.get(key)
        if reading is not None:
            _CACHE.move_to_end(key)
            return reading
    reading = _read(text, base_iri)
    with _CACHE_LOCK:
        _CACHE[key] = reading
        while len(_CACHE) > CACHED_READINGS:
            _CACHE.popitem(last=False)
    return reading


CACHED_READINGS = 4096
_CACHE: OrderedDict[tuple[bytes, str | None], Reading] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _read(text: str, base_iri: str | None) -> Reading:
    tokens = [t for t in _scan(text) if t.kind not in ("ws", "comment")]
    return Reading(service=_uses_service(tokens), graphs=_dataset_graphs(tokens, base_iri),
                   update=_first_word(tokens).startswith(_UPDATE_WORDS), store_functions=_store_functions(tokens),
                   **_shape(tokens))


class Unreadable(ValueError):
    """The text cannot be a query: a string that is never closed (read on, it would cost time
    growing with the square of its length, and the engine refuses it anyway)."""


def _scan(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    stack: list[str] = []  # open brackets: "{" "[" "(" (an expression) "list" (terms) "<<"
    previous: _Token | None = None  # the last token that is not space or a comment
    before_previous: _Token | None = None
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        token: _Token | None = None
        for kind, pattern in _patterns(char):
            match = pattern.match(text, at)
            if match:
                token = _Token(kind, match.group())
                break
        if token is None and char in "\"'":  # no string closes here: the engine stops here too
            line = text.count("\n", 0, at) + 1
            raise Unreadable(f"the query does not parse: the string opened at line {line}, column "
                             f"{at - text.rfind(chr(10), 0, at)} is not closed")
        if char == "<" and token is None:
            in_expression = bool(stack) and stack[-1] == "("
            if in_expression and previous is not None and _ends_operand(previous):
                match = re.compile(r"<=?").match(text, at)  # less-than: never `<<`
                token = _Token("op", match.group())  # type: ignore[union-attr]
            else:
                match = _OPERATOR.match(text, at) if text.startswith("<<", at) else _IRI.match(text, at)
                token = _Token("op" if text.startswith("<<", at) else "iri", match.group()) if match else None
        if token is None and (_NAME_START.match(char) or char == "\\"):
            match = _NAME.match(text, at)
            if match:
                name = match.group().rstrip(".")  # a name never ends with a dot
                token = _Token("name", name) if name else None
        if token is None:
            match = _OPERATOR.match(text, at)
            token = _Token("op", match.group() if match else char)  # unknown: one character, as code
        if token.kind == "op":
            _track(stack, token.text, previous, before_previous)
        elif stack and stack[-1] == "list" and token.kind in _TERM_KINDS:
            token = _Token(token.kind, token.text, listed=True)
        tokens.append(token)
        if token.kind not in ("ws", "comment"):
            previous, before_previous = token, previous
        at += len(token.text)
    return tokens


def _patterns(char: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    if char in " \t\r\n":
        return (("ws", _WS),)
    if char == "#":
        return (("comment", _COMMENT),)
    if char in "\"'":
        return (("string", _STRING),)
    if char in "?$":
        return (("var", _VAR),)
    if char == "@":
        return (("lang", _LANG),)
    if char.isdigit() or char == ".":
        return (("number", _NUMBER),) if char.isdigit() else (("number", re.compile(r"\.[0-9]+(?:[eE][+-]?[0-9]+)?")),)
    return ()


def _ends_operand(token: _Token) -> bool:
    if token.kind in _OPERAND_KINDS:
        return True
    if token.kind == "name":
        return ":" in token.text or token.text.upper() in ("TRUE", "FALSE")
    return token.text in (")", "]", "}", ">>", ")>>")


def _track(stack: list[str], op: str, previous: _Token | None, before_previous: _Token | None) -> None:
    """Keep the stack of open brackets, each marked expression or terms."""
    if op in ("{", "["):
        stack.append(op)
    elif op in ("<<", "<<("):
        stack.append("<<")
    elif op == "(":
        stack.append("(" if _opens_expression(stack, previous, before_previous) else "list")
    elif op in (")", "]", "}", ">>", ")>>") and stack:
        stack.pop()


def _opens_expression(stack: list[str], previous: _Token | None, before_previous: _Token | None) -> bool:
    """Whether `(` opens an expression (FILTER(, BIND(, f(, a projection ...) rather than a
    list of terms (a collection, a path group, a VALUES row or variable list)."""
    after_values = previous is not None and previous.kind == "name" and previous.text.upper() == "VALUES"
    if not stack:
        return not after_values  # a projection, GROUP BY, ORDER BY, HAVING; VALUES (?a ?b) lists variables
    if stack[-1] == "(":
        return True  # inside an expression: a nested one, a call, an IN list
    if stack[-1] != "{" and stack[-1] != "[" or previous is None:
        return False  # inside a list of terms or a triple term
    if previous.kind == "name" and ":" not in previous.text:
        return previous.text.upper() not in _NOT_EXPRESSION_WORDS  # FILTER( BIND( REGEX( ...; not `?s a (`
    if previous.kind in ("iri", "name"):  # FILTER <f>(...) calls a function; `?s <p> (1 2)` is a collection
        return before_previous is not None and before_previous.kind == "name" \
            and before_previous.text.upper() == "FILTER"
    return False


def _words(tokens: list[_Token]) -> list[tuple[int, str]]:
    return [(i, t.text.upper()) for i, t in enumerate(tokens) if t.kind == "name"]


def _uses_service(tokens: list[_Token]) -> bool:
    """SERVICE as the engine takes it: the word, or glued to what follows (`SERVICE:x {`,
    `SERVICESILENT<...>`); a prefixed name such as `service:type` in a triple is not."""
    for i, word in _words(tokens):
        if not word.startswith("SERVICE"):
            continue
        if word in ("SERVICE", "SERVICESILENT"):
            return True
        following = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if following == "{":
            return True
    return False


def _store_functions(tokens: list[_Token]) -> bool:
    """Virtuoso's own namespaces, as a prefixed name (its prefixes bif: and sql: need no
    declaration) or an IRI (`<bif:http_get>`, `PREFIX b: <bif:>`)."""
    for token in tokens:
        if token.kind == "name" and token.text.lower().startswith(_STORE_NAMESPACES):
            return True
        if token.kind == "iri" and _iri_text(token.text).lower().startswith(_STORE_NAMESPACES):
            return True
    return False


def _first_word(tokens: list[_Token]) -> str:
    """The first keyword after the prologue (BASE, PREFIX and VERSION declarations)."""
    at = 0
    while at < len(tokens):
        word = tokens[at].text.upper() if tokens[at].kind == "name" else ""
        if word == "BASE" or word == "VERSION":
            at += 2
        elif word == "PREFIX":
            at += 3
        elif word.startswith("PREFIX") and word.endswith(":"):  # PREFIXex: <...>
            at += 2
        else:
            return word
    return ""


def _dataset_graphs(tokens: list[_Token], base_iri: str | None) -> tuple[str, ...]:
    """The IRIs named by FROM and FROM NAMED, resolved against BASE and the prefixes."""
    prefixes: dict[str, str] = {}
    base = base_iri
    graphs: list[str] = []
    depth = 0
    form = ""
    in_clause = False  # between the query form and its WHERE group, where dataset clauses are
    for i, token in enumerate(tokens):
        word = token.text.upper() if token.kind == "name" else ""
        if token.kind == "op" and token.text in ("{", "[", "(", "<<", "<<("):
            if depth == 0 and token.text == "{" and not (form == "CONSTRUCT" and _prev_word(tokens, i) == "CONSTRUCT"):
                in_clause = False
            depth += 1
            continue
        if token.kind == "op" and token.text in ("}", "]", ")", ">>", ")>>"):
            depth = max(0, depth - 1)
            continue
        if depth or not word:
            continue
        if not form:
            if word == "BASE" and i + 1 < len(tokens) and tokens[i + 1].kind == "iri":
                base = _resolve(_iri_text(tokens[i + 1].text), base)
            elif word.startswith("PREFIX") and word.endswith(":") or word == "PREFIX":
                name = token.text[6:] if word != "PREFIX" else (tokens[i + 1].text if i + 1 < len(tokens) else "")
                iri = next((t for t in tokens[i + 1:i + 3] if t.kind == "iri"), None)
                if iri is not None:
                    prefixes[name[:-1]] = _resolve(_iri_text(iri.text), base)
            elif word.startswith(_FORM_WORDS):
                form = next(f for f in _FORM_WORDS if word.startswith(f))
                in_clause = True
            continue
        if not (in_clause and word.startswith("FROM")):
            continue
        rest = token.text[4:]
        if rest.upper().startswith("NAMED"):
            rest = rest[5:]
        named = None
        if not rest and i + 1 < len(tokens):
            named = tokens[i + 1]
            if named.kind == "name" and named.text.upper().startswith("NAMED"):
                rest = named.text[5:]
                named = tokens[i + 2] if not rest and i + 2 < len(tokens) else None
        if rest:
            graphs.append(_expand(rest, prefixes, base))
        elif named is not None and named.kind == "iri":
            graphs.append(_resolve(_iri_text(named.text), base))
        elif named is not None and named.kind == "name":
            graphs.append(_expand(named.text, prefixes, base))
    return tuple(graphs)


def _prev_word(tokens: list[_Token], at: int) -> str:
    return tokens[at - 1].text.upper() if at and tokens[at - 1].kind == "name" else ""


def _iri_text(token: str) -> str:
    return _UCHAR_RE.sub(lambda m: _char(m.group()), token[1:-1])


def _char(escape: str) -> str:
    code = int(escape[2:], 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else escape


def _resolve(iri: str, base: str | None) -> str:
    return urljoin(base, iri) if base else iri


def _expand(name: str, prefixes: dict[str, str], base: str | None) -> str:
    prefix, _, local = name.partition(":")
    namespace = prefixes.get(prefix)
    if namespace is None:
        return name  # an undeclared prefix: the engine refuses the query
    return namespace + _LOCAL_ESCAPE.sub(r"\1", local)


_TERM_KINDS = ("iri", "name", "var", "string", "number")


def _shape(tokens: list[_Token]) -> dict[str, int]:
    """How deep the query nests and how many elements it chains (policy.check_shape)."""
    depth = deepest = bangs = elements = 0
    describing = False
    values_depth: int | None = None  # inside a VALUES block its data is flat, not counted
    for token in tokens:
        text = token.text
        if token.kind == "iri":
            bangs = 0
            if describing:
                elements += 1  # DESCRIBE <a> <b> ...
            continue
        bangs = bangs + 1 if text == "!" else 0
        if token.listed:  # each member of a collection is a triple pattern more to the engine
            if values_depth is None:
                elements += 1
            continue
        if token.kind == "op" and text in ("{", "[", "(", "<<", "<<("):
            depth += 1
            if text == "{":
                describing = False
                if values_depth is None:
                    elements += 1
        elif token.kind == "op" and text in ("}", "]", ")", ">>", ")>>"):
            depth = max(0, depth - 1)
            if values_depth is not None and depth <= values_depth and text == "}":
                values_depth = None
        elif token.kind == "op" and text not in (",", ";", ".", "?", "!", "^^"):
            if values_depth is None:
                elements += 1
        elif token.kind in ("name", "var"):
            word = text.upper()
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
    return {"depth": deepest, "elements": elements}
