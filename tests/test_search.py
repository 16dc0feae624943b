"""/search: the IRI of a thing from any of its names — Finnish, Swedish, English, acronyms and
old names — case- and accent-insensitively, exact forms first, prefixes and whole words above
substrings, with type filters; as JSON and as a page, and a search box on every page."""

from __future__ import annotations

import json
import shutil
import unicodedata

import pytest
import requests

from test_pages import BROWSER, Page

ID = "https://w3id.org/finhealthkg/id/organization/"
FHKG = "https://w3id.org/finhealthkg/def/"
ORG = "http://www.w3.org/ns/org#"

# Name variants of /work/shared/reference/facts.md (names in three languages, acronyms, old
# names), written as a spreadsheet would hold them, and the thing each must find first.
VARIANTS = [
    ("Tyks", "turku-university-hospital"),
    ("tyks", "turku-university-hospital"),
    ("Auria Biopankki", "auria-biobank"),
    ("Auria Biobank", "auria-biobank"),
    ("auria biopankki", "auria-biobank"),
    ("Helsinki Biobank", "helsinki-biobank"),
    ("Helsingin Biopankki", "helsinki-biobank"),
    ("Sosiaali- ja terveysministeriö", "ministry-of-social-affairs-and-health"),
    ("sosiaali ja terveysministerio", "ministry-of-social-affairs-and-health"),
    ("Social- och hälsovårdsministeriet", "ministry-of-social-affairs-and-health"),
    ("Ministry of Social Affairs and Health", "ministry-of-social-affairs-and-health"),
    ("STM", "ministry-of-social-affairs-and-health"),
    ("FINBB", "finnish-biobank-cooperative"),
    ("Biopankkien Osuuskunta Suomi", "finnish-biobank-cooperative"),
    ("Finnish Biobank Cooperative", "finnish-biobank-cooperative"),
    ("Comprehensive Cancer Center Finland", "national-cancer-centre"),  # the 2014 name
    ("Kansallinen syöpäkeskus", "national-cancer-centre"),
    ("kansallinen syopakeskus", "national-cancer-centre"),
    ("FICAN", "national-cancer-centre"),
    ("Läntinen Syöpäkeskus", "fican-west"),
    ("Western Cancer Center", "fican-west"),
    ("Hälsocampus Åbo", "health-campus-turku"),
    ("Halsocampus Abo", "health-campus-turku"),
    ("Terveyskampus Turku", "health-campus-turku"),
    ("Neurocentre Finland", "neurocenter-finland"),
    ("Kansallinen Neurokeskus", "neurocenter-finland"),
    ("Genomikeskus", "national-genome-centre"),
    ("Genome Center Finland", "national-genome-centre"),
    ("Itä-Suomen Biopankki", "biobank-of-eastern-finland"),
    ("Ita-Suomen biopankki", "biobank-of-eastern-finland"),
    ("Borealis", "biobank-borealis"),
    ("Tampereen Biopankki", "finnish-clinical-biobank-tampere"),
    ("Nationella centret för läkemedelsutveckling", "national-drug-development-centre"),
    ("Drug Development Centre Oy", "national-drug-development-centre"),
    ("HUS", "helsinki-and-uusimaa-hospital-district"),
    ("THL", "finnish-institute-for-health-and-welfare"),
    ("UEF", "university-of-eastern-finland"),
]


