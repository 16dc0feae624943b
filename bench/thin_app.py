"""The thinnest Flask app over pyoxigraph: the limit for a Python web stack in `make bench`.

    BENCH_THIN_STORE=var/releases/current/store gunicorn --chdir bench 'thin_app:create_app()'

/sparql runs the query on the release's store (opened read-only in each worker) over the same
default graph finhealthkg answers from, and writes SPARQL JSON or Turtle with pyoxigraph's own
serializers; /doc/<kind>/<slug> runs the CONSTRUCT finhealthkg's /doc runs (the thing's triples,
the triples pointing to it, the labels of both ends) and writes Turtle. Nothing else: no
negotiation, no policy checks, no logging, no error pages.
"""

from __future__ import annotations

import os

import pyoxigraph
from flask import Flask, Response, request

# The very query finhealthkg's /doc/ runs, so that the two differ only by the web stack around it
from finhealthkg.description_query import describe_query

BASE = "https://w3id.org/finhealthkg/"
DEFAULT_GRAPH = [pyoxigraph.NamedNode(BASE + "graph/ontology"), pyoxigraph.NamedNode(BASE + "graph/data")]
JSON = "application/sparql-results+json"
TURTLE = "text/turtle"


def answer(store: pyoxigraph.Store, query: str) -> Response:
    """Run `query`; SELECT/ASK as SPARQL JSON, CONSTRUCT/DESCRIBE as Turtle."""
    result = store.query(query, default_graph=DEFAULT_GRAPH)
    if isinstance(result, pyoxigraph.QuerySolutions | pyoxigraph.QueryBoolean):
        return Response(result.serialize(format=pyoxigraph.QueryResultsFormat.JSON), content_type=JSON)
    return Response(pyoxigraph.serialize(result, format=pyoxigraph.RdfFormat.TURTLE), content_type=TURTLE)


def create_app(store_path: str | None = None) -> Flask:
    store = pyoxigraph.Store.read_only(store_path or os.environ["BENCH_THIN_STORE"])
    app = Flask(__name__)

    @app.route("/sparql", methods=["GET", "POST"])
    def sparql() -> Response:
        query = request.values.get("query")
        if query is None:
            return Response("no query\n", status=400, content_type="text/plain")
        return answer(store, query)

    @app.get("/doc/<kind>/<slug>")
    def document(kind: str, slug: str) -> Response:
        return answer(store, describe_query(f"{BASE}id/{kind}/{slug}"))

    return app
