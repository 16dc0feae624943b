"""SHACL validation compiled to SPARQL and evaluated by Oxigraph.

pyshacl (see validate.py) stays the reference validator; this engine reports the same results
and is meant for graphs too big for pyshacl over rdflib. It supports exactly the SHACL features
the project's shapes use and raises `UnsupportedShapeError`, naming the shape and the feature,
on anything else, so that no shape is ever silently skipped.

Entry points: `validate_store(store, graphs, shapes_graph)` validates the union of `graphs` of a
pyoxigraph Store (its default graph when None); `compile_shapes(shapes_graph)` compiles once
for several validations (`CompiledShapes.validate`, `CompiledShapes.queries`).

How the shapes become queries:

* Targets. Every node shape with sh:targetClass (SHACL instances:
  ``?this rdf:type/rdfs:subClassOf* C``) or a SHACL-AF SPARQL target (sh:target with
  sh:select, as a sub-SELECT) gets one *focus query*. It returns each focus node with one
  boolean column per node-level constraint (sh:nodeKind, sh:pattern, sh:or, ...) and runs once;
  the focus nodes are kept as a Python set, so the (possibly expensive) target query is never
  repeated by the constraints.
* Constraints on values compile to SPARQL boolean expressions over the value node: sh:nodeKind,
  sh:pattern (REGEX on STR, false for blank nodes), sh:datatype, sh:class, sh:minLength, sh:in,
  sh:languageIn, sh:node and sh:or; a shape used by sh:node, sh:or or sh:qualifiedValueShape
  compiles to the conjunction of its constraints, its property shapes as EXISTS / NOT EXISTS.
* Property shapes are evaluated per path, in scans shared by all the property shapes (of all
  node shapes) with that path, so that, say, the sh:class prov:Entity of dcterms:source is
  checked once for the five shapes that have it (`_PathScan`):
  - a *value query*: one boolean column per distinct value constraint, the rows failing one;
  - a *subjects query*: the subjects with a value; the focus nodes missing from it have none,
    and fail sh:minCount, sh:qualifiedMinCount and sh:hasValue once each;
  - a *count query*: per subject (GROUP BY), COUNT(DISTINCT) of the values, of the values
    conforming to each qualified value shape, of each sh:hasValue value, of the
    language-tagged values and of their languages (sh:uniqueLang), the rows where a
    constraint fails;
  - a *uniqueLang query* (the duplicated languages), only when the counts show one.
  The rows of a shape whose targets are classes are restricted in SPARQL (an EXISTS on the
  target classes, evaluated on the failing rows only); every row is then matched against the
  focus-node set of each shape in Python.
* A SHACL-SPARQL constraint (sh:sparql with sh:select) is one query: its text after the
  sh:prefixes declarations (and the prefixes rdflib binds by default, which pyshacl resolves
  too). $this is pre-bound by joining the focus nodes (the target pattern) at the start of the
  WHERE group, unless the query binds $this itself in every solution: then it runs as written
  and its rows are kept for the focus nodes. The query text is parsed enough to reject what a
  join cannot pre-bind ($this in a FILTER or BIND of a nested group that does not bind it, in
  MINUS, VALUES, SERVICE or a sub-SELECT). ``FILTER NOT EXISTS { P }`` is run as
  ``MINUS { P }`` where that means the same, because Oxigraph evaluates the former in time
  proportional to the data for every solution (see `_Group.minus_edits`).

Results (`Result`) carry what pyshacl's sh:result carries: severity, focus node, result path,
value, messages (sh:message, with {?var}/{$var} filled from the solution for SPARQL
constraints, as pyshacl does, else a default message), the source shape (the node shape, or
the property shape node of the shapes graph), the named node shape it belongs to, the
constraint component and, for a SPARQL constraint, its node.

SHACL details pyshacl follows and this engine reproduces: sh:datatype rdf:langString means "has
a language tag"; a literal of the datatype that is ill-typed does not match (decided by rdflib,
as in pyshacl, through a SPARQL custom function); sh:class and targets follow
rdfs:subClassOf*; sh:languageIn matches the tag or its first subtag, case-insensitively;
sh:uniqueLang gives one result per duplicated language, without value; qualified value shapes
count distinct conforming values; results of sh:node carry the value, the nested results are
not reported; sh:minCount, sh:qualifiedMinCount and sh:hasValue give one result per focus node,
without value; a SHACL-SPARQL result without ?value has the focus node as value, and the node
shape's own sh:message is added to the constraint's.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

__all__ = ["Result", "CompiledShapes", "UnsupportedShapeError", "compile_shapes", "validate_store"]

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


class CompiledShapes:
    """A shapes graph compiled to SPARQL queries; `validate` runs them on a pyoxigraph Store."""

    def __init__(self, shapes: list[_NodeShapePlan]):
        self.shapes = shapes
        self.scans: dict[tuple[str, ...], _PathScan] = {}
        for shape in shapes:
            for prop in shape.properties:
                scan = self.scans.get(prop.path)
                if scan is None:
                    scan = self.scans[prop.path] = _PathScan(prop.path, prop.sparql_path)
                scan.add(shape, prop)

    def validate(self, store: ox.Store, graphs: Sequence[GraphName] | None = None, *,
                 workers: int | None = None) -> list[Result]:
        """Run the queries, `workers` at a time (Oxigraph evaluates a query without holding the GIL).

        The focus queries are submitted first; a path scan or SHACL-SPARQL constraint then waits
        for the focus nodes of its own shapes only. The queue is first in, first out, so a job
        waits only for focus queries already running. Results come in submission order."""
        runner = _Runner(store, graphs)
        workers = workers or min(4, os.cpu_count() or 1)
        with _quiet_rdflib(), ThreadPoolExecutor(max_workers=workers) as pool:
            focus = {shape.node: pool.submit(runner.focus_nodes, shape) for shape in self.shapes}
            # Scans whose shapes have SPARQL targets (slow focus queries) last.
            scans = sorted(self.scans.values(), key=lambda scan: any(s.sparql_targets for s, _p in scan.users))
            jobs = [pool.submit(runner.run_scan, scan, focus) for scan in scans]
            jobs += [pool.submit(runner.run_sparql, shape, constraint, focus[shape.node])
                     for shape in self.shapes for constraint in shape.sparql]
            results = [result for job in focus.values() for result in job.result()[1]]
            for job in jobs:
                results += job.result()
        return results

    def queries(self) -> Iterator[str]:
        """Every query text (for inspection), in the order `validate` runs them."""
        for shape in self.shapes:
            yield _focus_query(shape)
        for scan in self.scans.values():
            yield from (q for q in (scan.value_query(), scan.subjects_query(), scan.count_query()) if q)
            if scan.unique_lang:
                yield scan.unique_lang_query()
        for shape in self.shapes:
            for constraint in shape.sparql:
                yield _sparql_constraint_query(shape, constraint)[0]


def validate_store(store: ox.Store, graphs: Sequence[GraphName] | None, shapes_graph: Graph) -> list[Result]:
    """Validate the union of `graphs` of `store` (its default graph if None) against the shapes."""
    return compile_shapes(shapes_graph).validate(store, graphs)


def compile_shapes(shapes_graph: Graph) -> CompiledShapes:
    """Compile the shapes; raise UnsupportedShapeError on any feature this engine lacks."""
    return _Compiler(shapes_graph).compile()


# --- compiler -------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, graph: Graph):
        self.g = graph
        self.fresh = itertools.count(1)

    def compile(self) -> CompiledShapes:
        g = self.g
        shapes: set[Node] = set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type, SH.PropertyShape))
        for predicate in (SH.targetClass, SH.target, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
            shapes |= set(g.subjects(predicate, None))
        plans = []
        for shape in sorted(shapes, key=str):
            for predicate in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
                if g.value(shape, predicate) is not None:
                    raise UnsupportedShapeError(self.show(shape), predicate.n3(g.namespace_manager))
            if set(g.objects(shape, RDF.type)) & {RDFS.Class, OWL.Class}:
                raise UnsupportedShapeError(self.show(shape), "a shape that is also a class (implicit class target)")
            has_target = g.value(shape, SH.targetClass) is not None or g.value(shape, SH.target) is not None
            if has_target:
                if g.value(shape, SH.path) is not None:
                    raise UnsupportedShapeError(self.show(shape), "a property shape with a target")
                plans.append(self.node_shape(shape))
            elif g.value(shape, SH.path) is None:
                # Node shapes without targets are only used through sh:node etc.; check them anyway.
                self.check_parameters(shape, _NESTED_NODE_PARAMETERS, "shape")
        return CompiledShapes(plans)

    # -- helpers

    def show(self, node: Node) -> str:
        manager = self.g.namespace_manager
        if isinstance(node, URIRef):
            return node.n3(manager)
        path = self.g.value(node, SH.path)
        what = f"property shape (sh:path {path.n3(manager)})" if isinstance(path, URIRef) else "blank node shape"
        for parent, predicate in self.g.subject_predicates(node):
            if predicate in (SH.property, SH.sparql, SH.target) and isinstance(parent, URIRef):
                return f"{what} of {parent.n3(manager)}"
        return what

    def check_parameters(self, shape: Node, allowed: set[URIRef], role: str) -> None:
        for predicate in set(self.g.predicates(shape, None)):
            if str(predicate).startswith(str(SH)) and predicate not in allowed and predicate not in _INFORMATIVE:
                raise UnsupportedShapeError(self.show(shape), f"{predicate.n3(self.g.namespace_manager)} on a {role}")

    def one(self, shape: Node, predicate: URIRef) -> Node | None:
        values = list(self.g.objects(shape, predicate))
        if len(values) > 1:
            raise UnsupportedShapeError(self.show(shape), f"several values of {predicate.n3(self.g.namespace_manager)}")
        return values[0] if values else None

    def integer(self, shape: Node, predicate: URIRef) -> int | None:
        value = self.one(shape, predicate)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int) or value.value < 0:
            raise UnsupportedShapeError(self.show(shape), f"{predicate.n3(self.g.namespace_manager)} {value!r}")
        return int(value.value)

    def items(self, shape: Node, node: Node, what: str) -> list[Node]:
        try:
            return list(self.g.items(node))
        except Exception as error:  # rdflib raises several types for a broken list
            raise UnsupportedShapeError(self.show(shape), f"{what} that is not an RDF list") from error

    def messages(self, shape: Node) -> tuple[str, ...]:
        return tuple(sorted(str(m) for m in self.g.objects(shape, SH.message)))

    def severity(self, shape: Node) -> URIRef:
        value = self.one(shape, SH.severity)
        if value is None:
            return SH.Violation
        if not isinstance(value, URIRef):
            raise UnsupportedShapeError(self.show(shape), f"sh:severity {value!r}")
        return value

    def path(self, shape: Node) -> tuple[str, ...]:
        path = self.one(shape, SH.path)
        if isinstance(path, URIRef):
            return (str(path),)
        if isinstance(path, BNode):
            predicates = set(self.g.predicates(path, None))
            alternatives = self.g.value(path, SH.alternativePath)
            if predicates == {SH.alternativePath} and alternatives is not None:
                steps = self.items(shape, alternatives, "sh:alternativePath")
                if steps and all(isinstance(step, URIRef) for step in steps):
                    return tuple(str(step) for step in steps)
        raise UnsupportedShapeError(self.show(shape), "sh:path other than an IRI or sh:alternativePath of IRIs")

    def prefixes(self, owner: Node, node: Node) -> dict[str, str]:
        """The PREFIX declarations of sh:prefixes, as pyshacl collects them."""
        prefixes = dict(_DEFAULT_PREFIXES)
        ontologies = set(self.g.subjects(RDF.type, OWL.Ontology))
        for declarer in self.g.objects(node, SH.prefixes):
            declares = set(self.g.objects(declarer, SH.declare))
            if not declares or declarer not in ontologies:
                for ontology in ontologies:
                    declares |= set(self.g.objects(ontology, SH.declare))
            for declare in sorted(declares, key=str):
                prefix = self.g.value(declare, SH.prefix)
                namespace = self.g.value(declare, SH.namespace)
                if not isinstance(prefix, Literal) or not isinstance(namespace, Literal):
                    raise UnsupportedShapeError(self.show(owner), "an sh:declare without sh:prefix and sh:namespace")
                prefixes[str(prefix)] = str(namespace)
        return prefixes

    def complete_prefixes(self, owner: Node, parsed: _ParsedSelect, prefixes: dict[str, str]) -> dict[str, str]:
        """Add the rdflib default prefixes a query uses without declaring them, as pyshacl resolves them."""
        for prefix in sorted(parsed.prefixes_used() - prefixes.keys()):
            if prefix not in _RDFLIB_PREFIXES:
                raise UnsupportedShapeError(self.show(owner), f"the undeclared prefix {prefix}: in a SPARQL query")
            prefixes[prefix] = _RDFLIB_PREFIXES[prefix]
        return prefixes

    # -- shapes

    def node_shape(self, shape: URIRef) -> _NodeShapePlan:
        try:
            return self._node_shape(shape)
        except UnsupportedShapeError as error:
            top = self.show(shape)
            if error.shape.startswith(top) or error.shape.endswith(f"of {top}"):
                raise
            raise UnsupportedShapeError(f"{top} (through {error.shape})", error.feature) from error

    def _node_shape(self, shape: URIRef) -> _NodeShapePlan:
        g = self.g
        if not isinstance(shape, URIRef):
            raise UnsupportedShapeError(self.show(shape), "a blank node shape with a target")
        self.check_parameters(shape, _TOP_NODE_PARAMETERS, "node shape")
        classes = sorted(c for c in g.objects(shape, SH.targetClass))
        if not all(isinstance(c, URIRef) for c in classes):
            raise UnsupportedShapeError(self.show(shape), "sh:targetClass that is not an IRI")
        targets = [self.sparql_target(shape, t) for t in sorted(g.objects(shape, SH.target), key=str)]
        plan = _NodeShapePlan(node=shape, severity=self.severity(shape), messages=self.messages(shape),
                              classes=classes, sparql_targets=targets)
        plan.checks = self.value_checks(shape, set())
        for prop in sorted(g.objects(shape, SH.property), key=str):
            plan.properties.append(self.property_shape(shape, prop))
        for constraint in sorted(g.objects(shape, SH.sparql), key=str):
            plan.sparql.append(self.sparql_constraint(plan, constraint))
        return plan

    def sparql_target(self, shape: Node, target: Node) -> _SparqlTarget:
        g = self.g
        types = set(g.objects(target, RDF.type))
        select = self.one(target, SH.select)
        if types - {SH.SPARQLTarget} or select is None:
            raise UnsupportedShapeError(self.show(shape), "sh:target other than an sh:SPARQLTarget with sh:select")
        for predicate in set(g.predicates(target, None)):
            if predicate not in (RDF.type, SH.select, SH.prefixes):
                raise UnsupportedShapeError(self.show(shape), f"{predicate.n3(g.namespace_manager)} on a SPARQL target")
        parsed = _ParsedSelect.parse(str(select), self.show(shape))
        if parsed.prologue.strip():
            raise UnsupportedShapeError(self.show(shape), "PREFIX or BASE inside a SPARQL target (use sh:prefixes)")
        if not parsed.projects("this"):
            raise UnsupportedShapeError(self.show(shape), "a SPARQL target that does not select ?this")
        prefixes = self.complete_prefixes(shape, parsed, self.prefixes(shape, target))
        return _SparqlTarget(select=str(select), prefixes=prefixes)

    def property_shape(self, owner: URIRef, shape: Node) -> _PropertyPlan:
        self.check_parameters(shape, _TOP_PROPERTY_PARAMETERS, "property shape")
        name = self.one(shape, SH.name)
        plan = _PropertyPlan(node=shape, owner=owner, path=self.path(shape), severity=self.severity(shape),
                             messages=self.messages(shape), name=str(name) if name is not None else None)
        plan.checks = self.value_checks(shape, set())
        plan.min_count = self.integer(shape, SH.minCount)
        plan.max_count = self.integer(shape, SH.maxCount)
        plan.has_values = [self.term(shape, v) for v in sorted(self.g.objects(shape, SH.hasValue), key=str)]
        plan.unique_lang = self.unique_lang(shape)
        qualified = list(self.g.objects(shape, SH.qualifiedValueShape))
        if qualified:
            minimum = self.integer(shape, SH.qualifiedMinCount)
            if len(qualified) > 1 or minimum is None:
                raise UnsupportedShapeError(self.show(shape), "sh:qualifiedValueShape without one sh:qualifiedMinCount")
            plan.qualified.append(_Qualified(self.conformance(qualified[0], set()), minimum, qualified[0]))
        elif self.g.value(shape, SH.qualifiedMinCount) is not None:
            raise UnsupportedShapeError(self.show(shape), "sh:qualifiedMinCount without sh:qualifiedValueShape")
        return plan

    def unique_lang(self, shape: Node) -> bool:
        value = self.one(shape, SH.uniqueLang)
        if value is None:
            return False
        if not isinstance(value, Literal) or not isinstance(value.value, bool):
            raise UnsupportedShapeError(self.show(shape), f"sh:uniqueLang {value!r}")
        return bool(value.value)

    def term(self, shape: Node, node: Node) -> str:
        if isinstance(node, URIRef):
            return f"<{node}>"
        if isinstance(node, Literal):
            return _literal(node)
        raise UnsupportedShapeError(self.show(shape), "a blank node as a value in sh:in or sh:hasValue")

    def value_checks(self, shape: Node, seen: set[Node]) -> list[_Check]:
        """The value-type constraints of a shape, each as a boolean expression over a variable."""
        g = self.g
        show = self.show(shape)
        checks: list[_Check] = []
        kind = self.one(shape, SH.nodeKind)
        if kind is not None:
            if kind not in _NODE_KINDS:
                raise UnsupportedShapeError(show, f"sh:nodeKind {kind!r}")
            template = _NODE_KINDS[kind]
            checks.append(_Check(SH.NodeKindConstraintComponent, lambda v, t=template: t.format(v=v),
                                 f"Value is not of node kind {kind.n3(g.namespace_manager)}"))
        if g.value(shape, SH.flags) is not None:
            raise UnsupportedShapeError(show, "sh:flags")
        for pattern in sorted(g.objects(shape, SH.pattern), key=str):
            if not isinstance(pattern, Literal):
                raise UnsupportedShapeError(show, f"sh:pattern {pattern!r}")
            regex = _string(str(pattern))
            if not _regex_compiles(regex):
                raise UnsupportedShapeError(show, f"sh:pattern {str(pattern)!r}, which Oxigraph's regular "
                                            "expressions cannot compile")
            checks.append(_Check(SH.PatternConstraintComponent,
                                 lambda v, r=regex: f"(!isBlank({v}) && REGEX(STR({v}), {r}))",
                                 f"Value does not match pattern '{pattern}'"))
        datatype = self.one(shape, SH.datatype)
        if datatype is not None:
            if not isinstance(datatype, URIRef):
                raise UnsupportedShapeError(show, f"sh:datatype {datatype!r}")
            checks.append(_Check(SH.DatatypeConstraintComponent, _datatype_expression(datatype),
                                 f"Value is not Literal with datatype {datatype.n3(g.namespace_manager)}"))
        for cls in sorted(g.objects(shape, SH["class"]), key=str):
            if not isinstance(cls, URIRef):
                raise UnsupportedShapeError(show, f"sh:class {cls!r}")
            checks.append(_Check(SH.ClassConstraintComponent,
                                 lambda v, c=cls: f"(!isLiteral({v}) && EXISTS {{ {v} {_INSTANCE_PATH} <{c}> }})",
                                 f"Value does not have class {cls.n3(g.namespace_manager)}", instance_of=cls))
        min_length = self.integer(shape, SH.minLength)
        if min_length is not None:
            checks.append(_Check(
                SH.MinLengthConstraintComponent,
                lambda v, n=min_length: "true" if n == 0 else f"(!isBlank({v}) && STRLEN(STR({v})) >= {n})",
                f"String length not >= {min_length}"))
        allowed = self.one(shape, SH["in"])
        if allowed is not None:
            members = [self.term(shape, m) for m in self.items(shape, allowed, "sh:in")]
            checks.append(_Check(
                SH.InConstraintComponent,
                lambda v, ms=members: "(" + " || ".join([f"sameTerm({v}, {m})" for m in ms] or ["false"]) + ")",
                f"Value not in list [{', '.join(members)}]"))
        languages = self.one(shape, SH.languageIn)
        if languages is not None:
            tags = [m for m in self.items(shape, languages, "sh:languageIn")]
            if not all(isinstance(t, Literal) for t in tags):
                raise UnsupportedShapeError(show, "sh:languageIn with a non-literal member")
            checks.append(_Check(SH.LanguageInConstraintComponent, _language_in_expression([str(t) for t in tags]),
                                 f"String language is not in {[str(t) for t in tags]}"))
        for node in sorted(g.objects(shape, SH.node), key=str):
            checks.append(_Check(SH.NodeConstraintComponent, self.conformance(node, seen),
                                 f"Value does not conform to Shape {node.n3(g.namespace_manager)}"))
        for members_list in sorted(g.objects(shape, SH["or"]), key=str):
            members = [self.conformance(m, seen) for m in self.items(shape, members_list, "sh:or")]
            if not members:
                raise UnsupportedShapeError(show, "an empty sh:or")
            checks.append(_Check(SH.OrConstraintComponent,
                                 lambda v, ms=members: "(" + " || ".join(m(v) for m in ms) + ")",
                                 "Node does not conform to one or more shapes in sh:or"))
        return checks

    def conformance(self, shape: Node, seen: set[Node]) -> Callable[[str], str]:
        """The expression `conforms(var)` of a shape used by sh:node, sh:or or sh:qualifiedValueShape."""
        if shape in seen:
            raise UnsupportedShapeError(self.show(shape), "a recursive shape reference")
        seen = seen | {shape}
        if self.g.value(shape, SH.sparql) is not None:
            raise UnsupportedShapeError(self.show(shape), "sh:sparql in a shape used by sh:node, sh:or or "
                                        "sh:qualifiedValueShape")
        if self.g.value(shape, SH.deactivated) is not None:
            raise UnsupportedShapeError(self.show(shape), "sh:deactivated")
        if self.severity(shape) != SH.Violation:
            # pyshacl (allow_warnings) would count a nested Warning shape as conforming.
            raise UnsupportedShapeError(self.show(shape), "sh:severity on a shape used by sh:node, sh:or or "
                                        "sh:qualifiedValueShape")
        if self.g.value(shape, SH.path) is not None:
            return self.nested_property(shape, seen)
        self.check_parameters(shape, _NESTED_NODE_PARAMETERS, "shape used by sh:node, sh:or or "
                              "sh:qualifiedValueShape")
        parts = [c.expression for c in self.value_checks(shape, seen)]
        parts += [self.conformance(p, seen) for p in sorted(self.g.objects(shape, SH.property), key=str)]
        return lambda v: "(" + " && ".join([p(v) for p in parts] or ["true"]) + ")"

    def nested_property(self, shape: Node, seen: set[Node]) -> Callable[[str], str]:
        self.check_parameters(shape, _NESTED_PROPERTY_PARAMETERS, "property shape used by sh:node, sh:or or "
                              "sh:qualifiedValueShape")
        path = _PropertyPlan(node=shape, owner=URIRef(""), path=self.path(shape), severity=SH.Violation,
                             messages=(), name=None).sparql_path
        checks = [c.expression for c in self.value_checks(shape, seen)]
        min_count = self.integer(shape, SH.minCount)
        max_count = self.integer(shape, SH.maxCount)
        has_values = [self.term(shape, v) for v in self.g.objects(shape, SH.hasValue)]
        unique = self.unique_lang(shape)
        for count in (min_count, max_count + 1 if max_count is not None else None):
            if count is not None and count > _MAX_NESTED_COUNT:
                raise UnsupportedShapeError(self.show(shape),
                                            f"a count above {_MAX_NESTED_COUNT - 1} in a nested shape")
        fresh = self.fresh

        def distinct_values(focus: str, n: int) -> str:
            names = [f"?_n{next(fresh)}" for _ in range(n)]
            triples = " . ".join(f"{focus} {path} {name}" for name in names)
            differ = " && ".join(f"!sameTerm({a}, {b})" for a, b in itertools.combinations(names, 2))
            return f"{{ {triples} {f'FILTER({differ})' if differ else ''} }}"

        def conforms(focus: str) -> str:
            parts = []
            if checks:
                value = f"?_n{next(fresh)}"
                ok = " && ".join(c(value) for c in checks)
                parts.append(f"NOT EXISTS {{ {focus} {path} {value} FILTER(!({ok})) }}")
            if min_count:
                parts.append(f"EXISTS {distinct_values(focus, min_count)}")
            if max_count is not None:
                parts.append(f"NOT EXISTS {distinct_values(focus, max_count + 1)}")
            for value in has_values:
                parts.append(f"EXISTS {{ {focus} {path} {value} }}")
            if unique:
                a, b = f"?_n{next(fresh)}", f"?_n{next(fresh)}"
                parts.append(f"NOT EXISTS {{ {focus} {path} {a} . {focus} {path} {b} FILTER(!sameTerm({a}, {b}) "
                             f"&& LANG({a}) != \"\" && LCASE(LANG({a})) = LCASE(LANG({b}))) }}")
            return "(" + " && ".join(parts or ["true"]) + ")"

        return conforms

    def sparql_constraint(self, plan: _NodeShapePlan, node: Node) -> _SparqlConstraint:
        g = self.g
        show = self.show(plan.node)
        for predicate in set(g.predicates(node, None)):
            if predicate not in (RDF.type, SH.select, SH.prefixes, SH.message):
                raise UnsupportedShapeError(show, f"{predicate.n3(g.namespace_manager)} on an sh:sparql constraint")
        if set(g.objects(node, RDF.type)) - {SH.SPARQLConstraint}:
            raise UnsupportedShapeError(show, "an sh:sparql constraint that is not an sh:SPARQLConstraint")
        select = self.one(node, SH.select)
        if select is None:
            raise UnsupportedShapeError(show, "an sh:sparql constraint without sh:select (sh:ask)")
        parsed = _ParsedSelect.parse(str(select), show)
        for variable in ("PATH", "shapesGraph", "currentShape"):
            if parsed.mentions(variable):
                raise UnsupportedShapeError(show, f"${variable} in an sh:sparql constraint")
        parsed.check_prebinding(show, joined=True)  # raises when even a join cannot pre-bind $this
        prefixes = self.complete_prefixes(plan.node, parsed, self.prefixes(plan.node, node))
        if not parsed.check_prebinding(show, joined=False):
            _merge_prefixes(dict(prefixes), plan.target_prefixes(), plan.node)  # the target is joined in
        return _SparqlConstraint(node=node, owner=plan.node, messages=self.messages(node), query=parsed,
                                 prefixes=prefixes)


def _regex_compiles(regex: str) -> bool:
    solutions = ox.Store().query(f'SELECT (REGEX("", {regex}) AS ?ok) WHERE {{}}')
    return all(row[0] is not None for row in solutions)  # type: ignore[union-attr]


def _merge_prefixes(into: dict[str, str], other: dict[str, str], shape: Node) -> dict[str, str]:
    for prefix, namespace in other.items():
        if into.get(prefix, namespace) != namespace:
            raise UnsupportedShapeError(str(shape), f"prefix {prefix}: declared as two namespaces")
        into[prefix] = namespace
    return into


def _string(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
               .replace("\t", "\\t"))
    return f'"{escaped}"'


def _literal(literal: Literal) -> str:
    if literal.language:
        return f"{_string(str(literal))}@{literal.language}"
    return f"{_string(str(literal))}^^<{literal.datatype or XSD.string}>"


def _datatype_expression(datatype: URIRef) -> Callable[[str], str]:
    if datatype == RDF.langString:
        return lambda v: f'(isLiteral({v}) && LANG({v}) != "")'
    if datatype == RDFS.Literal:
        return lambda v: f"isLiteral({v})"
    if datatype == XSD.string:
        return lambda v: f"(isLiteral({v}) && sameTerm(DATATYPE({v}), <{XSD.string}>))"
    # Same datatype IRI and, as pyshacl decides with rdflib, not ill-typed.
    return lambda v: f"(isLiteral({v}) && sameTerm(DATATYPE({v}), <{datatype}>) && <{WELL_TYPED}>({v}))"


def _language_in_expression(tags: list[str]) -> Callable[[str], str]:
    """pyshacl: the whole tag, or its first subtag, equal to a listed tag, case-insensitively;
    for a listed tag without "-" that is SPARQL's langMatches."""
    wanted = sorted({t.lower() for t in tags})
    if "*" in wanted:
        return lambda v: f'(isLiteral({v}) && LANG({v}) != "")'
    tests = [f"LANGMATCHES(LANG({{v}}), {_string(t)})" if "-" not in t else f"LCASE(LANG({{v}})) = {_string(t)}"
             for t in wanted]
    return lambda v: "(isLiteral({v}) && ({tests}))".format(v=v, tests=" || ".join(t.format(v=v) for t in tests))


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    str(XSD.integer): (int,), str(XSD.float): (float,), str(XSD.decimal): (Decimal,), str(XSD.boolean): (bool,),
    str(XSD.date): (date,), str(XSD.time): (time,), str(XSD.dateTime): (datetime,),
}


