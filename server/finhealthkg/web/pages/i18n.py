"""The reader's language: `?lang=` (remembered in a cookie), else Accept-Language, else
English; and the words of the pages in English, Finnish and Swedish."""

from __future__ import annotations

from flask import Response, request

LANGUAGES = ("en", "fi", "sv")
COOKIE = "lang"
NAMES = {"en": "English", "fi": "suomi", "sv": "svenska"}

WORDS: dict[str, dict[str, str]] = {
    "properties": {"en": "Properties", "fi": "Ominaisuudet", "sv": "Egenskaper"},
    "property": {"en": "Property", "fi": "Ominaisuus", "sv": "Egenskap"},
    "value": {"en": "Value", "fi": "Arvo", "sv": "Värde"},
    "type": {"en": "Type", "fi": "Tyyppi", "sv": "Typ"},
    "linked_from": {"en": "Linked from", "fi": "Viittaukset tähän", "sv": "Länkat från"},
    "sources": {"en": "Sources of these facts", "fi": "Tietojen lähteet", "sv": "Källor för uppgifterna"},
    "as_data": {"en": "This description as data", "fi": "Tämä kuvaus datana", "sv": "Beskrivningen som data"},
    "permanent_iri": {"en": "Permanent IRI", "fi": "Pysyvä tunniste (IRI)", "sv": "Permanent IRI"},
    "copy_iri": {"en": "Copy", "fi": "Kopioi", "sv": "Kopiera"},
    "copied": {"en": "Copied", "fi": "Kopioitu", "sv": "Kopierad"},
    "neighbourhood": {"en": "Neighbourhood", "fi": "Lähiverkosto", "sv": "Närmaste grannar"},
    "network": {"en": "The network", "fi": "Verkosto", "sv": "Nätverket"},
    "also_here": {"en": "Also described here", "fi": "Myös tässä kuvattu", "sv": "Också beskrivet här"},
    "language": {"en": "Language", "fi": "Kieli", "sv": "Språk"},
    "release": {"en": "Release", "fi": "Julkaisu", "sv": "Version"},
    "examples": {"en": "Example queries", "fi": "Esimerkkikyselyjä", "sv": "Exempelfrågor"},
    "run": {"en": "Run", "fi": "Suorita", "sv": "Kör"},
    "triples": {"en": "triples", "fi": "kolmikkoa", "sv": "tripler"},
    "things": {"en": "things", "fi": "asiaa", "sv": "saker"},
    "classes": {"en": "classes", "fi": "luokkaa", "sv": "klasser"},
    "downloads": {"en": "Downloads", "fi": "Lataukset", "sv": "Nedladdningar"},
    "endpoint": {"en": "SPARQL endpoint", "fi": "SPARQL-rajapinta", "sv": "SPARQL-gränssnitt"},
    "vocabulary": {"en": "Vocabulary", "fi": "Sanasto", "sv": "Vokabulär"},
    "shapes": {"en": "Shapes", "fi": "Muodot", "sv": "Former"},
    "catalogue": {"en": "Catalogue", "fi": "Tietoluettelo", "sv": "Katalog"},
    "home": {"en": "Home", "fi": "Etusivu", "sv": "Startsida"},
    "skip": {"en": "Skip to content", "fi": "Siirry sisältöön", "sv": "Hoppa till innehållet"},
    "licence": {"en": "Data licence", "fi": "Datan lisenssi", "sv": "Datalicens"},
    "built": {"en": "built", "fi": "koottu", "sv": "byggd"},
    "search": {"en": "Search", "fi": "Hae", "sv": "Sök"},
    "search_label": {"en": "Search by name", "fi": "Hae nimellä", "sv": "Sök på namn"},
    "search_hint": {"en": "Name, acronym or former name, in Finnish, Swedish or English",
                    "fi": "Nimi, lyhenne tai entinen nimi suomeksi, ruotsiksi tai englanniksi",
                    "sv": "Namn, förkortning eller tidigare namn på finska, svenska eller engelska"},
    "search_results": {"en": "Search results", "fi": "Hakutulokset", "sv": "Sökresultat"},
    "no_results": {"en": "Nothing found with that name.", "fi": "Tällä nimellä ei löytynyt mitään.",
                   "sv": "Inget hittades med det namnet."},
    "all_types": {"en": "All types", "fi": "Kaikki tyypit", "sv": "Alla typer"},
    "matched": {"en": "matched", "fi": "osuma", "sv": "träff"},
    "score": {"en": "score", "fi": "pisteet", "sv": "poäng"},
    "next": {"en": "Next", "fi": "Seuraavat", "sv": "Nästa"},
    "previous": {"en": "Previous", "fi": "Edelliset", "sv": "Föregående"},
    "as_json": {"en": "These results as JSON", "fi": "Tulokset JSON-muodossa", "sv": "Resultaten som JSON"},
}


def language() -> str:
    """The language to answer this request in."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES) or "en"


def remember(response: Response) -> Response:
    """A `?lang=` choice persists: the cookie carries it to the next page."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def words(lang: str) -> dict[str, str]:
    return {key: texts.get(lang, texts["en"]) for key, texts in WORDS.items()}


def preference(lang: str) -> tuple[str, ...]:
    """Label languages to try, in order: the reader's, then English, Finnish, Swedish."""
    return (lang, *[code for code in LANGUAGES if code != lang])

