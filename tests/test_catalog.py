"""The DCAT catalogue of a release (catalog.ttl) is what a data portal harvests: it must
conform to DCAT-AP 3.0.0 and say what the release really holds.

The DCAT-AP shapes are third-party test material kept outside the repository, in
<repo>/../shared/external/dcat-ap/ (see its README.md); they are read from there, never copied.
Which shapes, and why (all from releases/3.0.0/):

- html/shacl/shapes.ttl + range.ttl, the "core" check a harvesting portal applies: mandatory
  properties, cardinalities, literal datatypes (shapes.ttl) and the classes of linked things
  (range.ttl). Every result, whatever its severity, fails the test. One erratum is corrected in
  memory: shapes.ttl of 3.0.0 wants dcat:byteSize as xsd:decimal, against the 3.0.0 template and
  DCAT 3 (xsd:nonNegativeInteger); 3.0.1 fixed exactly that line (upstream issue 399).
- shacl/dcat-ap-SHACL.ttl, the consolidated 3.0.0 "SHACL template": the same constraints in a
  newer layout, checked on its own (never loaded together with the html/shacl files, which it
  duplicates). It gives URL-valued properties (dcat:accessURL, dcat:endpointURL, ...) the class
  rdfs:Resource, which every IRI has only under RDFS entailment (rule rdfs4): this check alone
  runs with inference="rdfs". The catalogue holds no schema triples, so the entailment adds
  nothing that could satisfy another class constraint.
- html/shacl/shapes_recommended.ttl + deprecateduris.ttl, a weaker check: no Violations, and the
  Warnings (recommended properties we leave out) are exactly the ones listed, each with its reason.
- html/shacl/mdr-vocabularies.shape.ttl, the controlled-vocabulary check. The EU code lists it
  needs are remote and not loaded; the catalogue itself states the skos:inScheme of the authority
  values it uses. Its results are exactly the listed ones (an upstream defect and a Warning).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, SH
from rdflib.term import Node

from conftest import EXTERNAL, REPO, not_here
from finhealthkg.catalog import SPDX
from finhealthkg.namespaces import DCAT
from finhealthkg.release import Release

DCAT_AP = EXTERNAL / "dcat-ap"
RELEASE_3_0_0 = DCAT_AP / "releases" / "3.0.0"
CORE = ("html/shacl/shapes.ttl", "html/shacl/range.ttl")
TEMPLATE = ("shacl/dcat-ap-SHACL.ttl",)
RECOMMENDED = ("html/shacl/shapes_recommended.ttl", "html/shacl/deprecateduris.ttl")
VOCABULARIES = ("html/shacl/mdr-vocabularies.shape.ttl",)

# a plain Namespace: pytest probes module attributes, and rdflib's XSD warns on unknown ones
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
DCATAP = "http://data.europa.eu/r5r/"
CC_BY_4 = URIRef("https://creativecommons.org/licenses/by/4.0/")
ENDPOINT = URIRef("https://w3id.org/finhealthkg/sparql")
IANA = "http://www.iana.org/assignments/media-types/"
# download -> (media type, compression) the catalogue must announce
DOWNLOADS = {
    "dataset.ttl": (IANA + "text/turtle", None),
    "dataset.nt.gz": (IANA + "application/n-triples", IANA + "application/gzip"),
    "dataset.jsonld": (IANA + "application/ld+json", None),
}

# Recommended properties the catalogue leaves out, as (class of the focus node, property).
RECOMMENDED_BUT_ABSENT = {
    ("Distribution", URIRef(DCATAP + "availability")):
        "planned availability is a promise about how long the publisher hosts the downloads; "
        "the build cannot make it on the publisher's behalf",
    ("Catalog", DCTERMS.issued):
        "the date the catalogue was first issued is not known to a build; each release would "
        "restate its own date, which dcterms:modified already gives",
    ("Dataset", DCTERMS.temporal):
        "the knowledge graph describes organisations with a dated source per fact, not a period",
    ("Agent", DCTERMS.type):
        "the publisher's ADMS publisher type is not stated in the sources, and guessing one "
        "would be a false statement",
    ("Location", DCAT.bbox):
        "the country is an EU authority IRI; its geometry is the authority's to publish",
    ("Location", DCAT.centroid):
        "the country is an EU authority IRI; its geometry is the authority's to publish",
}
# Results of the controlled-vocabulary shapes, as (severity, class of the focus node, property).
VOCABULARY_RESULTS = {
    (SH.Violation, "Checksum", SPDX.algorithm):
        "upstream defect: the shape wants the algorithm IRI to start with https://spdx.org/rdf/terms, "
        "but the SPDX namespace (and DCAT-AP's own spdx: prefix) is http://spdx.org/rdf/terms#",
    (SH.Warning, "Catalog", DCTERMS.publisher):
        "the publisher is a project, not a body of the EU corporate-body table",
    (SH.Warning, "Dataset", DCTERMS.publisher):
        "the publisher is a project, not a body of the EU corporate-body table",
}
KINDS = {DCAT.Catalog: "Catalog", DCAT.Dataset: "Dataset", DCAT.DataService: "DataService",
         DCAT.Distribution: "Distribution", SPDX.Checksum: "Checksum", FOAF.Agent: "Agent",
         DCTERMS.Location: "Location", DCTERMS.LicenseDocument: "LicenseDocument"}


# --- the shapes ------------------------------------------------------------------------------


def shapes(*names: str) -> Graph:
    """The named DCAT-AP 3.0.0 shape files, parsed together; skip if they are not there."""
    graph = Graph()
    for name in names:
        path = RELEASE_3_0_0 / name
        if not path.is_file():
            not_here(
                f"DCAT-AP 3.0.0 shapes not found: expected {path} (the DCAT-AP test material in "
                f"{DCAT_AP}, beside the repository {REPO}; see the README.md there). "
                "The DCAT-AP conformance of catalog.ttl was NOT checked; set FINHEALTHKG_EXTERNAL to shared/external.")
        graph.parse(path, format="turtle")
    return graph


def correct_byte_size_erratum(graph: Graph) -> Graph:
    """shapes.ttl of 3.0.0 says dcat:byteSize is xsd:decimal; 3.0.1 says xsd:nonNegativeInteger."""
    for shape in list(graph.subjects(SH.path, DCAT.byteSize)):
        if (shape, SH.datatype, XSD.decimal) in graph:
            graph.remove((shape, SH.datatype, XSD.decimal))
            graph.add((shape, SH.datatype, XSD.nonNegativeInteger))
    return graph


@pytest.fixture(scope="module")
def core_shapes() -> Graph:
    return correct_byte_size_erratum(shapes(*CORE))


@pytest.fixture(scope="module")
def catalogue(release: Release) -> Graph:
    return Graph().parse(release.file("catalog.ttl"), format="turtle")


def check(data: Graph, shape_graph: Graph, inference: str = "none") -> tuple[bool, Graph, str]:
    """pySHACL's (conforms, report graph, report text); any result, even a Warning, is non-conformance."""
    conforms, report, text = validate(data, shacl_graph=shape_graph, inference=inference,
                                      allow_warnings=False)
    return conforms, report, text


