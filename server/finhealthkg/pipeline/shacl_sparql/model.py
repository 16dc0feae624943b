"""The plans compiled shapes are made of: constraints, property and node shapes, the shared
scans of each path, and the results they give."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

if TYPE_CHECKING:  # a plan holds the parsed text of its SHACL-SPARQL query
    from .select_text import _ParsedSelect


Term = ox.NamedNode | ox.BlankNode | ox.Literal
GraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph

WELL_TYPED = "urn:x-finhealthkg:shacl:well-typed"  # custom SPARQL function: pyshacl's datatype check
_TRUE = ox.Literal("true", datatype=ox.NamedNode(str(XSD.boolean)))
_FALSE = ox.Literal("false", datatype=ox.NamedNode(str(XSD.boolean)))
# pyshacl always declares these three prefixes for SHACL-SPARQL queries.
_DEFAULT_PREFIXES = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}
_INSTANCE_PATH = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
# pyshacl runs SHACL-SPARQL on an rdflib graph, whose namespace manager resolves the prefixes
# rdflib binds by default (xsd:, schema:, ...) even when sh:prefixes does not declare them.
_RDFLIB_PREFIXES = {str(prefix): str(namespace) for prefix, namespace in Graph().namespaces()}

# Parameters that do not change what is valid: allowed everywhere and ignored.
_INFORMATIVE = {SH.name, SH.description, SH.order, SH.group, SH.defaultValue}
# Value-type constraints: one boolean expression per value node, at node or property level.
_VALUE_PARAMETERS = {SH.nodeKind, SH.pattern, SH.datatype, SH["class"], SH.minLength, SH["in"],
                     SH.languageIn, SH.node, SH["or"]}
_TOP_NODE_PARAMETERS = _VALUE_PARAMETERS | {SH.targetClass, SH.target, SH.property, SH.sparql, SH.message,
                                            SH.severity}
_TOP_PROPERTY_PARAMETERS = _VALUE_PARAMETERS | {SH.path, SH.message, SH.severity, SH.minCount, SH.maxCount,
                                                SH.hasValue, SH.uniqueLang, SH.qualifiedValueShape,
                                                SH.qualifiedMinCount}
# Shapes used through sh:node, sh:or or sh:qualifiedValueShape: only their conformance counts.
_NESTED_NODE_PARAMETERS = _VALUE_PARAMETERS | {SH.property, SH.message, SH.severity, SH.targetClass, SH.target,
                                               SH.sparql}
_NESTED_PROPERTY_PARAMETERS = _VALUE_PARAMETERS | {SH.path, SH.message, SH.severity, SH.minCount, SH.maxCount,
                                                   SH.hasValue, SH.uniqueLang}
_NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "!isLiteral({v})",
    SH.BlankNodeOrLiteral: "!isIRI({v})",
    SH.IRIOrLiteral: "!isBlank({v})",
}
_MAX_NESTED_COUNT = 6  # sh:minCount / sh:maxCount inside nested shapes: n distinct variables


class UnsupportedShapeError(ValueError):
    """A shape uses a SHACL feature this engine does not implement; the message names both."""

    def __init__(self, shape: str, feature: str):
        super().__init__(f"{shape}: {feature} is not supported by the SPARQL-compiled SHACL validator")
        self.shape = shape
        self.feature = feature


@dataclass(frozen=True)
class Result:
    """One validation result, as pyshacl's sh:result."""

    severity: URIRef  # sh:Violation, sh:Warning, sh:Info (or another IRI given by sh:severity)
    focus: Term
    path: tuple[str, ...] | None  # the IRI of the path; the alternatives of an sh:alternativePath
    value: Term | None
    messages: tuple[str, ...]
    source_shape: Node  # the node shape, or the property shape node (often blank) of the shapes graph
    node_shape: URIRef  # the named node shape the source shape belongs to
    component: URIRef  # e.g. sh:MinCountConstraintComponent
    source_constraint: Node | None = None  # the sh:sparql node of a SHACL-SPARQL constraint
    name: str | None = None  # sh:name of the property shape

    @property
    def severity_name(self) -> str:
        return str(self.severity).removeprefix(str(SH))

    @property
    def message(self) -> str:
        return " / ".join(self.messages)


# --- compiled shapes ------------------------------------------------------------------------


@dataclass
class _Check:
    """A value-type constraint: `expression(var)` is true when the value node conforms."""

    component: URIRef
    expression: Callable[[str], str]
    default_message: str
    instance_of: URIRef | None = None  # sh:class: joined with the instances rather than tested per value


@dataclass
class _Qualified:
    conforms: Callable[[str], str]
    min_count: int
    shape: Node


