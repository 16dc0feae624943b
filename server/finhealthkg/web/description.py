"""The dataset described for machines: VoID at /.well-known/void, the DCAT catalogue at
/catalog (also the answer to an RDF client at /), both read from the release's store."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request
from rdflib import Graph

from ..namespaces import CATALOG_GRAPH, VOID, VOID_GRAPH
from .http.caching import cacheable
from .http.negotiation import HTML, JSONLD, NTRIPLES, RDFXML, TURTLE, negotiate
from .http.publication import publication, served
from .http.serialize import graph_bytes
from .pages.diagram import network
from .pages.examples import EXAMPLES
from .pages.i18n import language
from .pages.thing_page import Labeller

blueprint = Blueprint("description", __name__)
RDF_OFFERS = (TURTLE, JSONLD, RDFXML, NTRIPLES)


@blueprint.route("/.well-known/void")
def void() -> Response:
    return _graph(str(VOID_GRAPH), _for_reader())


@blueprint.route("/catalog")
def catalog() -> Response:
    return _graph(str(CATALOG_GRAPH), _for_reader())


def _for_reader():  # noqa: ANN202 - Format
    """The format asked for; a browser (HTML first, then application/xml, which means RDF/XML to
    a linked-data client) reads the Turtle, which it shows as text, rather than download RDF/XML."""
    fmt = negotiate((HTML, *RDF_OFFERS), request.args.get("format"))
    return TURTLE if fmt is HTML else fmt


@blueprint.route("/dataset")
def dataset() -> Response:
    return redirect("/catalog", code=303)


INTRO = {
    "en": ("Finnish health-sector growth strategy knowledge graph",
           "The Ministry of Social Affairs and Health, the Personalized Medicine flagship project, the national "
           "centres of excellence, the Finnish Biobank Cooperative and its biobanks, the regional cancer centres "
           "and Health Campus Turku as linked data, with a source for every thing."),
    "fi": ("Suomen terveysalan kasvustrategian tietoverkko",
           "Sosiaali- ja terveysministeriö, Yksilöllistetty lääketiede -kärkihanke, kansalliset osaamiskeskukset, "
           "Biopankkien Osuuskunta Suomi ja sen biopankit, alueelliset syöpäkeskukset ja Terveyskampus Turku "
           "linkitettynä datana, jokaiselle asialle lähde."),
    "sv": ("Kunskapsgrafen över tillväxtstrategin för hälsobranschen i Finland",
           "Social- och hälsovårdsministeriet, spetsprojektet för individualiserad medicin, de nationella "
           "kompetenscentren, Finlands biobankskooperativ och dess biobanker, de regionala cancercentren och "
           "Hälsocampus Åbo som länkade data, med en källa för varje sak."),
}
LEGEND = (("ministry", "id/organization-kind/ministry"), ("strategy", "def/Strategy"), ("centre",
          "def/NationalCentreOfExcellence"), ("regional", "def/RegionalCentre"), ("biobank", "def/Biobank"),
          ("campus", "def/CampusNetwork"))


@blueprint.route("/")
def home() -> Response:
    fmt = negotiate((HTML, *RDF_OFFERS), request.args.get("format"))
    if fmt is not HTML:
        return _graph(str(CATALOG_GRAPH), fmt)
    snapshot, lang = served(), language()
    label = Labeller(snapshot, Graph(), lang)
    base = publication().settings.base_iri
    label.prefetch([base + path for _, path in LEGEND])
    diagram = snapshot.memo(f"network:{lang}", lambda: network(snapshot, lang, label))
    heading, intro = INTRO[lang]
    page = render_template(
        "home.html", title=heading, heading=heading, intro=intro, release=snapshot.info,
        classes=sum(1 for _ in snapshot.graph(str(VOID_GRAPH)).objects(None, VOID.classPartition)),
        diagram=snapshot.memo(f"network-svg:{lang}", diagram.svg),
        relations=[(diagram.nodes[a], text, diagram.nodes[b]) for a, b, text in diagram.edges],
        diagram_summary={"en": "The network as text", "fi": "Verkosto tekstinä", "sv": "Nätverket som text"}[lang],
        legend=[(kind, label.text(base + path)) for kind, path in LEGEND],
        examples=EXAMPLES)
    response = Response(page, content_type=HTML.content_type)
    response.vary.add("Accept")
    return response


def _graph(graph: str, fmt) -> Response:  # noqa: ANN001 - Format
    snapshot = served()
    body = snapshot.memo(f"{graph}:{fmt.name}", lambda: graph_bytes(snapshot.graph(graph), fmt))
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    cacheable(response, f"{snapshot.info.version}-{fmt.name}", snapshot.info)
    return response.make_conditional(request)
