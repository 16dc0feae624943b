"""/reconcile: the W3C Entity Reconciliation Service API (version 0.2, the one OpenRefine
speaks; the 1.0 draft's JSON bodies too), so that a spreadsheet of names — "Tyks", "Auria
Biopankki", "Sosiaali- ja terveysministeriö" — can be matched to this graph's IRIs.

    GET|POST /reconcile                      the service manifest (JSONP with `callback`)
    GET|POST /reconcile?queries={…}          a reconciliation query batch (form-encoded, as OpenRefine sends)
    GET|POST /reconcile?extend={…}           a data extension query
    POST     /reconcile, /reconcile/reconcile   a query batch as an application/json body
                                             (0.2 object of queries, or 1.0 draft {"queries": [...]})
    GET      /reconcile/suggest/{entity,type,property}?prefix=…&cursor=…
    GET      /reconcile/preview?id=IRI       an HTML snippet (framable by OpenRefine)
    GET      /reconcile/view?id=IRI          303 to the thing on this server (/id/…)
    GET      /reconcile/extend/propose?type=IRI&limit=n   properties to fetch for a type
    POST     /reconcile/extend               a data extension query as a JSON body
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request

from ...namespaces import FHKG, ORG
from ...search import fold
from ..http.errors import BadRequest, NotFound
from ..http.publication import publication, served
from ..http.security import CONFIG_KEY
from ..http.served_search import bounded, classes, expand, known_iri, search_index, type_names
from ..pages.i18n import language
from ..pages.iris import is_thing_iri
from ..pages.thing_page import local_url
from .data_extension import extend, known_properties, labeller, propose
from .matching import IRI, Candidate, Constraint, Query, reconcile

blueprint = Blueprint("reconcile", __name__)
MAX_QUERIES = 200  # per batch; OpenRefine sends 10 at a time
MAX_LIMIT = 100
MAX_IDS = 1000  # per data extension query
MAX_PROPERTIES = 50
SUGGESTIONS = 10
CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")  # fullmatch
PREVIEW = {"width": 420, "height": 160}  # the frame templates/preview.html fills (site.css .preview-box)


@blueprint.route("/reconcile", methods=["GET", "POST"])
def service() -> Response:
    if request.method == "POST" and request.mimetype == "application/json":
        return _batch(_json_body())
    if "queries" in request.values:
        return _answer(_batch_answer(_parsed("queries")))
    if "extend" in request.values:
        return _answer(_extension(_parsed("extend")))
    return _answer(manifest())


@blueprint.route("/reconcile/reconcile", methods=["POST"])
def json_batch() -> Response:
    if request.mimetype != "application/json" and "queries" in request.values:
        return _answer(_batch_answer(_parsed("queries")))
    return _batch(_json_body())


def manifest() -> dict:
    root = _root()
    lang = language()
    ours = [(iri, name) for iri, name, _ in classes(lang)  # the ontology's classes, organisations first
            if iri.startswith(str(FHKG)) or iri == str(ORG.Organization)]
    settings = publication().settings
    return {
        "versions": ["0.2"],
        "name": "finhealthkg: Finnish health-sector growth strategy",
        "identifierSpace": settings.base_iri + "id/",
        "schemaSpace": settings.base_iri + "def/",
        "documentation": request.host_url,
        "serviceVersion": served().info.version,
        "defaultTypes": [{"id": iri, "name": name} for iri, name in ours],
        "view": {"url": root + "/view?id={{id}}"},
        "preview": {"url": root + "/preview?id={{id}}", **PREVIEW},
        "suggest": {kind: {"service_url": root, "service_path": f"/suggest/{kind}"}
                    for kind in ("entity", "type", "property")},
        "extend": {"propose_properties": {"service_url": root, "service_path": "/extend/propose"},
                   "property_settings": []},
    }


def _batch(body: Any) -> Response:
    """A JSON body: the 1.0 draft's {"queries": [...]} or a 0.2 object of named queries."""
    if isinstance(body, dict) and isinstance(body.get("queries"), list):
        queries = [_draft_query(q, i) for i, q in enumerate(body["queries"])]
        _check_batch_size(len(queries))
        index, snapshot, lang = search_index(), served(), language()
        results = [{"candidates": _candidates(index, snapshot, q, lang)} for q in queries]
        return _answer({"results": results})
    return _answer(_batch_answer(body))


