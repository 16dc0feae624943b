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
    ("finhealthkg.cli", "finhealthkg.load"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.stores.sparql"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.serve"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.validate"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.build"): "each command loads only what it runs",
    ("finhealthkg.cli", "finhealthkg.changes"): "each command loads only what it runs",
    ("finhealthkg.web.publication", "finhealthkg.stores.sparql"): "requests: only for an external store",
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
           "finhealthkg.serve", "finhealthkg.release", "finhealthkg.results")
BUILD_ONLY = ("finhealthkg.build", "finhealthkg.validate", "finhealthkg.derived", "finhealthkg.load",
              "finhealthkg.sources", "finhealthkg.shacl_report", "finhealthkg.shacl_sparql", "finhealthkg.tables",
              "finhealthkg.progress", "finhealthkg.describe")


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
