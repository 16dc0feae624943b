"""SPARQL 1.1 Service Description of the endpoint (GET /sparql without a query)."""

from __future__ import annotations

from flask import Response, render_template, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ..namespaces import DATASET_GRAPHS, PREFIXES, SD, VOID, dataset_iri, service_iri
from ..query.formats import RDF_FORMATS, SOLUTION_FORMATS
from ..serving import Snapshot
from .http.negotiation import HTML, JSONLD, NTRIPLES, RDFXML, TURTLE, negotiate
from .http.publication import RELEASE_HEADER, publication, served
from .http.serialize import graph_bytes
from .pages.examples import EDITOR_PREFIXES, EXAMPLES
from .pages.i18n import language

FORMATS = Namespace("http://www.w3.org/ns/formats/")
W3C_RESULT_FORMATS = tuple(f.w3c for f in (*SOLUTION_FORMATS, *RDF_FORMATS) if f.w3c)  # W3C formats IRIs' names


def service_description(snapshot: Snapshot | None = None) -> Response:
    """The service description of the endpoint serving `snapshot` (default: the current release)."""
    snapshot = snapshot or served()
    endpoint = request.base_url  # sd:endpoint is exactly the URL the client asked
    fmt = negotiate((TURTLE, JSONLD, HTML, NTRIPLES, RDFXML), request.args.get("format"))
    graph = snapshot.memo(f"sd:{endpoint}", lambda: _service_graph(endpoint, snapshot))
    if fmt is HTML:
        body = _query_page(endpoint, snapshot)
    else:
        body = graph_bytes(graph, fmt)
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.set_etag(f"sd-{snapshot.info.version}-{fmt.name}" + (f"-{language()}" if fmt is HTML else ""))
    response.last_modified = snapshot.info.modified
    response.headers[RELEASE_HEADER] = snapshot.info.version
    return response.make_conditional(request)


# The query page's own words; the editor's (Yasgui's) controls stay in English.
PAGE_WORDS = {
    "protocol": {"en": "SPARQL 1.1 Query over GET or POST, read-only.",
                 "fi": "SPARQL 1.1 -kyselyt GET- tai POST-pyynnöllä, vain luku.",
                 "sv": "SPARQL 1.1-frågor med GET eller POST, endast läsning."},
    "examples_hint": {"en": "An example opens in the editor below and runs at once.",
                      "fi": "Esimerkki avautuu alla olevaan editoriin ja suoritetaan heti.",
                      "sv": "Ett exempel öppnas i redigeraren nedan och körs direkt."},
    "editor": {"en": "Query editor", "fi": "Kyselyeditori", "sv": "Frågeredigerare"},
    "editor_hint": {
        "en": "Ctrl+Enter runs the query. In the editor Tab indents: press Esc, then Tab, to move on. "
              "Results show as a table; choose Chart for bars of the first numeric column.",
        "fi": "Ctrl+Enter suorittaa kyselyn. Editorissa sarkain sisentää: paina Esc ja sitten sarkainta "
              "siirtyäksesi eteenpäin. Tulokset näkyvät taulukkona; Kaavio näyttää ensimmäisen "
              "numeerisen sarakkeen pylväinä.",
        "sv": "Ctrl+Enter kör frågan. I redigeraren drar tabb in raden: tryck Esc och sedan tabb för att gå "
              "vidare. Resultaten visas som tabell; Diagram visar den första numeriska kolumnen som staplar."},
    "query": {"en": "Query", "fi": "Kysely", "sv": "Fråga"},
    "results_as": {"en": "Results as", "fi": "Tulokset muodossa", "sv": "Resultat som"},
    "table": {"en": "Table (HTML)", "fi": "Taulukko (HTML)", "sv": "Tabell (HTML)"},
    "graphs": {"en": "Graphs", "fi": "Graafit", "sv": "Grafer"},
    "default_graph": {"en": "The default graph is the union of", "fi": "Oletusgraafi on yhdiste graafeista",
                      "sv": "Standardgrafen är unionen av"},
    "and": {"en": "and", "fi": "ja", "sv": "och"},
    "named_graph": {"en": "Named graph", "fi": "Nimetty graafi", "sv": "Namngiven graf"},
    "triples": {"en": "Triples", "fi": "Kolmikot", "sv": "Tripler"},
    "formats": {"en": "Result formats", "fi": "Tulosmuodot", "sv": "Resultatformat"},
    "chosen_by": {"en": "chosen by", "fi": "valitaan otsakkeella", "sv": "väljs med"},
    "or": {"en": "or", "fi": "tai", "sv": "eller"},
}
# Words the editor's script shows (query-editor.js): {n}, {total}, {value}, {label}, {title} are filled in.
EDITOR_WORDS = {
    "query": PAGE_WORDS["query"],
    "endpoint": {"en": "Endpoint", "fi": "Rajapinta", "sv": "Gränssnitt"},
    "clear_endpoint": {"en": "Clear the endpoint", "fi": "Tyhjennä rajapinta", "sv": "Töm gränssnittet"},
    "chart": {"en": "Chart", "fi": "Kaavio", "sv": "Diagram"},
    "chart_title": {"en": "{value} by {label}", "fi": "{value} / {label}", "sv": "{value} per {label}"},
    "no_numeric": {
        "en": "Nothing to chart: no column of this result has only numbers.",
        "fi": "Ei piirrettävää: tuloksessa ei ole saraketta, jossa olisi vain lukuja.",
        "sv": "Inget att rita: ingen kolumn i resultatet har bara tal."},
    "first_rows": {"en": "The first {n} of {total} rows are drawn.", "fi": "Piirretty {total} rivistä {n} ensimmäistä.",
                   "sv": "De första {n} av {total} raderna ritas."},
    "download_chart": {"en": "Download the chart (SVG)", "fi": "Lataa kaavio (SVG)",
                       "sv": "Ladda ner diagrammet (SVG)"},
    "running": {"en": "Running: {title}", "fi": "Suoritetaan: {title}", "sv": "Kör: {title}"},
    "results": {"en": "{n} results", "fi": "{n} tulosta", "sv": "{n} resultat"},
    "answered": {"en": "The query was answered.", "fi": "Kyselyyn vastattiin.", "sv": "Frågan besvarades."},
    "failed": {"en": "The query failed: see the message below the editor.",
               "fi": "Kysely epäonnistui: katso viesti editorin alla.",
               "sv": "Frågan misslyckades: se meddelandet under redigeraren."},
}