@dataclass
class _PropertyPlan:
    node: Node
    owner: URIRef
    path: tuple[str, ...]
    severity: URIRef
    messages: tuple[str, ...]
    name: str | None
    checks: list[_Check] = field(default_factory=list)
    min_count: int | None = None
    max_count: int | None = None
    has_values: list[str] = field(default_factory=list)  # SPARQL terms
    qualified: list[_Qualified] = field(default_factory=list)
    unique_lang: bool = False
    # columns of the shared scan of the path (see _PathScan)
    check_columns: list[int] = field(default_factory=list)
    qualified_columns: list[int] = field(default_factory=list)
    has_value_columns: list[int] = field(default_factory=list)

    @property
    def counts(self) -> bool:
        return bool(self.min_count or self.max_count is not None or self.qualified or self.has_values)

    @property
    def needs_zero(self) -> bool:
        """Whether a focus node without any value can violate a count constraint."""
        return bool(self.min_count or any(q.min_count for q in self.qualified) or self.has_values)

    @property
    def sparql_path(self) -> str:
        if len(self.path) == 1:
            return f"<{self.path[0]}>"
        return "(" + "|".join(f"<{p}>" for p in self.path) + ")"


@dataclass
class _SparqlTarget:
    select: str
    prefixes: dict[str, str]


@dataclass
class _SparqlConstraint:
    node: Node
    owner: URIRef
    messages: tuple[str, ...]
    query: _ParsedSelect
    prefixes: dict[str, str]


