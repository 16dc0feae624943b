"""The house rules of the package, read from its source: no import cycles between its modules,
and no import inside a function to dodge one (the few imports made late on purpose, to keep a
command from loading what it does not use, are listed with why)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "server" / "finhealthkg"
# Imported inside a function on purpose: (module, imported) -> why
LATE_ON_PURPOSE = {
    ("finhealthkg.cli", "finhealthkg.pipeline.load"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.stores.sparql"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.serve"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.pipeline.validate"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.pipeline.build"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.pipeline.changes"): "each command loads only what it runs",
    ("finhealthkg.serving", "finhealthkg.stores.sparql"): "requests: only for an external store",
}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(imported at module level, imported inside a function) package modules of one file."""
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    late: set[str] = set()

    def resolve(node: ast.ImportFrom) -> list[str]:
        base = package
        for _ in range(node.level - 1):
            base = base.rsplit(".", 1)[0]
        stem = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
        modules = [f"{stem}.{alias.name}" for alias in node.names if _exists(f"{stem}.{alias.name}")]
        return modules if modules and len(modules) == len(node.names) else [stem, *modules]

    def visit(node: ast.AST, inside: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # for type checkers only: never runs
            names: list[str] = []
            if isinstance(child, ast.ImportFrom):
                names = resolve(child)
            elif isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            for found in names:
                if found.startswith("finhealthkg") and _exists(found):
                    (late if inside else top).add(found)
            visit(child, inside or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef), typing_only)
    visit(tree, False, False)
    return top, late


def _exists(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    top, late = {}, {}
    for path in PACKAGE.rglob("*.py"):
        top[_module(path)], late[_module(path)] = _imports(path)
    return top, late


def test_the_package_has_no_import_cycle():
    top, _ = _graph()
    cycles = []
    for start in sorted(top):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in top.get(node, ()):
                if nxt == start and len(trail) > 1:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in seen and nxt != node:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert not cycles, "\n".join(sorted(set(cycles))[:20])


def test_no_import_inside_a_function_dodges_a_cycle():
    _, late = _graph()
    found = {(module, imported) for module, names in late.items() for imported in names
             if imported != module and (module, imported) not in LATE_ON_PURPOSE}
    assert not found, "\n".join(f"{m} imports {i} inside a function" for m, i in sorted(found))


SERVING = ("finhealthkg.web", "finhealthkg.query", "finhealthkg.stores", "finhealthkg.search",
           "finhealthkg.serve", "finhealthkg.serving", "finhealthkg.release")
BUILD_ONLY = ("finhealthkg.pipeline",)


def _within(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def test_the_server_never_imports_the_build():
    """What answers requests is started without the build's modules (pyshacl, the SHACL-SPARQL
    compiler, the table writers): a server process loads only what serving needs."""
    top, late = _graph()
    found = []
    for start in sorted(m for m in top if _within(m, SERVING)):
        seen, stack = {start}, [(start, (start,))]
        while stack:  # what it loads, through every module it imports at module level
            node, trail = stack.pop()
            for nxt in sorted(top.get(node, ())) + sorted(late.get(node, ()) if node == start else ()):
                if _within(nxt, BUILD_ONLY):
                    found.append(" -> ".join((*trail, nxt)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*trail, nxt)))
    assert not found, "\n".join(sorted(found)[:20])


# The floors, lowest first: a module may import its own floor and those below, never above.
#   shared (config, prefixes, namespaces, terms, release, change_files, catalog, history, ...)
#   stores/, search/, query/         what holds and answers the data
#   serving                          the served release's state, followed on disk or in a store
#   web/                             HTTP: Flask, pages, the protocol
#   serve, cli                       the programs
# pipeline/ (the build) stands beside stores/search/query and is never imported by what is above them.
BELOW_WEB = ("finhealthkg.serving", "finhealthkg.query", "finhealthkg.stores", "finhealthkg.search",
             "finhealthkg.release", "finhealthkg.pipeline", "finhealthkg.config", "finhealthkg.namespaces",
             "finhealthkg.prefixes", "finhealthkg.terms", "finhealthkg.catalog", "finhealthkg.history",
             "finhealthkg.change_files", "finhealthkg.description_query")
ABOVE = {"finhealthkg.serving": ("finhealthkg.web", "finhealthkg.serve", "finhealthkg.cli"),
         "finhealthkg.query": ("finhealthkg.serving", "finhealthkg.web", "finhealthkg.serve", "finhealthkg.cli"),
         "finhealthkg.stores": ("finhealthkg.serving", "finhealthkg.web", "finhealthkg.serve", "finhealthkg.cli",
                                "finhealthkg.query")}


def test_no_module_imports_a_floor_above_its_own():
    top, late = _graph()
    found = [f"{module} imports {imported}" for module in sorted(top) for imported in sorted(top[module] | late[module])
             for floor, above in ABOVE.items() if _within(module, (floor,)) and _within(imported, above)]
    found += [f"{module} imports {imported}" for module in sorted(top) if _within(module, BELOW_WEB)
              for imported in sorted(top[module] | late[module])
              if _within(imported, ("finhealthkg.web", "finhealthkg.serve", "finhealthkg.cli"))]
    assert not found, "\n".join(sorted(set(found)))


def test_nothing_below_the_web_floor_loads_flask():
    """serving.py and everything under it run without a request: no Flask, no werkzeug."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if _within(_module(path), BELOW_WEB):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                found += [f"{_module(path)} imports {n}" for n in names if n.split(".")[0] in ("flask", "werkzeug")]
    assert not found, "\n".join(sorted(set(found)))


# Inside web/: the blueprints (web/*.py) stand on http/ (plumbing), pages/ (page building) and
# reconciliation/; none of those imports a blueprint, and http/ takes from pages/ only the
# reader's language (i18n.py: the cookie and Accept-Language) and short names of IRIs (iris.py).
BLUEPRINT_HELPERS = ("finhealthkg.web.http", "finhealthkg.web.pages", "finhealthkg.web.reconciliation")


def test_the_web_helpers_never_import_a_blueprint():
    top, late = _graph()
    blueprints = {m for m in top if m.count(".") == 2 and m.startswith("finhealthkg.web.")
                  and not (PACKAGE / "web" / m.rsplit(".", 1)[1]).is_dir()}
    assert {"finhealthkg.web.sparql", "finhealthkg.web.resources", "finhealthkg.web.app"} <= blueprints
    found = [f"{module} imports {imported}" for module in sorted(top) if _within(module, BLUEPRINT_HELPERS)
             for imported in sorted(top[module] | late[module]) if imported in blueprints]
    found += [f"{module} imports {imported}" for module in sorted(top) if _within(module, ("finhealthkg.web.http",))
              for imported in sorted(top[module] | late[module])
              if _within(imported, ("finhealthkg.web.pages",))
              and imported not in ("finhealthkg.web.pages.i18n", "finhealthkg.web.pages.iris")]
    assert not found, "\n".join(sorted(set(found)))
