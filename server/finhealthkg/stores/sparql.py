"""A remote SPARQL 1.1 store (Virtuoso, Fuseki, GraphDB, QLever ...) behind the same Store
protocol as the embedded one.

The store keeps every loaded release in graphs of its own,
`{base}release/{version}/graph/{part}`, and a small pointer graph says which release is
current (DCAT 3: `dcat:hasCurrentVersion`). A `RemoteStore` is a view of one release: it
shows that release's graphs under their canonical names (`.../graph/data`), so a client
sees the same dataset as with the embedded store. Queries are checked for syntax by
Oxigraph first (same messages, same query form), sent as the SPARQL protocol says, and their
answers parsed back into pyoxigraph's types, so one serialiser serves both stores.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, unquote, urlencode, urlsplit

import pyoxigraph
import requests

from ..namespaces import DATASET_GRAPHS, GRAPH
from .base import Answer, Cancel, QueryCancelled, QueryDataset, QueryTimeout, StoreError, StoreRejected, redact  # noqa: F401 - re-exported

POINTER_GRAPH = str(GRAPH) + "releases"  # which release is current; never rewritten
EMPTY_GRAPH = "urn:finhealthkg:empty"  # names no graph: an empty default or named graph
SOLUTIONS = "application/sparql-results+json"
TRIPLES = "application/n-triples"
_IRIREF = re.compile(r'<([^<>"{}|^`\\\x00-\x20]*)>')
_XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_GRAPH_POSITION = re.compile(r"(?i)\b(graph|from|named)\s*$")


ANYTIME_PARTIAL = "S1TAT"  # Virtuoso's X-SQL-State for an answer cut at its time limit


@dataclass(frozen=True)
class Connection:
    """How to reach the store: query URL, update URL, credentials (never printed)."""

    query_url: str
    update_url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 120.0  # an update request (loading)
    query_timeout: float = 30.0  # a query: the publisher's limit for public queries

    def __repr__(self) -> str:
        return f"Connection({redact(self.query_url)}, update={redact(self.update_url)})"

    def select(self, text: str, *, accept: str, default_graphs: Iterable[str] = (),
               named_graphs: Iterable[str] = (), cancel: Cancel | None = None) -> tuple[str, bytes]:
        """(content type, body) of a query sent as the SPARQL protocol's POST with URL-encoded
        parameters. http.client rather than a client library: the connection's socket is
        handed to `cancel`, so that another thread can end the request (its client left, or it
        may not run long) and the store sees the connection close."""
        params = [("query", text), *(("default-graph-uri", g) for g in default_graphs),
                  *(("named-graph-uri", g) for g in named_graphs),
                  # Virtuoso's own limit (milliseconds), so that the store stops computing when the
                  # publisher stops waiting; a store that does not know the parameter ignores it.
                  ("timeout", str(max(1000, round(self.query_timeout * 1000))))]
        where = urlsplit(self.query_url)
        kind = http.client.HTTPSConnection if where.scheme == "https" else http.client.HTTPConnection
        connection = kind(where.hostname or "localhost", where.port, timeout=max(1.0, self.query_timeout))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        try:
            connection.connect()
            if cancel is not None:
                cancel.attach(connection.sock)
            connection.request("POST", where.path + (f"?{where.query}" if where.query else ""),
                               urlencode(params).encode(), headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            if cancel is not None and cancel.cancelled:
                raise QueryCancelled("the query was stopped") from None
            if isinstance(error, TimeoutError):
                raise QueryTimeout(f"the query ran longer than the limit of {self.query_timeout:g} s "
                                   "and was stopped") from None
            raise StoreError(f"the store {redact(self.query_url)} does not answer: "
                             f"{type(error).__name__}") from None
        finally:
            connection.close()
        if response.status >= 300:
            # Its own words, without the query it echoes (rewritten to the store's graph names)
            said = body.decode("utf-8", "replace").split("SPARQL query:", 1)[0]
            raise StoreRejected(f"the store refused the query ({response.status}): {_first_lines(said)}")
        # Virtuoso answers a query stopped at its limit with what it found so far (an
        # "anytime" answer) and says so in X-SQL-State: never passed on as the answer.
        if (response.getheader("X-SQL-State") or "").strip() == ANYTIME_PARTIAL:
            raise QueryTimeout(f"the query ran longer than the limit of {self.query_timeout:g} s and was stopped")
        return response.getheader("Content-Type") or "", body

    def update(self, text: str) -> None:
        """Send one SPARQL Update request; StoreError saying why when it is refused."""
        try:
            response = requests.post(
                self.update_url, data=text.encode("utf-8"), auth=self._auth(),
                headers={"Content-Type": "application/sparql-update; charset=utf-8"}, timeout=self.timeout)
        except requests.RequestException as error:
            raise StoreError(f"the store {redact(self.update_url)} does not answer: "
                             f"{type(error).__name__}") from None
        if response.status_code >= 300:
            detail = _first_lines(response.text)
            if response.status_code in (401, 403):
                detail = "not allowed (check --user and the password variable)" + (
                    f": {detail}" if response.status_code == 403 else "")
            raise StoreError(f"the store {redact(self.update_url)} refused the update "
                             f"({response.status_code}): {detail}")

    def _auth(self) -> requests.auth.AuthBase | None:
        if not self.user:
            return None
        if self._digest():
            return requests.auth.HTTPDigestAuth(self.user, self.password or "")
        return requests.auth.HTTPBasicAuth(self.user, self.password or "")

    def _digest(self) -> bool:
        return _wants_digest(self.update_url, self.timeout)


@lru_cache(maxsize=32)
def _wants_digest(update_url: str, timeout: float) -> bool:
    """Ask the update endpoint which scheme it wants (Virtuoso: Digest; Fuseki: Basic)."""
    try:
        challenge = requests.post(update_url, data=b"", timeout=timeout,
                                  headers={"Content-Type": "application/sparql-update"})
    except requests.RequestException:
        return False
    return "digest" in challenge.headers.get("WWW-Authenticate", "").lower()


def release_graph(base_iri: str, version: str, canonical: str) -> str:
    """The store's name for a canonical graph of one release."""
    if canonical.startswith(str(GRAPH)):
        return f"{base_iri}release/{version}/graph/{canonical[len(str(GRAPH)):]}"
    return f"{base_iri}release/{version}/graphs/{quote(canonical, safe='')}"


