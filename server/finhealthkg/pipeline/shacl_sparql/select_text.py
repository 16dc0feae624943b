"""The text of a SHACL-SPARQL SELECT, parsed enough to pre-bind $this by a join."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import UnsupportedShapeError

# --- SHACL-SPARQL query text ------------------------------------------------------------------


_STRING = "|".join((
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',
    r"'''(?:[^'\\]|\\.|'(?!''))*'''",
    r'"(?:[^"\\\n]|\\.)*"',
    r"'(?:[^'\\\n]|\\.)*'",
))
_TOKENS = re.compile("|".join((
    r"(?P<ws>\s+)",
    r"(?P<comment>#[^\n]*)",
    r"(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)",
    f"(?P<string>{_STRING})",
    r"(?P<var>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)",
    r"(?P<word>[A-Za-z0-9_:](?:[A-Za-z0-9_\-:.%]*[A-Za-z0-9_\-:%])?)",
    r"(?P<other>.)",
)), re.DOTALL)


@dataclass
class _Token:
    kind: str
    text: str
    start: int
    end: int
    depth: int = 0  # parenthesis depth inside its group

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    def is_var(self, name: str) -> bool:
        return self.kind == "var" and self.text[1:] == name


@dataclass
class _Group:
    kind: str  # top, plain, exists, optional, minus, graph, service, values, subselect
    open: int  # character offset of "{"
    tokens: list[_Token] = field(default_factory=list)  # own level, nested groups excluded
    children: list[_Group] = field(default_factory=list)
    elements: list[_Token | _Group] = field(default_factory=list)
    after: int = 0  # how many own tokens of the parent group come before this group

    def mentions(self, name: str) -> bool:
        return any(t.is_var(name) for t in self.tokens) or any(c.mentions(name) for c in self.children)

    def binds(self, name: str) -> bool:
        """`name` in a triple pattern of this group (outside expressions)."""
        return any(t.is_var(name) and t.depth == 0 for t in self.tokens)

    def guarantees(self, name: str) -> bool:
        """Every solution of this group, evaluated on its own, binds `name`."""
        if self.binds(name):
            return True
        # A group joined with the others guarantees it on its own; groups joined by UNION only together.
        chains: list[list[_Group]] = []
        previous: _Token | _Group | None = None
        for element in self.elements:
            if isinstance(element, _Group) and element.kind in ("plain", "graph"):
                if isinstance(previous, _Token) and previous.word == "UNION" and chains:
                    chains[-1].append(element)
                else:
                    chains.append([element])
            previous = element
        return any(all(g.guarantees(name) for g in chain) for chain in chains)

    def prebinds(self, name: str, bound: bool) -> bool:
        """Whether evaluating this group with `name` bound as described equals pre-binding it."""
        bound = bound or self.guarantees(name)
        if not bound and any(t.is_var(name) and t.depth > 0 for t in self.tokens):
            return False  # a FILTER or BIND would see it unbound
        for child in self.children:
            if not child.mentions(name):
                continue
            if child.kind == "exists":
                if not bound:
                    return False
            elif child.kind in ("plain", "optional", "graph"):
                if not child.prebinds(name, False):
                    return False
            else:
                return False
        return True

    def variables(self) -> set[str]:
        found = {t.text[1:] for t in self.tokens if t.kind == "var"}
        for child in self.children:
            found |= child.variables()
        return found

    def minus_edits(self, bound: set[str]) -> list[tuple[int, int, str]]:
        """Rewrite ``FILTER NOT EXISTS { P }`` as ``MINUS { P }`` where both mean the same, because
        Oxigraph plans a NOT EXISTS whose pattern has a variable bound outside it badly (it starts
        from the triple pattern with that variable, scanning it for every solution). Equivalent when
        P is a basic graph pattern (FILTERs over its own variables allowed), shares at least one
        variable with the group and every variable of P is either bound in every solution of the
        group or not used by the group at all."""
        edits: list[tuple[int, int, str]] = []
        certain = {name for name in self.variables() if name in bound or self.guarantees(name)}
        for child in self.children:
            if child.kind in ("plain", "graph"):
                edits += child.minus_edits(set())
            if child.kind != "exists" or child.after < 3:
                continue
            keyword = self.tokens[child.after - 3:child.after]
            if [t.word for t in keyword] != ["FILTER", "NOT", "EXISTS"] or keyword[0].depth:
                continue
            if child.children or any(t.word in _NOT_BGP for t in child.tokens):
                continue
            own = {t.text[1:] for t in child.tokens if t.kind == "var" and t.depth == 0}
            if {t.text[1:] for t in child.tokens if t.kind == "var" and t.depth} - own:
                continue  # a FILTER inside P over a variable of the group
            elsewhere = {t.text[1:] for t in self.tokens if t.kind == "var"}
            for other in self.children:
                if other is not child:
                    elsewhere |= other.variables()
            if not own & certain or any(name not in certain and name in elsewhere for name in own):
                continue
            edits.append((keyword[0].start, keyword[2].end, "MINUS"))
        return edits


_NOT_BGP = {"OPTIONAL", "UNION", "GRAPH", "BIND", "EXISTS", "NOT", "MINUS", "SELECT", "VALUES", "SERVICE"}


@dataclass
class _ParsedSelect:
    text: str
    prologue: str  # PREFIX / BASE before SELECT
    select: _Token
    projection: list[_Token]
    where: _Group
    tokens: list[_Token]

    @classmethod
    def parse(cls, text: str, shape: str) -> _ParsedSelect:
        tokens = [_Token(m.lastgroup or "other", m.group(), m.start(), m.end())
                  for m in _TOKENS.finditer(text) if m.lastgroup not in ("ws", "comment")]
        select_at = next((i for i, t in enumerate(tokens) if t.word == "SELECT"), None)
        if select_at is None:
            raise UnsupportedShapeError(shape, "a SPARQL query that is not a SELECT")
        open_at = next((i for i in range(select_at, len(tokens)) if tokens[i].text == "{"), None)
        if open_at is None:
            raise UnsupportedShapeError(shape, "a SELECT query without a WHERE group")
        projection = [t for t in tokens[select_at + 1:open_at] if t.word not in ("WHERE", "FROM", "NAMED")]
        if any(t.word in ("FROM", "NAMED") for t in tokens[select_at + 1:open_at]):
            raise UnsupportedShapeError(shape, "FROM / FROM NAMED in a SHACL-SPARQL query")
        where, end = _parse_group(tokens, open_at, "top", shape)
        rest = tokens[end:]
        for token in rest:
            if token.word in ("GROUP", "HAVING", "LIMIT", "OFFSET", "VALUES"):
                raise UnsupportedShapeError(shape, f"{token.word} after the WHERE group of a SHACL-SPARQL query")
        return cls(text=text, prologue=text[:tokens[select_at].start], select=tokens[select_at],
                   projection=projection, where=where, tokens=tokens)

    def prefixes_used(self) -> set[str]:
        declared = {t.text.rstrip(":") for i, t in enumerate(self.tokens) if i and self.tokens[i - 1].word == "PREFIX"}
        used = {t.text.split(":", 1)[0] for t in self.tokens
                if t.kind == "word" and ":" in t.text and not t.text.startswith("_:")}
        return used - declared

    def mentions(self, name: str) -> bool:
        return any(t.is_var(name) for t in self.projection) or self.where.mentions(name)

    def projects(self, name: str) -> bool:
        return any(t.text == "*" for t in self.projection) or any(t.is_var(name) for t in self.projection)

    def check_prebinding(self, shape: str, *, joined: bool) -> bool:
        """Whether $this is pre-bound by a join of the focus nodes at the start of the WHERE group
        (joined) or already by the query itself (not joined); raises if joined and not."""
        for i, token in enumerate(self.projection):
            if token.is_var("this") and i and self.projection[i - 1].word == "AS":
                raise UnsupportedShapeError(shape, "a SHACL-SPARQL query that re-binds $this with AS")
        if joined:
            if not self.where.prebinds("this", True):
                raise UnsupportedShapeError(shape, "a SHACL-SPARQL query using $this where a join over the focus "
                                            "nodes does not pre-bind it (nested FILTER / BIND without binding it, "
                                            "MINUS, VALUES, SERVICE or a sub-SELECT)")
            return True
        return self.where.guarantees("this") and self.where.prebinds("this", False)

    def rewrite(self, focus: str | None) -> str:
        """The query with ?this projected, the focus-node group (if given) joined first in the WHERE
        group, and the NOT EXISTS filters that mean the same as MINUS written as MINUS."""
        edits = self.where.minus_edits({"this"} if focus else set())
        if focus:
            edits.append((self.where.open + 1, self.where.open + 1, f" {focus} "))
        if not self.projects("this"):
            after = self.select.end
            if self.projection and self.projection[0].word in ("DISTINCT", "REDUCED"):
                after = self.projection[0].end
            edits.append((after, after, " ?this"))
        text = self.text
        for start, end, replacement in sorted(edits, reverse=True):
            text = text[:start] + replacement + text[end:]
        return text


def _parse_group(tokens: list[_Token], at: int, kind: str, shape: str) -> tuple[_Group, int]:
    group = _Group(kind=kind, open=tokens[at].start)
    depth = 0
    i = at + 1
    while i < len(tokens):
        token = tokens[i]
        if token.text == "}":
            return group, i + 1
        if token.text == "{":
            child_kind = _group_kind(group.tokens, tokens[i + 1] if i + 1 < len(tokens) else None)
            child, i = _parse_group(tokens, i, child_kind, shape)
            child.after = len(group.tokens)
            group.children.append(child)
            group.elements.append(child)
            continue
        if token.text == "(":
            depth += 1
        token.depth = depth
        if token.text == ")":
            depth = max(0, depth - 1)
        if token.word in ("VALUES", "MINUS", "SERVICE"):
            raise UnsupportedShapeError(shape, f"{token.word} in a SHACL-SPARQL query")
        if token.is_var("this") and i > 0 and tokens[i - 1].word == "AS":
            raise UnsupportedShapeError(shape, "a SHACL-SPARQL query that re-binds $this with AS")
        group.tokens.append(token)
        group.elements.append(token)
        i += 1
    raise UnsupportedShapeError(shape, "a SPARQL query with unbalanced braces")


def _group_kind(before: list[_Token], first: _Token | None) -> str:
    if first is not None and first.word == "SELECT":
        return "subselect"
    last = before[-1].word if before else ""
    if last == "EXISTS":
        return "exists"
    if last in ("OPTIONAL", "MINUS"):
        return last.lower()
    if len(before) >= 2 and before[-2].word == "GRAPH":
        return "graph"
    if any(t.word == "SERVICE" for t in before[-3:]):
        return "service"
    return "plain"
