"""The queries of compiled shapes and their evaluation on a pyoxigraph Store."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import SH

from .model import (
    _LANGUAGE_COUNT,
    _TAGGED_COUNT,
    GraphName,
    Result,
    Term,
    _canonical,
    _merge_prefixes,
    _NodeShapePlan,
    _PathScan,
    _PropertyPlan,
    _SparqlConstraint,
)
from .well_typed import _FUNCTIONS, _quiet_rdflib


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


# --- queries ----------------------------------------------------------------------------------


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