@dataclass
class RemoteStore:
    """One release held by a remote store, seen under its canonical graph names."""

    connection: Connection
    base_iri: str
    version: str
    graphs: tuple[str, ...]  # canonical names of the release's graphs
    _prefix: str = field(init=False)

    def __post_init__(self) -> None:
        self._prefix = f"{self.base_iri}release/{self.version}/"
        self._extra = {g: release_graph(self.base_iri, self.version, g)
                       for g in self.graphs if not g.startswith(str(GRAPH))}

    def to_store(self, canonical: str) -> str:
        if canonical.startswith(str(GRAPH)) or canonical in self._extra:
            return release_graph(self.base_iri, self.version, canonical)
        # Not a graph of this release: an empty graph. The client's IRI is never passed on,
        # so a store that fetches remote graphs (Virtuoso's sponger) is never asked to.
        return EMPTY_GRAPH

    def from_store(self, iri: str) -> str:
        if not iri.startswith(self._prefix):
            return iri
        rest = iri[len(self._prefix):]
        if rest.startswith("graph/"):
            return str(GRAPH) + rest[len("graph/"):]
        if rest.startswith("graphs/"):
            return unquote(rest[len("graphs/"):])
        return iri

    def query(self, sparql: str, *, dataset: QueryDataset | None = None, base_iri: str | None = None) -> Answer:
        """The store's answer to the publisher's own query, in pyoxigraph's types. Oxigraph parses
        it first, over an empty store: the same syntax errors and form as the embedded store.
        (Public queries never come this way: Oxigraph evaluates some queries while it parses
        them; a query process reads them, and web/sparql.py calls `fetch` and `decode`.)"""
        parsed = pyoxigraph.Store().query(sparql, base_iri=base_iri)
        form = "solutions" if isinstance(parsed, pyoxigraph.QuerySolutions) else (
            "boolean" if isinstance(parsed, pyoxigraph.QueryBoolean) else "graph")
        return self.decode(self.fetch(sparql, form, dataset=dataset, base_iri=base_iri), form)

    def fetch(self, sparql: str, form: str, *, dataset: QueryDataset | None = None, base_iri: str | None = None,
              own_dataset: bool = False, cancel: Cancel | None = None) -> bytes:
        """The store's answer as it sent it (SPARQL JSON, or N-Triples for the "graph" form);
        any thread may fetch, but pyoxigraph's answers must be made where they are used (`decode`)."""
        rewritten = self._rewrite(sparql)
        # Virtuoso refuses a second BASE; a query with its own resolves against that one anyway
        text = (f"BASE <{base_iri}>\n" if base_iri and not _declares_base(rewritten) else "") + rewritten
        if dataset is not None and (dataset.default_graphs or dataset.named_graphs):
            default = [self.to_store(g) for g in dataset.default_graphs] or [EMPTY_GRAPH]
            named = [self.to_store(g) for g in dataset.named_graphs] or [EMPTY_GRAPH]
        elif own_dataset:  # its FROM / FROM NAMED (rewritten to the store's names) decide
            default, named = [], []
        else:
            default = [self.to_store(str(g)) for g in DATASET_GRAPHS]
            named = [self.to_store(g) for g in self.graphs]
        _, body = self.connection.select(text, accept=TRIPLES if form == "graph" else SOLUTIONS,
                                         default_graphs=default, named_graphs=named, cancel=cancel)
        return body

    def decode(self, body: bytes, form: str) -> Answer:
        """A fetched answer in pyoxigraph's types, the store's graph names made canonical."""
        if form == "graph":
            return list(self._triples(body))
        return self._solutions(body, boolean=form == "boolean")

    def triple_count(self, graphs: Iterable[str] | None = None) -> int:
        names = list(graphs) if graphs is not None else [str(g) for g in DATASET_GRAPHS]
        total = 0
        for name in names:
            answer = self.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                                dataset=QueryDataset(default_graphs=(name,)))
            total += int(next(iter(answer))["n"].value)
        return total

    def graph_names(self) -> list[str]:
        return sorted(self.graphs)

    def close(self) -> None:
        pass

    def _rewrite(self, sparql: str) -> str:
        """Graph IRIs of the query to the store's names. Only IRI tokens are touched, never
        strings or comments. IRIs under .../graph/ name only graphs, so they move wherever
        they are (BASE and PREFIX too); other graph names (of data/*.trig) may also name
        things, so they move only right after GRAPH, FROM or NAMED."""
        text = decode_escapes(sparql)
        out: list[str] = []
        before = ""  # the code just before this token, comments left out
        for kind, token in _tokens(text):
            if kind == "iri":
                iri = token[1:-1]
                if iri.startswith(str(GRAPH)):
                    token = f"<{self._prefix}graph/{iri[len(str(GRAPH)):]}>"
                elif iri in self._extra and _GRAPH_POSITION.search(before):
                    token = f"<{self._extra[iri]}>"
            out.append(token)
            if kind != "comment":
                before = token if token.strip() else before
        return "".join(out)

    def _solutions(self, body: bytes, *, boolean: bool) -> Answer:
        try:
            document = json.loads(body)
        except ValueError:
            raise StoreError("the store answered a query with something that is not SPARQL JSON") from None
        if boolean:
            value = document.get("boolean")
            if value is None:  # Virtuoso answers ASK as a one-row SELECT of __ASK_RETVAL
                rows = document.get("results", {}).get("bindings", [])
                value = bool(rows) and next(iter(rows[0].values()), {}).get("value") in ("1", "true")
            return pyoxigraph.parse_query_results(json.dumps({"head": {}, "boolean": bool(value)}).encode(),
                                                  format=pyoxigraph.QueryResultsFormat.JSON)
        document.get("head", {}).pop("link", None)
        for row in document.get("results", {}).get("bindings", []):
            for term in row.values():
                self._normalize(term)
        return pyoxigraph.parse_query_results(json.dumps(document).encode(),
                                              format=pyoxigraph.QueryResultsFormat.JSON)

    def _normalize(self, term: dict) -> None:
        kind = term.get("type")
        if kind == "uri":
            term["value"] = self.from_store(term["value"])
        elif kind == "bnode":  # Virtuoso: nodeID://b10000
            term["value"] = re.sub(r"[^A-Za-z0-9_]", "", term["value"].rsplit("/", 1)[-1]) or "b"
        elif kind == "typed-literal":
            term["type"] = "literal"
            if term.get("datatype") == _XSD_BOOLEAN and term.get("value") in ("1", "0"):
                term["value"] = "true" if term["value"] == "1" else "false"

    def _triples(self, body: bytes) -> Iterator[pyoxigraph.Triple]:
        def term(node):  # noqa: ANN001, ANN202 - a pyoxigraph term
            if isinstance(node, pyoxigraph.NamedNode) and node.value.startswith(self._prefix):
                return pyoxigraph.NamedNode(self.from_store(node.value))
            return node
        for triple in pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES):
            yield pyoxigraph.Triple(term(triple.subject), term(triple.predicate), term(triple.object))


