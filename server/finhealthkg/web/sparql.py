"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only, bounded to this dataset.

`/sparql?release=V` and `/releases/V/sparql` answer from past release V, with the same checks,
the same query processes and the same formats as the current one."""

from __future__ import annotations

import hashlib

import pyoxigraph
from flask import Blueprint, Response, request

from ..config import Settings
from ..query.answers import bounded_answer
from ..query.policy import SERVICE_REFUSED, QueryRefused, UpdateRefused, check_query
from ..query.pool import QueryFailed, QueryPool
from ..query.process import Answered, Job
from ..query.reading import read
from ..query.sandbox import CPU_MARGIN
from ..query.upstream import run_upstream
from ..release import ReleaseInfo
from ..serving import Snapshot
from ..stores.base import StoreError
from ..stores.oxigraph import dataset_graphs
from ..stores.sparql import decode_escapes
from .http.caching import validators
from .http.errors import BadRequest, NotAcceptable, ReadOnly, ServiceUnavailable
from .http.negotiation import BOOLEAN_FORMATS, HTML, RDF_FORMATS, SOLUTION_FORMATS, Format, negotiate
from .http.protocol import READ_ONLY, ProtocolRequest, read_request
from .http.publication import RELEASE_HEADER, publication, served_release
from .pages.thing_page import results_page
from .service_description import service_description

blueprint = Blueprint("sparql", __name__)
ROW_LIMIT_HEADER = "FinHealthKG-Row-Limit"
# The formats of each query form. HTML comes last: only a client that prefers it (a browser)
# gets a page, never a default.
OFFERS = {"solutions": (*SOLUTION_FORMATS, HTML), "boolean": (*BOOLEAN_FORMATS, HTML), "graph": (*RDF_FORMATS, HTML)}
_PAGE_WIRE = {"solutions": "json", "boolean": "json", "graph": "ntriples"}  # what a page is made from
BYTE_LIMIT_HEADER = "FinHealthKG-Byte-Limit"
# A results page shows at most this much of an answer (the rest by its formats' links): what the
# web worker parses and renders stays small whatever the query (a 16 MiB literal, a million rows)
PAGE_ROWS = 1000
PAGE_BYTES = 1 * 2**20


@blueprint.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    protocol = read_request()
    return answer(protocol, served_release(protocol.release))


@blueprint.route("/releases/<version>/sparql", methods=["GET", "POST"])
def release_endpoint(version: str) -> Response:
    protocol = read_request()
    if protocol.release not in (None, version):
        raise BadRequest(f"this endpoint answers from release {version}; release={protocol.release} names another")
    return answer(protocol, served_release(version))


def answer(protocol: ProtocolRequest, snapshot: Snapshot) -> Response:
    """A protocol request answered from one release."""
    if protocol.query is None:
        return service_description(snapshot)
    etag = answer_etag(snapshot.info.version, protocol, request.headers.get("Accept", ""))
    if request.if_none_match.contains(etag):  # the same question to the same release
        return _cached(Response(status=304), etag, snapshot.info)
    settings = publication().settings
    base_iri = settings.base_iri + "sparql"
    try:
        check_query(protocol.query, snapshot.graphs, dataset_given=protocol.dataset_given, base_iri=base_iri)
        if snapshot.external:  # an external store may decode \\u escapes anywhere (SPARQL 1.1 §19.2)
            check_query(decode_escapes(protocol.query), snapshot.graphs, dataset_given=protocol.dataset_given,
                        base_iri=base_iri)
    except UpdateRefused:
        raise ReadOnly(READ_ONLY) from None
    except QueryRefused as refused:
        raise BadRequest(str(refused)) from None
    chosen = {form: _acceptable(offers, protocol.format) for form, offers in OFFERS.items()}
    if snapshot.pool is None:
        raise ServiceUnavailable("this server has no query processes to read or run queries with")
    if snapshot.external:
        form, body, cut = _in_store(snapshot, protocol, chosen, base_iri, settings)
    else:
        form, body, cut = _in_pool(snapshot.pool, protocol, chosen, base_iri, settings)
    fmt = chosen[form]
    assert fmt is not None  # a form without a format was refused (406)
    rows, size = _limits(fmt, settings)
    if fmt is HTML:
        body = _page(protocol.query, form, body, cut, rows)
    response = Response(body, content_type=fmt.content_type)
    if cut == "rows":  # the answer says it was cut, and where
        response.headers[ROW_LIMIT_HEADER] = f"{rows}; truncated"
    elif cut == "bytes":
        response.headers[BYTE_LIMIT_HEADER] = f"{size}; truncated"
    return _cached(response, etag, snapshot.info)


def _acceptable(offers: tuple[Format, ...], explicit: tuple[str, ...]) -> Format | None:
    """The format for one form of answer; None when the client accepts none of its formats."""
    try:
        return negotiate(offers, explicit)
    except NotAcceptable:
        return None


def _refuse_format(form: str, explicit: tuple[str, ...]) -> NotAcceptable:
    offers = OFFERS[form]
    try:
        negotiate(offers, explicit)
    except NotAcceptable as refusal:
        return refusal
    return NotAcceptable(offers)


def _in_pool(pool: QueryPool, protocol: ProtocolRequest, chosen: dict[str, Format | None], base_iri: str,
             settings: Settings) -> tuple[str, bytes, str | None]:
    """(form, body, cut) of the answer, computed in a query process; never here."""
    wire = {form: None if fmt is None else _wire(form, fmt) for form, fmt in chosen.items()}
    pages = {form: _limits(fmt, settings) for form, fmt in chosen.items() if fmt is HTML}
    answered = _run(pool, protocol, wire, base_iri, settings, pages)
    if answered.format is None:
        raise _refuse_format(answered.form, protocol.format)
    return answered.form, answered.body, answered.cut


def _run(pool: QueryPool, protocol: ProtocolRequest, wire: dict[str, str | None], base_iri: str,
         settings: Settings, pages: dict[str, tuple[int, int]] | None = None) -> Answered:
    """A query process's answer to the request's query (`wire`: the format per form; None
    for every form: only the form is wanted); the engine's refusals as HTTP errors."""
    default, named = dataset_graphs(protocol.dataset)
    if _names_its_dataset(protocol, base_iri):
        default, named = None, None  # FROM / FROM NAMED (checked by the policy) decide
    job = Job(protocol.query or "", default, named, base_iri, wire, settings.row_limit,
              settings.max_answer_bytes, settings.query_timeout + CPU_MARGIN, pages or {})
    try:
        return pool.run(job, request.remote_addr or "", request.environ.get("gunicorn.socket"))
    except QueryFailed as failed:
        if failed.kind == "service":  # the engine tried to connect, and the kernel refused
            raise BadRequest(SERVICE_REFUSED) from None
        if failed.kind == "memory":
            raise ServiceUnavailable(str(failed), {"Retry-After": "10"}) from None
        raise BadRequest(str(failed)) from None


