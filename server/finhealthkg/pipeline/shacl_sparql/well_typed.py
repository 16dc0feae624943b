"""pyshacl's test of ill-typed literals, as a custom SPARQL function for Oxigraph."""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from .model import _FALSE, _TRUE, WELL_TYPED, Term

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    str(XSD.integer): (int,), str(XSD.float): (float,), str(XSD.decimal): (Decimal,), str(XSD.boolean): (bool,),
    str(XSD.date): (date,), str(XSD.time): (time,), str(XSD.dateTime): (datetime,),
}


def _well_typed(term: Term) -> ox.Literal:
    """pyshacl's test of a literal whose datatype is the one required: not ill-typed for rdflib."""
    if not isinstance(term, ox.Literal) or term.language:
        return _FALSE
    return _TRUE if _rdflib_well_typed(term.value, term.datatype.value) else _FALSE


_WARNINGS_LOCK = threading.Lock()  # catch_warnings changes process-wide state


@functools.lru_cache(maxsize=65536)
def _rdflib_well_typed(lexical: str, datatype: str) -> bool:
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdflib warns about "weird booleans"
        literal = Literal(lexical, datatype=URIRef(datatype))
    if getattr(literal, "ill_typed", None) is True:
        return False
    expected = _PYTHON_TYPES.get(datatype)
    return expected is None or isinstance(literal.value, expected)


class _IllTypedFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


@contextmanager
def _quiet_rdflib() -> Iterator[None]:
    """rdflib logs a traceback for every ill-typed literal it converts; those are results here."""
    logger = logging.getLogger("rdflib.term")
    quiet = _IllTypedFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


_FUNCTIONS = {ox.NamedNode(WELL_TYPED): _well_typed}
