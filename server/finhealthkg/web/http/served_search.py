"""What /search and /reconcile share: the served release's search index, the classes it knows
with their names, a name or prefixed name read as an IRI, a whole-number parameter in bounds."""

from __future__ import annotations

from flask import request

from ...namespaces import PREFIXES
from ...search import SearchIndex, SearchUnavailable
from ...search.index import INDEX_FILE
from ..pages.iris import short
from .errors import BadRequest, ServiceUnavailable
from .intact import check_bytes
from .publication import served


def search_index() -> SearchIndex:
    """The search index of the release being served; 503 when this server has none."""
    snapshot = served()
    release = snapshot.release
    if release is None:
        raise ServiceUnavailable("this server has no release directory on disk, so no search index: "
                                 "serve it with the release files beside the store")
    if INDEX_FILE not in release.manifest["files"]:
        raise ServiceUnavailable(f"release {release.version} was built without a search index; "
                                 "rebuild it with `finhealthkg build --force`")
    check_bytes(release, release.path / INDEX_FILE, release.manifest["files"][INDEX_FILE]["sha256"])
    try:
        return snapshot.memo("search-index", lambda: SearchIndex(release.path / INDEX_FILE))
    except SearchUnavailable as error:
        raise ServiceUnavailable(str(error)) from None


def classes(lang: str) -> list[tuple[str, str, int]]:
    """(class IRI, name, number of things) of every class used, computed once per release and language."""
    index = search_index()
    return served().memo(f"search-classes:{lang}", lambda: [(iri, name or short(iri), count)
                                                             for iri, name, count in index.classes(lang)])


def type_names(index: SearchIndex, iris: list[str], lang: str) -> dict[str, str]:
    """A name for each class: its label in the reader's language, else its prefixed name."""
    named = index.names(iris, lang)
    return {iri: named.get(iri) or short(iri) for iri in iris}


def known_iri(name: str) -> str | None:
    """The IRI an id names: itself, or a prefixed name (`fhkg:Biobank`) of this dataset; None otherwise."""
    name = name.strip()
    if "://" in name:
        return name
    prefix, colon, local = name.partition(":")
    return PREFIXES[prefix] + local if colon and prefix in PREFIXES else None


def expand(name: str) -> str:
    """A class given as an IRI or a prefixed name (`fhkg:Biobank`); BadRequest for an unknown prefix."""
    iri = known_iri(name)
    if iri is not None:
        return iri
    raise BadRequest(f"type {name!r} is neither an IRI nor a prefixed name this dataset knows "
                     f"(prefixes: {', '.join(sorted(PREFIXES))})")


def bounded(name: str, default: int, lowest: int, highest: int) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not a whole number") from None
    if not lowest <= number <= highest:
        raise BadRequest(f"{name}={number} is outside {lowest}..{highest}")
    return number
