"""SPARQL over a built release's store answers the questions a researcher would ask."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, cli

PREFIXES = """
PREFIX fhkg: <https://w3id.org/finhealthkg/def/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX time: <http://www.w3.org/2006/time#>
PREFIX schema: <https://schema.org/>
PREFIX adms: <http://www.w3.org/ns/adms#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
ORG = "https://w3id.org/finhealthkg/id/organization/"


@pytest.fixture(scope="module")
def store(release):
    return release.open_store()


def select(store, query: str) -> list[dict[str, str]]:
    answer = store.query(PREFIXES + query)
    names = [v.value for v in answer.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in answer]


def slugs(rows, key="x") -> set[str]:
    return {row[key].removeprefix(ORG) for row in rows}


def test_which_centres_does_the_ministry_support(store):
    rows = select(store, """SELECT ?x WHERE {
        ?ministry skos:prefLabel "Ministry of Social Affairs and Health"@en ; fhkg:supports ?x }""")
    assert slugs(rows) == {"national-genome-centre", "national-cancer-centre", "neurocenter-finland",
                           "national-drug-development-centre", "finnish-biobank-cooperative"}


def test_which_biobanks_belong_to_the_cooperative(store):
    rows = select(store, """SELECT ?x ?fi WHERE {
        ?x org:memberOf ?coop ; a fhkg:Biobank ; skos:prefLabel ?fi FILTER (lang(?fi) = "fi")
        ?coop a fhkg:Cooperative }""")
    assert slugs(rows) == {"auria-biobank", "helsinki-biobank", "finnish-clinical-biobank-tampere",
                           "biobank-of-eastern-finland", "central-finland-biobank", "biobank-borealis",
                           "arctic-biobank", "thl-biobank"}
    assert "Auria Biopankki" in {row["fi"] for row in rows}
    # Terveystalo Biobank cooperates by agreement but is not a member.
    assert select(store, f"SELECT ?c WHERE {{ <{ORG}terveystalo-biobank> org:memberOf ?c }}") == []


def test_which_regional_centres_form_the_cancer_network(store):
    rows = select(store, """SELECT ?x ?host WHERE {
        ?x a fhkg:RegionalCentre ; fhkg:partOfNetwork ?network ; fhkg:hostedBy ?host .
        ?network skos:altLabel "National Cancer Centre"@en }""")
    assert slugs(rows) == {"fican-south", "fican-west", "fican-mid", "fican-east", "fican-north"}
    hosts = {row["x"].removeprefix(ORG): row["host"].removeprefix(ORG) for row in rows}
    assert hosts["fican-west"] == "turku-university-hospital"


def test_what_is_to_be_established_in_2021_2023(store):
    rows = select(store, """SELECT ?x WHERE {
        ?x fhkg:establishmentPeriod ?period .
        ?period time:hasBeginning/time:inXSDgYear ?begin ; time:hasEnd/time:inXSDgYear ?end .
        FILTER (?begin = "2021"^^xsd:gYear && ?end = "2023"^^xsd:gYear) }""")
    assert slugs(rows) == {"national-genome-centre", "national-cancer-centre", "neurocenter-finland",
                           "national-drug-development-centre", "finnish-biobank-cooperative"}


def test_what_was_founded_in_2021_2023(store):
    rows = select(store, """SELECT ?x ?date WHERE {
        ?x schema:foundingDate ?date .
        FILTER (xsd:integer(SUBSTR(STR(?date), 1, 4)) >= 2021 && xsd:integer(SUBSTR(STR(?date), 1, 4)) <= 2023) }""")
    assert slugs(rows) == {"national-drug-development-centre"}
    assert rows[0]["date"] == "2022-02-04"


def test_status_of_the_centres(store):
    rows = select(store, """SELECT ?x ?status WHERE {
        ?x a fhkg:NationalCentreOfExcellence ; adms:status/skos:prefLabel ?status FILTER (lang(?status) = "en") }""")
    status = {row["x"].removeprefix(ORG): row["status"] for row in rows}
    assert status["national-genome-centre"] == "in preparation"
    assert status["national-cancer-centre"] == "established"


def test_both_spellings_of_neurocentre_find_one_iri(store):
    for spelling in ("Neurocentre Finland", "Neurocenter Finland"):
        rows = select(store, f"""SELECT DISTINCT ?x WHERE {{
            {{ ?x skos:prefLabel "{spelling}"@en }} UNION {{ ?x skos:altLabel "{spelling}"@en }} }}""")
        assert slugs(rows) == {"neurocenter-finland"}


def test_every_fact_leads_to_its_source(store):
    rows = select(store, """SELECT ?page WHERE {
        <https://w3id.org/finhealthkg/id/organization/auria-biobank> dcterms:source ?s .
        ?s <http://xmlns.com/foaf/0.1/page> ?page }""")
    assert "https://elixir-finland.org/en/bank-of-million-patient-samples-getting-bigger/" in {
        row["page"] for row in rows}


def test_ontology_is_queryable_with_the_data(store):
    rows = select(store, """SELECT ?label WHERE { fhkg:Biobank rdfs:label ?label FILTER (lang(?label) = "fi") }""")
    assert [row["label"] for row in rows] == ["biopankki"]


def test_query_command_in_every_format(release):
    args = ("--root", str(REPO), "--releases", str(release.path.parent))
    query = PREFIXES + "SELECT ?x WHERE { ?x a fhkg:RegionalCentre } ORDER BY ?x"
    done = cli("query", query, "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    bindings = json.loads(done.stdout)["results"]["bindings"]
    assert len(bindings) == 5
    table = cli("query", query, *args)
    assert "(5 rows)" in table.stdout and "fican-west" in table.stdout
    csv = cli("query", query, "--format", "csv", *args)
    assert csv.stdout.splitlines()[0].strip() == "x"
    construct = cli("query", PREFIXES + "CONSTRUCT WHERE { ?x a fhkg:RegionalCentre }", *args)
    assert "organization:fican-west" in construct.stdout
    bad = cli("query", "SELEC ?x", *args)
    assert bad.returncode == 2 and "does not parse" in bad.stderr
