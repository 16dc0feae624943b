"""Formats the publisher speaks and the choice among them: an explicit `format` parameter or
file suffix first, then the Accept header (q-values and wildcards parsed by Werkzeug)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from flask import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ...query.formats import (  # noqa: F401 - the table, read here and re-exported
    BOOLEAN_FORMATS,
    DOCUMENT_FORMATS,
    HTML,
    JSON,
    JSONLD,
    NTRIPLES,
    RDF_FORMATS,
    RDFXML,
    RESULTS_CSV,
    RESULTS_JSON,
    RESULTS_TSV,
    RESULTS_XML,
    SOLUTION_FORMATS,
    TEXT,
    TURTLE,
    Format,
)
from .errors import BadRequest, NotAcceptable


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
