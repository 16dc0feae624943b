"""Formats the publisher speaks and the choice among them: an explicit `format` parameter or
file suffix first, then the Accept header (q-values and wildcards parsed by Werkzeug)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph
from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .errors import BadRequest, NotAcceptable


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


def negotiate(offers: tuple[Format, ...], explicit: str | Sequence[str] | None = None) -> Format:
    """The format to answer in, or NotAcceptable listing the offers.

    `explicit` is the `format` parameter: a name, a media type or a suffix. Several values
    must name the same format (SPARQLWrapper sends e.g. format=tsv&format=text/tab-separated-values).
    """
    values = [explicit] if isinstance(explicit, str) else list(explicit or ())
    if values:
        chosen = {_named(offers, value) for value in values}
        if None in chosen:
            raise NotAcceptable(offers, f"format {', '.join(values)!r} is not offered here")
        if len(chosen) > 1:
            raise BadRequest(f"the format parameters name different formats: {', '.join(values)}")
        return chosen.pop()
    header = request.headers.get("Accept", "")
    chosen = (by_accept if len(header) <= MAX_CACHED_ACCEPT else by_accept.__wrapped__)(offers, header)
    if chosen is None:
        raise NotAcceptable(offers)
    return chosen


MAX_CACHED_ACCEPT = 500  # characters; longer Accept headers are parsed each time, not kept


@lru_cache(maxsize=1024)  # clients send few distinct Accept headers; parsing one costs more than the lookup
def by_accept(offers: tuple[Format, ...], header: str) -> Format | None:
    """The offer the Accept header prefers; None when it accepts none of them."""
    accept = parse_accept_header(header, MIMEAccept)
    if not accept:  # no Accept header: anything will do
        return offers[0]
    by_type: dict[str, Format] = {offer.media_type: offer for offer in offers}
    for offer in offers:  # aliases after every canonical type, so a wildcard never picks one
        for alias in offer.aliases:
            if "/" in alias:
                by_type.setdefault(alias, offer)
    best = _best_match(accept, list(by_type))
    return None if best is None else by_type[best]


def _named(offers: tuple[Format, ...], value: str) -> Format | None:
    """The offer a format value names; a comma-separated list names its first known member."""
    for part in value.split(","):
        wanted = part.split(";")[0].strip().lower()
        # an offer's own name, media type or suffix before another's alias ("json" is JSON
        # where JSON is offered, JSON-LD only among RDF formats)
        found = next((offer for offer in offers if wanted in (offer.name, offer.media_type, offer.suffix)),
                     None) or next((offer for offer in offers if wanted in offer.aliases), None)
        if found is not None:
            return found
    return None


def _best_match(accept: MIMEAccept, media_types: list[str]) -> str | None:
    # Werkzeug prefers, among equal qualities, the most specific match, then the order given;
    # canonical media types are listed before aliases so an alias never wins a tie.
    return accept.best_match(media_types)