def _well_typed(term: Term) -> ox.Literal:
    """pyshacl's test of a literal whose datatype is the one required: not ill-typed for rdflib."""
    if not isinstance(term, ox.Literal) or term.language:
        return _FALSE
    return _TRUE if _rdflib_well_typed(term.value, term.datatype.value) else _FALSE


_WARNINGS_LOCK = threading.Lock()  # catch_warnings changes process-wide state


@functools.lru_cache(maxsize=65536)
def _rdflib_well_typed(lexical: str, datatype: str) -> bool:
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdflib warns about "weird booleans"
        literal = Literal(lexical, datatype=URIRef(datatype))
    if getattr(literal, "ill_typed", None) is True:
        return False
    expected = _PYTHON_TYPES.get(datatype)
    return expected is None or isinstance(literal.value, expected)


class _IllTypedFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


@contextmanager
def _quiet_rdflib() -> Iterator[None]:
    """rdflib logs a traceback for every ill-typed literal it converts; those are results here."""
    logger = logging.getLogger("rdflib.term")
    quiet = _IllTypedFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


_FUNCTIONS = {ox.NamedNode(WELL_TYPED): _well_typed}


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


# --- queries ----------------------------------------------------------------------------------


def _canonical(expression: str) -> str:
    """Fresh variables renamed in order of appearance, so equal expressions are equal strings."""
    names: dict[str, str] = {}
    return re.sub(r"\?_n\d+", lambda m: names.setdefault(m.group(), f"?_v{len(names) + 1}"), expression)


