"""/downloads/: the files of the current release and of every older one, with sizes and
checksums, served with their media type, Content-Length, ETag (their SHA-256), HEAD, byte
ranges (206) and the gzip twin when the client accepts gzip.

A file is sent only while its bytes are those its checksum gives (http/intact.py): one that no
longer matches is refused (503) rather than sent under the intact file's ETag."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template, request, send_file

from ..release import Release, list_releases
from .http.caching import SHARED_MAX_AGE
from .http.errors import NotFound
from .http.intact import check_bytes
from .http.negotiation import HTML, JSON, TEXT, negotiate
from .http.publication import publication, served

blueprint = Blueprint("downloads", __name__)


@blueprint.route("/downloads/")
def current_listing() -> Response:
    return _listing(_current_release(), "/downloads/")


@blueprint.route("/downloads/<name>")
def current_file(name: str) -> Response:
    return _send(_current_release(), name)


@blueprint.route("/downloads/<version>/")
def release_listing(version: str) -> Response:
    return _listing(_release(version), f"/downloads/{version}/")


@blueprint.route("/downloads/<version>/<name>")
def release_file(version: str, name: str) -> Response:
    return _send(_release(version), name)


def _current_release() -> Release:
    release = served().release
    if release is None:
        raise NotFound("this server has no release files on disk to download")
    return release


def _release(version: str) -> Release:
    for release in list_releases(publication().settings):  # only names of real releases match
        if release.version == version:
            return release
    raise NotFound(f"there is no release {version!r}; /downloads/ lists the current one")


def _listing(release: Release, path: str) -> Response:
    files = [{"name": name, "url": f"{path}{name}", **entry}
             for name, entry in sorted(release.manifest["files"].items())]
    older = [r.version for r in list_releases(publication().settings) if r.version != release.version]
    fmt = negotiate((JSON, HTML, TEXT), request.args.get("format"))
    if fmt is HTML:
        body = render_template("downloads.html", title=f"Downloads of release {release.version}",
                               release=served().info, version=release.version, files=files,
                               created=release.created, older=older)
    elif fmt is TEXT:  # the release's SHA256SUMS, as sha256sum prints it
        body = "".join(f"{f['sha256']}  {f['name']}\n" for f in files)
    else:
        body = json.dumps({"version": release.version, "created": release.created.isoformat(),
                           "files": files, "releases": sorted(older + [release.version])}, indent=2) + "\n"
    response = Response(body, content_type=fmt.content_type)
    response.vary.add("Accept")
    response.set_etag(f"{release.version}-list-{fmt.name}")
    return response.make_conditional(request)


def _send(release: Release, name: str) -> Response:
    entry = release.manifest["files"].get(name)
    if entry is None:
        raise NotFound(f"release {release.version} has no file {name!r}; /downloads/ lists them")
    path, etag = release.file(name), entry["sha256"]
    twin = release.manifest.get("encodings", {}).get(name, {}).get("gzip")
    use_gzip = twin is not None and request.accept_encodings["gzip"] > 0 and not request.range
    if use_gzip:
        path, etag = release.path / f"{name}.gz", twin["sha256"]
    check_bytes(release, path, etag)
    response = send_file(path, mimetype=entry["media_type"], conditional=True, etag=etag,
                         last_modified=release.created, max_age=3600, download_name=name)
    response.cache_control.s_maxage = SHARED_MAX_AGE  # /downloads/ names the current release's files
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    if twin is not None:
        response.vary.add("Accept-Encoding")
    response.headers["Digest"] = f"sha-256={entry['sha256']}"
    return response

