"""Pages for people, checked as HTML: languages, the network diagram, resource pages with
sources and JSON-LD, and no broken internal link anywhere (a crawl from /)."""

from __future__ import annotations

import json
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
import requests
from rdflib import Graph, URIRef

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Page(HTMLParser):
    """Links, JSON-LD scripts, headings, landmarks and images of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.jsonld: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._script: str | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "script" and attributes.get("type") == "application/ld+json":
            self._script = ""

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script += data
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.jsonld.append(self._script)
            self._script = None

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())


def page(server: str, path: str, **headers: str) -> tuple[requests.Response, Page]:
    response = requests.get(server + path, headers={"Accept": BROWSER, **headers})
    return response, Page(response.text)


def test_home_page_shows_counts_links_examples_and_the_network(server, release):
    response, home = page(server, "/")
    assert response.status_code == 200
    assert str(release.triples) in home.text and release.version in home.text
    for link in ("/sparql", "/downloads/", "/catalog", "/def/", "/.well-known/void"):
        assert link in home.links
    svg = response.text[response.text.index("<svg"):response.text.index("</svg>")]
    for slug in ("ministry-of-social-affairs-and-health", "national-cancer-centre", "finnish-biobank-cooperative",
                 "auria-biobank", "fican-west", "health-campus-turku"):
        assert f'href="/id/organization/{slug}"' in svg, slug
    assert 'href="/id/strategy/health-sector-growth-strategy"' in svg
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    examples = [link for link in home.links if link.startswith("/sparql?query=")]
    assert len(examples) >= 5
    for link in examples:  # one click runs each: a table of results
        answer = requests.get(server + link, headers={"Accept": BROWSER})
        assert answer.status_code == 200 and "<table" in answer.text, link


@pytest.mark.parametrize("lang,title,heading", [
    ("en", "Auria Biobank", "Names"), ("fi", "Auria Biopankki", "Nimet"), ("sv", "Auria Biopankki", "Namn")])
def test_resource_page_in_the_readers_language(server, lang, title, heading):
    by_header, parsed = page(server, "/doc/organization/auria-biobank", **{"Accept-Language": lang})
    assert f"<h1>{title}</h1>" in by_header.text and f">{heading}</h2>" in by_header.text
    assert f'<html lang="{lang}">' in by_header.text
    assert "Accept-Language" in by_header.headers["Vary"]
    by_switch = requests.get(server + f"/doc/organization/auria-biobank?lang={lang}",
                             headers={"Accept": BROWSER, "Accept-Language": "de"})
    assert f"<h1>{title}</h1>" in by_switch.text


def test_language_choice_persists(server):
    session = requests.Session()
    first = session.get(server + "/doc/organization/fican-west?lang=fi", headers={"Accept": BROWSER})
    assert "<h1>Läntinen Syöpäkeskus</h1>" in first.text
    then = session.get(server + "/doc/organization/neurocenter-finland", headers={"Accept": BROWSER})
    assert "<h1>Kansallinen Neurokeskus</h1>" in then.text
    assert "osa kansallista verkostoa" in session.get(server + "/doc/organization/fican-east",
                                                      headers={"Accept": BROWSER}).text


def test_resource_page_has_properties_links_sources_alternates_and_the_iri(server):
    response, parsed = page(server, "/doc/organization/fican-west?lang=en")
    text = parsed.text
    assert "part of the national network" in text  # labelled by the ontology
    assert "/id/organization/national-cancer-centre" in parsed.links
    assert "Finnish Cancer Center FICAN" in text  # the linked thing's label
    assert "Sources of these facts" in text
    assert "https://ficanwest.fi/en/fican-west/organization-and-strategy" in parsed.links
    for suffix in ("ttl", "jsonld", "nt", "rdf"):
        assert f"/doc/organization/fican-west.{suffix}" in parsed.links
    iri_fields = [a for tag, a in parsed.tags if tag == "input" and a.get("id") == "permanent-iri"]
    assert iri_fields[0]["value"] == "https://w3id.org/finhealthkg/id/organization/fican-west"
    assert "<svg" in response.text  # its neighbourhood
    _, auria = page(server, "/doc/organization/auria-biobank?lang=en")
    assert "Linked from" in auria.text and "/id/organization/finnish-biobank-cooperative" in auria.links


def test_resource_page_embeds_valid_jsonld(server):
    _, parsed = page(server, "/doc/organization/auria-biobank")
    assert len(parsed.jsonld) == 1
    data = json.loads(parsed.jsonld[0])
    assert data["@type"] == "Organization" and data["@id"].endswith("/organization/auria-biobank")
    assert {"@value": "Auria Biopankki", "@language": "fi"} in data["name"]
    assert data["url"] == "https://www.auria.fi/biopankki"
    assert any(m["@id"].endswith("finnish-biobank-cooperative") for m in data["memberOf"])
    graph = jsonld_graph(parsed.jsonld[0])
    assert (URIRef(data["@id"]), URIRef("https://schema.org/url"), URIRef("https://www.auria.fi/biopankki")) \
        in graph or len(graph) > 10


def jsonld_graph(text: str) -> Graph:
    """Parse JSON-LD offline: schema.org's context is its vocabulary (not fetched)."""
    data = json.loads(text)
    data["@context"] = {"@vocab": "https://schema.org/", "url": {"@type": "@id"}, "sameAs": {"@type": "@id"}}
    return Graph().parse(data=json.dumps(data), format="json-ld")


