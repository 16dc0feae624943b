"""The repository's own ontology, shapes and data: valid, complete, sourced."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from finhealthkg.namespaces import FHKG, ID, ORG, PREFIXES
from finhealthkg.pipeline.validate import validate_sources


@pytest.fixture(scope="module")
def report(sources):
    return validate_sources(sources)


def test_repository_data_conforms(report):
    assert report.conforms, report.text()
    assert report.findings == [], report.text()  # no warnings either


def test_shapes_were_checked_against_shacl_shacl(sources, report):
    # The check ran over the shapes graph: a report of the shapes part exists and is empty.
    assert len(sources.shapes) > 500
    assert not [f for f in report.findings if f.checked == "shapes"]


def test_every_vocabulary_term_is_labelled_and_documented(sources):
    terms = [t for t in sources.ontology.subjects(RDF.type, None)
             if isinstance(t, URIRef) and str(t).startswith(str(FHKG)) and t != URIRef(str(FHKG))]
    assert len(terms) >= 20
    for term in terms:
        langs = {label.language for label in sources.ontology.objects(term, RDFS.label)}
        assert {"en", "fi"} <= langs, term
        assert sources.ontology.value(term, RDFS.comment) is not None, term


def test_ontology_metadata(sources):
    ontology = URIRef(str(FHKG))
    g = sources.ontology
    assert (ontology, RDF.type, OWL.Ontology) in g
    for predicate in (DCTERMS.title, DCTERMS.description, OWL.versionIRI, DCTERMS.license,
                      DCTERMS.creator):
        assert g.value(ontology, predicate) is not None, predicate


def test_no_blank_nodes_in_the_knowledge_graph(sources):
    from rdflib import BNode
    graph = sources.knowledge_graph()
    assert not [t for t in graph if isinstance(t[0], BNode) or isinstance(t[2], BNode)]


def test_neurocentre_and_neurocenter_are_one_organisation(sources):
    g = sources.data
    neuro = ID["organization/neurocenter-finland"]
    assert g.value(neuro, SKOS.prefLabel) is not None
    assert Literal("Neurocentre Finland", lang="en") in set(g.objects(neuro, SKOS.altLabel))
    assert Literal("Neurocenter Finland", lang="en") in set(g.objects(neuro, SKOS.prefLabel))
    spelled = {s for s, _, o in g.triples((None, None, None))
               if isinstance(o, Literal) and str(o) in ("Neurocentre Finland", "Neurocenter Finland")}
    assert spelled == {neuro}


def test_every_described_thing_cites_a_source(sources):
    g = sources.data
    kinds_with_sources = ("organization/", "strategy/", "project/", "place/", "membership/", "figure/")
    things = {s for s in g.subjects(RDF.type, None)
              if any(str(s).startswith(str(ID) + k) for k in kinds_with_sources)}
    assert len(things) > 50
    assert [t for t in things if g.value(t, DCTERMS.source) is None] == []


def test_only_sourced_identifiers(sources):
    """Wikidata identifiers only where ../shared/reference cites one: UTU, Turku, Finland."""
    same = {(str(s), str(o)) for s, o in sources.data.subject_objects(OWL.sameAs)}
    assert same == {
        (str(ID["organization/university-of-turku"]), "http://www.wikidata.org/entity/Q501841"),
        (str(ID["place/turku"]), "http://www.wikidata.org/entity/Q38511"),
        (str(ID["place/finland"]), "http://www.wikidata.org/entity/Q33"),
    }


def test_approximate_figure_says_so(sources):
    g = sources.data
    auria = ID["organization/auria-biobank"]
    figure = g.value(auria, FHKG.sampleCount)
    assert int(g.value(figure, URIRef("https://schema.org/value"))) == 1_000_000
    assert g.value(figure, FHKG.isApproximate).toPython() is True


def test_cooperative_members_are_the_eight_biobanks(sources):
    g = sources.data
    finbb = ID["organization/finnish-biobank-cooperative"]
    members = set(g.objects(finbb, ORG.hasMember))
    assert len(members) == 8
    assert all((m, RDF.type, FHKG.Biobank) in g for m in members)


def test_prefixes_cover_every_kind(sources):
    kinds = {str(s)[len(str(ID)):].split("/")[0] for s in sources.data.subjects()
             if str(s).startswith(str(ID))}
    assert kinds <= set(PREFIXES), kinds - set(PREFIXES)