def _focus_query(shape: _NodeShapePlan) -> str:
    """The focus nodes, whether they pass the node-level value-type constraints (?ok), and one
    boolean column per constraint."""
    binds = " ".join(f"BIND(COALESCE({_canonical(c.expression('?this'))}, false) AS ?c{i})"
                     for i, c in enumerate(shape.checks))
    columns = " ".join(f"?c{i}" for i in range(len(shape.checks)))
    ok = " && ".join(f"?c{i}" for i in range(len(shape.checks))) or "true"
    return (f"{_prologue(shape.target_prefixes())}SELECT DISTINCT ?this ?ok {columns} WHERE {{ "
            f"{{ {shape.focus_pattern()} }} {binds} BIND({ok} AS ?ok) }}")


def _sparql_constraint_query(shape: _NodeShapePlan, constraint: _SparqlConstraint) -> tuple[str, bool]:
    """The query text and whether its rows must still be filtered by the focus nodes: a query that
    binds $this in every solution runs as written; otherwise the focus nodes are joined first."""
    prefixes = dict(constraint.prefixes)
    if constraint.query.check_prebinding(str(shape.node), joined=False):
        return _prologue(prefixes) + constraint.query.rewrite(None), True
    _merge_prefixes(prefixes, shape.target_prefixes(), shape.node)
    return _prologue(prefixes) + constraint.query.rewrite(f"{{ {shape.focus_pattern()} }}"), False