def test_pages_have_landmarks_and_accessible_diagrams(server):
    for path in ("/", "/doc/organization/auria-biobank", "/def/", "/downloads/"):
        response, parsed = page(server, path)
        tags = [tag for tag, _ in parsed.tags]
        assert "main" in tags and "header" in tags and "footer" in tags and "nav" in tags, path
        assert tags.count("h1") == 1, path
        for tag, attributes in parsed.tags:
            if tag == "img":
                assert attributes.get("alt"), f"{path}: an image without alt text"
            if tag == "svg":
                assert attributes.get("role") == "img" and attributes.get("aria-labelledby"), path


def test_pages_work_without_javascript(server):
    """Every page but the query editor: no script needed to read it (only JSON-LD and the
    optional copy button)."""
    for path in ("/", "/doc/organization/auria-biobank", "/def/", "/shapes/", "/downloads/"):
        _, parsed = page(server, path)
        scripts = [a for tag, a in parsed.tags if tag == "script"]
        assert all(a.get("type") == "application/ld+json" or a.get("src") == "/static/copy.js"
                   for a in scripts), path


def _normal(url: str) -> str:
    """One URL per page: the language parameter does not make a new page to crawl."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"])
    return parts.path + (f"?{query}" if query else "")


def test_no_broken_internal_links_anywhere(server):
    """Crawl every page reachable from /; every internal link must answer."""
    seen: set[str] = set()
    queue = deque(["/"])
    checked = 0
    while queue:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = requests.get(server + path, headers={"Accept": BROWSER}, allow_redirects=True)
        checked += 1
        assert response.status_code == 200, f"{path} answered {response.status_code}"
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        for link in Page(response.text).links:
            target = urljoin(server + path, link)
            if not target.startswith(server) or "#" in link and link.startswith("#"):
                continue
            target = _normal(target[len(server):].split("#")[0])
            if target and target not in seen:
                queue.append(target)
        assert checked < 2000, "the crawl did not end"
    assert checked > 150  # every thing, term and shape of the graph was reached


def test_only_http_iris_become_links_in_the_results_table(server):
    """An IRI a query makes (IRI("javascript:…")) is shown as text: the page's own links are
    http(s) only, whatever the Content-Security-Policy would also stop."""
    query = ('SELECT ?x WHERE { VALUES ?t { "javascript:alert(1)" "JavaScript:alert(2)" "data:text/html,x" '
             '"https://example.org/ok" } BIND(IRI(?t) AS ?x) }')
    response, shown = page(server, "/sparql?" + urlencode({"query": query}))
    assert response.status_code == 200
    assert [link for link in shown.links if link.strip().lower().startswith(("javascript:", "data:"))] == []
    assert "https://example.org/ok" in shown.links
    assert "javascript:alert(1)" in shown.text and "data:text/html,x" in shown.text