_BASE_KEYWORD = re.compile(r"(?<![:\w])BASE\b", re.IGNORECASE)


def _declares_base(text: str) -> bool:
    """Whether the query has a BASE declaration of its own (the keyword outside IRIs, strings and comments)."""
    return any(kind == "other" and _BASE_KEYWORD.search(token) for kind, token in _tokens(text))


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces of a SPARQL query: 'iri', 'string', 'comment' or 'other'."""
    i, n = 0, len(text)
    start = 0
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            yield "other", text[start:i]
            yield "comment", text[i:end]
            i = start = end
        elif c in "'\"":
            quote3 = text[i:i + 3]
            delimiter = quote3 if quote3 in ("'''", '"""') else c
            j = i + len(delimiter)
            while j < n and not text.startswith(delimiter, j):
                j += 2 if text[j] == "\\" else 1
            end = min(n, j + len(delimiter))
            yield "other", text[start:i]
            yield "string", text[i:end]
            i = start = end
        elif c == "<":
            match = _IRIREF.match(text, i)
            if match:
                yield "other", text[start:i]
                yield "iri", match.group(0)
                i = start = match.end()
            else:
                i += 1
        else:
            i += 1
    yield "other", text[start:]


def _first_lines(text: str, limit: int = 400) -> str:
    return " ".join(text.split())[:limit]


