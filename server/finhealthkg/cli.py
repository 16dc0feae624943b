"""The command line: one verb per job a publisher has.

    finhealthkg validate   check ontology/ + data/ against shapes/ (SHACL)
    finhealthkg build      validate, then write an immutable release and make it current
    finhealthkg releases   list the releases, marking the current one
    finhealthkg diff       what changed between two releases (summary, RDF Patch, Turtle)
    finhealthkg query      run a SPARQL query against a release from the terminal
    finhealthkg serve      publish the current release over HTTP (SPARQL, IRIs, downloads)
    finhealthkg load       load the current release into an external SPARQL store (Virtuoso ...)

Exit status: 0 success; 1 the data does not conform; 2 anything else that stopped the
command (a broken source file, no release, a bad query), with a message saying what.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pyoxigraph

from .change_files import summary_text
from .config import SHACL_ENGINES, OriginError, Settings
from .namespaces import PREFIXES
from .pipeline.progress import Steps
from .pipeline.sources import SourceError, load_sources
from .query.formats import RDF_WRITERS, RESULT_WRITERS
from .release import Release, ReleaseError, current_release, list_releases
from .stores import StoreError

ENGINE_HELP = ("sparql (default): the shapes compiled to SPARQL on Oxigraph, seconds per million triples; "
               "pyshacl: the reference validator, minutes per hundred thousand (env FINHEALTHKG_SHACL_ENGINE)")

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env().with_overrides(
            root=args.root, releases_dir=args.releases, base_iri=args.base_iri)
    except ValueError as error:
        parser.error(str(error))
    try:
        return args.handler(args, settings)
    except (SourceError, ReleaseError, StoreError) as error:
        print(f"finhealthkg {args.command}: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"finhealthkg {args.command}: interrupted; the current release is unchanged",
              file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=None,
                        help="project directory holding ontology/, shapes/ and data/ "
                             "(default: the current directory; env FINHEALTHKG_ROOT)")
    common.add_argument("--releases", type=Path, default=None,
                        help="where releases are written (default: ROOT/var/releases; "
                             "env FINHEALTHKG_RELEASES_DIR)")
    common.add_argument("--base-iri", default=None,
                        help="published base IRI (default: https://w3id.org/finhealthkg/; "
                             "env FINHEALTHKG_BASE_IRI)")

    parser = argparse.ArgumentParser(
        prog="finhealthkg",
        description="Linked-data publisher of the Finnish health-sector growth strategy.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate", parents=[common], help="check the sources against the SHACL shapes",
        description="Validate the shapes against SHACL-SHACL and ontology + data against the "
                    "shapes. Exit 0 when the graph conforms, 1 when it does not.")
    validate.add_argument("--format", choices=("text", "turtle"), default="text",
                          help="text: a readable report by file; turtle: the SHACL report graph")
    validate.add_argument("--shacl-engine", choices=SHACL_ENGINES, default=None,
                          help=ENGINE_HELP)
    validate.set_defaults(handler=_validate)

    build = commands.add_parser(
        "build", parents=[common], help="validate and write a release, then make it current",
        description="Validate first (nothing is written when the data does not conform), then "
                    "write var/releases/<version>/ and switch var/releases/current to it.")
    build.add_argument("--force", action="store_true",
                       help="build even when the current release was built from the same sources")
    build.add_argument("--quiet", action="store_true", help="print only the version built")
    build.add_argument("--shacl-engine", choices=SHACL_ENGINES, default=None, help=ENGINE_HELP)
    build.add_argument("--keep", type=int, default=None, metavar="N",
                       help="keep the stores of the last N releases only, so older ones can no longer be "
                            "queried (their files stay); default: keep all")
    build.set_defaults(handler=_build)

    releases = commands.add_parser(
        "releases", parents=[common], help="list the releases (* marks the current one)")
    releases.set_defaults(handler=_releases)

    diff = commands.add_parser(
        "diff", parents=[common], help="what changed between two releases",
        description="Compare the knowledge graphs of two releases triple by triple: a summary of the things "
                    "added, removed and changed, by type (the same as /releases/{version}/changes), or the "
                    "change set as RDF Patch or Turtle.")
    diff.add_argument("old", help="the older release's version")
    diff.add_argument("new", nargs="?", default=None, help="the newer release's version (default: the current one)")
    diff.add_argument("--format", default="summary", choices=("summary", "json", "rdfp", "added", "removed"),
                      help="summary (text), json, rdfp (RDF Patch), added or removed (Turtle); default summary")
    diff.set_defaults(handler=_diff)

    query = commands.add_parser(
        "query", parents=[common], help="run a SPARQL query against a release",
        description="Run a SPARQL query against the current (or a named) release's store. "
                    "The default graph is the knowledge graph (ontology + data).")
    query.add_argument("query", help="the query text, or @FILE to read it from a file, or - for stdin")
    query.add_argument("--release", help="version to query (default: the current release)")
    query.add_argument("--format", default="table",
                       choices=("table", *RESULT_WRITERS, *(n for n in RDF_WRITERS if n not in RESULT_WRITERS)),
                       help="output format (default: a text table; CONSTRUCT gives turtle)")
    query.set_defaults(handler=_query)

    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", dest="store_url", default=None, metavar="URL",
                       help="query endpoint of an external SPARQL 1.1 store (env FINHEALTHKG_STORE_URL)")
    store.add_argument("--update-url", dest="store_update_url", default=None, metavar="URL",
                       help="its update endpoint, if not the same URL (Virtuoso: .../sparql-auth)")
    store.add_argument("--user", dest="store_user", default=None, help="user for the store")
    store.add_argument("--password-env", dest="store_password_env", default=None, metavar="VAR",
                       help="environment variable holding the password (default FINHEALTHKG_STORE_PASSWORD)")

    load = commands.add_parser(
        "load", parents=[common, store], help="load the current release into an external store",
        description="Load the current release into new graphs of an external SPARQL 1.1 store, check "
                    "the triple counts, mark it current there, drop releases older than the last --keep.")
    load.add_argument("--keep", type=int, default=None, help="releases kept in the store (default 3)")
    load.add_argument("--max-request-bytes", dest="store_max_request_bytes", type=int, default=None,
                      help="largest update request body (default 262144: 256 KiB)")
    load.set_defaults(handler=_load)

    serve = commands.add_parser(
        "serve", parents=[common, store], help="serve the current release over HTTP",
        description="Serve the current release (SPARQL endpoint, dereferenceable IRIs, "
                    "downloads, VoID, DCAT) under gunicorn. A new build is picked up without a restart.")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8080)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default CPUs + 1)")
    serve.add_argument("--threads", type=int, default=None,
                       help="threads per worker (default 4; 1: gunicorn's sync workers)")
    serve.add_argument("--client-timeout", type=int, default=None,
                       help="seconds a client may send or read nothing before its connection is closed (default 10)")
    serve.add_argument("--run-dir", type=Path, default=None, metavar="DIR",
                       help="a directory the servers of one machine share, so that --heavy-queries and "
                            "--heavy-per-client count across all of them (replicas behind the front); "
                            "default: one of this server's own")
    serve.add_argument("--query-processes", type=int, default=None,
                       help="processes per worker that run public queries on the embedded store "
                            "(default: one per thread)")
    serve.add_argument("--query-timeout", type=int, default=None, help="seconds a query may run (default 30)")
    serve.add_argument("--row-limit", type=int, default=None,
                       help="rows of a SELECT answer, triples of a CONSTRUCT/DESCRIBE answer (default 100000)")
    serve.add_argument("--max-answer-bytes", type=int, default=None,
                       help="bytes of any answer; a longer one is cut at a row's end and says so (default 67108864)")
    serve.add_argument("--query-memory", type=int, default=None,
                       help="MiB of memory (address space) a query process may use (default 1024)")
    serve.add_argument("--heavy-queries", type=int, default=None,
                       help="long queries (0.1 s of CPU; 0.5 s waiting on an external store) running at once, "
                            "per server (default: one per CPU)")
    serve.add_argument("--heavy-per-client", type=int, default=None,
                       help="such queries at once per client address (default 1)")
    serve.add_argument("--max-body-bytes", type=int, default=None,
                       help="largest request body accepted; larger ones get 413 (default 1048576)")
    serve.add_argument("--proxy-hops", type=int, default=None,
                       help="trust X-Forwarded-* from this many reverse proxies (default 0)")
    serve.add_argument("--public-url", default=None,
                       help="the origin users reach this server at (https://kg.example.org): links, Hydra "
                            "controls and sd:endpoint are built from it; default: from trusted proxies' "
                            "X-Forwarded-* headers with --proxy-hops, else the address served on "
                            "(http://HOST:PORT); set it for a public endpoint")
    serve.add_argument("--follow-seconds", type=_positive_seconds, default=None,
                       help="how often each worker looks for a new current release "
                            "(default 1 with the embedded store, 5 with an external one)")
    serve.set_defaults(handler=_serve)
    return parser


def _store_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    return settings.with_overrides(**{name: getattr(args, name) for name in (
        "store_url", "store_update_url", "store_user", "store_password_env", "store_max_request_bytes", "keep")
        if hasattr(args, name)})


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline.load import LOAD_STEPS, load_release
    from .stores.sparql import connection_from

    settings = _store_settings(args, settings)
    connection = connection_from(settings)
    release = current_release(settings)
    result = load_release(release, connection, base_iri=settings.base_iri, keep=settings.keep,
                          max_request_bytes=settings.store_max_request_bytes, steps=Steps(LOAD_STEPS))
    state = "loaded and current" if result.loaded else "already current"
    print(f"Release {result.version} is {state} in the store ({result.triples} triples).", file=sys.stderr)
    return EXIT_OK


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from .serve import serve

    try:
        served = _store_settings(args, settings).with_overrides(
            host=args.host, port=args.port, workers=args.workers, threads=args.threads, proxy_hops=args.proxy_hops,
            public_url=args.public_url, query_processes=args.query_processes, client_timeout=args.client_timeout,
            run_dir=args.run_dir,
            query_timeout=args.query_timeout, row_limit=args.row_limit, max_answer_bytes=args.max_answer_bytes,
            query_memory=args.query_memory, heavy_queries=args.heavy_queries, heavy_per_client=args.heavy_per_client,
            max_body_bytes=args.max_body_bytes, follow_seconds=args.follow_seconds)
    except OriginError as error:
        print(f"finhealthkg serve: {error}", file=sys.stderr)
        return EXIT_ERROR
    serve(served)
    return EXIT_OK


def _positive_seconds(text: str) -> float:
    seconds = float(text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return seconds


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline.validate import validate_sources  # pyshacl and the compiler: not for the other commands

    report = validate_sources(load_sources(settings), args.shacl_engine or settings.shacl_engine)
    if args.format == "turtle":
        sys.stdout.write(report.graph.serialize(format="turtle"))
    else:
        print(report.text())
    return EXIT_OK if report.conforms else EXIT_INVALID


def _build(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline.build import BUILD_STEPS, InvalidSources, build_release  # the builder: not for `serve`

    settings = settings.with_overrides(shacl_engine=args.shacl_engine)
    steps = Steps(BUILD_STEPS, quiet=args.quiet)
    try:
        result = build_release(settings, steps=steps, force=args.force, keep=args.keep)
    except InvalidSources as invalid:
        print(invalid.report.text(), file=sys.stderr)
        print("\nNothing was built; the current release is unchanged.", file=sys.stderr)
        return EXIT_INVALID
    release = result.release
    if args.quiet:
        print(release.version)
    else:
        stats = release.manifest["statistics"]
        print(f"Release {release.version} is current: {stats['triples']} triples, "
              f"{stats['entities']} entities, in {release.path}", file=sys.stderr)
    return EXIT_OK


def _diff(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline.changes import ChangeSetError, compare, dataset_store, rdf_patch, summary, turtle

    old = _named_release(settings, args.old)
    new = _named_release(settings, args.new) if args.new else current_release(settings)
    try:
        changes = compare(*(dataset_store(r.store_path if r.has_store else None, r.file("dataset.nt.gz"))
                            for r in (old, new)), previous=old.version, version=new.version)
    except ChangeSetError as error:
        raise ReleaseError(str(error)) from None
    out = sys.stdout.buffer
    if args.format == "rdfp":
        out.write(rdf_patch(changes, settings.base_iri))
    elif args.format in ("added", "removed"):
        out.write(turtle(getattr(changes, args.format),
                         f"Triples {args.format} from release {old.version} to {new.version}"))
    elif args.format == "json":
        out.write(json.dumps(summary(changes), indent=2, ensure_ascii=False).encode() + b"\n")
    else:
        out.write(summary_text(summary(changes)).encode())
    out.flush()
    return EXIT_OK


def _named_release(settings: Settings, version: str) -> Release:
    found = next((r for r in list_releases(settings) if r.version == version), None)
    if found is None:
        known = ", ".join(r.version for r in list_releases(settings)) or "none"
        raise ReleaseError(f"there is no release {version!r} in {settings.releases} (releases: {known})")
    return found


def _releases(args: argparse.Namespace, settings: Settings) -> int:
    try:
        current = current_release(settings).version
    except ReleaseError:
        current = None
    releases = list_releases(settings)
    if not releases:
        print(f"No releases in {settings.releases}; run `finhealthkg build`.", file=sys.stderr)
        return EXIT_OK
    for release in releases:
        mark = "*" if release.version == current else " "
        changes = release.manifest.get("changes")
        delta = f"  +{changes['triples']['added']} -{changes['triples']['removed']}" if changes else ""
        print(f"{mark} {release.version}  {release.created.isoformat()}  "
              f"{release.triples:>9} triples  commit {release.manifest.get('commit') or '-'}{delta}"
              + ("" if release.has_store else "  (store removed: not queryable)"))
    return EXIT_OK


def _query(args: argparse.Namespace, settings: Settings) -> int:
    text = _read_query(args.query)
    release = (Release.open(settings.releases / args.release) if args.release
               else current_release(settings))
    store = release.open_store()
    try:
        answer = store.query(text, base_iri=settings.base_iri)
    except SyntaxError as error:
        print(f"finhealthkg query: the query does not parse: {error}", file=sys.stderr)
        return EXIT_ERROR
    out = sys.stdout.buffer
    if isinstance(answer, pyoxigraph.QueryBoolean):
        if args.format in RESULT_WRITERS:
            out.write(answer.serialize(format=RESULT_WRITERS[args.format]))
        else:
            print("true" if bool(answer) else "false")
    elif isinstance(answer, pyoxigraph.QuerySolutions):
        if args.format in RESULT_WRITERS:
            out.write(answer.serialize(format=RESULT_WRITERS[args.format]))
        else:
            print(_table(answer))
    else:
        fmt = RDF_WRITERS.get(args.format, pyoxigraph.RdfFormat.TURTLE)
        out.write(pyoxigraph.serialize(answer, format=fmt, prefixes=PREFIXES))
    out.flush()
    return EXIT_OK


def _read_query(argument: str) -> str:
    if argument == "-":
        return sys.stdin.read()
    if argument.startswith("@"):
        return Path(argument[1:]).read_text(encoding="utf-8")
    return argument


def _table(solutions: pyoxigraph.QuerySolutions) -> str:
    names = [v.value for v in solutions.variables]
    rows = [[_cell(row[name]) for name in names] for row in solutions]
    widths = [max([len(name)] + [len(r[i]) for r in rows]) for i, name in enumerate(names)]
    line = "  ".join(name.ljust(w) for name, w in zip(names, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, rule, *body, f"({len(rows)} rows)"])


def _cell(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, pyoxigraph.Literal):
        return term.value
    return getattr(term, "value", str(term))


if __name__ == "__main__":
    sys.exit(main())
