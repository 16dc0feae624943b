"""A shapes graph compiled to plans (model.py), or UnsupportedShapeError naming the feature."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from .model import (
    _DEFAULT_PREFIXES,
    _INFORMATIVE,
    _INSTANCE_PATH,
    _MAX_NESTED_COUNT,
    _NESTED_NODE_PARAMETERS,
    _NESTED_PROPERTY_PARAMETERS,
    _NODE_KINDS,
    _RDFLIB_PREFIXES,
    _TOP_NODE_PARAMETERS,
    _TOP_PROPERTY_PARAMETERS,
    WELL_TYPED,
    UnsupportedShapeError,
    _Check,
    _merge_prefixes,
    _NodeShapePlan,
    _PropertyPlan,
    _Qualified,
    _SparqlConstraint,
    _SparqlTarget,
)
from .runner import CompiledShapes
from .select_text import _ParsedSelect

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
