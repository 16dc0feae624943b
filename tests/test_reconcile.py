"""/reconcile, end to end over HTTP: the requests OpenRefine sends (Reconciliation Service API
0.2: the manifest, with and without JSONP; query batches form-encoded in a POST and in a GET;
type and property constraints; suggest, preview, view; property proposals and data
extension) and the 1.0 draft's JSON bodies, checked against the specification's shapes and
against the graph (asked over /sparql), with a table of real name variants that must match
the right IRI first."""

from __future__ import annotations

import json

import pytest
import requests

from conftest import EXTERNAL, not_here
from test_pages import BROWSER

ID = "https://w3id.org/finhealthkg/id/organization/"
FHKG = "https://w3id.org/finhealthkg/def/"
ORG = "http://www.w3.org/ns/org#"
SCHEMA = "https://schema.org/"
FOAF = "http://xmlns.com/foaf/0.1/"
JSON_ACCEPT = {"Accept": "application/json"}

# A portal's spreadsheet: names as other registers write them (facts.md: Finnish, Swedish and
# English names, acronyms, old names), the type a user would pick, and the IRI each must match.
TABLE = [
    ("Tyks", ORG + "Organization", "turku-university-hospital"),
    ("Auria Biopankki", FHKG + "Biobank", "auria-biobank"),
    ("Helsinki Biobank", FHKG + "Biobank", "helsinki-biobank"),
    ("Sosiaali- ja terveysministeriö", ORG + "Organization", "ministry-of-social-affairs-and-health"),
    ("Social- och hälsovårdsministeriet", ORG + "Organization", "ministry-of-social-affairs-and-health"),
    ("STM", ORG + "Organization", "ministry-of-social-affairs-and-health"),
    ("FINBB", ORG + "Organization", "finnish-biobank-cooperative"),
    ("Biopankkien Osuuskunta Suomi – FINBB", ORG + "Organization", "finnish-biobank-cooperative"),
    ("Comprehensive Cancer Center Finland", FHKG + "NationalCentreOfExcellence", "national-cancer-centre"),
    ("Kansallinen syöpäkeskus", FHKG + "NationalCentreOfExcellence", "national-cancer-centre"),
    ("Neurocentre Finland", FHKG + "NationalCentreOfExcellence", "neurocenter-finland"),
    ("Genomikeskus", FHKG + "NationalCentreOfExcellence", "national-genome-centre"),
    ("Läntinen Syöpäkeskus", FHKG + "RegionalCentre", "fican-west"),
    ("Hälsocampus Åbo", FHKG + "CampusNetwork", "health-campus-turku"),
    ("Terveyskampus Turku", FHKG + "CampusNetwork", "health-campus-turku"),
    ("Itä-Suomen Biopankki", FHKG + "Biobank", "biobank-of-eastern-finland"),
    ("Keski-Suomen biopankki", FHKG + "Biobank", "central-finland-biobank"),
    ("THL Biopankki", FHKG + "Biobank", "thl-biobank"),
    ("Kansallinen lääkekehityskeskus Oy", ORG + "Organization", "national-drug-development-centre"),
    ("HUS", ORG + "Organization", "helsinki-and-uusimaa-hospital-district"),
]