def results_of(report: Graph, data: Graph) -> list[tuple[Node, str, Node]]:
    """(severity, class of the focus node, path) of every top-level result of a report."""
    found = []
    for result in report.objects(None, SH.result):
        focus = report.value(result, SH.focusNode)
        found.append((report.value(result, SH.resultSeverity), kind(data, focus),
                      report.value(result, SH.resultPath)))
    return found


def kind(data: Graph, node: Node | None) -> str:
    types = set(data.objects(node, RDF.type))
    return next((name for cls, name in KINDS.items() if cls in types), str(node))


# --- conformance -----------------------------------------------------------------------------


def test_catalogue_conforms_to_dcat_ap_core_and_ranges(catalogue, core_shapes):
    conforms, _, text = check(catalogue, core_shapes)
    assert conforms, f"catalog.ttl does not conform to DCAT-AP 3.0.0 ({', '.join(CORE)}):\n{text}"


def test_catalogue_conforms_to_dcat_ap_template(catalogue):
    conforms, _, text = check(catalogue, shapes(*TEMPLATE), inference="rdfs")
    assert conforms, f"catalog.ttl does not conform to DCAT-AP 3.0.0 ({TEMPLATE[0]}):\n{text}"


def test_uncorrected_core_shapes_object_only_to_the_byte_size_datatype(catalogue):
    """Without the erratum corrected, the only complaint is the datatype of dcat:byteSize."""
    _, report, text = check(catalogue, shapes(*CORE))
    complaints = {(report.value(r, SH.resultPath), report.value(r, SH.sourceConstraintComponent))
                  for r in report.objects(None, SH.result)}
    assert complaints == {(DCAT.byteSize, SH.DatatypeConstraintComponent)}, text
    values = {report.value(r, SH.value) for r in report.objects(None, SH.result)}
    assert {value.datatype for value in values} == {XSD.nonNegativeInteger}