@dataclass
class _NodeShapePlan:
    node: URIRef
    severity: URIRef
    messages: tuple[str, ...]
    classes: list[URIRef]
    sparql_targets: list[_SparqlTarget]
    checks: list[_Check] = field(default_factory=list)
    properties: list[_PropertyPlan] = field(default_factory=list)
    sparql: list[_SparqlConstraint] = field(default_factory=list)

    def target_prefixes(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for target in self.sparql_targets:
            _merge_prefixes(merged, target.prefixes, self.node)
        return merged

    def guard(self, var: str) -> str | None:
        """An expression true for the focus nodes when the targets are classes (else None): added to
        the filters of the shared scans, so they return rows for the subjects that matter."""
        if self.sparql_targets:
            return None
        return "(" + " || ".join(f"EXISTS {{ {var} {_INSTANCE_PATH} <{c}> }}" for c in self.classes) + ")"

    def focus_pattern(self) -> str:
        """A group binding ?this to each focus node (SHACL instances of the target classes, and the
        solutions of the SPARQL targets)."""
        parts = [f"{{ ?this {_INSTANCE_PATH} <{c}> }}" for c in self.classes]
        # Only ?this leaves a SPARQL target (its other variables could clash with the query's).
        parts += [f"{{ SELECT ?this WHERE {{ {{ {t.select} }} }} }}" for t in self.sparql_targets]
        return " UNION ".join(parts)


# What the count query counts (COUNT(DISTINCT) of a per-row expression, unbound when not to count).
# The expressions are BIND to variables first: Oxigraph returns no COUNT at all for a group where
# an IF(..., LCASE(LANG(?value)), ?unbound) inside COUNT is unbound on some row.
_VALUE_COUNT = "?value"
_TAGGED_COUNT = 'IF(isLiteral(?value) && LANG(?value) != "", ?value, ?_none)'
_LANGUAGE_COUNT = 'IF(isLiteral(?value) && LANG(?value) != "", LCASE(LANG(?value)), ?_none)'


@dataclass
class _PathScan:
    """The queries over one path, shared by every property shape (of any node shape) using it.

    * value query: one boolean column per distinct value-type check; the rows violating one;
    * subjects query: the subjects with at least one value (focus nodes not among them have
      none: sh:minCount, sh:qualifiedMinCount and sh:hasValue fail for them);
    * count query: per subject, COUNT(DISTINCT) of the values, of the values conforming to each
      qualified value shape, of each sh:hasValue value and, for sh:uniqueLang, of the
      language-tagged values and of their languages; only the subjects where one of the
      constraints of one of the users fails;
    * uniqueLang query: the duplicated languages, run only when the counts show one.
    """

    path: tuple[str, ...]
    sparql_path: str
    checks: dict[str, int] = field(default_factory=dict)  # expression over ?value -> column
    classes: dict[int, URIRef] = field(default_factory=dict)  # columns of sh:class checks
    aggregates: dict[str, int] = field(default_factory=lambda: {_VALUE_COUNT: 0})
    users: list[tuple[_NodeShapePlan, _PropertyPlan]] = field(default_factory=list)

    def add(self, shape: _NodeShapePlan, prop: _PropertyPlan) -> None:
        self.users.append((shape, prop))
        prop.check_columns = [self.column(self.checks, _canonical(c.expression("?value"))) for c in prop.checks]
        for check, column in zip(prop.checks, prop.check_columns, strict=True):
            if check.instance_of is not None:
                self.classes[column] = check.instance_of
        prop.qualified_columns = [
            self.column(self.aggregates, _canonical(f"IF(COALESCE({q.conforms('?value')}, false), ?value, ?_none)"))
            for q in prop.qualified]
        prop.has_value_columns = [self.column(self.aggregates, f"IF(sameTerm(?value, {v}), ?value, ?_none)")
                                  for v in prop.has_values]
        if prop.unique_lang:
            self.column(self.aggregates, _TAGGED_COUNT)
            self.column(self.aggregates, _LANGUAGE_COUNT)

    @staticmethod
    def column(columns: dict[str, int], expression: str) -> int:
        return columns.setdefault(expression, len(columns))

    @property
    def unique_lang(self) -> bool:
        return any(prop.unique_lang for _shape, prop in self.users)

    @staticmethod
    def filtered(columns: str, query: str, tests: dict[str, list[_NodeShapePlan]]) -> str:
        """The rows of `query` where a test fails for a subject that may be a focus node of a shape
        with that test. Oxigraph evaluates every EXISTS of a FILTER on every row, so the tests
        run first, in a sub-SELECT, and the guards (the target classes) on the rows left."""
        unguarded = " || ".join(f"({test})" for test in tests)
        guarded = []
        for test, shapes in tests.items():
            guards = [shape.guard("?this") for shape in shapes]
            if None in guards:
                guarded.append(f"({test})")
            else:
                guarded.append(f"(({test}) && ({' || '.join(sorted(set(g for g in guards if g)))}))")
        if guarded == [f"({test})" for test in tests]:
            return f"SELECT {columns} WHERE {{ {{ {query} }} FILTER({unguarded}) }}"
        return (f"SELECT {columns} WHERE {{ {{ SELECT {columns} WHERE {{ {{ {query} }} FILTER({unguarded}) }} }} "
                f"FILTER({' || '.join(guarded)}) }}")

    def value_query(self) -> str | None:
        if not self.checks:
            return None
        # sh:class: a hash join with the instances is much faster than an EXISTS per value.
        joins = " ".join(f"OPTIONAL {{ SELECT DISTINCT ?value (true AS ?_i{i}) WHERE {{ ?value {_INSTANCE_PATH} "
                         f"<{c}> }} }}" for i, c in self.classes.items())
        binds = " ".join(f"BIND(BOUND(?_i{i}) AS ?c{i})" if i in self.classes else
                         f"BIND(COALESCE({e}, false) AS ?c{i})" for e, i in self.checks.items())
        tests: dict[str, list[_NodeShapePlan]] = {}
        for shape, prop in self.users:
            for column in prop.check_columns:
                tests.setdefault(f"!?c{column}", []).append(shape)
        columns = "?this ?value " + " ".join(f"?c{i}" for i in self.checks.values())
        return self.filtered(columns, f"SELECT DISTINCT {columns} WHERE {{ ?this {self.sparql_path} ?value . {joins} "
                                      f"{binds} }}", tests)

    def subjects_query(self) -> str | None:
        if not any(prop.needs_zero for _shape, prop in self.users):
            return None
        return f"SELECT DISTINCT ?this WHERE {{ ?this {self.sparql_path} ?value }}"

    def count_query(self) -> str | None:
        tests: dict[str, list[_NodeShapePlan]] = {}
        for shape, prop in self.users:
            failing = []
            if prop.min_count:
                failing.append(f"?a0 < {prop.min_count}")
            if prop.max_count is not None:
                failing.append(f"?a0 > {prop.max_count}")
            failing += [f"?a{c} < {q.min_count}" for q, c in zip(prop.qualified, prop.qualified_columns, strict=True)]
            failing += [f"?a{c} < 1" for c in prop.has_value_columns]
            if prop.unique_lang:
                failing.append(f"?a{self.aggregates[_TAGGED_COUNT]} > ?a{self.aggregates[_LANGUAGE_COUNT]}")
            if failing:
                tests.setdefault(" || ".join(failing), []).append(shape)
        if not tests:
            return None
        columns = "?this " + " ".join(f"?a{i}" for i in self.aggregates.values())
        binds = " ".join(f"BIND({e} AS ?_k{i})" for e, i in self.aggregates.items() if i)
        aggregates = " ".join(f"(COUNT(DISTINCT {'?_k' + str(i) if i else '?value'}) AS ?a{i})"
                              for i in self.aggregates.values())
        return self.filtered(columns, f"SELECT ?this {aggregates} WHERE {{ ?this {self.sparql_path} ?value . "
                                      f"{binds} }} GROUP BY ?this", tests)

    def unique_lang_query(self) -> str:
        return (f"SELECT ?this ?lang WHERE {{ ?this {self.sparql_path} ?value . "
                f'FILTER(isLiteral(?value) && LANG(?value) != "") BIND(LCASE(LANG(?value)) AS ?lang) }} '
                f"GROUP BY ?this ?lang HAVING(COUNT(DISTINCT ?value) > 1)")


def _canonical(expression: str) -> str:
    """Fresh variables renamed in order of appearance, so equal expressions are equal strings."""
    names: dict[str, str] = {}
    return re.sub(r"\?_n\d+", lambda m: names.setdefault(m.group(), f"?_v{len(names) + 1}"), expression)


def _merge_prefixes(into: dict[str, str], other: dict[str, str], shape: Node) -> dict[str, str]:
    for prefix, namespace in other.items():
        if into.get(prefix, namespace) != namespace:
            raise UnsupportedShapeError(str(shape), f"prefix {prefix}: declared as two namespaces")
        into[prefix] = namespace
    return into