def search(server: str, **params: str | list[str]) -> dict:
    response = requests.get(server + "/search", params=params, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def fold(text: str) -> str:
    """Lower case without accents, words separated by one space (the test's own idea of it)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


@pytest.mark.parametrize(("name", "slug"), VARIANTS, ids=[name for name, _ in VARIANTS])
def test_each_name_variant_finds_its_thing_first(server, name, slug):
    results = search(server, q=name)["results"]
    assert results, f"nothing found for {name!r}"
    assert results[0]["id"] == ID + slug, [(r["id"], r["score"], r["matched"]["name"]) for r in results[:3]]
    assert fold(name) in fold(results[0]["matched"]["name"])  # found by a name that holds it
    assert results[0]["url"] == f"/id/organization/{slug}"
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all(0 < r["score"] <= 100 for r in results)


def test_the_exact_form_ranks_above_the_same_name_without_accents(server):
    exact = search(server, q="Itä-Suomen Biopankki")["results"][0]
    folded = search(server, q="Ita-Suomen Biopankki")["results"][0]
    assert exact["id"] == folded["id"] == ID + "biobank-of-eastern-finland"
    assert exact["score"] == 100 and folded["score"] < exact["score"]


def test_ranking_tiers_of_one_name():
    """The order the index ranks in: the same words, the same without accents, the name's start,
    whole words, word starts, substrings; accents that agree with the name break ties."""
    from finhealthkg.search.text import exact_form, score

    def of(query: str, name: str) -> float:
        return score(exact_form(query), fold(query), exact_form(name), fold(name))

    name = "Itä-Suomen Biopankki"
    ladder = [of("itä-suomen biopankki", name), of("ita suomen biopankki", name), of("Itä-Suomen", name),
              of("Biopankki", name), of("Biop", name), of("pankki", name)]
    assert ladder == sorted(ladder, reverse=True) and len(set(ladder)) == len(ladder), ladder
    assert ladder[0] == 100 and ladder[-1] > 0
    assert of("Itä", name) > of("Ita", name) > 0  # the exact form first, the folded one still found
    assert of("Borealis", name) == 0
    assert score("tyks", "tyks", "tyks", "tyks", 2) < score("tyks", "tyks", "tyks", "tyks", 0) == 100  # alt < pref


@pytest.mark.parametrize("text", ["Auria Biobank", "TYKS  (Turku)", "Itä-Suomen Biopankki", "Åbo Akademi",
                                  "Straße", "\u212a-lab", "ﬁnnish", "İzmir", "Ǆ", "x\u0301", "—", ""])
def test_names_normalise_the_same_with_or_without_the_ascii_shortcut(text):
    """text.py skips Unicode normalisation for ASCII text (case folding may turn ß or the Kelvin
    sign into ASCII); its forms must be those of normalising every text."""
    import re

    from finhealthkg.search.text import exact_form
    from finhealthkg.search.text import fold as index_fold

    words = re.compile(r"\w+")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    assert index_fold(text) == " ".join(words.findall("".join(c for c in decomposed if not unicodedata.combining(c))))
    assert exact_form(text) == " ".join(words.findall(unicodedata.normalize("NFC", text.casefold())))


@pytest.mark.parametrize("query", ["centre", "biobank", "cancer", "pankki", "keskus", "turku"])
def test_prefixes_and_whole_words_rank_above_substrings(server, query):
    results = search(server, q=query, limit="50")["results"]
    assert results

    def kind(name: str) -> int:
        words, wanted = fold(name).split(), fold(query)
        if fold(name) == wanted:
            return 0
        if fold(name).startswith(wanted):
            return 1
        if wanted in words:
            return 2
        if any(word.startswith(wanted) for word in words):
            return 3
        assert wanted in fold(name), name  # nothing is found that does not hold the query
        return 4

    kinds = [kind(r["matched"]["name"]) for r in results]
    assert kinds == sorted(kinds), list(zip(kinds, [r["matched"]["name"] for r in results], strict=True))


def test_type_filters_follow_subclasses(server):
    biobanks = search(server, q="bio", type=FHKG + "Biobank", limit="50")["results"]
    assert biobanks and all(any(t["id"] == FHKG + "Biobank" for t in r["types"]) for r in biobanks)
    everything = search(server, q="bio", limit="50")["results"]
    assert len(everything) > len(biobanks)  # sources, fields and the class itself are filtered out
    # org:Organization includes biobanks (fhkg:Biobank rdfs:subClassOf org:Organization)
    organisations = search(server, q="Auria", type="org:Organization")["results"]
    assert organisations[0]["id"] == ID + "auria-biobank"
    assert all(_is_organisation(server, r["id"]) for r in organisations)
    either = {FHKG + "CampusNetwork", FHKG + "Biobank"}
    two = search(server, q="turku", type=sorted(either), limit="50")["results"]
    assert ID + "health-campus-turku" in {r["id"] for r in two}
    assert all({t["id"] for t in r["types"]} & either for r in two)


def _is_organisation(server: str, iri: str) -> bool:
    query = f"ASK {{ <{iri}> a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{ORG}Organization> }}"
    answer = requests.get(server + "/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    return answer.json()["boolean"]


def test_results_carry_names_in_three_languages_types_and_paging(server):
    first = search(server, q="Ministry of Social Affairs and Health")["results"][0]
    assert first["names"] == {"en": "Ministry of Social Affairs and Health", "fi": "Sosiaali- ja terveysministeriö",
                              "sv": "Social- och hälsovårdsministeriet"}
    assert first["types"] == [{"id": ORG + "FormalOrganization", "name": "org:FormalOrganization"}]
    assert first["description"]
    finnish = requests.get(server + "/search", params={"q": "STM", "lang": "fi"},
                           headers={"Accept": "application/json"}).json()["results"][0]
    assert finnish["name"] == "Sosiaali- ja terveysministeriö"
    page1 = search(server, q="biobank", limit="3")
    page2 = search(server, q="biobank", limit="3", offset="3")
    assert len(page1["results"]) == 3 and page1["next"]
    assert not {r["id"] for r in page1["results"]} & {r["id"] for r in page2["results"]}


def test_the_search_page_in_each_language(server):
    for lang, button, hint in (("en", "Search", "Search by name"), ("fi", "Hae", "Hae nimellä"),
                               ("sv", "Sök", "Sök på namn")):
        response = requests.get(server + "/search", params={"q": "Tyks", "lang": lang}, headers={"Accept": BROWSER})
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert f'<html lang="{lang}">' in response.text
        parsed = Page(response.text)
        assert "/id/organization/turku-university-hospital" in parsed.links
        assert f">{button}</button>" in response.text and hint in response.text
        assert "Tyks" in parsed.text
    filtered = requests.get(server + "/search", params={"q": "bio", "type": FHKG + "Biobank"},
                            headers={"Accept": BROWSER})
    assert f'<option value="{FHKG}Biobank" selected>' in filtered.text
    assert "/id/organization/auria-biobank" in Page(filtered.text).links


@pytest.mark.parametrize("path", ["/", "/doc/organization/auria-biobank", "/downloads/", "/def/", "/shapes/",
                                  "/sparql", "/search?q=auria", "/nothing-here"])
def test_every_page_has_a_search_box(server, path):
    response = requests.get(server + path, headers={"Accept": BROWSER})
    forms = [a for tag, a in Page(response.text).tags if tag == "form" and a.get("role") == "search"]
    inputs = [a for tag, a in Page(response.text).tags if tag == "input" and a.get("name") == "q"]
    assert forms and forms[0]["action"] == "/search" and forms[0]["method"] == "get", path
    assert inputs and inputs[0]["type"] == "search", path


@pytest.mark.parametrize(("params", "says"), [
    ({}, "say what to look for"),
    ({"q": "   "}, "say what to look for"),
    ({"q": "auria", "limit": "many"}, "limit"),
    ({"q": "auria", "limit": "0"}, "limit"),
    ({"q": "auria", "offset": "-1"}, "offset"),
    ({"q": "auria", "type": "nosuchprefix:Thing"}, "prefixed name"),
    ({"q": "x" * 501}, "at most 500"),
])
def test_bad_searches_are_told_why(server, params, says):
    as_json = requests.get(server + "/search", params=params, headers={"Accept": "application/json"})
    assert as_json.status_code == 400
    error = as_json.json()["error"]
    assert error["status"] == 400 and says in error["message"]
    as_page = requests.get(server + "/search", params=params, headers={"Accept": BROWSER})
    assert as_page.status_code == 400 and as_page.headers["Content-Type"].startswith("text/html")
    assert says in as_page.text


def test_nothing_found_is_an_empty_list_not_an_error(server):
    assert search(server, q="Qwxzzy Institute")["results"] == []
    assert search(server, q="!!!")["results"] == []  # nothing searchable in it


def test_search_answers_are_cacheable(server):
    first = requests.get(server + "/search", params={"q": "FINBB"}, headers={"Accept": "application/json"})
    again = requests.get(server + "/search", params={"q": "FINBB"},
                         headers={"Accept": "application/json", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_the_index_is_a_release_file_checked_like_the_others(project):
    from finhealthkg.pipeline.build import build_release
    from finhealthkg.release import ReleaseError, check_release

    release = build_release(project).release
    entry = release.manifest["files"]["search.sqlite"]
    assert entry["media_type"] == "application/vnd.sqlite3" and entry["bytes"] > 0
    assert f"{entry['sha256']}  search.sqlite" in (release.path / "SHA256SUMS").read_text()
    check_release(release.path)
    damaged = release.path.parent / "damaged"  # another directory: checked afresh by this process
    shutil.copytree(release.path, damaged)
    index = damaged / "search.sqlite"
    data = bytearray(index.read_bytes())
    data[len(data) // 2] ^= 0xFF
    index.write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match="search.sqlite: checksum mismatch"):
        check_release(damaged)


def test_served_from_virtuoso_without_the_release_files_search_says_why(virtuoso, tmp_path):
    """The index is a file of the release: a server on an external store whose releases directory
    does not hold the release it serves answers 503 with the reason, and SPARQL still works."""
    from conftest import REPO, VIRTUOSO_PASSWORD, cli, running_server
    from finhealthkg.config import Settings
    from finhealthkg.pipeline.build import build_release

    base = f"http://search-test-{tmp_path.name}.example/"
    built = tmp_path / "built"
    build_release(Settings(root=REPO, releases_dir=built, base_iri=base))
    loaded = cli("load", "--root", str(REPO), "--releases", str(built), "--base-iri", base,
                 *virtuoso.store_args(), env=VIRTUOSO_PASSWORD)
    assert loaded.returncode == 0, loaded.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with running_server(REPO, elsewhere, "--store", virtuoso.query_url, "--base-iri", base) as url:
        answer = requests.get(url + "/search", params={"q": "Tyks"}, headers={"Accept": "application/json"})
        assert answer.status_code == 503
        assert "no release directory on disk" in answer.json()["error"]["message"]
        reconcile = requests.post(url + "/reconcile", data={"queries": '{"q0": {"query": "Tyks"}}'},
                                  headers={"Accept": "application/json"})
        assert reconcile.status_code == 503
        assert requests.get(url + "/sparql", params={"query": "ASK { ?s ?p ?o }"},
                            headers={"Accept": "application/sparql-results+json"}).json()["boolean"] is True


@pytest.mark.parametrize("query", ["_", "a_b", "*", '"', "NEAR", "auria AND bio", "auria OR", "😀", "北京", "ß",
                                   "a'b", "^", "(", "-Tyks", "\\", "%", "tyks\u0000", "\u202eTyks"])
def test_odd_queries_are_just_text(server, query):
    """FTS5 syntax, quotes, operators, emoji and control characters: searched as text, never an error."""
    response = requests.get(server + "/search", params={"q": query}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["results"], list)
    batch = requests.post(server + "/reconcile", data={"queries": json.dumps({"q0": {"query": query}})})
    assert batch.status_code == 200 and "result" in batch.json()["q0"]