def test_recommended_shapes_give_only_the_known_warnings(catalogue):
    _, report, text = check(catalogue, shapes(*RECOMMENDED))
    found = results_of(report, catalogue)
    assert all(severity == SH.Warning for severity, _, _ in found), text
    unexplained = {(focus, path) for _, focus, path in found} - set(RECOMMENDED_BUT_ABSENT)
    assert not unexplained, f"recommended properties missing without a reason: {unexplained}\n{text}"
    met = set(RECOMMENDED_BUT_ABSENT) - {(focus, path) for _, focus, path in found}
    assert not met, f"now met, remove from RECOMMENDED_BUT_ABSENT: {met}"


def test_controlled_vocabulary_shapes_give_only_the_known_results(catalogue):
    _, report, text = check(catalogue, shapes(*VOCABULARIES))
    assert set(results_of(report, catalogue)) == set(VOCABULARY_RESULTS), text


# (class, mandatory property): removed from one thing of that class, the catalogue must fail
MANDATORY = [(DCAT.Dataset, DCTERMS.description), (DCAT.Distribution, DCAT.accessURL)]


@pytest.mark.parametrize(("cls", "prop"), MANDATORY, ids=["dataset-description", "distribution-accessURL"])
def test_shapes_reject_a_catalogue_without_a_mandatory_property(catalogue, core_shapes, cls, prop):
    """The check can fail: drop a mandatory property and both shape sets say so, and only that."""
    broken = Graph()
    broken += catalogue
    focus = sorted(broken.subjects(RDF.type, cls))[0]
    assert (focus, prop, None) in broken
    broken.remove((focus, prop, None))
    for shape_graph, inference in ((core_shapes, "none"), (shapes(*TEMPLATE), "rdfs")):
        conforms, report, text = check(broken, shape_graph, inference)
        assert not conforms
        found = [(report.value(r, SH.resultSeverity), report.value(r, SH.focusNode),
                  report.value(r, SH.resultPath), report.value(r, SH.sourceConstraintComponent))
                 for r in report.objects(None, SH.result)]
        assert found == [(SH.Violation, focus, prop, SH.MinCountConstraintComponent)], text


# --- what a harvester reads ------------------------------------------------------------------


def one(graph: Graph, cls: URIRef) -> URIRef:
    found = list(graph.subjects(RDF.type, cls))
    assert len(found) == 1, f"expected one {cls}, found {found}"
    return found[0]


def catalogued(graph: Graph) -> tuple[URIRef, URIRef]:
    """The catalogue and the one dataset it lists (its releases are datasets too, as its versions)."""
    catalog = one(graph, DCAT.Catalog)
    (dataset,) = graph.objects(catalog, DCAT.dataset)
    return catalog, dataset


def languages(values: Iterable[Node]) -> set[str | None]:
    return {value.language for value in values if isinstance(value, Literal)}


def test_catalogue_has_one_catalogue_and_one_dataset_in_english_and_finnish(catalogue, release):
    catalog, dataset = catalogued(catalogue)
    versions = set(catalogue.objects(dataset, DCAT.hasVersion))
    assert set(catalogue.subjects(RDF.type, DCAT.Dataset)) == {dataset, *versions}
    for predicate in (DCTERMS.title, DCTERMS.description):
        assert {"en", "fi"} <= languages(catalogue.objects(dataset, predicate)), predicate
        assert {"en", "fi"} <= languages(catalogue.objects(catalog, predicate)), predicate
    assert {"en", "fi"} <= languages(catalogue.objects(dataset, DCAT.keyword))
    assert list(catalogue.objects(dataset, DCAT.version)) == [Literal(release.version)]
    assert list(catalogue.objects(dataset, DCTERMS.license)) == [CC_BY_4]
    assert list(catalogue.objects(catalog, DCTERMS.license)) == [CC_BY_4]