def _batch_answer(batch: Any) -> dict:
    if not isinstance(batch, dict):
        raise BadRequest("a reconciliation query batch is a JSON object of queries, e.g. "
                         '{"q0": {"query": "Tyks", "type": "http://www.w3.org/ns/org#Organization", "limit": 3}}')
    _check_batch_size(len(batch))
    queries = {key: _query(value, key) for key, value in batch.items()}
    index, snapshot, lang = search_index(), served(), language()
    return {key: {"result": _candidates(index, snapshot, query, lang)} for key, query in queries.items()}


def _candidates(index, snapshot, query: Query | None, lang: str) -> list[dict]:  # noqa: ANN001
    return [] if query is None else [_candidate(c) for c in reconcile(index, snapshot.store, query, lang)]


def _check_batch_size(size: int) -> None:
    if size > MAX_QUERIES:
        raise BadRequest(f"the batch holds {size} queries; send at most {MAX_QUERIES} at a time")


QUERY_MEMBERS = ("query", "type", "limit", "properties", "type_strict")  # of a 0.2 query, and no others


def _query(value: Any, key: str) -> Query | None:
    """One 0.2 reconciliation query, checked as the 0.2 schema checks it; None when it names only
    types this dataset does not have (nothing here can match it). Properties this dataset does
    not know are left out: they cannot tell its candidates apart."""
    if not isinstance(value, dict):
        raise BadRequest(f"query {key!r} is not a JSON object")
    unknown = sorted(set(value) - set(QUERY_MEMBERS))
    if unknown:
        raise BadRequest(f"query {key!r}: {', '.join(map(repr, unknown))} is no member of a reconciliation query "
                         f"(those are {', '.join(QUERY_MEMBERS)})")
    text = value.get("query", "")
    if not isinstance(text, str):
        raise BadRequest(f"query {key!r}: \"query\" must be a string")
    properties = value.get("properties", [])
    if not isinstance(properties, list):
        raise BadRequest(f"query {key!r}: \"properties\" must be a list of {{\"pid\": ..., \"v\": ...}}")
    if "query" not in value and not properties:
        raise BadRequest(f"query {key!r} has neither a \"query\" string nor \"properties\" to match")
    if value.get("type_strict", "any") not in ("any", "should", "all"):
        raise BadRequest(f"query {key!r}: \"type_strict\" is \"any\", \"should\" or \"all\"")
    constraints = []
    for item in properties:
        if not isinstance(item, dict) or "pid" not in item or "v" not in item:
            raise BadRequest(f"query {key!r}: each property is {{\"pid\": <property id>, \"v\": <value>}}")
        constraint = _constraint(item["pid"], item["v"], key)
        if constraint is not None:
            constraints.append(constraint)
    types = _types(value.get("type"), key)
    if types is None:
        return None
    return Query(text=text, types=types, limit=_limit(value.get("limit"), key), constraints=tuple(constraints))


def _draft_query(value: Any, position: int) -> Query | None:
    """One 1.0 draft query: {"type", "limit", "conditions": [{"matchType": "name"|"property", ...}]}."""
    key = f"queries[{position}]"
    if not isinstance(value, dict) or not isinstance(value.get("conditions"), list) or not value["conditions"]:
        raise BadRequest(f"{key} must be an object with a non-empty list of \"conditions\"")
    names, constraints = [], []
    for condition in value["conditions"]:
        if not isinstance(condition, dict) or condition.get("matchType") not in ("name", "property"):
            raise BadRequest(f"{key}: each condition has \"matchType\": \"name\" or \"property\"")
        if condition["matchType"] == "name":
            if not isinstance(condition.get("propertyValue"), str):
                raise BadRequest(f"{key}: a name condition's \"propertyValue\" must be a string")
            names.append(condition["propertyValue"])
        else:
            constraint = _constraint(condition.get("propertyId"), condition.get("propertyValue"), key)
            if constraint is not None:
                constraints.append(constraint)
    types = _types(value.get("type"), key)
    if types is None:
        return None
    return Query(text=" ".join(names), types=types, limit=_limit(value.get("limit"), key),
                 constraints=tuple(constraints))


