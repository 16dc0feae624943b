"""The formats the publisher speaks, in one table: what each is called (`format=`, suffixes,
aliases, media types), which of pyoxigraph's writers writes it and its W3C formats IRI. The
web layer's negotiation, error pages and service description, the query processes' writers
(answers.py) and the command line all read this table; no Flask here."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph


@dataclass(frozen=True)
class Format:
    name: str  # what `?format=` and the CLI call it
    media_type: str
    suffix: str | None = None  # file suffix of /doc/...{.suffix}
    rdf: pyoxigraph.RdfFormat | None = None
    results: pyoxigraph.QueryResultsFormat | None = None
    w3c: str | None = None  # its name in http://www.w3.org/ns/formats/ (service descriptions)
    aliases: tuple[str, ...] = ()  # other media types that mean the same
    label: str = ""

    @property
    def content_type(self) -> str:
        # A charset only for text/*: SPARQL JSON/XML results go without one (protocol
        # validators compare them exactly) and JSON-LD and N-Triples are UTF-8 by definition.
        return f"{self.media_type}; charset=utf-8" if self.media_type.startswith("text/") else self.media_type

    def names(self) -> tuple[str, ...]:
        return (self.name, self.media_type, *self.aliases, *((self.suffix,) if self.suffix else ()))


TURTLE = Format("turtle", "text/turtle", "ttl", rdf=pyoxigraph.RdfFormat.TURTLE, w3c="Turtle",
                aliases=("application/x-turtle", "application/turtle", "n3", "text/n3", "text/rdf+n3",
                         "application/n3"), label="Turtle")  # Turtle is N3 too
# A graph asked for as "json" or "xml" (a format family, as SPARQLWrapper's defaults and
# Virtuoso's format= read it) is JSON-LD or RDF/XML; a SELECT or ASK so asked gets SPARQL JSON or XML.
JSONLD = Format("jsonld", "application/ld+json", "jsonld", rdf=pyoxigraph.RdfFormat.JSON_LD, w3c="JSON-LD",
                aliases=("json-ld", "application/x-json+ld", "json", "application/json"), label="JSON-LD")
NTRIPLES = Format("ntriples", "application/n-triples", "nt", rdf=pyoxigraph.RdfFormat.N_TRIPLES, w3c="N-Triples",
                  aliases=("text/plain",), label="N-Triples")
RDFXML = Format("rdfxml", "application/rdf+xml", "rdf", rdf=pyoxigraph.RdfFormat.RDF_XML, w3c="RDF_XML",
                aliases=("rdf", "rdf+xml", "xml", "application/xml", "text/xml"), label="RDF/XML")
HTML = Format("html", "text/html", "html", aliases=("application/xhtml+xml",), label="HTML")

RESULTS_JSON = Format("json", "application/sparql-results+json", results=pyoxigraph.QueryResultsFormat.JSON,
                      w3c="SPARQL_Results_JSON",
                      aliases=("application/json",), label="SPARQL JSON")
RESULTS_XML = Format("xml", "application/sparql-results+xml", results=pyoxigraph.QueryResultsFormat.XML,
                     w3c="SPARQL_Results_XML",
                     aliases=("application/xml", "text/xml"), label="SPARQL XML")
RESULTS_CSV = Format("csv", "text/csv", results=pyoxigraph.QueryResultsFormat.CSV, w3c="SPARQL_Results_CSV",
                     label="CSV")
RESULTS_TSV = Format("tsv", "text/tab-separated-values", results=pyoxigraph.QueryResultsFormat.TSV,
                     w3c="SPARQL_Results_TSV", label="TSV")

TEXT = Format("text", "text/plain", label="plain text")
JSON = Format("json", "application/json", label="JSON")

# The first offer of each list is the answer to a client that accepts anything.
RDF_FORMATS = (TURTLE, JSONLD, NTRIPLES, RDFXML)
DOCUMENT_FORMATS = (TURTLE, HTML, JSONLD, NTRIPLES, RDFXML)
SOLUTION_FORMATS = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)
BOOLEAN_FORMATS = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)  # CSV/TSV: "true", as Oxigraph writes it
# By name (`format=`, the command line, a query process's job), for the writers
RESULT_WRITERS = {f.name: f.results for f in SOLUTION_FORMATS if f.results is not None}
RDF_WRITERS = {f.name: f.rdf for f in RDF_FORMATS if f.rdf is not None}