def test_distributions_match_the_release_files(catalogue, release):
    _, dataset = catalogued(catalogue)
    distributions = set(catalogue.objects(dataset, DCAT.distribution))
    of_versions = {d for version in catalogue.objects(dataset, DCAT.hasVersion)
                   for d in catalogue.objects(version, DCAT.distribution)}
    assert set(catalogue.subjects(RDF.type, DCAT.Distribution)) == distributions | of_versions
    assert len(distributions) == 3
    by_name = {}
    for distribution in distributions:
        (url,) = catalogue.objects(distribution, DCAT.downloadURL)
        by_name[str(url).rsplit("/", 1)[1]] = distribution
    assert set(by_name) == set(DOWNLOADS)
    for name, distribution in by_name.items():
        entry = release.manifest["files"][name]
        media_type, compression = DOWNLOADS[name]
        assert list(catalogue.objects(distribution, DCAT.mediaType)) == [URIRef(media_type)], name
        assert list(catalogue.objects(distribution, DCAT.compressFormat)) == (
            [URIRef(compression)] if compression else []), name
        assert list(catalogue.objects(distribution, DCTERMS.license)) == [CC_BY_4], name
        (size,) = catalogue.objects(distribution, DCAT.byteSize)
        assert size.datatype == XSD.nonNegativeInteger
        assert size.toPython() == entry["bytes"] == release.file(name).stat().st_size, name
        (checksum,) = catalogue.objects(distribution, SPDX.checksum)
        assert (checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256) in catalogue
        (value,) = catalogue.objects(checksum, SPDX.checksumValue)
        actual = hashlib.sha256(release.file(name).read_bytes()).hexdigest()
        assert str(value) == entry["sha256"] == actual, name


def test_sparql_endpoint_is_a_data_service_serving_the_dataset(catalogue):
    catalog, dataset = catalogued(catalogue)
    service = one(catalogue, DCAT.DataService)
    assert (catalog, DCAT.service, service) in catalogue
    assert list(catalogue.objects(service, DCAT.endpointURL)) == [ENDPOINT]
    assert list(catalogue.objects(service, DCAT.servesDataset)) == [dataset]
    assert list(catalogue.objects(service, DCTERMS.license)) == [CC_BY_4]



# --- what a harvester gets -------------------------------------------------------------------

RELEASE_3_0_1 = DCAT_AP / "releases" / "3.0.1"


def shapes_3_0_1(*names: str) -> Graph:
    graph = Graph()
    for name in names:
        path = RELEASE_3_0_1 / name
        if not path.is_file():
            not_here(f"DCAT-AP 3.0.1 shapes not found: expected {path}; the served catalogue was NOT checked "
                     "against 3.0.1")
        graph.parse(path, format="turtle")
    return graph


@pytest.mark.parametrize("media_type, syntax", [("text/turtle", "turtle"), ("application/ld+json", "json-ld")])
def test_the_served_catalogue_conforms_to_dcat_ap_3_0_0_and_3_0_1(server, core_shapes, media_type, syntax):
    """/catalog as a harvester gets it, from either store: the datatypes the release wrote
    (a store may read xsd:nonNegativeInteger back as xsd:integer; the server serves the file)."""
    import requests

    response = requests.get(server + "/catalog", headers={"Accept": media_type}, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(media_type)
    served = Graph().parse(data=response.text, format=syntax)
    sizes = list(served.objects(None, DCAT.byteSize))
    assert sizes and {size.datatype for size in sizes} == {XSD.nonNegativeInteger}
    for name, shape_graph, inference in (
            ("3.0.0 core and ranges", core_shapes, "none"),
            ("3.0.0 template", shapes(*TEMPLATE), "rdfs"),
            # 3.0.1's consolidated shacl/dcat-ap-SHACL.ttl is refused by pyshacl itself (a property
            # shape of its DataServiceShape is not well-formed); its core shapes are checked
            ("3.0.1 core", shapes_3_0_1("html/shacl/shapes.ttl"), "none")):
        conforms, _, text = check(served, shape_graph, inference=inference)
        assert conforms, f"the served /catalog ({media_type}) does not conform to DCAT-AP {name}:\n{text}"