def _query_page(endpoint: str, snapshot) -> str:  # noqa: ANN001 - Snapshot
    """The endpoint's page for a browser: the Yasgui query editor (static/yasgui, query-editor.js) with
    the example queries and the dataset's prefixes, and the plain form for readers without JavaScript."""
    lang = language()
    examples = [{"slug": e.slug, "title": e.title.get(lang, e.title["en"]), "query": e.text()} for e in EXAMPLES]
    editor = {"endpoint": endpoint, "prefixes": EDITOR_PREFIXES, "examples": examples,
              "words": {key: texts[lang] for key, texts in EDITOR_WORDS.items()}}
    return render_template("query.html", endpoint=endpoint, info=snapshot.info, graphs=snapshot.graph_triples,
                           default_graphs=[str(g) for g in DATASET_GRAPHS], formats=W3C_RESULT_FORMATS,
                           examples=examples, editor=editor,
                           page={key: texts[lang] for key, texts in PAGE_WORDS.items()})


def _service_graph(endpoint: str, snapshot) -> Graph:  # noqa: ANN001 - Snapshot
    base_iri = publication().settings.base_iri
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    graph.bind("formats", FORMATS)
    service, dataset = service_iri(base_iri), dataset_iri(base_iri)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    for name in W3C_RESULT_FORMATS:
        graph.add((service, SD.resultFormat, FORMATS[name]))
    graph.add((service, RDFS.comment, Literal(
        "Read-only: SPARQL Update, SERVICE and FROM outside this dataset are refused. "
        "The default graph is the knowledge graph (ontology + data); every graph of the "
        "release is available by name.", lang="en")))
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, RDF.type, VOID.Dataset))
    graph.add((dataset, RDFS.seeAlso, URIRef(base_iri + ".well-known/void")))
    counts = snapshot.graph_triples
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, VOID.triples, Literal(snapshot.info.triples, datatype=XSD.integer)))
    for name in sorted(counts):
        named, described = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(name)))
        graph.add((named, SD.graph, described))
        graph.add((described, RDF.type, SD.Graph))
        graph.add((described, VOID.triples, Literal(counts[name], datatype=XSD.integer)))
    return graph
