"""One Settings object, from command-line flags and FINHEALTHKG_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from .prefixes import BASE

ENV_PREFIX = "FINHEALTHKG_"


# "sparql": the shapes compiled to SPARQL on Oxigraph (fast); "pyshacl": the reference (validate.py)
SHACL_ENGINES = ("sparql", "pyshacl")


class OriginError(ValueError):
    """A --public-url that is not an origin."""


def parse_origin(url: str) -> str:
    """`scheme://host[:port]`, checked: http(s), a host, no path, query or user."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise OriginError(f"--public-url {url!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OriginError(f"--public-url {url!r} must be http:// or https:// and a host, e.g. https://kg.example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise OriginError(f"--public-url {url!r} must be an origin only (no path, query or user): "
                          "the publisher answers at the root of its host")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


@dataclass(frozen=True)
class Settings:
    """Where the sources and releases live and how the publisher answers.

    Every field can be set by an environment variable named FINHEALTHKG_<FIELD> (upper case);
    flags on the command line win over the environment.
    """

    root: Path = field(default_factory=Path.cwd)  # holds ontology/, shapes/, data/
    releases_dir: Path | None = None  # default: <root>/var/releases
    base_iri: str = BASE  # the published base; answered on whatever host serves it
    host: str = "127.0.0.1"
    port: int = 8080
    # Threads by default (serve.GracefulThreadWorker): a slow client holds one thread, not a whole
    # worker process. Each thread has its query process (query_processes), so workers x threads of
    # them run; threads=1 gives gunicorn's sync workers.
    workers: int = field(default_factory=lambda: (os.cpu_count() or 1) + 1)
    threads: int = 4  # per worker
    client_timeout: int = 10  # seconds a client may leave a server thread waiting for its next bytes (serve.py)
    query_processes: int = 0  # per worker, running public queries on the embedded store; 0: one per thread
    max_body_bytes: int = 1024 * 1024  # larger request bodies get 413
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-* headers are trusted
    public_url: str | None = None  # the origin users reach the server at; links are built from it (web/http/origin.py)
    follow_seconds: float | None = None  # how often a worker looks for a new release (None: serving.FOLLOW_SECONDS)
    query_timeout: int = 30  # seconds a public query may run
    row_limit: int = 100_000  # rows of a SELECT answer, triples of a CONSTRUCT/DESCRIBE; beyond it the answer is cut
    max_answer_bytes: int = 64 * 2**20  # bytes of any answer; beyond it the answer is cut at a row, and says so
    query_memory: int = 1024  # MiB of address space a query process may have (RLIMIT_AS)
    heavy_queries: int = field(default_factory=lambda: os.cpu_count() or 1)  # long queries at once, per server
    heavy_per_client: int = 1  # long queries at once per client address
    run_dir: Path | None = None  # what the worker processes of one server share (heavy-query slots)
    # An external SPARQL 1.1 store instead of the embedded one (see stores/sparql.py)
    store_url: str | None = None  # its query endpoint
    store_update_url: str | None = None  # its update endpoint (default: store_url)
    store_user: str | None = None
    store_password_env: str = "FINHEALTHKG_STORE_PASSWORD"  # the variable holding the password
    store_timeout: int = 120  # seconds for one update request to the store (loading)
    # Largest update body sent while loading: Virtuoso 7's SPARQL compiler runs out of memory
    # ("memory exhausted") on 1 MiB INSERT DATA requests of the generated graphs; 256 KiB loads.
    store_max_request_bytes: int = 256 * 1024
    keep: int = 3  # releases kept in the external store
    shacl_engine: str = "sparql"  # one of SHACL_ENGINES

    def __post_init__(self) -> None:
        if self.public_url:  # checked here, so a wrong one stops the command, not every worker
            object.__setattr__(self, "public_url", parse_origin(self.public_url))

    @property
    def releases(self) -> Path:
        return self.releases_dir if self.releases_dir is not None else self.root / "var" / "releases"

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given fields replaced; None values are ignored (flag not given)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        return cls(**values)


def _convert(name: str, type_name: object, raw: str) -> object:
    kind = str(type_name)
    if "Path" in kind:
        return Path(raw).expanduser()
    if kind in ("int", "int | None"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a whole number, not {raw!r}") from None
    return raw
