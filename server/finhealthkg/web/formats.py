"""The formats the publisher speaks, in one table: what each is called (`format=`, suffixes,
aliases, media types) and which serialiser writes it. Negotiation (negotiation.py), the error
pages (errors.py), the answers and the service description all read this table."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph


@dataclass(frozen=True)
class Format:
    name: str  # what `?format=` and the CLI call it
    media_type: str
    suffix: str | None = None  # file suffix of /doc/...{.suffix}
    rdf: pyoxigraph.RdfFormat | None = None
    aliases: tuple[str, ...] = ()  # other media types that mean the same
    label: str = ""

    @property
    def content_type(self) -> str:
        # A charset only for text/*: SPARQL JSON/XML results go without one (protocol
        # validators compare them exactly) and JSON-LD and N-Triples are UTF-8 by definition.
        return f"{self.media_type}; charset=utf-8" if self.media_type.startswith("text/") else self.media_type

    def names(self) -> tuple[str, ...]:
        return (self.name, self.media_type, *self.aliases, *((self.suffix,) if self.suffix else ()))


TURTLE = Format("turtle", "text/turtle", "ttl", rdf=pyoxigraph.RdfFormat.TURTLE,
                aliases=("application/x-turtle", "application/turtle", "n3", "text/n3", "text/rdf+n3",
                         "application/n3"), label="Turtle")  # Turtle is N3 too
# A graph asked for as "json" or "xml" (a format family, as SPARQLWrapper's defaults and
# Virtuoso's format= read it) is JSON-LD or RDF/XML; a SELECT or ASK so asked gets SPARQL JSON or XML.
JSONLD = Format("jsonld", "application/ld+json", "jsonld", rdf=pyoxigraph.RdfFormat.JSON_LD,
                aliases=("json-ld", "application/x-json+ld", "json", "application/json"), label="JSON-LD")
NTRIPLES = Format("ntriples", "application/n-triples", "nt", rdf=pyoxigraph.RdfFormat.N_TRIPLES,
                  aliases=("text/plain",), label="N-Triples")
RDFXML = Format("rdfxml", "application/rdf+xml", "rdf", rdf=pyoxigraph.RdfFormat.RDF_XML,
                aliases=("rdf", "rdf+xml", "xml", "application/xml", "text/xml"), label="RDF/XML")
HTML = Format("html", "text/html", "html", aliases=("application/xhtml+xml",), label="HTML")

RESULTS_JSON = Format("json", "application/sparql-results+json",
                      aliases=("application/json",), label="SPARQL JSON")
RESULTS_XML = Format("xml", "application/sparql-results+xml",
                     aliases=("application/xml", "text/xml"), label="SPARQL XML")
RESULTS_CSV = Format("csv", "text/csv", label="CSV")
RESULTS_TSV = Format("tsv", "text/tab-separated-values", label="TSV")

TEXT = Format("text", "text/plain", label="plain text")
JSON = Format("json", "application/json", label="JSON")

# The first offer of each list is the answer to a client that accepts anything.
RDF_FORMATS = (TURTLE, JSONLD, NTRIPLES, RDFXML)
DOCUMENT_FORMATS = (TURTLE, HTML, JSONLD, NTRIPLES, RDFXML)
SOLUTION_FORMATS = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)
BOOLEAN_FORMATS = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)  # CSV/TSV: "true", as Oxigraph writes it
