"""Every shape that targets something has a conforming and a violating fixture.

Fixtures live in tests/fixtures/shapes/<ShapeName>/: `valid*.ttl` must conform to all the
shapes and `invalid*.ttl` must each be rejected by <ShapeName> itself (one of its property
shapes or SPARQL constraints). Each fixture is validated together with the real ontology
and a small world of real context (schemes, sources, periods, places, the publisher).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF, SH

from finhealthkg.namespaces import SHAPES
from shacl_reference import FIXTURES, fixture_files, fixture_report


def targeted_shapes(shapes: Graph) -> set[str]:
    """Node shapes with a target of their own: each must have fixtures."""
    found = set()
    for shape in shapes.subjects(RDF.type, SH.NodeShape):
        targets = (SH.targetClass, SH.target, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
        if any(shapes.value(shape, predicate) is not None for predicate in targets):
            found.add(str(shape).removeprefix(str(SHAPES)))
    return found


def owner_shape(shapes: Graph, source_shape) -> str | None:
    """The named node shape a result comes from (property shapes and SPARQL constraints are blank)."""
    node = source_shape
    for _ in range(5):
        if isinstance(node, URIRef):
            return str(node).removeprefix(str(SHAPES))
        parents = [s for s, p in shapes.subject_predicates(node) if p in (SH.property, SH.sparql)]
        if not parents:
            return None
        node = parents[0]
    return None


def shapes_that_reject(sources, report: Graph) -> set[str]:
    owners = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if report.value(result, SH.resultSeverity) != SH.Violation:
            continue
        shape = report.value(result, SH.sourceShape)
        owner = owner_shape(sources.shapes, shape) if shape is not None else None
        if owner:
            owners.add(owner)
    return owners


def test_every_targeted_shape_has_fixtures(sources):
    present = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    shapes = targeted_shapes(sources.shapes)
    assert shapes - present == set(), "shapes without fixtures"
    assert present - shapes == set(), "fixtures for shapes that do not exist"
    for name in shapes:
        assert list((FIXTURES / name).glob("valid*.ttl")), f"{name}: no valid*.ttl"
        assert list((FIXTURES / name).glob("invalid*.ttl")), f"{name}: no invalid*.ttl"


@pytest.mark.parametrize("fixture", fixture_files("valid*.ttl"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_fixture_conforms(sources, fixture: Path):
    _, report = fixture_report(fixture, sources)
    rejected = shapes_that_reject(sources, report)
    messages = sorted(str(m) for m in report.objects(None, SH.resultMessage))
    assert not rejected, f"{fixture.name} should conform but {rejected} reject it: {messages}"


@pytest.mark.parametrize("fixture", fixture_files("invalid*.ttl"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_invalid_fixture_is_rejected_by_its_shape(sources, fixture: Path):
    _, report = fixture_report(fixture, sources)
    shape = fixture.parent.name
    rejected = shapes_that_reject(sources, report)
    assert shape in rejected, f"{fixture} should be rejected by {shape}, rejected by {rejected or 'nothing'}"


def test_shape_results_are_reported_with_their_messages(sources):
    """Every property shape and SPARQL constraint carries an sh:message a person can act on."""
    missing = []
    for node_shape in sources.shapes.subjects(RDF.type, SH.NodeShape):
        for predicate in (SH.property, SH.sparql):
            for constraint in sources.shapes.objects(node_shape, predicate):
                if isinstance(constraint, BNode) and sources.shapes.value(constraint, SH.message) is None:
                    missing.append(f"{node_shape} {predicate}")
    assert not missing