def _prologue(prefixes: dict[str, str]) -> str:
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())


# --- running --------------------------------------------------------------------------------


class _Runner:
    def __init__(self, store: ox.Store, graphs: Sequence[GraphName] | None):
        self.store = store
        self.graphs = list(graphs) if graphs is not None else None

    def select(self, query: str) -> ox.QuerySolutions:
        options: dict = {"custom_functions": _FUNCTIONS}
        if self.graphs is not None:
            options["default_graph"] = self.graphs
        try:
            return self.store.query(query, **options)  # type: ignore[return-value]
        except SyntaxError as error:
            raise SyntaxError(f"{error}\nin the compiled query:\n{query}") from error

    def focus_nodes(self, shape: _NodeShapePlan) -> tuple[set[Term], list[Result]]:
        focus: set[Term] = set()
        results: list[Result] = []
        for row in self.select(_focus_query(shape)):  # rows: ?this ?ok ?c0 ?c1 ...
            this = row[0]
            focus.add(this)
            if shape.checks and not _true(row[1]):
                for i, check in enumerate(shape.checks, start=2):
                    if not _true(row[i]):
                        results.append(Result(
                            severity=shape.severity, focus=this, path=None, value=this,
                            messages=shape.messages or (check.default_message,), source_shape=shape.node,
                            node_shape=shape.node, component=check.component))
        return focus, results

    def run_scan(self, scan: _PathScan, focus: dict[URIRef, Future[tuple[set[Term], list[Result]]]]) -> list[Result]:
        results: list[Result] = []
        users = [(prop, focus[shape.node].result()[0]) for shape, prop in scan.users]
        users = [(prop, nodes) for prop, nodes in users if nodes]
        if not users:
            return results
        query = scan.value_query()
        if query:
            for row in self.select(query):  # rows: ?this ?value ?c0 ?c1 ...
                this, value = row[0], row[1]
                for prop, nodes in users:
                    if this in nodes:
                        for check, column in zip(prop.checks, prop.check_columns, strict=True):
                            if not _true(row[column + 2]):
                                results.append(_property_result(prop, check.component, this, value,
                                                                check.default_message))
        query = scan.subjects_query()
        present = {row[0] for row in self.select(query)} if query else set()
        zero = [0] * len(scan.aggregates)
        for prop, nodes in users:
            if prop.needs_zero:
                for this in nodes - present:
                    _count_results(prop, this, zero, results)
        query = scan.count_query()
        if not query:
            return results
        failing = [(row[0], [int(term.value) for term in list(row)[1:]]) for row in self.select(query)]
        duplicated_language: set[Term] = set()
        for prop, nodes in users:
            for this, counts in failing:
                if this in nodes:
                    if prop.counts:
                        _count_results(prop, this, counts, results)
                    if prop.unique_lang and counts[scan.aggregates[_TAGGED_COUNT]] > \
                            counts[scan.aggregates[_LANGUAGE_COUNT]]:
                        duplicated_language.add(this)
        if duplicated_language:
            for row in self.select(scan.unique_lang_query()):
                this = row[0]
                if this in duplicated_language:
                    for prop, nodes in users:
                        if prop.unique_lang and this in nodes:
                            results.append(_property_result(prop, SH.UniqueLangConstraintComponent, this, None,
                                                            "More than one String shares the same Language"))
        return results

    def run_sparql(self, shape: _NodeShapePlan, constraint: _SparqlConstraint,
                   focus_job: Future[tuple[set[Term], list[Result]]]) -> list[Result]:
        query, filter_by_focus = _sparql_constraint_query(shape, constraint)
        # A query joining the focus nodes itself need not wait for them.
        focus = focus_job.result()[0] if filter_by_focus else set()
        projected = constraint.query.projects("this")
        results = []
        seen: set[tuple] = set()
        solutions = self.select(query)
        names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
        at_this = names.index("this")
        for row in solutions:
            this = row[at_this]
            if this is None or (filter_by_focus and this not in focus):
                continue
            bindings = {name: term for name, term in zip(names, row, strict=True) if term is not None}
            key = tuple(sorted((k, str(v)) for k, v in bindings.items()))
            if key in seen:  # pyshacl reports a solution once
                continue
            seen.add(key)
            path = bindings.get("path")
            value = bindings.get("value", this)
            template = {k: v for k, v in bindings.items() if k not in ("this", "path", "value")}
            if projected:
                template["this"] = this
            if path is not None:
                template["path"] = path
            template["value"] = value
            messages = tuple(_fill(m, template) for m in constraint.messages)
            # pyshacl adds the node shape's own sh:message to the results of its SPARQL constraints.
            messages += tuple(_fill(m, template) for m in shape.messages if m not in constraint.messages)
            results.append(Result(
                severity=shape.severity, focus=this,
                path=(path.value,) if isinstance(path, ox.NamedNode) else None, value=value,
                messages=messages, source_shape=shape.node, node_shape=shape.node,
                component=SH.SPARQLConstraintComponent, source_constraint=constraint.node))
        return results


