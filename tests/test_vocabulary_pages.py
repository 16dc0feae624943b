"""The vocabulary at /def/ and the shapes at /shapes/ as HTML for people: every term of
ontology/finhealthkg.ttl with its labels in the reader's language (en, fi, sv), usage counts
that agree with SPARQL over the endpoint, anchors; every node shape of shapes/*.ttl as
"what a valid X looks like" with a row and a message per property shape, and its rules."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH

from finhealthkg.namespaces import PREFIXES
from finhealthkg.web.pages import i18n

REPO = Path(__file__).resolve().parents[1]
BASE = "https://w3id.org/finhealthkg/"
DEF = BASE + "def/"
SHAPES = BASE + "shapes/"
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
INLINE = {"a", "abbr", "b", "code", "em", "i", "span", "strong"}
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HEADING = {"en": "What a valid {} looks like", "fi": "Millainen on kelvollinen {}", "sv": "Så ser en giltig {} ut"}
INSTANCES = {"en": "Instances in this release", "fi": "Ilmentymiä tässä julkaisussa", "sv": "Instanser i denna version"}
TRIPLES = {"en": "Triples using it in this release", "fi": "Sitä käyttäviä kolmikkoja tässä julkaisussa",
           "sv": "Tripler som använder den i denna version"}


# --- a small DOM, enough to look at the pages by structure -------------------------------------

class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    def text(self) -> str:
        """The text as a reader sees it: inline elements run on, others are set apart."""
        parts = [c if isinstance(c, str) else c.text() if c.tag in INLINE else f" {c.text()} " for c in self.children]
        return " ".join("".join(parts).split())

    def iter(self, tag: str | None = None):
        for child in self.children:
            if isinstance(child, Element):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def find(self, tag: str) -> Element | None:
        return next(self.iter(tag), None)


class Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root
        self.feed(html)
        self.close()
        self.by_id: dict[str, Element] = {}
        self.duplicate_ids: list[str] = []
        for element in self.root.iter():
            if "id" in element.attrs:
                if element.attrs["id"] in self.by_id:
                    self.duplicate_ids.append(element.attrs["id"])
                self.by_id[element.attrs["id"]] = element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        if tag not in VOID_ELEMENTS:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Element(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)

    def hrefs(self) -> set[str]:
        return {a.attrs.get("href") or "" for a in self.root.iter("a")}


def facts(container: Element) -> dict[str, str]:
    """The dt → dd texts of the definition lists inside an element (dd texts joined)."""
    found: dict[str, str] = {}
    for dl in container.iter("dl"):
        name = None
        for child in dl.children:
            if isinstance(child, Element) and child.tag == "dt":
                name = child.text()
            elif isinstance(child, Element) and child.tag == "dd" and name is not None:
                found[name] = (found.get(name, "") + " " + child.text()).strip()
    return found


def enclosing(element: Element, tag: str) -> Element:
    node = element.parent
    while node is not None and node.tag != tag:
        node = node.parent
    assert node is not None, f"no <{tag}> around <{element.tag} id={element.attrs.get('id')}>"
    return node


# --- the expected content, read from the sources ------------------------------------------------

@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(REPO / "ontology" / "finhealthkg.ttl", format="turtle")


@pytest.fixture(scope="module")
def shapes_graph() -> Graph:
    graph = Graph()
    for path in sorted((REPO / "shapes").glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def terms(ontology: Graph) -> dict[URIRef, URIRef]:
    found = {}
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in ontology.subjects(RDF.type, kind):
            if str(term).startswith(DEF):
                found[term] = kind
    return found


def label(graph: Graph, node: URIRef, lang: str) -> str:
    return str(next(lit for lit in graph.objects(node, RDFS.label)
                    if isinstance(lit, Literal) and lit.language == lang))


def prefixed(iri: str) -> str:
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda p: -len(p[1])):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


def path_terms(graph: Graph, path) -> list[str]:  # noqa: ANN001 - an rdflib node
    if isinstance(path, URIRef):
        return [str(path)]
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return [t for item in Collection(graph, alternatives) for t in path_terms(graph, item)]
    inverse = graph.value(path, SH.inversePath)
    if inverse is not None:
        return path_terms(graph, inverse)
    return [t for item in Collection(graph, path) for t in path_terms(graph, item)]


def sparql_count(server: str, query: str) -> int:
    answer = requests.get(server + "/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def get_page(server: str, path: str, lang: str | None = None, how: str = "param") -> requests.Response:
    headers = {"Accept": HTML_ACCEPT}
    params = {}
    if lang and how == "param":
        params["lang"] = lang
    elif lang:
        headers["Accept-Language"] = f"{lang},en;q=0.5"
    response = requests.get(server + path, headers=headers, params=params, timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response


def assert_accessible(page: Page) -> None:
    """One h1, headings that never skip a level, table headers with scope, unique ids, no script."""
    levels = [int(e.tag[1]) for e in page.root.iter() if e.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}]
    assert levels and levels[0] == 1 and levels.count(1) == 1, levels
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after}"
    for th in page.root.iter("th"):
        assert th.attrs.get("scope") in {"col", "row"}, th.text()
    assert not page.duplicate_ids, page.duplicate_ids
    assert page.root.find("script") is None, "the pages work without JavaScript"
    html = page.root.find("html")
    assert html is not None and html.attrs.get("lang") in {"en", "fi", "sv"}
    assert page.root.find("main") is not None


# --- /def/ --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "how"), [("en", None), ("fi", "param"), ("fi", "header"), ("sv", "param"),
                                           ("sv", "header")])
def test_vocabulary_page_lists_every_term_with_its_labels(server, ontology, lang, how):
    response = get_page(server, "/def/", lang if how else None, how or "param")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = Page(response.text)
    assert page.root.find("html").attrs["lang"] == lang
    assert_accessible(page)
    hrefs = page.hrefs()
    declared = terms(ontology)
    assert len(declared) == 22
    for term, kind in declared.items():
        name = str(term)[len(DEF):]
        heading = page.by_id.get(name)
        assert heading is not None, f"no anchor #{name}"
        assert heading.tag == "h3"
        assert label(ontology, term, lang) in heading.text(), (name, heading.text())  # the reader's language
        assert f"fhkg:{name}" in heading.text()
        article = enclosing(heading, "article")
        for other in ("en", "fi", "sv"):  # and every other language, marked as such
            spans = [s for s in article.iter("span") if s.attrs.get("lang") == other]
            assert label(ontology, term, other) in {s.text() for s in spans}, (name, other)
        assert f"/def/{name}" in hrefs and f"#{name}" in hrefs  # its own description; the contents
        section = enclosing(article, "section").attrs["aria-labelledby"]
        assert section == {OWL.Class: "classes", OWL.ObjectProperty: "object-properties",
                           OWL.DatatypeProperty: "datatype-properties"}[kind]
    # the contents list every section
    for section in ("#classes", "#object-properties", "#datatype-properties"):
        assert section in hrefs


def test_vocabulary_page_describes_the_ontology(server, ontology):
    page = Page(get_page(server, "/def/").text)
    ontology_iri = URIRef(DEF)
    assert page.root.find("h1").text() == str(ontology.value(ontology_iri, URIRef("http://purl.org/dc/terms/title")))
    about = facts(enclosing(page.by_id["about"], "section"))
    assert about["Version"] == "1.0.0"
    assert "https://w3id.org/finhealthkg/def/1.0.0" in about["Version IRI"]
    assert "CC BY 4.0" in about["Licence"]
    assert "finhealthkg project" in about["Creator"]
    hrefs = page.hrefs()
    assert "https://creativecommons.org/licenses/by/4.0/" in hrefs and "/id/agent/finhealthkg-project" in hrefs
    assert "Terms for describing the Finnish health-sector growth strategy" in page.root.find("main").text()
    finnish = Page(get_page(server, "/def/", "fi").text)
    assert finnish.root.find("h1").text() == "finhealthkg-ontologia"
    assert "Sanasto Suomen terveysalan kasvustrategian kuvaamiseen" in finnish.root.find("main").text()


def test_vocabulary_page_shows_domains_ranges_superclasses_and_external_terms(server, ontology):
    page = Page(get_page(server, "/def/").text)
    biobank = facts(enclosing(page.by_id["Biobank"], "article"))
    assert "org:Organization" in biobank["Subclass of"]
    assert "registration date" in biobank["Properties of this class (their domain)"]
    assert "number of samples" in biobank["Properties of this class (their domain)"]
    assert "What a valid biobank looks like" in biobank["Shape"]
    assert "What a valid organisation looks like" in biobank["Also checked by"]
    part_of = facts(enclosing(page.by_id["partOfNetwork"], "article"))
    assert part_of["Domain"] == "regional centre" and part_of["Range"] == "national centre of excellence"
    assert part_of["Sub-property of"] == "org:subOrganizationOf"
    registration = facts(enclosing(page.by_id["registrationDate"], "article"))
    assert registration["Range"] == "xsd:date"
    hrefs = page.hrefs()
    for external in ("http://www.w3.org/ns/org#Organization", "http://www.w3.org/ns/org#subOrganizationOf",
                     "https://schema.org/QuantitativeValue", "http://www.w3.org/2001/XMLSchema#date",
                     "http://www.w3.org/ns/prov#Plan", "http://www.w3.org/2006/time#Interval"):
        assert external in hrefs, external  # reused terms link to their own IRIs
    assert "/shapes/BiobankShape" in hrefs


@pytest.mark.parametrize("lang", ["en", "fi", "sv"])
def test_vocabulary_counts_match_sparql_over_the_endpoint(server, ontology, lang):
    page = Page(get_page(server, "/def/", lang).text)
    for term, kind in terms(ontology).items():
        name = str(term)[len(DEF):]
        shown = facts(enclosing(page.by_id[name], "article"))
        if kind == OWL.Class:
            expected = sparql_count(server, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <{term}> }}")
            assert shown[INSTANCES[lang]] == str(expected), name
        else:
            expected = sparql_count(server, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{term}> ?o }}")
            assert shown[TRIPLES[lang]] == str(expected), name
    assert facts(enclosing(page.by_id["Biobank"], "article"))[INSTANCES[lang]] == "9"


def test_vocabulary_html_headers_language_cookie_and_rdf_unchanged(server, release):
    response = get_page(server, "/def/", "fi")
    vary = {v.strip() for v in response.headers["Vary"].split(",")}
    assert {"Accept", "Accept-Language", "Cookie"} <= vary
    assert response.headers["Content-Location"] == "/def/?format=html"
    assert response.cookies.get("lang") == "fi"  # the choice is remembered
    remembered = requests.get(server + "/def/", headers={"Accept": HTML_ACCEPT}, cookies={"lang": "sv"}, timeout=30)
    assert Page(remembered.text).root.find("html").attrs["lang"] == "sv"
    assert Page(requests.get(server + "/def/?format=html", timeout=30).text).by_id.get("Biobank") is not None
    etag = response.headers["ETag"]
    again = requests.get(server + "/def/?lang=fi", headers={"Accept": HTML_ACCEPT, "If-None-Match": etag}, timeout=30)
    assert again.status_code == 304
    other = requests.get(server + "/def/?lang=en", headers={"Accept": HTML_ACCEPT, "If-None-Match": etag}, timeout=30)
    assert other.status_code == 200  # another language is another representation
    turtle = requests.get(server + "/def/", headers={"Accept": "text/turtle"}, timeout=30)
    assert turtle.headers["Content-Type"].startswith("text/turtle")
    assert len(Graph().parse(data=turtle.text, format="turtle")) == release.manifest["graphs"]["ontology"]["triples"]


# --- /shapes/ -----------------------------------------------------------------------------------

def node_shapes(graph: Graph) -> list[URIRef]:
    return sorted(s for s in set(graph.subjects(RDF.type, SH.NodeShape)) if isinstance(s, URIRef))


@pytest.mark.parametrize("lang", ["en", "fi", "sv"])
def test_shapes_page_lists_every_node_shape_with_its_rows_and_messages(server, shapes_graph, lang):
    response = get_page(server, "/shapes/", lang)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = Page(response.text)
    assert_accessible(page)
    hrefs = page.hrefs()
    shapes = node_shapes(shapes_graph)
    assert len(shapes) == 26
    for shape in shapes:
        name = str(shape)[len(SHAPES):]
        heading = page.by_id.get(name)
        assert heading is not None and heading.tag == "h2", name
        assert f"#{name}" in hrefs and f"/shapes/{name}" in hrefs
        section = enclosing(heading, "section")
        rows = [tr for tr in section.iter("tr") if tr.find("th") is not None and tr.find("td") is not None]
        properties = list(shapes_graph.objects(shape, SH.property))
        assert len(rows) == len(properties), name
        for ps in properties:
            message = str(shapes_graph.value(ps, SH.message))
            matching = [tr for tr in rows if message in tr.text()]
            assert len(matching) == 1, (name, message)
            header = matching[0].find("th")
            assert header.attrs.get("scope") == "row"
            for term in path_terms(shapes_graph, shapes_graph.value(ps, SH.path)):
                assert prefixed(term) in header.text(), (name, term)
        rules = section.text()
        for constraint in shapes_graph.objects(shape, SH.sparql):
            assert str(shapes_graph.value(constraint, SH.message)) in rules, name
        own = shapes_graph.value(shape, SH.message)
        if own is not None:
            assert str(own) in rules
    for cls in shapes_graph.objects(None, SH.targetClass):
        if str(cls).startswith(DEF):
            assert f"/def/#{str(cls)[len(DEF):]}" in hrefs  # targets link to the vocabulary


def test_shapes_page_explains_cardinality_values_and_languages(server):
    page = Page(get_page(server, "/shapes/").text)

    def row(shape: str, path: str, contains: str = "") -> list[str]:
        section = enclosing(page.by_id[shape], "section")
        for tr in section.iter("tr"):
            th = tr.find("th")
            if th is not None and th.attrs.get("scope") == "row" and path in th.text() and contains in tr.text():
                return [cell.text() for cell in tr.iter("td")]
        raise AssertionError(f"no row {path} in {shape}")

    assert row("RegionalCentreShape", "fhkg:partOfNetwork")[:2] == [
        "exactly one", "an instance of national centre of excellence"]
    assert row("CampusNetworkShape", "org:hasMember")[0] == "at least 2"
    assert row("BiobankShape", "fhkg:registrationDate")[:2] == ["at most one", "a literal of type xsd:date"]
    status = row("OrganizationShape", "adms:status")
    assert status[0] == "at most one" and status[1] == "one of: established, in preparation"
    description = row("OrganizationShape", "dcterms:description")
    assert "at least one in English (@en)" in description[2] and "at most one per language" in description[2]
    assert row("ThingShape", "rdfs:label", "Finnish")[2] == "at least one in Finnish (@fi)"
    assert "matching the pattern ^https?://" in row("OrganizationShape", "foaf:homepage")[1]
    assert row("OrganizationShape", "schema:foundingDate")[1] == \
        "either a literal of type xsd:gYear or a literal of type xsd:date"
    related = row("OrganizationShape", "fhkg:hostedBy")
    assert related[0] == "any number" and related[1] == "an instance of org:Organization"
    assert "conforming to the shape fhkgsh:OrganizationKind" in row("OrganizationShape", "org:classification")[1]
    # node-level constraints and targets
    term = facts(enclosing(page.by_id["TermShape"], "section"))
    assert "an IRI" in term["The thing itself"] and "^https://w3id\\.org/finhealthkg/def/" in term["The thing itself"]
    organisation = facts(enclosing(page.by_id["OrganizationShape"], "section"))
    assert "every org:Organization" in organisation["Applies to"] and "biobank" in organisation["Applies to"]
    english = facts(enclosing(page.by_id["InEnglish"], "section"))
    assert "used by" in english["Applies to"] and "in English (@en)" in english["The thing itself"]
    thing = facts(enclosing(page.by_id["ThingShape"], "section"))
    assert "SPARQL query" in thing["Applies to"]


def test_one_shape_as_html(server, shapes_graph):
    for response in (get_page(server, "/shapes/BiobankShape"),
                     requests.get(server + "/shapes/BiobankShape.html", timeout=30)):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert {"Accept", "Accept-Language", "Cookie"} <= {v.strip() for v in response.headers["Vary"].split(",")}
        page = Page(response.text)
        assert_accessible(page)
        assert page.root.find("h1").text() == "What a valid biobank looks like"
        rows = {tr.find("th").text(): [td.text() for td in tr.iter("td")]
                for tr in page.root.iter("tr") if tr.find("td") is not None}
        registration = next(cells for header, cells in rows.items() if "fhkg:registrationDate" in header)
        assert registration == ["at most one", "a literal of type xsd:date", "",
                                "fhkg:registrationDate is one xsd:date."]
        assert len(rows) == len(list(shapes_graph.objects(URIRef(SHAPES + "BiobankShape"), SH.property)))
        assert "/def/#Biobank" in page.hrefs() and "/shapes/" in page.hrefs()
    assert get_page(server, "/shapes/BiobankShape").headers["Content-Location"] == "/shapes/BiobankShape.html"
    finnish = Page(get_page(server, "/shapes/BiobankShape", "fi", "header").text)
    assert finnish.root.find("h1").text() == HEADING["fi"].format("biopankki")
    assert "rekisteröintipäivä" in finnish.root.find("table").text()
    swedish = Page(get_page(server, "/shapes/BiobankShape", "sv").text)
    assert swedish.root.find("h1").text() == HEADING["sv"].format("biobank")
    rules = Page(get_page(server, "/shapes/NationalCentreShape").text)
    assert "must be supported (fhkg:supports) by a ministry" in rules.root.find("main").text()
    assert rules.root.find("details") is not None and "SELECT $this" in rules.root.find("pre").text()


def test_shape_rdf_and_errors_unchanged(server):
    turtle = requests.get(server + "/shapes/BiobankShape", headers={"Accept": "text/turtle"}, timeout=30)
    assert turtle.status_code == 200 and turtle.headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=turtle.text, format="turtle")
    assert any(isinstance(o, BNode) for o in graph.objects(URIRef(SHAPES + "BiobankShape"), SH.property))
    missing = requests.get(server + "/shapes/NoSuchShape", headers={"Accept": HTML_ACCEPT}, timeout=30)
    assert missing.status_code == 404
    whole = requests.get(server + "/shapes/", headers={"Accept": "application/n-triples"}, timeout=30)
    assert whole.status_code == 200 and whole.headers["Content-Type"].startswith("application/n-triples")


def test_the_one_translation_catalogue_has_every_word_in_every_language():
    """web/pages/i18n.py holds the words of every page; each in Finnish, Swedish and English."""
    for table in (i18n.WORDS, i18n.DOCUMENTATION_WORDS, i18n.TERM_LABELS, i18n.LANGUAGE_NAMES, i18n.IN_LANGUAGE):
        for key, texts in table.items():
            assert set(texts) == set(i18n.LANGUAGES), key
            assert all(text.strip() for text in texts.values()), key
