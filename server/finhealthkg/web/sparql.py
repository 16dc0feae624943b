"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only, bounded to this dataset.

`/sparql?release=V` and `/releases/V/sparql` answer from past release V, with the same checks,
the same query processes and the same formats as the current one."""

from __future__ import annotations

import hashlib
import itertools

import pyoxigraph
from flask import Blueprint, Response, request

from ..describe import ReleaseInfo
from ..executor import Job, QueryFailed, QueryPool
from ..query_cost import point_lookup_form
from ..query_policy import QueryRefused, UpdateRefused, check_query, is_update
from ..results import capped
from ..stores import Store
from ..stores.oxigraph import dataset_graphs
from . import response_cache
from .errors import BadRequest, ReadOnly
from .negotiation import BOOLEAN_FORMATS, HTML, RDF_FORMATS, SOLUTION_FORMATS, Format, negotiate
from .pages import results_page
from .protocol import READ_ONLY, ProtocolRequest, read_request
from .publication import RELEASE_HEADER, Snapshot, publication, validators
from .serialize import answer_bytes
from .service_description import service_description

blueprint = Blueprint("sparql", __name__)
ROW_LIMIT_HEADER = "FinHealthKG-Row-Limit"
# The formats of each query form. HTML comes last: only a client that prefers it (a browser)
# gets a page, never a default.
OFFERS = {pyoxigraph.QuerySolutions: (*SOLUTION_FORMATS, HTML), pyoxigraph.QueryBoolean: (*BOOLEAN_FORMATS, HTML),
          pyoxigraph.QueryTriples: (*RDF_FORMATS, HTML)}


@blueprint.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    protocol = read_request()
    return answer(protocol, publication().release(protocol.release))


@blueprint.route("/releases/<version>/sparql", methods=["GET", "POST"])
def release_endpoint(version: str) -> Response:
    protocol = read_request()
    if protocol.release not in (None, version):
        raise BadRequest(f"this endpoint answers from release {version}; release={protocol.release} names another")
    return answer(protocol, publication().release(version))


def answer(protocol: ProtocolRequest, snapshot: Snapshot) -> Response:
    """A protocol request answered from one release."""
    if protocol.query is None:
        return service_description(snapshot)
    etag = answer_etag(snapshot.info.version, protocol, request.headers.get("Accept", ""))
    if request.if_none_match.contains(etag):  # the same question to the same release
        return _cached(Response(status=304), etag, snapshot.info)
    base_iri = publication().settings.base_iri + "sparql"
    try:
        check_query(protocol.query, snapshot.graphs, dataset_given=protocol.dataset_given,
                    base_iri=base_iri)
    except UpdateRefused:
        raise ReadOnly(READ_ONLY) from None
    except QueryRefused as refused:
        raise BadRequest(str(refused)) from None
    lookup = point_lookup_form(protocol.query) if snapshot.pool is not None else None
    if lookup is not None:  # its form is known from its tokens; the store finds any syntax error
        form = pyoxigraph.QueryBoolean if lookup == "ASK" else pyoxigraph.QuerySolutions
    else:
        form = _form(protocol.query, base_iri)
    fmt = negotiate(OFFERS[form], protocol.format)
    limit = publication().settings.row_limit
    if snapshot.pool is not None and lookup is None:  # a killable query process
        body, truncated = _in_pool(snapshot.pool, protocol, form, fmt, base_iri, limit)
    else:  # an external store (its connection has the time limit), or a point lookup (query_cost.py)
        largest = None
        if lookup is not None:
            response_cache.not_worth_keeping()
            largest = snapshot.release.largest_subject if snapshot.release else None
        body, truncated = _in_store(snapshot.store, protocol, fmt, base_iri, limit, lookup=lookup is not None,
                                    within_limit=largest is not None and largest <= limit)
    response = Response(body, content_type=fmt.content_type)
    if truncated:  # the answer says it was cut, and where
        response.headers[ROW_LIMIT_HEADER] = f"{publication().settings.row_limit}; truncated"
    return _cached(response, etag, snapshot.info)


def _form(query: str, base_iri: str) -> type:
    """The query's form, from its answer on an empty store: it decides the formats offered, and
    a syntax error is answered before any store is asked."""
    try:
        return type(pyoxigraph.Store().query(query, base_iri=base_iri))
    except SyntaxError as error:
        if is_update(query):
            raise ReadOnly(READ_ONLY) from None
        raise BadRequest(f"the query does not parse: {error}") from None


def _in_pool(pool: QueryPool, protocol: ProtocolRequest, form: type, fmt: Format, base_iri: str,
             limit: int) -> tuple[bytes | str, bool]:
    default, named = dataset_graphs(protocol.dataset)
    wire = fmt.name if fmt is not HTML else ("json" if form is not pyoxigraph.QueryTriples else "ntriples")
    try:
        outcome = pool.run(Job(protocol.query or "", default, named, base_iri, wire, limit))
    except QueryFailed as failed:
        raise BadRequest(str(failed)) from None
    if fmt is not HTML:
        return outcome.body, outcome.truncated
    if wire == "json":
        answer = pyoxigraph.parse_query_results(outcome.body, format=pyoxigraph.QueryResultsFormat.JSON)
    else:
        answer = list(pyoxigraph.parse(outcome.body, format=pyoxigraph.RdfFormat.N_TRIPLES))
    return results_page(protocol.query or "", answer, truncated=outcome.truncated, limit=limit), outcome.truncated


def _in_store(store: Store, protocol: ProtocolRequest, fmt: Format, base_iri: str,
              limit: int, *, lookup: bool = False, within_limit: bool = False) -> tuple[bytes | str, bool]:
    """The answer of the store itself. `lookup` (a point lookup on the embedded store): the
    query is run again rather than its rows copied under the limit, which costs more; not even
    that when it is `within_limit` (no subject of the release has more quads than the limit)."""
    def run() -> object:
        return store.query(protocol.query or "", dataset=protocol.dataset, base_iri=base_iri)

    try:
        answer = run()
    except SyntaxError as error:
        raise BadRequest(f"the query does not parse: {error}") from None
    truncated = False
    if isinstance(answer, pyoxigraph.QuerySolutions) and not within_limit:
        if lookup and sum(1 for _ in itertools.islice(answer, limit + 1)) <= limit:
            answer = run()  # within the limit: answered as it comes
        else:
            answer, truncated = capped(answer if not lookup else run(), limit)
    if fmt is HTML:
        return results_page(protocol.query or "", answer, truncated=truncated, limit=limit), truncated
    return answer_bytes(answer, fmt), truncated


def answer_etag(version: str, protocol: ProtocolRequest, accept: str) -> str:
    """Equal for the same query, dataset, format and Accept against the same release."""
    key = "\n".join([version, protocol.query or "", *protocol.dataset.default_graphs, "|",
                     *protocol.dataset.named_graphs, "|", *protocol.format, accept])
    return f"{version}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def answer_headers(etag: str, info: ReleaseInfo) -> list[tuple[str, str]]:
    """What an answer's headers say about it: the release answering (current or past), that it
    varies by Accept, its validators (quick.py sends the same)."""
    return [(RELEASE_HEADER, info.version), ("Vary", "Accept"), *validators(etag, info)]


def _cached(response: Response, etag: str, info: ReleaseInfo) -> Response:
    for name, value in answer_headers(etag, info):
        response.headers[name] = value
    return response