def _in_store(snapshot: Snapshot, protocol: ProtocolRequest, chosen: dict[str, Format | None], base_iri: str,
              settings: Settings) -> tuple[str, bytes, str | None]:
    """(form, body, cut) of the answer of an external store, which runs the query. A query
    process reads it first (its syntax errors and form, as on the embedded store); this process
    only waits for the store's answer (query/upstream.py) and bounds it as a query process would."""
    assert snapshot.pool is not None
    form = _run(snapshot.pool, protocol, dict.fromkeys(chosen), base_iri, settings).form
    fmt = chosen[form]
    if fmt is None:
        raise _refuse_format(form, protocol.format)
    store = snapshot.store
    query = protocol.query or ""
    body = run_upstream(  # pyoxigraph's answers stay in this thread: only bytes come from the other
        lambda cancel: store.fetch(query, form, dataset=protocol.dataset, base_iri=base_iri,  # type: ignore[attr-defined]
                                   own_dataset=_names_its_dataset(protocol, base_iri), cancel=cancel),
        timeout=settings.query_timeout, admission=snapshot.admission, address=request.remote_addr or "",
        client=request.environ.get("gunicorn.socket"))
    try:  # what the store wrote is read lazily, row by row
        bounded = bounded_answer(store.decode(body, form), _wire(form, fmt), *_limits(fmt, settings))  # type: ignore[attr-defined]
    except (SyntaxError, ValueError) as error:  # e.g. Virtuoso's IRI("x") leaves the IRI relative
        raise StoreError(f"its answer is not valid RDF: {error}") from None
    return form, bounded.body, bounded.cut


def _limits(fmt: Format | None, settings: Settings) -> tuple[int, int]:
    """(rows, bytes) an answer is cut at: a page, made and rendered in this web worker, at far fewer."""
    if fmt is HTML:
        return min(settings.row_limit, PAGE_ROWS), min(settings.max_answer_bytes, PAGE_BYTES)
    return settings.row_limit, settings.max_answer_bytes


def _names_its_dataset(protocol: ProtocolRequest, base_iri: str) -> bool:
    """Whether the query's own FROM / FROM NAMED give its dataset (no protocol dataset overrides them)."""
    return not protocol.dataset_given and bool(read(protocol.query or "", base_iri).graphs)


def _wire(form: str, fmt: Format) -> str:
    """The format an answer is made in: the one asked for, or what its page is made from."""
    return _PAGE_WIRE[form] if fmt is HTML else fmt.name


def _page(query: str, form: str, body: bytes, cut: str | None, limit: int) -> str:
    if form == "graph":
        answer: object = list(pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES))
    else:
        answer = pyoxigraph.parse_query_results(body, format=pyoxigraph.QueryResultsFormat.JSON)
    return results_page(query, answer, truncated=cut is not None, limit=limit)


def answer_etag(version: str, protocol: ProtocolRequest, accept: str) -> str:
    """Equal for the same query, dataset, format and Accept against the same release."""
    key = "\n".join([version, protocol.query or "", *protocol.dataset.default_graphs, "|",
                     *protocol.dataset.named_graphs, "|", *protocol.format, accept])
    return f"{version}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def answer_headers(etag: str, info: ReleaseInfo) -> list[tuple[str, str]]:
    """What an answer's headers say about it: the release answering (current or past), that it
    varies by Accept, its validators."""
    return [(RELEASE_HEADER, info.version), ("Vary", "Accept"), *validators(etag, info)]


def _cached(response: Response, etag: str, info: ReleaseInfo) -> Response:
    for name, value in answer_headers(etag, info):
        response.headers[name] = value
    return response
