"""/search?q=…: things by name, alternative name or acronym, in Finnish, Swedish and English,
case- and accent-insensitively, ranked (search/text.py), as JSON or an HTML page; `type=`
keeps things of a class (its subclasses included). Answered from the release's search index,
never by scanning the graph."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request

from ..search import Hit
from .http.caching import SHARED_MAX_AGE
from .http.errors import BadRequest
from .http.negotiation import HTML, JSON, negotiate
from .http.publication import served
from .http.served_search import bounded, classes, expand, search_index, type_names
from .pages.i18n import language, words
from .pages.thing_page import local_url

blueprint = Blueprint("search", __name__)
MAX_LIMIT = 100
MAX_QUERY = 500  # characters: a name, not a document


@blueprint.route("/search")
def search() -> Response:
    fmt = negotiate((JSON, HTML), request.args.get("format"))
    query = request.args.get("q", "").strip()
    if not query:
        raise BadRequest("say what to look for: /search?q=<a name, an acronym or an old name>, "
                         "optionally &type=<class IRI or prefixed name>&limit=<1-100>&offset=<n>")
    if len(query) > MAX_QUERY:
        raise BadRequest(f"the query is {len(query)} characters long; at most {MAX_QUERY} are searched")
    types = [expand(t) for t in request.args.getlist("type") if t.strip()]
    limit, offset = bounded("limit", 10, 1, MAX_LIMIT), bounded("offset", 0, 0, 10_000)
    lang = language()
    index = search_index()
    hits = index.search(query, types=types, lang=lang, limit=limit + 1, offset=offset)
    more, hits = len(hits) > limit, hits[:limit]
    named = type_names(index, sorted({t for hit in hits for t in hit.types} | set(types)), lang)
    if fmt is HTML:
        body = render_template("search.html", title=f"{query} · {words(lang)['search']}", query=query, hits=hits,
                               types=types, classes=classes(lang), named=named, offset=offset,
                               limit=limit, next=_page(offset + limit) if more else None,
                               previous=_page(max(0, offset - limit)) if offset else None,
                               url=local_url, release=served().info, search_query=query,
                               as_json=_page(offset, format="json"))
    else:
        body = json.dumps({"query": query, "types": types, "offset": offset, "limit": limit,
                           "results": [hit_json(hit, named) for hit in hits],
                           "next": _page(offset + limit) if more else None},
                          ensure_ascii=False, indent=1) + "\n"
    response = Response(body, content_type=fmt.content_type)
    key = "\n".join([served().info.version, fmt.name, lang, request.query_string.decode("latin-1")])
    response.set_etag(hashlib.sha256(key.encode()).hexdigest()[:24])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.cache_control.s_maxage = SHARED_MAX_AGE
    response.vary.add("Accept")
    return response.make_conditional(request)


def hit_json(hit: Hit, named: dict[str, str]) -> dict:
    return {"id": hit.iri, "name": hit.name, "score": hit.score,
            "matched": {"name": hit.matched, "lang": hit.matched_lang or None},
            "types": [{"id": t, "name": named.get(t, t)} for t in hit.types],
            "description": hit.description or None, "names": hit.names, "url": local_url(hit.iri)}


def _page(offset: int, **replaced: str) -> str:
    """This search again, from another offset (or in another format)."""
    args = request.args.to_dict(flat=False)
    args["offset"] = [str(offset)]
    args.update({name: [value] for name, value in replaced.items()})
    return f"/search?{urlencode(args, doseq=True)}"