def _property_result(prop: _PropertyPlan, component: URIRef, this: Term, value: Term | None,
                     default_message: str) -> Result:
    return Result(severity=prop.severity, focus=this, path=prop.path, value=value,
                  messages=prop.messages or (default_message,), source_shape=prop.node, node_shape=prop.owner,
                  component=component, name=prop.name)


def _count_results(prop: _PropertyPlan, this: Term, counts: list[int], results: list[Result]) -> None:
    n = counts[0]
    if prop.min_count and n < prop.min_count:
        results.append(_property_result(prop, SH.MinCountConstraintComponent, this, None,
                                        f"Less than {prop.min_count} values on {_show(this)}->{prop.sparql_path}"))
    if prop.max_count is not None and n > prop.max_count:
        results.append(_property_result(prop, SH.MaxCountConstraintComponent, this, None,
                                        f"More than {prop.max_count} values on {_show(this)}->{prop.sparql_path}"))
    for q, column in zip(prop.qualified, prop.qualified_columns, strict=True):
        if counts[column] < q.min_count:
            results.append(_property_result(prop, SH.QualifiedMinCountConstraintComponent, this, None,
                                            f"Focus node does not conform to shape MinCount {q.min_count}: {q.shape}"))
    for value, column in zip(prop.has_values, prop.has_value_columns, strict=True):
        if counts[column] < 1:
            results.append(_property_result(
                prop, SH.HasValueConstraintComponent, this, None,
                f"Node {_show(this)}->{prop.sparql_path} does not contain a value in the set: [{value}]"))


def _fill(message: str, values: dict[str, Term]) -> str:
    """pyshacl's message templates: {?var} and {$var} replaced by the value's string."""
    for name, value in values.items():
        text = value.value if hasattr(value, "value") else str(value)
        message = re.sub(r"\{[?$]" + re.escape(name) + r"\}", lambda _m, t=text: t, message)
    return message


def _true(term: Term | None) -> bool:
    return isinstance(term, ox.Literal) and term.value in ("true", "1")


def _show(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    return str(term)