def _constraint(pid: Any, given: Any, key: str) -> Constraint | None:
    """A property constraint; None for a property id this dataset does not know."""
    if not isinstance(pid, str) or not pid.strip():
        raise BadRequest(f"query {key!r}: a property id must be a string")
    values = tuple(given) if isinstance(given, list) else (given,)
    for v in values:
        if not isinstance(v, str | int | float | bool) and not (isinstance(v, dict) and isinstance(v.get("id"), str)):
            raise BadRequest(f"query {key!r}: property values are strings, numbers, booleans or {{\"id\": ...}}")
    prop = known_iri(pid)
    return Constraint(prop, values) if prop is not None and IRI.match(prop) else None


def _types(given: Any, key: str) -> tuple[str, ...] | None:
    """The type IRIs asked for (empty: any type); None when every one named is unknown here."""
    if given is None or given == "":
        return ()
    names = given if isinstance(given, list) else [given]
    if not all(isinstance(t, str) for t in names):
        raise BadRequest(f"query {key!r}: \"type\" is a type id or a list of them")
    named = [t for t in names if t.strip()]
    types = tuple(iri for iri in map(known_iri, named) if iri is not None and IRI.match(iri))
    return None if named and not types else types


def _limit(given: Any, key: str) -> int:
    if given is None:
        return 10
    if isinstance(given, bool) or not isinstance(given, int | float) or given != int(given) or not 1 <= given:
        raise BadRequest(f"query {key!r}: \"limit\" must be a whole number from 1")
    return min(int(given), MAX_LIMIT)


def _candidate(candidate: Candidate) -> dict:
    hit = candidate.hit
    named = type_names(search_index(), list(hit.types), language())
    answer = {"id": hit.iri, "name": hit.name, "score": candidate.score, "match": candidate.match,
              "type": [{"id": t, "name": named.get(t, t)} for t in hit.types],
              "features": candidate.features}
    if hit.description:
        answer["description"] = hit.description
    return answer


