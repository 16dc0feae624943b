"""The project's IRI base and prefix table as plain strings, written once.

Plain strings, so that a query process (query/process.py) serialises Turtle with the project's
prefixes without importing rdflib; namespaces.py builds rdflib's Namespace objects from these.
"""

BASE = "https://w3id.org/finhealthkg/"

# One prefix per kind of thing, so Turtle reads `organization:auria-biobank`.
KINDS = (
    "agent", "figure", "field", "instant", "membership", "organization", "organization-kind",
    "period", "place", "project", "scheme", "source", "status", "strategy",
)

PREFIXES: dict[str, str] = {
    "fhkg": BASE + "def/",  # vocabulary terms, hash-free
    "fhkgsh": BASE + "shapes/",  # SHACL shapes
    **{kind: f"{BASE}id/{kind}/" for kind in KINDS},
    "org": "http://www.w3.org/ns/org#",
    "schema": "https://schema.org/",
    "adms": "http://www.w3.org/ns/adms#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "owl": "http://www.w3.org/2002/07/owl#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "sh": "http://www.w3.org/ns/shacl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "time": "http://www.w3.org/2006/time#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "wd": "http://www.wikidata.org/entity/",
    "spdx": "http://spdx.org/rdf/terms#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
}