# Labels of the standard terms the pages show (our own terms are labelled in the ontology).
TERM_LABELS: dict[str, dict[str, str]] = {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": {"en": "type", "fi": "tyyppi", "sv": "typ"},
    "http://www.w3.org/2000/01/rdf-schema#label": {"en": "label", "fi": "nimi", "sv": "namn"},
    "http://www.w3.org/2000/01/rdf-schema#comment": {"en": "comment", "fi": "selite", "sv": "kommentar"},
    "http://www.w3.org/2000/01/rdf-schema#subClassOf": {"en": "subclass of", "fi": "alaluokka",
                                                        "sv": "underklass till"},
    "http://www.w3.org/2000/01/rdf-schema#domain": {"en": "domain", "fi": "kohdeluokka", "sv": "domän"},
    "http://www.w3.org/2000/01/rdf-schema#range": {"en": "range", "fi": "arvoalue", "sv": "värdemängd"},
    "http://www.w3.org/2000/01/rdf-schema#isDefinedBy": {"en": "defined by", "fi": "määritelty", "sv": "definierad av"},
    "http://www.w3.org/2004/02/skos/core#prefLabel": {"en": "name", "fi": "nimi", "sv": "namn"},
    "http://www.w3.org/2004/02/skos/core#altLabel": {"en": "also known as", "fi": "myös", "sv": "även kallad"},
    "http://www.w3.org/2004/02/skos/core#definition": {"en": "definition", "fi": "määritelmä", "sv": "definition"},
    "http://www.w3.org/2004/02/skos/core#historyNote": {"en": "history", "fi": "historia", "sv": "historik"},
    "http://www.w3.org/2004/02/skos/core#inScheme": {"en": "in scheme", "fi": "luokitus", "sv": "i klassificering"},
    "http://www.w3.org/2004/02/skos/core#topConceptOf": {"en": "top concept of", "fi": "pääkäsite",
                                                         "sv": "toppbegrepp i"},
    "http://www.w3.org/2004/02/skos/core#hasTopConcept": {"en": "concepts", "fi": "käsitteet", "sv": "begrepp"},
    "http://purl.org/dc/terms/description": {"en": "description", "fi": "kuvaus", "sv": "beskrivning"},
    "http://purl.org/dc/terms/source": {"en": "source", "fi": "lähde", "sv": "källa"},
    "http://purl.org/dc/terms/title": {"en": "title", "fi": "otsikko", "sv": "titel"},
    "http://purl.org/dc/terms/subject": {"en": "field", "fi": "ala", "sv": "område"},
    "http://purl.org/dc/terms/publisher": {"en": "publisher", "fi": "julkaisija", "sv": "utgivare"},
    "http://purl.org/dc/terms/issued": {"en": "issued", "fi": "julkaistu", "sv": "utgiven"},
    "http://purl.org/dc/terms/creator": {"en": "creator", "fi": "tekijä", "sv": "skapare"},
    "http://purl.org/dc/terms/bibliographicCitation": {"en": "citation", "fi": "viite", "sv": "referens"},
    "http://xmlns.com/foaf/0.1/homepage": {"en": "homepage", "fi": "kotisivu", "sv": "webbplats"},
    "http://xmlns.com/foaf/0.1/page": {"en": "page", "fi": "sivu", "sv": "sida"},
    "http://xmlns.com/foaf/0.1/name": {"en": "name", "fi": "nimi", "sv": "namn"},
    "http://www.w3.org/ns/org#memberOf": {"en": "member of", "fi": "jäsenenä", "sv": "medlem i"},
    "http://www.w3.org/ns/org#hasMember": {"en": "members", "fi": "jäsenet", "sv": "medlemmar"},
    "http://www.w3.org/ns/org#classification": {"en": "kind", "fi": "tyyppi", "sv": "typ"},
    "http://www.w3.org/ns/org#unitOf": {"en": "unit of", "fi": "osa organisaatiota", "sv": "enhet inom"},
    "http://www.w3.org/ns/org#member": {"en": "member", "fi": "jäsen", "sv": "medlem"},
    "http://www.w3.org/ns/org#organization": {"en": "organisation", "fi": "organisaatio", "sv": "organisation"},
    "http://www.w3.org/ns/org#memberDuring": {"en": "member during", "fi": "jäsenyyskausi", "sv": "medlem under"},
    "https://schema.org/foundingDate": {"en": "founded", "fi": "perustettu", "sv": "grundad"},
    "https://schema.org/location": {"en": "location", "fi": "sijainti", "sv": "plats"},
    "https://schema.org/founder": {"en": "founders", "fi": "perustajat", "sv": "grundare"},
    "https://schema.org/value": {"en": "value", "fi": "arvo", "sv": "värde"},
    "https://schema.org/unitText": {"en": "unit", "fi": "yksikkö", "sv": "enhet"},
    "https://schema.org/containedInPlace": {"en": "in", "fi": "sijaitsee", "sv": "ligger i"},
    "http://www.w3.org/ns/adms#status": {"en": "status", "fi": "tila", "sv": "status"},
    "http://www.w3.org/2002/07/owl#sameAs": {"en": "same as", "fi": "sama kuin", "sv": "samma som"},
    "http://www.w3.org/2006/time#hasBeginning": {"en": "begins", "fi": "alkaa", "sv": "börjar"},
    "http://www.w3.org/2006/time#hasEnd": {"en": "ends", "fi": "päättyy", "sv": "slutar"},
    "http://www.w3.org/2006/time#inXSDgYear": {"en": "year", "fi": "vuosi", "sv": "år"},
}
