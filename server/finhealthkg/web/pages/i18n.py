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


# The words of the vocabulary and shapes documentation (/def/, /shapes/); {x} is filled in.
DOCUMENTATION_WORDS: dict[str, dict[str, str]] = {
    "contents": {"en": "Contents", "fi": "Sisällys", "sv": "Innehåll"},
    "about": {"en": "About this vocabulary", "fi": "Tietoa sanastosta", "sv": "Om vokabulären"},
    "iri": {"en": "IRI", "fi": "IRI", "sv": "IRI"},
    "version": {"en": "Version", "fi": "Versio", "sv": "Version"},
    "version_iri": {"en": "Version IRI", "fi": "Version IRI", "sv": "Versionens IRI"},
    "licence": {"en": "Licence", "fi": "Lisenssi", "sv": "Licens"},
    "creator": {"en": "Creator", "fi": "Tekijä", "sv": "Upphov"},
    "publisher": {"en": "Publisher", "fi": "Julkaisija", "sv": "Utgivare"},
    "modified": {"en": "Last modified", "fi": "Viimeksi muutettu", "sv": "Senast ändrad"},
    "prefix": {"en": "Preferred prefix", "fi": "Suositeltu etuliite", "sv": "Föredraget prefix"},
    "reuses": {"en": "Reused vocabularies", "fi": "Uudelleenkäytetyt sanastot", "sv": "Återanvända vokabulärer"},
    "classes": {"en": "Classes", "fi": "Luokat", "sv": "Klasser"},
    "object_properties": {"en": "Object properties", "fi": "Objektiominaisuudet", "sv": "Objektegenskaper"},
    "datatype_properties": {"en": "Datatype properties", "fi": "Tietotyyppiominaisuudet",
                            "sv": "Datatypsegenskaper"},
    "labels": {"en": "Labels", "fi": "Nimet", "sv": "Etiketter"},
    "definition": {"en": "Definition", "fi": "Määritelmä", "sv": "Definition"},
    "subclass_of": {"en": "Subclass of", "fi": "Yläluokka", "sv": "Underklass till"},
    "subclasses": {"en": "Subclasses", "fi": "Alaluokat", "sv": "Underklasser"},
    "domain_of": {"en": "Properties of this class (their domain)", "fi": "Luokan ominaisuudet (niiden lähtöjoukko)",
                  "sv": "Klassens egenskaper (deras domän)"},
    "range_of": {"en": "Value of (range of)", "fi": "Arvona ominaisuuksissa (niiden arvojoukko)",
                 "sv": "Värde för (värdemängd för)"},
    "instances": {"en": "Instances in this release", "fi": "Ilmentymiä tässä julkaisussa",
                  "sv": "Instanser i denna version"},
    "shape": {"en": "Shape", "fi": "Muoto", "sv": "Form"},
    "also_checked": {"en": "Also checked by", "fi": "Tarkistetaan myös muodoilla", "sv": "Kontrolleras också av"},
    "domain": {"en": "Domain", "fi": "Lähtöjoukko", "sv": "Domän"},
    "range": {"en": "Range", "fi": "Arvojoukko", "sv": "Värdemängd"},
    "subproperty_of": {"en": "Sub-property of", "fi": "Yläominaisuus", "sv": "Underegenskap till"},
    "characteristics": {"en": "Characteristics", "fi": "Piirteet", "sv": "Kännetecken"},
    "triples": {"en": "Triples using it in this release", "fi": "Sitä käyttäviä kolmikkoja tässä julkaisussa",
                "sv": "Tripler som använder den i denna version"},
    "checked_by": {"en": "Checked by the shapes", "fi": "Tarkistetaan muodoissa", "sv": "Kontrolleras av formerna"},
    "as_data": {"en": "This page as data", "fi": "Tämä sivu datana", "sv": "Sidan som data"},
    "shapes_title": {"en": "SHACL shapes", "fi": "SHACL-muodot", "sv": "SHACL-former"},
    "shapes_intro": {
        "en": "Each shape says what a valid thing of one kind looks like. Every release is checked against "
              "these shapes before it is published.",
        "fi": "Kukin muoto kertoo, millainen tietynlaisen asian kelvollinen kuvaus on. Jokainen julkaisu "
              "tarkistetaan näitä muotoja vasten ennen kuin se julkaistaan.",
        "sv": "Varje form beskriver hur en giltig sak av ett visst slag ser ut. Varje version kontrolleras "
              "mot formerna innan den publiceras."},
    "all_shapes": {"en": "All the shapes", "fi": "Kaikki muodot", "sv": "Alla former"},
    "vocabulary_link": {"en": "The vocabulary", "fi": "Sanasto", "sv": "Vokabulären"},
    "valid": {"en": "What a valid {x} looks like", "fi": "Millainen on kelvollinen {x}",
              "sv": "Så ser en giltig {x} ut"},
    "applies_to": {"en": "Applies to", "fi": "Koskee", "sv": "Gäller"},
    "every": {"en": "every {x}", "fi": "kaikkia luokan {x} jäseniä", "sv": "varje {x}"},
    "including": {"en": "including {x}", "fi": "mukaan lukien {x}", "sv": "inklusive {x}"},
    "subjects_of": {"en": "everything that has {x}", "fi": "kaikkea, jolla on {x}", "sv": "allt som har {x}"},
    "objects_of": {"en": "every value of {x}", "fi": "kaikkia ominaisuuden {x} arvoja", "sv": "varje värde för {x}"},
    "sparql_target": {"en": "the nodes this SPARQL query selects", "fi": "tämän SPARQL-kyselyn valitsemia solmuja",
                      "sv": "de noder som denna SPARQL-fråga väljer"},
    "no_target": {"en": "No target of its own; used by {x}.", "fi": "Ei omaa kohdetta; käytössä muodoissa {x}.",
                  "sv": "Inget eget mål; används av {x}."},
    "itself": {"en": "The thing itself", "fi": "Kohde itse", "sv": "Själva saken"},
    "properties": {"en": "Properties", "fi": "Ominaisuudet", "sv": "Egenskaper"},
    "property": {"en": "Property", "fi": "Ominaisuus", "sv": "Egenskap"},
    "how_many": {"en": "How many", "fi": "Montako", "sv": "Hur många"},
    "value": {"en": "Value", "fi": "Arvo", "sv": "Värde"},
    "languages": {"en": "Languages", "fi": "Kielet", "sv": "Språk"},
    "message": {"en": "Message when it is not so", "fi": "Ilmoitus, jos näin ei ole",
                "sv": "Meddelande om så inte är fallet"},
    "rules": {"en": "Rules across several things (SHACL-SPARQL)", "fi": "Useaa asiaa koskevat säännöt (SHACL-SPARQL)",
              "sv": "Regler över flera saker (SHACL-SPARQL)"},
    "query": {"en": "The SPARQL query of this rule", "fi": "Säännön SPARQL-kysely", "sv": "Regelns SPARQL-fråga"},
    "target_query": {"en": "The SPARQL query of the target", "fi": "Kohteen SPARQL-kysely",
                     "sv": "Målets SPARQL-fråga"},
    # how many
    "exactly_one": {"en": "exactly one", "fi": "täsmälleen yksi", "sv": "exakt en"},
    "exactly": {"en": "exactly {n}", "fi": "täsmälleen {n}", "sv": "exakt {n}"},
    "at_least_one": {"en": "at least one", "fi": "vähintään yksi", "sv": "minst en"},
    "at_least": {"en": "at least {n}", "fi": "vähintään {n}", "sv": "minst {n}"},
    "at_most_one": {"en": "at most one", "fi": "enintään yksi", "sv": "högst en"},
    "at_most": {"en": "at most {n}", "fi": "enintään {n}", "sv": "högst {n}"},
    "between": {"en": "{n} to {m}", "fi": "{n}–{m}", "sv": "{n}–{m}"},
    "any_number": {"en": "any number", "fi": "kuinka monta tahansa", "sv": "hur många som helst"},
    "one_per_language": {"en": "at most one per language", "fi": "enintään yksi kullakin kielellä",
                         "sv": "högst en per språk"},
    "only_in": {"en": "only {x}", "fi": "vain {x}", "sv": "endast {x}"},
    "or": {"en": " or ", "fi": " tai ", "sv": " eller "},
    # what kind of value
    "langstring": {"en": "a text with a language tag ({x})", "fi": "kielikoodilla merkitty teksti ({x})",
                   "sv": "en text med språkkod ({x})"},
    "datatype": {"en": "a literal of type {x}", "fi": "literaali, tyyppiä {x}", "sv": "en literal av typen {x}"},
    "instance_of": {"en": "an instance of {x}", "fi": "luokan {x} ilmentymä", "sv": "en instans av {x}"},
    "one_of": {"en": "one of: {x}", "fi": "yksi näistä: {x}", "sv": "ett av: {x}"},
    "has_value": {"en": "the value {x}", "fi": "arvo {x}", "sv": "värdet {x}"},
    "pattern": {"en": "matching the pattern {x}", "fi": "joka vastaa hahmoa {x}", "sv": "som matchar mönstret {x}"},
    "min_length": {"en": "at least {n} characters", "fi": "vähintään {n} merkkiä", "sv": "minst {n} tecken"},
    "max_length": {"en": "at most {n} characters", "fi": "enintään {n} merkkiä", "sv": "högst {n} tecken"},
    "conforms_to": {"en": "conforming to the shape {x}", "fi": "joka noudattaa muotoa {x}",
                    "sv": "som följer formen {x}"},
    "either": {"en": "either {x}", "fi": "joko {x}", "sv": "antingen {x}"},
    "any_value": {"en": "any value", "fi": "mikä tahansa arvo", "sv": "vilket värde som helst"},
    "any_of": {"en": "any of {x}", "fi": "mikä tahansa näistä: {x}", "sv": "någon av {x}"},
    "inverse_of": {"en": "inverse of {x}", "fi": "käänteinen: {x}", "sv": "omvänd {x}"},
    "IRI": {"en": "an IRI", "fi": "IRI-tunniste", "sv": "en IRI"},
    "Literal": {"en": "a literal", "fi": "literaali", "sv": "en literal"},
    "BlankNode": {"en": "a blank node", "fi": "tyhjä solmu", "sv": "en tom nod"},
    "BlankNodeOrIRI": {"en": "a blank node or an IRI", "fi": "tyhjä solmu tai IRI", "sv": "en tom nod eller en IRI"},
    "BlankNodeOrLiteral": {"en": "a blank node or a literal", "fi": "tyhjä solmu tai literaali",
                           "sv": "en tom nod eller en literal"},
    "IRIOrLiteral": {"en": "an IRI or a literal", "fi": "IRI tai literaali", "sv": "en IRI eller en literal"},
}
LANGUAGE_NAMES = {
    "en": {"en": "English", "fi": "Finnish", "sv": "Swedish"},
    "fi": {"en": "englanti", "fi": "suomi", "sv": "ruotsi"},
    "sv": {"en": "engelska", "fi": "finska", "sv": "svenska"},
}
IN_LANGUAGE = {
    "en": {"en": "in English", "fi": "in Finnish", "sv": "in Swedish"},
    "fi": {"en": "englanniksi", "fi": "suomeksi", "sv": "ruotsiksi"},
    "sv": {"en": "på engelska", "fi": "på finska", "sv": "på svenska"},
}


def documentation_words(lang: str) -> dict[str, str]:
    return {key: texts.get(lang, texts["en"]) for key, texts in DOCUMENTATION_WORDS.items()}