def ask(server: str, query: str) -> bool:
    answer = requests.get(server + "/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    return answer.json()["boolean"]


def rows(server: str, query: str) -> list[dict]:
    answer = requests.get(server + "/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    return [{k: v["value"] for k, v in b.items()} for b in answer.json()["results"]["bindings"]]


@pytest.fixture(scope="module")
def manifest(server) -> dict:
    response = requests.get(server + "/reconcile")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"  # OpenRefine in a browser may ask directly
    return response.json()


def test_the_manifest_has_what_the_0_2_specification_requires(server, manifest):
    assert "0.2" in manifest["versions"]
    for key in ("name", "identifierSpace", "schemaSpace"):
        assert isinstance(manifest[key], str) and manifest[key]
    assert manifest["identifierSpace"] == "https://w3id.org/finhealthkg/id/"
    assert "{{id}}" in manifest["view"]["url"] and "{{id}}" in manifest["preview"]["url"]
    assert isinstance(manifest["preview"]["width"], int) and isinstance(manifest["preview"]["height"], int)
    types = {t["id"]: t["name"] for t in manifest["defaultTypes"]}
    assert {FHKG + "Biobank", FHKG + "NationalCentreOfExcellence", FHKG + "RegionalCentre",
            ORG + "Organization"} <= set(types)
    assert len(types) == len(manifest["defaultTypes"]) and all(types.values())
    for kind in ("entity", "type", "property"):
        service = manifest["suggest"][kind]
        assert service["service_url"].startswith(server) and service["service_path"].startswith("/")
    assert manifest["extend"]["propose_properties"]["service_url"] == server + "/reconcile"


def test_the_manifest_as_jsonp(server, manifest):
    response = requests.get(server + "/reconcile", params={"callback": "jQuery3410_17"})
    assert response.headers["Content-Type"].startswith("application/javascript")
    body = response.text
    assert body.startswith("/**/jQuery3410_17(") and body.endswith(");")
    assert json.loads(body[len("/**/jQuery3410_17("):-2]) == manifest
    bad = requests.get(server + "/reconcile", params={"callback": "alert(1)//"}, headers=JSON_ACCEPT)
    assert bad.status_code == 400 and "callback" in bad.json()["error"]["message"]


def _batch(server: str, queries: dict, *, method: str = "POST") -> dict:
    """A query batch sent as OpenRefine sends it: form-encoded `queries=` in a POST (or a GET)."""
    if method == "POST":
        response = requests.post(server + "/reconcile", data={"queries": json.dumps(queries)})
    else:
        response = requests.get(server + "/reconcile", params={"queries": json.dumps(queries)})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    answer = response.json()
    assert set(answer) == set(queries)
    for result in answer.values():  # the shape of a 0.2 reconciliation result batch
        for candidate in result["result"]:
            assert isinstance(candidate["id"], str) and isinstance(candidate["name"], str)
            assert 0 <= candidate["score"] <= 100 and isinstance(candidate["match"], bool)
            assert all(isinstance(t["id"], str) for t in candidate["type"])
            assert all({"id", "value"} <= set(f) for f in candidate["features"])
        assert sum(c["match"] for c in result["result"]) <= 1
    return answer


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_table_of_real_name_variants_matches_the_right_iri_first(server, method):
    table = TABLE if method == "POST" else TABLE[:6]  # a GET's request line is bounded (gunicorn: 4094 bytes)
    queries = {f"q{i}": {"query": name, "type": type_, "limit": 3, "type_strict": "should"}
               for i, (name, type_, _) in enumerate(table)}
    answer = _batch(server, queries, method=method)
    for i, (name, type_, slug) in enumerate(table):
        result = answer[f"q{i}"]["result"]
        assert result, name
        best = result[0]
        assert best["id"] == ID + slug, (name, result)
        assert best["match"] is True, (name, result)
        assert best["score"] >= 95
        assert ask(server, f"ASK {{ <{best['id']}> a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{type_}> }}")
        assert len(result) <= 3


def test_without_a_type_and_with_a_list_of_types(server):
    answer = _batch(server, {"a": {"query": "Auria Biobank"},
                             "b": {"query": "turku", "type": [FHKG + "CampusNetwork", FHKG + "Biobank"]}})
    assert answer["a"]["result"][0]["id"] == ID + "auria-biobank"
    assert {t["id"] for t in answer["a"]["result"][0]["type"]} == {FHKG + "Biobank"}
    assert answer["b"]["result"]
    for candidate in answer["b"]["result"]:
        assert {t["id"] for t in candidate["type"]} & {FHKG + "CampusNetwork", FHKG + "Biobank"}


def test_ambiguous_names_are_candidates_but_not_matches(server):
    answer = _batch(server, {"q0": {"query": "Biobank", "type": FHKG + "Biobank", "limit": 5},
                             "q1": {"query": "University Hospital", "type": ORG + "Organization", "limit": 5}})
    for key in ("q0", "q1"):
        assert len(answer[key]["result"]) >= 2
        assert not any(c["match"] for c in answer[key]["result"])


def test_property_constraints_reorder_candidates(server):
    oulu = "https://w3id.org/finhealthkg/id/place/oulu"
    answer = _batch(server, {
        "by_name": {"query": "Biobank", "type": FHKG + "Biobank", "limit": 10,
                    "properties": [{"pid": SCHEMA + "location", "v": "Oulu"}]},
        "by_id": {"query": "Biobank", "type": FHKG + "Biobank", "limit": 10,
                  "properties": [{"pid": "schema:location", "v": {"id": oulu, "name": "Oulu"}}]},
        "confirmed": {"query": "Auria Biopankki", "properties": [{"pid": SCHEMA + "location", "v": "Turku"},
                                                                 {"pid": FOAF + "homepage",
                                                                  "v": "https://www.auria.fi/biopankki"}]},
        "contradicted": {"query": "Auria Biopankki", "properties": [{"pid": SCHEMA + "location", "v": "Oulu"}]},
    })
    query = f"SELECT ?b WHERE {{ ?b a <{FHKG}Biobank> ; <{SCHEMA}location> <{oulu}> }}"
    in_oulu = {r["b"] for r in rows(server, query)}
    assert len(in_oulu) == 2
    for key in ("by_name", "by_id"):
        result = answer[key]["result"]
        assert {c["id"] for c in result[:2]} == in_oulu, result
        assert min(c["score"] for c in result[:2]) > max(c["score"] for c in result[2:])
    confirmed = answer["confirmed"]["result"][0]
    assert confirmed["id"] == ID + "auria-biobank" and confirmed["match"] and confirmed["score"] == 100
    contradicted = answer["contradicted"]["result"][0]
    assert contradicted["id"] == ID + "auria-biobank" and not contradicted["match"] and contradicted["score"] < 95


def test_an_iri_as_query_finds_that_thing(server):
    answer = _batch(server, {"q": {"query": ID + "arctic-biobank"}})
    assert answer["q"]["result"][0]["id"] == ID + "arctic-biobank" and answer["q"]["result"][0]["match"]


def test_the_1_0_draft_json_body(server):
    batch = {"queries": [
        {"conditions": [{"matchType": "name", "propertyValue": "Tyks"}], "type": ORG + "Organization", "limit": 2},
        {"conditions": [{"matchType": "name", "propertyValue": "Biobank"},
                        {"matchType": "property", "propertyId": SCHEMA + "location", "propertyValue": "Jyväskylä",
                         "required": False, "matchQuantifier": "any", "matchQualifier": "ExactMatch"}], "limit": 3},
    ]}
    for path in ("/reconcile/reconcile", "/reconcile"):
        response = requests.post(server + path, json=batch)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert len(results) == 2
        assert results[0]["candidates"][0]["id"] == ID + "turku-university-hospital"
        assert results[0]["candidates"][0]["match"] is True
        assert results[1]["candidates"][0]["id"] == ID + "central-finland-biobank"
        assert all({"id", "name", "value"} <= set(f) for c in results[1]["candidates"] for f in c["features"])


def test_suggest_entities_types_and_properties(server):
    entity = requests.get(server + "/reconcile/suggest/entity", params={"prefix": "Auria Bio"}).json()["result"]
    assert entity[0]["id"] == ID + "auria-biobank" and entity[0]["name"] == "Auria Biobank"
    assert {"id": FHKG + "Biobank", "name": "biobank"} in entity[0]["notable"]
    finnish = requests.get(server + "/reconcile/suggest/entity", params={"prefix": "sosiaali", "lang": "fi"}).json()
    assert finnish["result"][0]["name"] == "Sosiaali- ja terveysministeriö"
    more = requests.get(server + "/reconcile/suggest/entity", params={"prefix": "biobank", "cursor": "3"}).json()
    first = requests.get(server + "/reconcile/suggest/entity", params={"prefix": "biobank"}).json()
    assert first["result"][3]["id"] == more["result"][0]["id"]
    types = requests.get(server + "/reconcile/suggest/type", params={"prefix": "bioba"}).json()["result"]
    assert FHKG + "Biobank" in [t["id"] for t in types]
    properties = requests.get(server + "/reconcile/suggest/property", params={"prefix": "home"}).json()["result"]
    assert FOAF + "homepage" in [p["id"] for p in properties]
    assert requests.get(server + "/reconcile/suggest/colour", headers=JSON_ACCEPT).status_code == 404


def test_preview_is_a_framable_html_snippet(server):
    response = requests.get(server + "/reconcile/preview", params={"id": ID + "auria-biobank"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "Auria Biobank" in response.text and ID + "auria-biobank" in response.text
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    page = requests.get(server + "/", headers={"Accept": BROWSER})  # other pages still refuse frames
    assert page.headers["X-Frame-Options"] == "DENY"
    missing = requests.get(server + "/reconcile/preview", params={"id": ID + "nothing"}, headers=JSON_ACCEPT)
    assert missing.status_code == 404
    assert requests.get(server + "/reconcile/preview", headers=JSON_ACCEPT).status_code == 400


def test_view_leads_to_the_thing_on_this_server(server, manifest):
    url = manifest["view"]["url"].replace("{{id}}", ID + "fican-west")
    response = requests.get(url, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/id/organization/fican-west")
    assert requests.get(url, headers={"Accept": "text/turtle"}).status_code == 200
    outside = requests.get(server + "/reconcile/view", params={"id": "https://example.org/x"}, headers=JSON_ACCEPT)
    assert outside.status_code == 404
    for odd in (ID + "fican-west\nx", ID + "fican-west\r\nSet-Cookie: x=1", ID + "fican-west/more",
                ID.replace("organization", "unicorn") + "x", ID):
        answer = requests.get(server + "/reconcile/view", params={"id": odd}, headers=JSON_ACCEPT,
                              allow_redirects=False)
        assert answer.status_code == 404 and "Set-Cookie" not in answer.headers, (odd, answer.status_code)


def test_property_proposals_and_data_extension_agree_with_the_graph(server):
    proposed = requests.get(server + "/reconcile/extend/propose", params={"type": FHKG + "Biobank", "limit": 30}).json()
    assert proposed["type"] == FHKG + "Biobank"
    ids = [p["id"] for p in proposed["properties"]]
    assert {FOAF + "homepage", SCHEMA + "location", ORG + "memberOf", FHKG + "registrationDate"} <= set(ids)
    assert all(p["name"] for p in proposed["properties"])
    biobanks = [ID + "auria-biobank", ID + "arctic-biobank", ID + "no-such-thing"]
    properties = [SCHEMA + "location", FOAF + "homepage", FHKG + "registrationDate", ORG + "memberOf"]
    extension = {"ids": biobanks, "properties": [{"id": p} for p in properties]}
    as_form = requests.post(server + "/reconcile", data={"extend": json.dumps(extension)}).json()
    as_json = requests.post(server + "/reconcile/extend", json=extension).json()
    assert as_form == as_json
    assert [m["id"] for m in as_form["meta"]] == properties and all(m["name"] for m in as_form["meta"])
    auria = as_form["rows"][ID + "auria-biobank"]
    assert auria[SCHEMA + "location"] == [{"id": "https://w3id.org/finhealthkg/id/place/turku", "name": "Turku"}]
    assert auria[FOAF + "homepage"] == [{"str": "https://www.auria.fi/biopankki"}]
    assert auria[FHKG + "registrationDate"] == [{"date": "2014-03-10T00:00:00Z"}]
    assert as_form["rows"][ID + "no-such-thing"] == {p: [] for p in properties}
    for iri in biobanks[:2]:  # every value is in the graph, and every value of the graph is there
        for prop in properties:
            found = {row["o"] for row in rows(server, f"SELECT ?o WHERE {{ <{iri}> <{prop}> ?o }}")}
            given = {v.get("id") or v.get("str") or v.get("date", "")[:10] for v in as_form["rows"][iri][prop]}
            assert given == found, (iri, prop)


@pytest.mark.parametrize(("request_", "says"), [
    (("POST", "/reconcile", {"data": {"queries": "{not json"}}), "not JSON"),
    (("GET", "/reconcile", {"params": {"queries": "[1, 2]"}}), "JSON object of queries"),
    (("POST", "/reconcile", {"data": {"queries": json.dumps({"q0": "Tyks"})}}), "not a JSON object"),
    (("POST", "/reconcile", {"data": {"queries": json.dumps({"q0": {"query": "Tyks", "limit": "x"}})}}), "limit"),
    (("POST", "/reconcile", {"data": {"queries": json.dumps({"q0": {"query": "Tyks", "type": 7}})}}), "type"),
    (("POST", "/reconcile", {"data": {"queries": json.dumps({"q0": {"query": "x", "properties": [{"v": 1}]}})}}),
     "pid"),
    (("POST", "/reconcile", {"data": {"queries": json.dumps({f"q{i}": {"query": "x"} for i in range(201)})}}),
     "at most 200"),
    (("POST", "/reconcile/reconcile", {"data": "{oops", "headers": {"Content-Type": "application/json"}}),
     "not JSON"),
    (("POST", "/reconcile", {"json": {"queries": [{"conditions": []}]}}), "conditions"),
    (("POST", "/reconcile", {"data": {"extend": json.dumps({"ids": "x"})}}), "data extension query"),
    (("GET", "/reconcile/extend/propose", {"params": {"type": "nosuchprefix:X"}}), "prefixed name"),
    (("GET", "/reconcile/suggest/entity", {"params": {"prefix": "a", "cursor": "next"}}), "cursor"),
])
def test_bad_requests_are_told_why_in_json(server, request_, says):
    method, path, options = request_
    headers = {**JSON_ACCEPT, **options.pop("headers", {})}
    response = requests.request(method, server + path, headers=headers, **options)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert says in response.json()["error"]["message"]


# --- the specification's own material: its example batches and its JSON Schemas --------------

SPEC = EXTERNAL / "reconciliation-api" / "0.2"


@pytest.fixture(scope="module")
def schema():
    """A validator for one of the 0.2 JSON Schemas (their $refs among themselves resolved locally)."""
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    if not (SPEC / "schemas").is_dir():
        not_here(f"the Reconciliation API 0.2 schemas are not at {SPEC}; responses were NOT checked against them")
    documents = {path.name: json.loads(path.read_text()) for path in (SPEC / "schemas").glob("*.json")}
    registry = Registry().with_resources(
        (document["$id"].rstrip("#"), Resource.from_contents(document, default_specification=DRAFT7))
        for document in documents.values())

    def validator(name: str) -> Draft7Validator:
        return Draft7Validator(documents[name], registry=registry)
    return validator


def _valid(validator, document) -> None:  # noqa: ANN001
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


def _examples(kind: str, validity: str) -> list:
    return sorted((SPEC / "examples" / kind / validity).glob("*.json"))


@pytest.mark.parametrize("example", _examples("reconciliation-query-batch", "valid"), ids=lambda p: p.name)
def test_the_specifications_valid_batches_are_answered_query_by_query(server, schema, example):
    """Its examples ask for types and properties of another dataset: those queries find nothing
    here, and the batch is still answered (a type unknown here has no candidates; a property
    unknown here cannot tell candidates apart and is left out)."""
    batch = json.loads(example.read_text())
    for answer in (_batch(server, batch), _batch(server, batch, method="GET")):
        assert set(answer) == set(batch)
        _valid(schema("reconciliation-result-batch.json"), answer)


@pytest.mark.parametrize("example", _examples("reconciliation-query-batch", "invalid"), ids=lambda p: p.name)
def test_the_specifications_invalid_batches_are_400_saying_why(server, example):
    response = requests.post(server + "/reconcile", data={"queries": example.read_text()}, headers=JSON_ACCEPT)
    assert response.status_code == 400 and response.json()["error"]["message"].startswith("query 'q")


def test_an_unknown_property_is_left_out_and_a_known_one_still_counts(server):
    answer = _batch(server, {"q0": {"query": "Auria", "properties": [{"pid": "professionOrOccupation", "v": "x"},
                                                                      {"pid": SCHEMA + "location", "v": "Turku"}]},
                             "q1": {"query": "Auria", "type": "DifferentiatedPerson"}})
    assert answer["q0"]["result"][0]["id"] == ID + "auria-biobank"
    assert answer["q1"]["result"] == []


def test_every_response_passes_the_0_2_json_schemas(server, schema, manifest):
    _valid(schema("manifest.json"), manifest)
    _valid(schema("reconciliation-result-batch.json"), _batch(server, {f"q{i}": {"query": name, "type": kind}
                                                                      for i, (name, kind, _) in enumerate(TABLE)}))
    for kind, params, name in (("entity", {"prefix": "Auria"}, "suggest-entities-response.json"),
                               ("type", {"prefix": "bio"}, "suggest-types-response.json"),
                               ("property", {"prefix": "home"}, "suggest-properties-response.json")):
        _valid(schema(name), requests.get(server + f"/reconcile/suggest/{kind}", params=params).json())
    proposed = requests.get(server + "/reconcile/extend/propose", params={"type": FHKG + "Biobank"}).json()
    _valid(schema("data-extension-property-proposal.json"), proposed)
    extension = {"ids": [ID + "auria-biobank", ID + "no-such-thing"],
                 "properties": [{"id": p["id"]} for p in proposed["properties"][:4]]}
    _valid(schema("data-extension-response.json"),
           requests.post(server + "/reconcile", data={"extend": json.dumps(extension)}).json())
