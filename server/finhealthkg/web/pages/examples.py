"""Example queries a researcher can run with one click (home page and query editor)."""

from __future__ import annotations

from dataclasses import dataclass

from ...namespaces import PREFIXES

# The prefixes the query editor starts with: the dataset's own and the vocabularies it uses.
EDITOR_PREFIXES = {name: PREFIXES[name] for name in (
    "fhkg", "organization", "org", "skos", "rdfs", "dcterms", "schema", "adms", "time", "prov", "foaf", "xsd")}


@dataclass(frozen=True)
class Example:
    slug: str
    title: dict[str, str]  # by language: en, fi, sv
    query: str

    def text(self) -> str:
        """The query with the PREFIX lines it needs."""
        used = [p for p in EDITOR_PREFIXES if f"{p}:" in self.query]
        head = "".join(f"PREFIX {p}: <{EDITOR_PREFIXES[p]}>\n" for p in used)
        return head + self.query.strip() + "\n"


EXAMPLES = (
    Example("supported-centres", {
        "en": "Which centres does the Ministry of Social Affairs and Health support?",
        "fi": "Mitä keskuksia sosiaali- ja terveysministeriö tukee?",
        "sv": "Vilka centrum stöder social- och hälsovårdsministeriet?"}, """
SELECT ?centre ?name ?status WHERE {
  ?ministry skos:prefLabel "Ministry of Social Affairs and Health"@en ;
            fhkg:supports ?centre .
  ?centre skos:prefLabel ?name FILTER (lang(?name) = "en")
  OPTIONAL { ?centre adms:status/skos:prefLabel ?status FILTER (lang(?status) = "en") }
}
ORDER BY ?name"""),
    Example("cooperative-biobanks", {
        "en": "Which biobanks belong to the Finnish Biobank Cooperative?",
        "fi": "Mitkä biopankit kuuluvat Biopankkien Osuuskunta Suomeen?",
        "sv": "Vilka biobanker hör till Finlands biobankskooperativ?"}, """
SELECT ?biobank ?name ?registered WHERE {
  ?biobank a fhkg:Biobank ; org:memberOf ?cooperative ;
           skos:prefLabel ?name FILTER (lang(?name) = "fi")
  ?cooperative a fhkg:Cooperative .
  OPTIONAL { ?biobank fhkg:registrationDate ?registered }
}
ORDER BY ?registered ?name"""),
    Example("cancer-network", {
        "en": "Which regional centres form the national cancer network, and where are they hosted?",
        "fi": "Mitkä alueelliset keskukset muodostavat kansallisen syöpäkeskusverkoston ja missä ne toimivat?",
        "sv": "Vilka regionala centrum bildar det nationella cancernätverket och var finns de?"}, """
SELECT ?centre ?name ?host WHERE {
  ?centre a fhkg:RegionalCentre ; fhkg:partOfNetwork ?network ;
          skos:prefLabel ?name ; fhkg:hostedBy/skos:prefLabel ?host .
  FILTER (lang(?name) = "en" && lang(?host) = "en")
}
ORDER BY ?name"""),
    Example("establishment-2021-2023", {
        "en": "What is to establish its operating model and funding in 2021–2023?",
        "fi": "Mitkä vakiinnuttavat toimintamallinsa ja rahoituksensa vuosina 2021–2023?",
        "sv": "Vad ska etablera sin verksamhetsmodell och finansiering 2021–2023?"}, """
SELECT ?organisation ?name ?founded WHERE {
  ?organisation fhkg:establishmentPeriod ?period ; skos:prefLabel ?name FILTER (lang(?name) = "en")
  ?period time:hasBeginning/time:inXSDgYear "2021"^^xsd:gYear ;
          time:hasEnd/time:inXSDgYear "2023"^^xsd:gYear .
  OPTIONAL { ?organisation schema:foundingDate ?founded }
}
ORDER BY ?name"""),
    Example("members-per-organisation", {
        "en": "How many members does each network or cooperative have?",
        "fi": "Montako jäsentä kullakin verkostolla tai osuuskunnalla on?",
        "sv": "Hur många medlemmar har varje nätverk eller kooperativ?"}, """
SELECT ?name (COUNT(?member) AS ?members) WHERE {
  ?organisation org:hasMember ?member ; skos:prefLabel ?name FILTER (lang(?name) = "en")
}
GROUP BY ?name
ORDER BY DESC(?members)"""),
)
