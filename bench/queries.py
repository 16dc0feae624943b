"""The kinds of request the endpoint benchmark sends, written against the generated graph's
real IRIs and names, which are picked from the release's store by SPARQL (sorted, evenly spaced:
the same release gives the same picks).

The issue's five kinds, with the two-hop join in three forms. "join" is the form the issue's
baseline was measured on (../shared/reference/performance-baselines.md: rdflib 7.3 s against
pyoxigraph 3.7 ms at 100k): the question as a user asks it, the city by its name and every
variable typed, where rdflib's static pattern order (most bound terms first) starts from the
two type patterns and builds their cross product before the patterns that connect them. The two
other forms show the range: "join-iri" starts from the city's IRI, rdflib's best case, and
"join-all" has no anchor at all and answers thousands of rows.

Each kind is a pool of texts that a client walks through in turn, so that no two requests in a
row are the same (a server may answer a repeated request from a cache; that is measured apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph

from thin_app import BASE, DEFAULT_GRAPH, describe_query

POOL = 64  # things (and variants) per kind
KINDS = ("lookup", "dereference", "join", "join-iri", "join-all", "count", "optional")
TITLES = {
    "lookup": "point lookup (SELECT ?p ?o of one IRI)",
    "dereference": "dereference (/doc/... as Turtle)",
    "join": "two-hop join with a language filter (a city by name)",
    "join-iri": "a two-hop join from a city's IRI",
    "join-all": "the same join over every biobank (no anchor)",
    "count": "COUNT / GROUP BY",
    "optional": "OPTIONAL / ORDER BY / LIMIT",
}
PREFIXES = f"""PREFIX fhkg: <{BASE}def/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
PREFIX org: <http://www.w3.org/ns/org#>
"""
UNIVERSITY = f"<{BASE}id/organization-kind/university>"


@dataclass(frozen=True)
class Workload:
    """Per kind: the SPARQL texts in turn; for dereference also the /doc paths they stand for."""

    texts: dict[str, list[str]]
    documents: list[str]  # /doc/{kind}/{slug} of each dereference text, in the same order

    def text(self, kind: str, index: int) -> str:
        pool = self.texts[kind]
        return pool[index % len(pool)]

    def document(self, index: int) -> str:
        return self.documents[index % len(self.documents)]


def spaced(items: list[str], count: int) -> list[str]:
    """`count` items evenly spaced over the sorted `items`."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def pick(store: pyoxigraph.Store, query: str) -> list[str]:
    rows = store.query(PREFIXES + query, default_graph=DEFAULT_GRAPH)
    return sorted(row[0].value for row in rows)


def lookup_query(iri: str) -> str:
    return f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}"


def join_query(city_name: str) -> str:
    """The biobanks owned by the university of the city with this Finnish name, and their Finnish
    names: biobank -> university -> city. Few rows; Oxigraph starts from the city's name."""
    literal = pyoxigraph.Literal(city_name, language="fi")  # str(): its N-Triples form, escaped
    return PREFIXES + f"""SELECT ?biobank ?name ?university WHERE {{
  ?biobank a fhkg:Biobank ; skos:prefLabel ?name ; fhkg:ownedBy ?university .
  ?university org:classification {UNIVERSITY} ; schema:location ?city .
  ?city skos:prefLabel {literal} .
  FILTER (lang(?name) = "fi")
}}"""


def join_iri_query(city: str) -> str:
    """Biobanks in one city, their owners and both names in Finnish: biobank -> owner -> label."""
    return PREFIXES + f"""SELECT ?biobank ?name ?owner ?ownerName WHERE {{
  ?biobank a fhkg:Biobank ; schema:location <{city}> ; skos:prefLabel ?name ; fhkg:ownedBy ?owner .
  ?owner skos:prefLabel ?ownerName .
  FILTER (lang(?name) = "fi" && lang(?ownerName) = "fi")
}}"""


def join_all_query() -> str:
    """The join above without its anchor: every biobank, its owner and both Finnish names (the
    whole answer, thousands of rows at 100k): no bound term for a store to start from."""
    return PREFIXES + """SELECT ?biobank ?name ?owner ?ownerName WHERE {
  ?biobank a fhkg:Biobank ; skos:prefLabel ?name ; fhkg:ownedBy ?owner .
  ?owner skos:prefLabel ?ownerName .
  FILTER (lang(?name) = "fi" && lang(?ownerName) = "fi")
}"""


def count_query(limit: int) -> str:
    return PREFIXES + f"""SELECT ?city (COUNT(?biobank) AS ?biobanks) WHERE {{
  ?biobank a fhkg:Biobank ; schema:location ?city .
}}
GROUP BY ?city ORDER BY DESC(?biobanks) ?city LIMIT {limit}"""


def optional_query(limit: int) -> str:
    return PREFIXES + f"""SELECT ?biobank ?name ?registered WHERE {{
  ?biobank a fhkg:Biobank ; skos:prefLabel ?name FILTER (lang(?name) = "en")
  OPTIONAL {{ ?biobank fhkg:registrationDate ?registered }}
}}
ORDER BY DESC(?registered) ?name LIMIT {limit}"""


def workload(store: pyoxigraph.Store) -> Workload:
    """The requests to send, picked from `store` (a release's, opened read-only)."""
    biobanks = spaced(pick(store, "SELECT ?b WHERE { ?b a fhkg:Biobank }"), POOL)
    cities = spaced(pick(store, "SELECT DISTINCT ?c WHERE { ?b a fhkg:Biobank ; schema:location ?c }"), POOL)
    city_names = spaced(pick(store, f"""SELECT DISTINCT ?name WHERE {{
  ?b a fhkg:Biobank ; fhkg:ownedBy ?u . ?u org:classification {UNIVERSITY} ; schema:location ?c .
  ?c skos:prefLabel ?name FILTER (lang(?name) = "fi") }}"""), POOL)
    if not biobanks or not cities or not city_names:
        raise ValueError("the release holds no biobanks with a location and a university owner: "
                         "not a generated graph?")
    limits = [10 + i for i in range(POOL)]
    return Workload(
        texts={
            "lookup": [lookup_query(iri) for iri in biobanks],
            "dereference": [describe_query(iri) for iri in biobanks],
            "join": [join_query(name) for name in city_names],
            "join-iri": [join_iri_query(city) for city in cities],
            "join-all": [join_all_query()],  # each request made new by the number in its comment
            "count": [count_query(n) for n in limits],
            "optional": [optional_query(n) for n in limits],
        },
        documents=["/doc/" + iri[len(BASE + "id/"):] for iri in biobanks],
    )