def _extension(query: Any) -> dict:
    if not isinstance(query, dict) or not isinstance(query.get("ids"), list) \
            or not isinstance(query.get("properties"), list):
        raise BadRequest('a data extension query is {"ids": [IRI, ...], "properties": [{"id": IRI}, ...]}')
    ids = query["ids"]
    if not all(isinstance(i, str) for i in ids) or len(ids) > MAX_IDS:
        raise BadRequest(f"\"ids\" must be a list of at most {MAX_IDS} IRIs (strings)")
    properties = []
    for item in query["properties"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise BadRequest('each of "properties" is {"id": <property IRI>}')
        prop = expand(item["id"])
        if not IRI.match(prop):
            raise BadRequest(f"{item['id']!r} is not a property IRI")
        properties.append(prop)
    if len(properties) > MAX_PROPERTIES:
        raise BadRequest(f"ask for at most {MAX_PROPERTIES} properties at a time")
    return extend(served(), ids, properties, language())


@blueprint.route("/reconcile/extend", methods=["POST"])
def extend_json() -> Response:
    body = _json_body() if request.mimetype == "application/json" else _parsed("extend")
    return _answer(_extension(body))


@blueprint.route("/reconcile/extend/propose")
def propose_properties() -> Response:
    given = request.args.get("type", "").strip()
    type_iri = expand(given) if given else None
    if type_iri is not None and not IRI.match(type_iri):
        raise BadRequest(f"type {given!r} is not an IRI")
    limit = bounded("limit", 20, 1, MAX_LIMIT)
    label = labeller(served(), language())
    found = propose(served(), type_iri, limit)
    return _answer({"type": given, "limit": limit, "properties": [{"id": p, "name": label.text(p)} for p in found]})


@blueprint.route("/reconcile/suggest/<kind>")
def suggest(kind: str) -> Response:
    prefix = request.args.get("prefix", "")
    cursor = request.args.get("cursor", "0")
    if not cursor.isdigit():
        raise BadRequest(f"cursor={cursor!r} is not a whole number")
    start, lang = int(cursor), language()
    if kind == "entity":
        types = tuple(expand(t) for t in request.args.getlist("type") if t.strip())
        hits = search_index().search(prefix, types=types, lang=lang, limit=SUGGESTIONS, offset=start) \
            if prefix.strip() else []
        named = type_names(search_index(), sorted({t for h in hits for t in h.types}), lang)
        result = [{"id": h.iri, "name": h.name, **({"description": h.description} if h.description else {}),
                   "notable": [{"id": t, "name": named.get(t, t)} for t in h.types]} for h in hits]
    elif kind == "type":
        wanted = fold(prefix)
        result = [{"id": iri, "name": name, "description": f"{count} things"} for iri, name, count in classes(lang)
                  if not wanted or wanted in fold(name) or wanted in fold(iri)][start:start + SUGGESTIONS]
    elif kind == "property":
        wanted, label = fold(prefix), labeller(served(), lang)
        named = [(p, label.text(p)) for p, _ in known_properties(served())]
        result = [{"id": p, "name": name} for p, name in named
                  if not wanted or wanted in fold(name) or wanted in fold(p)][start:start + SUGGESTIONS]
    else:
        raise NotFound(f"there is no suggest service for {kind!r}: entity, type and property are offered")
    return _answer({"result": result})


@blueprint.route("/reconcile/preview")
def preview() -> Response:
    iri = request.args.get("id", "").strip()
    if not iri:
        raise BadRequest("say which thing to preview: /reconcile/preview?id=<IRI>")
    lang = language()
    hit = search_index().thing(iri, lang)
    if hit is None:
        raise NotFound(f"<{iri}> has no name in this dataset")
    named = type_names(search_index(), list(hit.types), lang)
    response = Response(render_template("preview.html", hit=hit, types=[named.get(t, t) for t in hit.types],
                                        href=local_url(hit.iri)), content_type="text/html; charset=utf-8")
    # OpenRefine shows the preview in a frame of its own page: this snippet may be framed
    policy = current_app.config[CONFIG_KEY].replace("frame-ancestors 'none'", "frame-ancestors *")
    response.headers["Content-Security-Policy"] = policy
    return response


@blueprint.route("/reconcile/view")
def view() -> Response:
    iri = request.args.get("id", "").strip()
    if not is_thing_iri(iri):
        base = publication().settings.base_iri
        raise NotFound(f"{iri!r} is not an IRI of a thing of this dataset ({base}id/<kind>/<name>)")
    return redirect(local_url(iri), code=303)


def _root() -> str:
    return request.host_url.rstrip("/") + "/reconcile"


def _parsed(name: str) -> Any:
    """A JSON parameter, from the query string or a form-encoded body."""
    text = request.values.get(name, "")
    try:
        return json.loads(text)
    except ValueError as error:
        raise BadRequest(f"the {name} parameter is not JSON: {error}") from None


def _json_body() -> Any:
    try:
        return json.loads(request.get_data(cache=True, as_text=True) or "null")
    except ValueError as error:
        raise BadRequest(f"the request body is not JSON: {error}") from None


def _answer(document: dict) -> Response:
    """JSON, or JSONP when a `callback` is given (the manifest, as older OpenRefine asks for it)."""
    body = json.dumps(document, ensure_ascii=False)
    callback = request.args.get("callback")
    if callback:
        if not CALLBACK.fullmatch(callback) or len(callback) > 100:
            raise BadRequest("callback must be a JavaScript name (letters, digits, _ and $, dotted)")
        return Response(f"/**/{callback}({body});", content_type="application/javascript; charset=utf-8")
    return Response(body + "\n", content_type="application/json")