def current_release_view(connection: Connection, base_iri: str) -> RemoteStore | None:
    """The release the store marks current for this dataset, as a view; None if none is."""
    dataset = f"{base_iri}dataset"
    _, body = connection.select(f"""
        PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?version ?issued ?part WHERE {{ GRAPH <{POINTER_GRAPH}> {{
            <{dataset}> dcat:hasCurrentVersion ?release .
            ?release dcat:version ?version ; dcterms:issued ?issued ; dcterms:hasPart ?part }} }}""",
        accept=SOLUTIONS)
    rows = json.loads(body).get("results", {}).get("bindings", [])
    if not rows:
        return None
    # Two current releases exist only for an instant during a switch: the newer one wins.
    version = max(rows, key=lambda row: (row["issued"]["value"], row["version"]["value"]))["version"]["value"]
    rows = [row for row in rows if row["version"]["value"] == version]
    view = RemoteStore(connection, base_iri, version, ())
    graphs = tuple(sorted(view.from_store(row["part"]["value"]) for row in rows))
    return RemoteStore(connection, base_iri, version, graphs)


def release_view(connection: Connection, base_iri: str, version: str) -> RemoteStore | None:
    """Release `version` of this dataset as the store keeps it (current or not), as a view;
    None when the store does not hold it. `version` is a release name (letters, digits, . -)."""
    if not re.fullmatch(r"[0-9A-Za-z.\-]+", version):
        return None
    _, body = connection.select(f"""
        PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?part WHERE {{ GRAPH <{POINTER_GRAPH}> {{
            <{base_iri}dataset> dcat:hasVersion ?release .
            ?release dcat:version "{version}" ; dcterms:hasPart ?part }} }}""", accept=SOLUTIONS)
    rows = json.loads(body).get("results", {}).get("bindings", [])
    if not rows:
        return None
    view = RemoteStore(connection, base_iri, version, ())
    return RemoteStore(connection, base_iri, version, tuple(sorted(view.from_store(r["part"]["value"]) for r in rows)))


def connection_from(settings) -> Connection:  # noqa: ANN001 - Settings (no import cycle)
    """The store connection the settings describe; the password comes from its variable."""
    import os

    if not settings.store_url:
        raise StoreError("no external store given (--store URL or FINHEALTHKG_STORE_URL)")
    password = None
    if settings.store_user:
        password = os.environ.get(settings.store_password_env)
        if password is None:
            raise StoreError(f"--user {settings.store_user} needs its password in the environment variable "
                             f"{settings.store_password_env} (set it, or name another with --password-env)")
    return Connection(query_url=settings.store_url, update_url=settings.store_update_url or settings.store_url,
                      user=settings.store_user, password=password, timeout=float(settings.store_timeout),
                      query_timeout=float(settings.query_timeout))


_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def decode_escapes(text: str) -> str:
    """SPARQL 1.1 §19.2 (Virtuoso's reading): \\uXXXX and \\UXXXXXXXX are decoded before parsing."""
    return _ESCAPE.sub(lambda m: _character(m.group(0), int(m.group(1) or m.group(2), 16)), text)


def _character(escape: str, code: int) -> str:
    return chr(code) if code <= 0x10FFFF else escape  # beyond U+10FFFF: no character, left for the store
