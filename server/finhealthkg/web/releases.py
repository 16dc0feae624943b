"""/releases/: the history of the dataset and what changed in each release.

    /releases/                      every release: version, date, commit, triples, validation
                                    (HTML, Turtle, JSON-LD: DCAT 3 versions, see history.py)
    /releases/{v}/changes           what changed since the release before (HTML, JSON summary,
                                    text, or RDF Patch by Accept)
    /releases/{v}/changes.rdfp      the RDF Patch;  .json the summary;  .txt the summary as text
    /releases/{v}/changes/added.ttl, /releases/{v}/changes/removed.ttl   the two Turtle graphs

Change sets are files the build wrote into each release; nothing is compared per request.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, redirect, render_template, request, send_file
from rdflib import Graph
from werkzeug.wrappers import Response as BaseResponse

from ..change_files import ADDED, PATCH, PATCH_MEDIA_TYPE, REMOVED, SUMMARY, curie, summary_text
from ..history import history_graph, release_iri
from ..namespaces import CATALOG_GRAPH
from ..release import Release, list_releases
from .http.errors import NotFound
from .http.negotiation import HTML, JSON, JSONLD, TEXT, TURTLE, Format, negotiate
from .http.publication import publication, served
from .http.serialize import graph_bytes
from .pages.thing_page import local_url

blueprint = Blueprint("releases", __name__)
RDF_PATCH = Format("rdfpatch", PATCH_MEDIA_TYPE, "rdfp", label="RDF Patch")
CHANGE_FILES = {"changes.rdfp": PATCH, "changes.json": SUMMARY, "changes/added.ttl": ADDED,
                "changes/removed.ttl": REMOVED}


@blueprint.route("/releases")
def releases_root() -> BaseResponse:
    return redirect("/releases/", code=301)


@blueprint.route("/releases/")
def history() -> Response:
    releases = list(reversed(list_releases(publication().settings)))  # newest first
    # HTML last, as everywhere: only a client that prefers it (a browser) gets a page
    fmt = negotiate((TURTLE, JSONLD, JSON, HTML), request.args.get("format"))
    current = served().info.version
    if fmt is HTML:
        body = render_template("releases.html", title="Releases", release=served().info, current=current,
                               releases=[_row(r) for r in releases])
    elif fmt is JSON:
        body = json.dumps({"current": current, "releases": [_row(r) for r in releases]}, indent=2) + "\n"
    else:
        base_iri = publication().settings.base_iri
        handwritten = served().memo("catalog-graph", lambda: _catalog())
        graph = history_graph(base_iri, [r.manifest for r in reversed(releases)], handwritten,
                              {r.version: r.has_store for r in releases})
        body = graph_bytes(graph, fmt)
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.set_etag(f"releases-{'-'.join(r.version for r in releases[:1])}-{len(releases)}-{fmt.name}")
    return response.make_conditional(request)


@blueprint.route("/release/<version>")
def release_thing(version: str) -> BaseResponse:
    """A release's IRI (`{base}release/{version}`, a dcat:Dataset) is not a document: 303 to the
    history that describes it."""
    _known(version)
    return redirect(f"/releases/#{version}", code=303)


@blueprint.route("/releases/<version>/changes")
def changes(version: str) -> Response:
    release = _with_changes(version)
    fmt = negotiate((TEXT, JSON, RDF_PATCH, HTML), request.args.get("format"))
    if fmt is RDF_PATCH:
        return _send(release, PATCH)
    document = json.loads(release.file(SUMMARY).read_text(encoding="utf-8"))
    if fmt is HTML:
        body = render_template("changes.html", title=f"Changes in release {version}", release=served().info,
                               changes=document, curie=curie, local_url=local_url, version=version)
    elif fmt is TEXT:
        body = summary_text(document)
    else:
        body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.set_etag(f"changes-{version}-{fmt.name}")
    return response.make_conditional(request)


@blueprint.route("/releases/<version>/changes.txt")
def changes_text(version: str) -> Response:
    document = json.loads(_with_changes(version).file(SUMMARY).read_text(encoding="utf-8"))
    return Response(summary_text(document), content_type=TEXT.content_type)


@blueprint.route("/releases/<version>/<path:name>")
def change_file(version: str, name: str) -> Response:
    if name not in CHANGE_FILES:
        raise NotFound(f"nothing is published at {request.path}; a release has /releases/{version}/changes, "
                       f"{', '.join(f'/releases/{version}/{n}' for n in CHANGE_FILES)} and /releases/{version}/sparql")
    return _send(_with_changes(version), CHANGE_FILES[name])


def _known(version: str) -> Release:
    release = next((r for r in list_releases(publication().settings) if r.version == version), None)
    if release is None:
        raise NotFound(f"there is no release {version!r}; /releases/ lists them")
    return release


def _with_changes(version: str) -> Release:
    release = _known(version)
    changes = release.manifest.get("changes")
    if changes is None:
        if "changes" in release.manifest:
            raise NotFound(f"release {version} is the first release: there is no release before it to compare "
                           f"with; its whole graph is at /downloads/{version}/dataset.nt.gz")
        raise NotFound(f"release {version} was built before change sets were kept; "
                       "`finhealthkg diff A B` compares any two releases")
    return release


def _send(release: Release, name: str) -> Response:
    entry = release.manifest["files"][name]
    response = send_file(release.file(name), mimetype=entry["media_type"], conditional=True, etag=entry["sha256"],
                         last_modified=release.created, max_age=3600, download_name=name)
    response.headers["Digest"] = f"sha-256={entry['sha256']}"
    return response


def _row(release: Release) -> dict:
    manifest = release.manifest
    return {"version": release.version, "iri": str(release_iri(publication().settings.base_iri, release.version)),
            "created": manifest["created"], "commit": manifest.get("commit"),
            "triples": release.triples, "validation": manifest.get("validation"),
            "changes": manifest.get("changes"), "queryable": release.has_store,
            "links": {"sparql": f"/releases/{release.version}/sparql",
                      "fragments": f"/releases/{release.version}/fragments",
                      "changes": f"/releases/{release.version}/changes",
                      "downloads": f"/downloads/{release.version}/"}}


def _catalog() -> Graph:
    """The hand-written dataset description, as the current release's catalogue holds it."""
    return served().graph(str(CATALOG_GRAPH))
