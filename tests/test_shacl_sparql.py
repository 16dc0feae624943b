"""The SPARQL-compiled SHACL engine (finhealthkg.pipeline.shacl_sparql) reports what pyshacl reports.

pyshacl is the reference: every shape fixture (valid and invalid), the repository's own data
and a graph of SHACL corner cases are validated by both, and the results must be the same
multiset of (focus node, result path, source shape, named node shape, constraint component,
severity, SPARQL constraint, value, messages). Blank nodes cannot be compared by identity across the two
stores: they are compared by a canonical description (their triples, recursively).

The timing test builds larger graphs (the repository's data repeated with renamed IRIs, the
sources and schemes shared) and reports the engine's time at ~100k and ~1M triples; set
FINHEALTHKG_BENCH_PYSHACL=1 to time pyshacl at ~100k too (it takes minutes).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, XSD

from conftest import REPO
from finhealthkg.pipeline.shacl_sparql import CompiledShapes, UnsupportedShapeError, compile_shapes, validate_store
from finhealthkg.pipeline.validate import _run
from shacl_reference import (
    CONTEXT_FILES,
    FIXTURES,
    fixture_files,
    fixture_report,
    fixture_world,
    prepared_queries,
)

SHARED_FILES = ("sources.ttl", "schemes.ttl", "publisher.ttl")  # not repeated (the sources cite the publisher)
TURTLE = ox.RdfFormat.TURTLE


@pytest.fixture(scope="module")
def compiled(sources) -> CompiledShapes:
    return compile_shapes(sources.shapes)


# --- comparable keys ------------------------------------------------------------------------


def literal_key(lexical: str, language: str | None, datatype: str) -> tuple:
    """A literal as rdflib holds it once parsed: rdflib rewrites some lexical forms (an ill-typed
    "yes"^^xsd:boolean becomes "false"), Oxigraph others ("01"^^xsd:integer becomes "1")."""
    if language:
        return ("literal", lexical, language.lower(), str(RDF.langString))
    return ("literal", str(Literal(lexical, datatype=URIRef(datatype))), "", datatype)


def rdflib_key(term, graph: Graph, depth: int = 0):
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("iri", str(term))
    if isinstance(term, Literal):
        return literal_key(str(term), term.language, str(term.datatype or XSD.string))
    if depth > 3:
        return ("blank",)
    out = sorted((str(p), rdflib_key(o, graph, depth + 1)) for p, o in graph.predicate_objects(term))
    into = sorted((rdflib_key(s, graph, 4), str(p)) for s, p in graph.subject_predicates(term))
    return ("blank", tuple(out), tuple(into))


def oxigraph_key(term, store: ox.Store, depth: int = 0):
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.Literal):
        return literal_key(term.value, term.language, term.datatype.value)
    if depth > 3:
        return ("blank",)
    quads = store.quads_for_pattern(term, None, None)
    out = sorted({(q.predicate.value, oxigraph_key(q.object, store, depth + 1)) for q in quads})
    into = sorted({(oxigraph_key(q.subject, store, 4), q.predicate.value)
                   for q in store.quads_for_pattern(None, None, term)})
    return ("blank", tuple(out), tuple(into))


def owner(shapes: Graph, node) -> str | None:
    """The named node shape a result comes from (property shapes are blank nodes of it)."""
    for _ in range(5):
        if isinstance(node, URIRef):
            return str(node)
        parents = [s for s, p in shapes.subject_predicates(node) if p == SH.property]
        if not parents:
            return None
        node = parents[0]
    return None


def pyshacl_results(data: Graph, shapes: Graph, report: Graph | None = None) -> Counter:
    if report is None:
        with prepared_queries():
            report = _run(data, shapes, advanced=True)
    keys = Counter()
    # Top-level results only: those of sh:node are nested under them by sh:detail.
    for result in report.objects(None, SH.result):
        path = report.value(result, SH.resultPath)
        if isinstance(path, BNode):
            path = tuple(str(step) for step in report.items(report.value(path, SH.alternativePath)))
        elif path is not None:
            path = (str(path),)
        source = report.value(result, SH.sourceShape)
        constraint = report.value(result, SH.sourceConstraint)
        keys[(
            rdflib_key(report.value(result, SH.focusNode), data),
            path,
            str(source),
            owner(shapes, source),
            str(report.value(result, SH.sourceConstraintComponent)),
            str(report.value(result, SH.resultSeverity)),
            str(constraint) if constraint is not None else None,
            rdflib_key(report.value(result, SH.value), data),
            frozenset(str(m) for m in report.objects(result, SH.resultMessage)),
        )] += 1
    return keys


def engine_results(compiled: CompiledShapes, store: ox.Store, graphs=None, workers=None) -> Counter:
    keys = Counter()
    for r in compiled.validate(store, graphs, workers=workers):
        keys[(
            oxigraph_key(r.focus, store),
            r.path,
            str(r.source_shape),
            str(r.node_shape),
            str(r.component),
            str(r.severity),
            str(r.source_constraint) if r.source_constraint is not None else None,
            oxigraph_key(r.value, store),
            frozenset(r.messages),
        )] += 1
    return keys


def assert_same(expected: Counter, found: Counter) -> None:
    missing = expected - found
    extra = found - expected
    assert not missing and not extra, (
        "pyshacl reports but the engine does not:\n  " + "\n  ".join(map(repr, missing))
        + "\nthe engine reports but pyshacl does not:\n  " + "\n  ".join(map(repr, extra)))


# --- the same results as pyshacl -------------------------------------------------------------


def test_every_fixture_is_compared():
    names = [p.name for p in fixture_files()]
    assert len(names) > 80
    assert any(n.startswith("valid") for n in names) and any(n.startswith("invalid") for n in names)


@pytest.mark.parametrize("fixture", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_gives_the_same_results_as_pyshacl(sources, compiled, fixture: Path):
    graph, report = fixture_report(fixture, sources)  # pyshacl's, shared with test_shapes.py
    store = ox.Store()
    for path in fixture_world(fixture):
        store.load(path=str(path), format=TURTLE)
    expected = pyshacl_results(graph, sources.shapes, report)
    found = engine_results(compiled, store)
    assert_same(expected, found)
    if fixture.name.startswith("invalid"):
        assert any(key[3] and key[3].endswith("/" + fixture.parent.name) for key in found), "the fixture's shape"


def test_repository_data_gives_the_same_results_as_pyshacl(sources, compiled):
    """Ontology + data/*.ttl (not catalog.ttl), each file in a named graph of the store."""
    files = [*sorted((REPO / "ontology").glob("*.ttl")),
             *(p for p in sorted((REPO / "data").glob("*.ttl")) if p.name != "catalog.ttl")]
    store = ox.Store()
    graphs = []
    for path in files:
        name = ox.NamedNode(f"urn:x-test:file:{path.parent.name}/{path.name}")
        store.load(path=str(path), format=TURTLE, to_graph=name)
        graphs.append(name)
    expected = pyshacl_results(sources.knowledge_graph(), sources.shapes)
    assert_same(expected, engine_results(compiled, store, graphs))
    # The default graph of the store is empty: validating it finds nothing to check.
    assert validate_store(store, None, sources.shapes) == []


CORNER_CASES = """
@prefix fhkg:    <https://w3id.org/finhealthkg/def/> .
@prefix organization: <https://w3id.org/finhealthkg/id/organization/> .
@prefix figure:  <https://w3id.org/finhealthkg/id/figure/> .
@prefix place:   <https://w3id.org/finhealthkg/id/place/> .
@prefix field:   <https://w3id.org/finhealthkg/id/field/> .
@prefix instant: <https://w3id.org/finhealthkg/id/instant/> .
@prefix source:  <https://w3id.org/finhealthkg/id/source/> .
@prefix status:  <https://w3id.org/finhealthkg/id/status/> .
@prefix adms:    <http://www.w3.org/ns/adms#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf:    <http://xmlns.com/foaf/0.1/> .
@prefix org:     <http://www.w3.org/ns/org#> .
@prefix owl:     <http://www.w3.org/2002/07/owl#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema:  <https://schema.org/> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix time:    <http://www.w3.org/2006/time#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .

# A subclass of org:Organization declared in the data: its instances are targets of
# OrganizationShape and count as org:Organization for sh:class.
fhkg:ExampleKind rdfs:subClassOf fhkg:Biobank .

organization:corner-one a fhkg:ExampleKind ;
    rdfs:label "Corner one"@en , "Kulma yksi"@fi , "Corner uno"@EN ;
    skos:prefLabel "Corner one"@en , "Kulma yksi"@fi , "Corner uno"@EN ;
    dcterms:description "Plain string, not in English." , "Two"@en-GB , "Kaksi"@fi ;
    dcterms:source source:ec2u-turku , "a literal source" ;
    schema:foundingDate "20x5"^^xsd:gYear , "2015-13-45"^^xsd:date ;
    foaf:homepage "http://example.org/not-an-iri" , <ftp://example.org/> ;
    owl:sameAs "http://www.wikidata.org/entity/Q1" , <http://www.wikidata.org/entity/Q0> , [ rdfs:label "x" ] ;
    adms:status status:established , <https://w3id.org/finhealthkg/id/status/unknown> ;
    fhkg:networkRole "role" , "rooli"@fi ;
    fhkg:registrationDate "2014-02-30"^^xsd:date , "2014-03-10"^^xsd:date ;
    fhkg:sampleCount figure:corner-samples ;
    fhkg:implements organization:corner-two ;
    fhkg:hostedBy "a host" , organization:corner-two ;
    org:hasMember organization:corner-two ;
    dcterms:subject field:biobanking ;
    schema:location place:finland .

organization:corner-two a org:Organization ;
    rdfs:label "Corner two"@en , "Kulma kaksi"@fi ;
    skos:prefLabel "Corner two"@en , "Kulma kaksi"@fi ;
    dcterms:description "English"@EN , "Also English"@en ;
    dcterms:source source:ec2u-turku ;
    org:classification field:biobanking ;
    fhkg:ownedBy organization:corner-two ;
    schema:foundingDate "2015"^^xsd:gYear , 2015 .

figure:corner-samples a schema:QuantitativeValue ;
    rdfs:label "Samples"@en , "Näytteet"@fi ;
    skos:prefLabel "Samples"@en , "Näytteet"@fi ;
    schema:value "abc"^^xsd:integer , "1.5"^^xsd:decimal ;
    fhkg:isApproximate "yes"^^xsd:boolean ;
    schema:unitText "samples"@en ;
    dcterms:description "Samples"@en .

instant:corner-year a time:Instant ;
    rdfs:label "Year"@en , "Vuosi"@fi ;
    skos:prefLabel "Year"@en , "Vuosi"@fi ;
    time:inXSDgYear "year" .
"""


@pytest.mark.filterwarnings("ignore:Parsing weird boolean")
def test_corner_cases_give_the_same_results_as_pyshacl(sources, compiled):
    """Ill-typed literals, rdf:langString, subclasses, patterns on literals and blank nodes, tags
    differing in case, qualified counts, sh:or on value nodes, sh:in, sh:node, several values."""
    text = CORNER_CASES
    files = [*sorted((REPO / "ontology").glob("*.ttl")), *(REPO / "data" / n for n in CONTEXT_FILES)]
    graph = Graph()
    store = ox.Store()
    for path in files:
        graph.parse(path)
        store.load(path=str(path), format=TURTLE)
    graph.parse(data=text, format="turtle")
    store.load(text.encode(), format=TURTLE)
    expected = pyshacl_results(graph, sources.shapes)
    found = engine_results(compiled, store)
    assert_same(expected, found)
    assert engine_results(compiled, store, workers=1) == found
    # The same triples written in two named graphs: the data graph is their union (the blank node
    # only once: parsed twice it would be two blank nodes).
    twice = ox.Store()
    names = [ox.NamedNode("urn:x-test:one"), ox.NamedNode("urn:x-test:two")]
    for name in names:
        for path in files:
            twice.load(path=str(path), format=TURTLE, to_graph=name)
    twice.load(text.encode(), format=TURTLE, to_graph=names[0])
    twice.load(text.replace(' , [ rdfs:label "x" ]', "").encode(), format=TURTLE, to_graph=names[1])
    assert_same(expected, engine_results(compiled, twice, names))
    components = {key[4].split("#")[1] for key in found}
    assert {"DatatypeConstraintComponent", "PatternConstraintComponent", "UniqueLangConstraintComponent",
            "QualifiedMinCountConstraintComponent", "OrConstraintComponent", "InConstraintComponent",
            "NodeConstraintComponent", "ClassConstraintComponent", "MaxCountConstraintComponent",
            "SPARQLConstraintComponent", "NodeKindConstraintComponent"} <= components


def test_results_carry_messages_shapes_and_names(sources, compiled):
    store = ox.Store()
    for path in [*sorted((REPO / "ontology").glob("*.ttl")), *(REPO / "data" / n for n in CONTEXT_FILES),
                 FIXTURES / "OrganizationShape" / "invalid-membership-one-way.ttl",
                 FIXTURES / "InstantShape" / "invalid-no-year-or-date.ttl"]:
        store.load(path=str(path), format=TURTLE)
    results = compiled.validate(store)
    membership = [r for r in results if r.component == SH.SPARQLConstraintComponent
                  and "Membership must be stated both ways" in r.message]
    assert membership, [r.message for r in results]
    for result in membership:
        # {$this} and {?value} are filled from the solution, as pyshacl does.
        assert "{" not in result.message and result.value.value in result.message
        assert result.focus.value in result.message
    instant = [r for r in results if r.node_shape.endswith("/InstantShape")]
    assert [r.component for r in instant] == [SH.OrConstraintComponent]
    assert instant[0].value == instant[0].focus and instant[0].path is None
    assert instant[0].message.startswith("An instant is given as")
    for result in results:
        assert result.severity_name == "Violation" and result.messages
        if isinstance(result.source_shape, BNode):  # a property shape: its sh:name and sh:path
            assert result.name and result.path


SPARQL_FORMS_SHAPES = """
@prefix ex: <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex: a owl:Ontology ; sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^xsd:anyURI ] .

ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:message "The node shape's own message." ;
    sh:sparql [ sh:prefixes ex: ; sh:message "not projecting $this: {?value} of {$this}" ;
        sh:select "SELECT ?value WHERE { $this ex:p ?value FILTER NOT EXISTS { ?value ex:q $this } }" ] ,
    [ sh:prefixes ex: ; sh:message "?path {?path}, a FILTER over $this inside NOT EXISTS" ;
        sh:select '''SELECT $this ?path ?value WHERE { $this ?path ?value FILTER(?path = ex:p)
            FILTER NOT EXISTS { ?value ex:r ?x FILTER(?x != $this) } }''' ] ,
    [ sh:prefixes ex: ; sh:message "a variable an OPTIONAL may bind, inside NOT EXISTS" ;
        sh:select '''SELECT $this ?value WHERE { $this ex:p ?value OPTIONAL { ?value ex:s ?o }
            FILTER NOT EXISTS { ?value ex:t ?o } }''' ] ,
    [ sh:prefixes ex: ; sh:message "only NOT EXISTS: $this must be pre-bound" ;
        sh:select "SELECT $this WHERE { FILTER NOT EXISTS { $this ex:p ?any } }" ] ,
    [ sh:prefixes ex: ; sh:message "union {?value}" ;
        sh:select '''SELECT $this ?value WHERE { { $this ex:p ?value } UNION { ?value ex:p $this }
            FILTER(isIRI(?value)) }''' ] .

ex:T a sh:NodeShape ;
    sh:target [ a sh:SPARQLTarget ; sh:prefixes ex: ; sh:select "SELECT ?this WHERE { ?this ex:p ?x }" ] ;
    sh:sparql [ sh:prefixes ex: ; sh:message "a SPARQL target joined in (its ?x is not the query's)" ;
        sh:select "SELECT $this WHERE { FILTER NOT EXISTS { $this a ex:C } FILTER NOT EXISTS { ?x ex:q $this } }" ] ,
    [ sh:prefixes ex: ; sh:message "a SPARQL target, the query binding $this: {?value}" ;
        sh:select "SELECT $this ?value WHERE { $this ex:p ?value }" ] .
"""

SPARQL_FORMS_DATA = """
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:a a ex:C ; ex:p ex:b , ex:c , "literal" .
ex:b ex:q ex:a .
ex:c ex:r ex:d ; ex:s ex:e ; ex:t ex:e .
ex:d a ex:C .
ex:e ex:p ex:a .
ex:D rdfs:subClassOf ex:C .
ex:f a ex:D ; ex:p ex:f ; ex:r ex:f .
ex:g ex:q ex:e .
ex:h ex:p ex:h .
"""


def test_sparql_constraint_forms_give_the_same_results_as_pyshacl():
    """Pre-binding $this by a join, queries that bind it themselves, NOT EXISTS that may and may not
    run as MINUS, messages with {?var} / {$this}, a SPARQL target joined into a constraint."""
    shapes = Graph().parse(data=SPARQL_FORMS_SHAPES, format="turtle")
    data = Graph().parse(data=SPARQL_FORMS_DATA, format="turtle")
    store = ox.Store()
    store.load(SPARQL_FORMS_DATA.encode(), format=TURTLE)
    compiled = compile_shapes(shapes)
    queries = "\n".join(compiled.queries())
    assert "MINUS { ?value ex:q $this }" in queries  # rewritten
    assert "FILTER NOT EXISTS { ?value ex:r ?x FILTER(?x != $this) }" in queries  # kept
    assert "FILTER NOT EXISTS { ?value ex:t ?o }" in queries  # kept
    expected = pyshacl_results(data, shapes)
    found = engine_results(compiled, store)
    assert_same(expected, found)
    assert len(found) >= 8


# --- failing loudly -------------------------------------------------------------------------

PREFIXES = """
@prefix ex: <http://example.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


@pytest.mark.parametrize(("shapes", "feature"), [
    ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:nodeKind sh:IRI .", "sh:targetNode"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .", "sh:closed"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:xone ( [ sh:nodeKind sh:IRI ] ) .", "sh:xone"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:maxLength 3 ] .", "sh:maxLength"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path [ sh:inversePath ex:p ] ; sh:minCount 1 ] .",
     "sh:path other than"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:qualifiedValueShape ex:T ; "
     "sh:qualifiedMaxCount 1 ] . ex:T a sh:NodeShape ; sh:datatype xsd:string .", "sh:qualifiedMaxCount"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:node ex:T . ex:T a sh:NodeShape ; sh:node ex:S .",
     "recursive"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:pattern \"^a\" ; sh:flags \"i\" .", "sh:flags"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select \"SELECT $this WHERE { "
     "$this ex:p ?x MINUS { $this ex:q ?x } }\" ] .", "MINUS"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select \"SELECT $this WHERE { "
     "{ ?x ex:p ?y FILTER(?y != $this) } }\" ] .", "does not pre-bind"),
    ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select \"SELECT $this WHERE { "
     "$this nope:p ?x }\" ] .", "undeclared prefix nope:"),
    ("ex:S a sh:NodeShape ; sh:target [ a sh:SPARQLTargetType ; sh:select \"SELECT ?this WHERE { ?this ?p ?o }\" ] ; "
     "sh:nodeKind sh:IRI .", "sh:target other than"),
])
def test_unsupported_features_raise_naming_the_shape(shapes: str, feature: str):
    graph = Graph().parse(data=PREFIXES + shapes, format="turtle")
    with pytest.raises(UnsupportedShapeError, match=re.escape(feature)) as error:
        validate_store(ox.Store(), None, graph)
    assert "ex:S" in str(error.value) or "http://example.org/S" in str(error.value)


def test_an_unsupported_feature_added_to_the_project_shapes_raises(sources):
    shapes = Graph()
    shapes += sources.shapes
    thing = URIRef("https://w3id.org/finhealthkg/shapes/ThingShape")
    shapes.add((thing, SH.closed, Literal(True)))
    with pytest.raises(UnsupportedShapeError, match="ThingShape.*sh:closed"):
        compile_shapes(shapes)


# --- larger graphs: timing ------------------------------------------------------------------


def repeated_data(copies: int) -> tuple[str, int]:
    """N-Triples of the ontology, the shared files once, and `copies` copies of the rest of the
    data with every IRI it describes renamed (slug + -copy-N); links to shared IRIs kept."""
    shared = Graph()
    for path in sorted((REPO / "ontology").glob("*.ttl")):
        shared.parse(path)
    copied = Graph()
    for path in sorted((REPO / "data").glob("*.ttl")):
        if path.name != "catalog.ttl":
            (shared if path.name in SHARED_FILES else copied).parse(path)
    described = {str(s) for s in copied.subjects() if isinstance(s, URIRef)}
    text = copied.serialize(format="nt")
    cuts = [m.end(1) for m in re.finditer(r"<([^>]*)>", text) if m.group(1) in described]
    chunks = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    parts = [shared.serialize(format="nt"), *(f"-copy-{n}".join(chunks) for n in range(copies))]
    return "".join(parts), len(shared) + copies * len(copied)


def test_timing_on_larger_graphs(sources, compiled, record_property):
    lines = []
    per_copy = None
    for target in (100_000,):  # 1M and more: `make bench` (bench/RESULTS.md)
        if per_copy is None:
            _text, one = repeated_data(1)
            base, _ = repeated_data(0)
            per_copy = one - base.count("\n")
            base_triples = base.count("\n")
        copies = max(1, round((target - base_triples) / per_copy))
        text, _ = repeated_data(copies)
        store = ox.Store()
        started = time.perf_counter()
        store.bulk_load(text.encode(), format=ox.RdfFormat.N_TRIPLES)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        results = validate_store(store, None, sources.shapes)
        elapsed = time.perf_counter() - started
        triples = len(store)
        lines.append(f"engine: {triples} triples ({copies} copies) validated in {elapsed:.2f} s "
                     f"({triples / elapsed:,.0f} triples/s; loading took {loaded:.1f} s), {len(results)} results")
        record_property(f"engine_seconds_{target}", round(elapsed, 2))
        assert results == [], [r.message for r in results[:5]]  # copies of conforming data conform
        if target == 100_000 and os.environ.get("FINHEALTHKG_BENCH_PYSHACL") == "1":
            graph = Graph().parse(data=text, format="nt")
            started = time.perf_counter()
            report = _run(graph, sources.shapes, advanced=True)
            seconds = time.perf_counter() - started
            lines.append(f"pyshacl: {len(graph)} triples validated in {seconds:.1f} s "
                         f"({len(graph) / seconds:,.0f} triples/s), "
                         f"{len(set(report.subjects(RDF.type, SH.ValidationResult)))} results")
            record_property("pyshacl_seconds_100000", round(seconds, 1))
    print("\n" + "\n".join(lines))
