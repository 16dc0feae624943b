"""/downloads/: listing with sizes and checksums; files with media type, Content-Length,
ETag, HEAD, byte ranges (206), gzip when asked; older releases; nothing outside them."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil

import pytest
import requests
from rdflib import Graph

from conftest import REPO, running_server
from finhealthkg.config import Settings
from finhealthkg.pipeline.build import build_release
from finhealthkg.web import create_app


def test_listing_has_every_file_with_size_and_checksum(server, release):
    listing = requests.get(server + "/downloads/", headers={"Accept": "application/json"}).json()
    assert listing["version"] == release.version
    by_name = {f["name"]: f for f in listing["files"]}
    assert set(by_name) == set(release.manifest["files"])
    for name, entry in release.manifest["files"].items():
        assert by_name[name]["bytes"] == entry["bytes"] and by_name[name]["sha256"] == entry["sha256"]
    html = requests.get(server + "/downloads/", headers={"Accept": "text/html"}).text
    assert "dataset.ttl" in html and release.manifest["files"]["dataset.ttl"]["sha256"] in html
    sums = requests.get(server + "/downloads/", headers={"Accept": "text/plain"}).text
    assert f"{release.manifest['files']['dataset.ttl']['sha256']}  dataset.ttl" in sums


@pytest.mark.parametrize("name,media_type,parser", [
    ("dataset.ttl", "text/turtle", "turtle"),
    ("dataset.jsonld", "application/ld+json", "json-ld"),
    ("dataset.nt.gz", "application/gzip", "nt"),
])
def test_files_are_served_whole_and_checked(server, release, name, media_type, parser):
    response = requests.get(server + f"/downloads/{name}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert int(response.headers["Content-Length"]) == release.manifest["files"][name]["bytes"]
    assert hashlib.sha256(response.content).hexdigest() == release.manifest["files"][name]["sha256"]
    assert release.manifest["files"][name]["sha256"] in response.headers["ETag"]
    data = gzip.decompress(response.content) if name.endswith(".gz") else response.content
    assert len(Graph().parse(data=data, format=parser)) == release.triples


def test_head_and_conditional_get(server, release):
    head = requests.head(server + "/downloads/dataset.ttl", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and not head.content
    assert int(head.headers["Content-Length"]) == release.manifest["files"]["dataset.ttl"]["bytes"]
    again = requests.get(server + "/downloads/dataset.ttl",
                         headers={"If-None-Match": head.headers["ETag"], "Accept-Encoding": "identity"})
    assert again.status_code == 304


def test_byte_ranges(server, release):
    whole = requests.get(server + "/downloads/dataset.ttl", headers={"Accept-Encoding": "identity"}).content
    part = requests.get(server + "/downloads/dataset.ttl", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    tail = requests.get(server + "/downloads/dataset.ttl", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == whole[-50:]
    beyond = requests.get(server + "/downloads/dataset.ttl", headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416


def test_gzip_when_asked(server, release):
    response = requests.get(server + "/downloads/dataset.ttl", headers={"Accept-Encoding": "gzip"}, stream=True)
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    raw = response.raw.read()  # the bytes on the wire
    assert len(raw) < release.manifest["files"]["dataset.ttl"]["bytes"]
    assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == release.manifest["files"]["dataset.ttl"]["sha256"]


@pytest.mark.parametrize("path", [
    "/downloads/../release.json", "/downloads/..%2Frelease.json", "/downloads/store", "/downloads/store/CURRENT",
    "/downloads/%2e%2e/%2e%2e/etc/passwd", "/downloads/no-such-file.ttl", "/downloads/20990101T000000Z/dataset.ttl",
    "/downloads/..%2F..%2Fetc/passwd"])
def test_nothing_outside_the_release_files(server, path):
    response = requests.get(server + path)
    assert response.status_code == 404


def test_older_releases_stay_downloadable(tmp_path):
    settings = Settings(root=REPO, releases_dir=tmp_path / "releases")
    old = build_release(settings).release
    new = build_release(settings, force=True).release
    with running_server(REPO, settings.releases) as url:
        current = requests.get(url + "/downloads/", headers={"Accept": "application/json"}).json()
        assert current["version"] == new.version
        assert old.version in current["releases"]
        listing = requests.get(url + f"/downloads/{old.version}/", headers={"Accept": "application/json"}).json()
        assert listing["version"] == old.version
        response = requests.get(url + f"/downloads/{old.version}/dataset.ttl", headers={"Accept-Encoding": "identity"})
        assert hashlib.sha256(response.content).hexdigest() == old.manifest["files"]["dataset.ttl"]["sha256"]


@pytest.mark.parametrize("damage", ["same size, old times", "truncated", "gzip twin"])
def test_a_file_whose_bytes_no_longer_match_is_refused_not_sent(release, tmp_path, damage):
    """Damage while the server runs: the file is not sent under the intact file's ETag and
    Digest; the answer says which file, relative to the releases directory."""
    shutil.copytree(release.path.parent, tmp_path / "releases", symlinks=True)
    client = create_app(Settings(root=REPO, releases_dir=tmp_path / "releases")).test_client()
    name = "dataset.ttl"  # with a gzip twin
    gzip_asked = {"Accept-Encoding": "gzip"} if damage == "gzip twin" else {}
    assert client.get(f"/downloads/{name}", headers=gzip_asked).status_code == 200
    damaged = tmp_path / "releases" / release.version / (name + ".gz" if gzip_asked else name)
    before = damaged.stat()
    if damage == "truncated":
        damaged.write_bytes(damaged.read_bytes()[:100])
    else:
        data = bytearray(damaged.read_bytes())
        data[len(data) // 2] ^= 0x01
        damaged.write_bytes(bytes(data))
        os.utime(damaged, ns=(before.st_atime_ns, before.st_mtime_ns))
    for path in (f"/downloads/{name}", f"/downloads/{release.version}/{name}"):
        answer = client.get(path, headers={"Accept": "application/json", **gzip_asked})
        assert answer.status_code == 503, (path, answer.status_code)
        message = answer.json["error"]["message"]
        assert f"{release.version}/{damaged.name} no longer matches its checksum" in message, message
        assert str(tmp_path) not in answer.get_data(as_text=True) and "ETag" not in answer.headers
    if gzip_asked:  # the plain file is intact and still sent
        assert client.get(f"/downloads/{name}").status_code == 200
