"""Tables for people who do not speak RDF: every CSV of /downloads/ parses, its CSVW metadata
describes its columns, its JSON twin holds the same rows, and every row agrees with SPARQL
asked over the same release (independent queries, not the ones that made the table)."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
import requests

TABLES = ("organizations", "biobanks", "national-centres", "regional-centres")
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
CLASSES = {"organizations": "http://www.w3.org/ns/org#Organization",
           "biobanks": "https://w3id.org/finhealthkg/def/Biobank",
           "national-centres": "https://w3id.org/finhealthkg/def/NationalCentreOfExcellence",
           "regional-centres": "https://w3id.org/finhealthkg/def/RegionalCentre"}
# Columns whose cells gather more than their propertyUrl states: the SPARQL path that gives them.
PATHS = {"members": "<http://www.w3.org/ns/org#hasMember>|^<http://www.w3.org/ns/org#memberOf>",
         "member_of": "<http://www.w3.org/ns/org#memberOf>|^<http://www.w3.org/ns/org#hasMember>",
         "parent": "<http://www.w3.org/ns/org#unitOf>|<http://www.w3.org/ns/org#subOrganizationOf>"
                   "|<https://w3id.org/finhealthkg/def/partOfNetwork>"}


def sparql(server: str, query: str) -> list[dict[str, str]]:
    response = requests.post(server + "/sparql", data={"query": query},
                             headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]


@pytest.fixture(scope="module")
def tables(server) -> dict[str, tuple[list[dict[str, str]], dict, dict]]:
    """Each table as (CSV rows, CSVW metadata, JSON twin), fetched from /downloads/."""
    listing = {f["name"]: f for f in requests.get(server + "/downloads/", headers={"Accept": "application/json"})
               .json()["files"]}
    fetched = {}
    for name in TABLES:
        for suffix in (".csv", ".json", ".csv-metadata.json"):
            assert name + suffix in listing, f"/downloads/ does not list {name}{suffix}"
        response = requests.get(server + f"/downloads/{name}.csv", headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
        assert hashlib.sha256(response.content).hexdigest() == listing[name + ".csv"]["sha256"]
        text = response.content.decode("utf-8")
        assert "\r\n" in text  # RFC 4180 line ends
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        metadata = requests.get(server + f"/downloads/{name}.csv-metadata.json")
        assert metadata.headers["Content-Type"].startswith("application/csvm+json")
        twin = requests.get(server + f"/downloads/{name}.json")
        assert twin.headers["Content-Type"].startswith("application/json")
        fetched[name] = (rows, metadata.json(), twin.json())
        assert list(rows[0]) == [c["name"] for c in metadata.json()["tableSchema"]["columns"]]
    return fetched


@pytest.mark.parametrize("name", TABLES)
def test_csvw_metadata_describes_every_column(tables, name, release):
    rows, metadata, _ = tables[name]
    assert "http://www.w3.org/ns/csvw" in metadata["@context"]
    assert metadata["url"] == f"{name}.csv" and metadata["dc:title"] and metadata["dc:license"]
    assert metadata["schema:version"] == release.version
    schema = metadata["tableSchema"]
    assert schema["aboutUrl"] == "{+id}" and schema["primaryKey"] == "id"
    names = [c["name"] for c in schema["columns"]]
    for column in schema["columns"]:
        assert column["titles"] and column["datatype"] in ("string", "anyURI", "integer", "date")
        for key in ("valueUrl", "aboutUrl"):  # templates name real columns
            if key in column:
                assert column[key].strip("{+}") in names
        if column["name"] != "id":
            assert column.get("propertyUrl") or column["name"] == "member_count", column
    for row in rows:  # the cells are what the datatypes say
        for column in schema["columns"]:
            cell = row[column["name"]]
            values = cell.split(column["separator"]) if column.get("separator") and cell else [cell] if cell else []
            for value in values:
                if column["datatype"] == "anyURI":
                    assert value.startswith(("https://", "http://")), (column["name"], value)
                elif column["datatype"] == "integer":
                    assert value.isdigit()
                elif column["datatype"] == "date":
                    assert len(value) == 10 and value[4] == value[7] == "-"


@pytest.mark.parametrize("name", TABLES)
def test_rows_are_the_things_of_the_class(server, tables, name):
    rows, _, _ = tables[name]
    things = sparql(server, f"SELECT DISTINCT ?x WHERE {{ ?x a/<{RDFS}subClassOf>* <{CLASSES[name]}> }}")
    assert sorted(r["id"] for r in rows) == sorted(t["x"] for t in things)
    assert len({r["id"] for r in rows}) == len(rows)  # one row each


@pytest.mark.parametrize("name", TABLES)
def test_every_cell_agrees_with_sparql_over_the_release(server, tables, name):
    rows, metadata, _ = tables[name]
    columns = [c for c in metadata["tableSchema"]["columns"] if c["name"] != "id"]
    for column in columns:
        # One question per column for all rows: the values of each thing, asked independently
        about = column.get("aboutUrl", "{+id}").strip("{+}")
        path = PATHS.get(column["name"], f"<{column.get('propertyUrl', '')}>")
        if column["name"] == "member_count":
            path = PATHS["members"]
        lang = f'FILTER (lang(?o) = "{column["lang"]}")' if "lang" in column else ""
        subjects = sorted({v for r in rows for v in (r[about].split(" ") if r[about] else [])} if about != "id"
                          else {r["id"] for r in rows})
        if not subjects:
            continue
        found: dict[str, set[str]] = {}
        for answer in sparql(server, f"SELECT ?s ?o WHERE {{ VALUES ?s {{ {' '.join(f'<{s}>' for s in subjects)} }} "
                                     f"?s {path} ?o {lang} }}"):
            found.setdefault(answer["s"], set()).add(answer["o"])
        for row in rows:
            cell = row[column["name"]]
            if column["name"] == "member_count":
                assert (int(cell) if cell else 0) == len(found.get(row["id"], ())), row["id"]
                continue
            given = set(cell.split(column["separator"])) if column.get("separator") and cell else {cell} - {""}
            if about == "id":
                expected = found.get(row["id"], set())
            else:  # the names of the things another column names
                expected = set().union(*(found.get(s, set()) for s in row[about].split(" ") if s))
            assert given == expected, (name, row["id"], column["name"], given, expected)


def test_organisations_carry_what_the_issue_asks_for(tables):
    rows, _, _ = tables["organizations"]
    by_id = {r["id"]: r for r in rows}
    ministry = by_id["https://w3id.org/finhealthkg/id/organization/ministry-of-social-affairs-and-health"]
    assert (ministry["name_en"], ministry["name_fi"], ministry["name_sv"]) == (
        "Ministry of Social Affairs and Health", "Sosiaali- ja terveysministeriö", "Social- och hälsovårdsministeriet")
    assert "STM" in ministry["alternative_names"].split(" | ") and ministry["homepage"] == "https://stm.fi"
    finbb = by_id["https://w3id.org/finhealthkg/id/organization/finnish-biobank-cooperative"]
    assert int(finbb["member_count"]) == 8 and len(finbb["members"].split(" ")) == 8
    west = by_id["https://w3id.org/finhealthkg/id/organization/fican-west"]
    assert west["parent"] == "https://w3id.org/finhealthkg/id/organization/national-cancer-centre"
    assert west["parent_name"] == "Finnish Cancer Center FICAN"
    auria = by_id["https://w3id.org/finhealthkg/id/organization/auria-biobank"]
    assert auria["city_name"] == "Turku" and auria["types"] == "https://w3id.org/finhealthkg/def/Biobank"


@pytest.mark.parametrize("name", TABLES)
def test_the_json_twin_holds_the_same_rows(tables, name, release):
    rows, metadata, twin = tables[name]
    assert twin["table"] == name and twin["release"] == release.version
    assert twin["columns"] == list(rows[0])
    separators = {c["name"]: c.get("separator") for c in metadata["tableSchema"]["columns"]}
    assert len(twin["rows"]) == len(rows)
    for row, item in zip(rows, twin["rows"], strict=True):
        for column, cell in row.items():
            value = item[column]
            if separators[column]:
                assert value == (cell.split(separators[column]) if cell else [])
            elif cell == "":
                assert value is None
            else:
                assert str(value) == cell


def test_table_files_are_checked_like_every_release_file(release):
    for name in TABLES:
        for suffix in (".csv", ".json", ".csv-metadata.json"):
            entry = release.manifest["files"][name + suffix]
            assert hashlib.sha256((release.path / (name + suffix)).read_bytes()).hexdigest() == entry["sha256"]
    sums = (release.path / "SHA256SUMS").read_text()
    assert f"{release.manifest['files']['organizations.csv']['sha256']}  organizations.csv" in sums
    assert f"{release.manifest['files']['search.sqlite']['sha256']}  search.sqlite" in sums
