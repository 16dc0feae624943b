"""The results of the SPARQL-compiled SHACL engine as a SHACL validation report graph, the
same shape of graph pyshacl writes, so that one reader (validate.py) and one release file
(validation.ttl) serve both engines."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from ..terms import to_rdflib
from .shacl_sparql import Result


def results_graph(results: Iterable[Result], shapes: Graph) -> Graph:
    """An sh:ValidationReport with one sh:ValidationResult per result; a property shape given
    as a blank node is copied from the shapes (with its path), as pyshacl does."""
    report = Graph()
    node = BNode()
    report.add((node, RDF.type, SH.ValidationReport))
    conforms = True
    for result in results:
        conforms = conforms and result.severity != SH.Violation
        entry = BNode()
        report.add((node, SH.result, entry))
        report.add((entry, RDF.type, SH.ValidationResult))
        report.add((entry, SH.resultSeverity, result.severity))
        report.add((entry, SH.focusNode, to_rdflib(result.focus)))
        report.add((entry, SH.sourceConstraintComponent, result.component))
        report.add((entry, SH.sourceShape, result.source_shape))
        if isinstance(result.source_shape, BNode):
            _copy_description(shapes, result.source_shape, report)
        if result.source_constraint is not None:
            report.add((entry, SH.sourceConstraint, result.source_constraint))
            if isinstance(result.source_constraint, BNode):
                _copy_description(shapes, result.source_constraint, report)
        if result.value is not None:
            report.add((entry, SH.value, to_rdflib(result.value)))
        if result.path is not None:
            report.add((entry, SH.resultPath, _path(result.path, report)))
        for message in result.messages:
            report.add((entry, SH.resultMessage, Literal(message)))
    report.add((node, SH.conforms, Literal(conforms)))
    return report


def _path(steps: tuple[str, ...], report: Graph) -> Node:
    if len(steps) == 1:
        return URIRef(steps[0])
    path, alternatives = BNode(), BNode()
    Collection(report, alternatives, [URIRef(step) for step in steps])
    report.add((path, SH.alternativePath, alternatives))
    return path


def _copy_description(shapes: Graph, node: BNode, report: Graph) -> None:
    """The triples of a blank node of the shapes and of the blank nodes below it."""
    todo, seen = [node], set()
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for _s, predicate, obj in shapes.triples((subject, None, None)):
            report.add((subject, predicate, obj))
            if isinstance(obj, BNode):
                todo.append(obj)
