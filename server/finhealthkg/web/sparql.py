"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only, bounded to this dataset.

`/sparql?release=V` and `/releases/V/sparql` answer from past release V, with the same checks,
the same query processes and the same formats as the current one."""

from __future__ import annotations

import hashlib
import itertools

import pyoxigraph
from flask import Blueprint, Response, request

from ..executor import Job, QueryFailed, QueryPool
from ..query_cost import is_point_lookup
from ..query_policy import QueryRefused, UpdateRefused, check_query, is_update
from ..results import capped
from ..stores import Store
from ..stores.oxigraph import dataset_graphs
from .errors import BadRequest, ReadOnly
from .negotiation import BOOLEAN_FORMATS, HTML, RDF_FORMATS, SOLUTION_FORMATS, Format, negotiate
from .pages import results_page
from .protocol import READ_ONLY, ProtocolRequest, read_request
from .publication import RELEASE_HEADER, Snapshot, publication
from .serialize import answer_bytes
from .service_description import service_description

blueprint = Blueprint("sparql", __name__)
ROW_LIMIT_HEADER = "FinHealthKG-Row-Limit"


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
    etag = _etag(snapshot.info.version, protocol)
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
    try:
        # Oxigraph parses it on an empty store first: the query form decides the formats offered,
        # and a syntax error is answered before any store is asked.
        form = pyoxigraph.Store().query(protocol.query, base_iri=base_iri)
    except SyntaxError as error:
        if is_update(protocol.query):
            raise ReadOnly(READ_ONLY) from None
        raise BadRequest(f"the query does not parse: {error}") from None
    # HTML comes last: only a client that prefers it (a browser) gets a page, never a default
    if isinstance(form, pyoxigraph.QuerySolutions):
        offers = (*SOLUTION_FORMATS, HTML)
    elif isinstance(form, pyoxigraph.QueryBoolean):
        offers = (*BOOLEAN_FORMATS, HTML)
    else:
        offers = (*RDF_FORMATS, HTML)
    fmt = negotiate(offers, protocol.format)
    limit = publication().settings.row_limit
    point_lookup = snapshot.pool is not None and is_point_lookup(protocol.query)
    if snapshot.pool is not None and not point_lookup:  # a killable query process
        body, truncated = _in_pool(snapshot.pool, protocol, form, fmt, base_iri, limit)
    else:  # an external store (its connection has the time limit), or a point lookup (query_cost.py)
        body, truncated = _in_store(snapshot.store, protocol, fmt, base_iri, limit, cheap=point_lookup)
    response = Response(body, content_type=fmt.content_type)
    if truncated:  # the answer says it was cut, and where
        response.headers[ROW_LIMIT_HEADER] = f"{publication().settings.row_limit}; truncated"
    response.vary.add("Accept")
    return _cached(response, etag, snapshot.info)


def _in_pool(pool: QueryPool, protocol: ProtocolRequest, form: object, fmt: Format, base_iri: str,
             limit: int) -> tuple[bytes | str, bool]:
    default, named = dataset_graphs(protocol.dataset)
    wire = fmt.name if fmt is not HTML else ("json" if not isinstance(form, pyoxigraph.QueryTriples) else "ntriples")
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
              limit: int, *, cheap: bool = False) -> tuple[bytes | str, bool]:
    """The answer of the store itself. `cheap` (a point lookup on the embedded store): the
    query is run again rather than its rows copied under the limit, which costs more."""
    def run() -> object:
        return store.query(protocol.query or "", dataset=protocol.dataset, base_iri=base_iri)

    try:
        answer = run()
    except SyntaxError as error:
        raise BadRequest(f"the query does not parse: {error}") from None
    truncated = False
    if isinstance(answer, pyoxigraph.QuerySolutions):
        if cheap and sum(1 for _ in itertools.islice(answer, limit + 1)) <= limit:
            answer = run()  # within the limit: answered as it comes
        else:
            answer, truncated = capped(answer if not cheap else run(), limit)
    if fmt is HTML:
        return results_page(protocol.query or "", answer, truncated=truncated, limit=limit), truncated
    return answer_bytes(answer, fmt), truncated


def _etag(version: str, protocol: ProtocolRequest) -> str:
    """Equal for the same query, dataset, format and Accept against the same release."""
    key = "\n".join([version, protocol.query or "", *protocol.dataset.default_graphs, "|",
                     *protocol.dataset.named_graphs, "|", *protocol.format,
                     request.headers.get("Accept", "")])
    return f"{version}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def _cached(response: Response, etag: str, info) -> Response:  # noqa: ANN001 - ReleaseInfo
    response.set_etag(etag)
    response.headers[RELEASE_HEADER] = info.version  # the release answering, current or past
    response.last_modified = info.modified
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.vary.add("Accept")
    return response
