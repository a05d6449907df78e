"""No import cycles in ``src/clipdex`` (issue 12).

A cycle that "works" only because some of its imports sit inside functions is still a cycle: the
modules cannot be understood, tested or loaded apart, and the next module-level import breaks the
process at start-up. So the graph counts every import, at module level and inside functions, and
leaves out only ``if TYPE_CHECKING:`` blocks (never executed).

What is an edge:

- ``import a.b.c`` and ``from a.b.c import x`` import module ``a.b.c``; ``from a.b import c``
  imports ``a.b.c`` when ``c`` is a submodule, else ``a.b`` (the package's ``__init__``);
- a package ``__init__`` is a node of its own, with the imports written in it;
- the parent packages Python runs implicitly before a submodule are not edges: otherwise every
  ``__init__`` that re-exports a submodule would be a "cycle" with it, although loading the
  submodule first works (its parent is already initialised) and nothing is hidden.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT_PACKAGE = "clipdex"


def module_files(src: Path = SRC, root: str = ROOT_PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module under ``src/root``."""
    modules = {}
    for path in sorted((src / root).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(node: ast.AST):
    """Import statements that can run: every nesting level except ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _runtime_imports(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _runtime_imports(child)


def _base_of(stmt: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (relative levels resolved)."""
    if not stmt.level:
        return stmt.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = package[: len(package) - (stmt.level - 1)]
    return ".".join(package + ([stmt.module] if stmt.module else []))


def _nearest_module(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` or the closest enclosing module we own (``a.b.func`` -> ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, modules: dict[str, Path]) -> set[str]:
    """Modules of ours that ``module`` imports."""
    path = modules[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    targets: set[str] = set()
    for stmt in _runtime_imports(tree):
        if isinstance(stmt, ast.Import):
            names = [alias.name for alias in stmt.names]
        else:
            base = _base_of(stmt, module, path.name == "__init__.py")
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                     for alias in stmt.names]
        targets.update(t for t in map(lambda n: _nearest_module(n, modules), names) if t)
    targets.discard(module)
    return targets


def import_graph(src: Path = SRC, root: str = ROOT_PACKAGE) -> nx.DiGraph:
    modules = module_files(src, root)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module in modules:
        graph.add_edges_from((module, target) for target in imports_of(module, modules))
    return graph


def import_cycles(graph: nx.DiGraph) -> list[list[str]]:
    """Strongly connected components of more than one module, largest first."""
    return sorted((sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1),
                  key=lambda c: (-len(c), c))


def _describe(graph: nx.DiGraph, component: list[str]) -> str:
    members = set(component)
    edges = sorted(f"    {a} -> {b}" for a, b in graph.subgraph(members).edges)
    return f"  {len(component)} modules: {', '.join(component)}\n" + "\n".join(edges)


def test_graph_sees_every_kind_of_import(tmp_path):
    """The checker itself: relative, function-level and submodule imports count; TYPE_CHECKING does not."""
    pkg = tmp_path / "demo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                      "    from demo import c\nelse:\n    import demo.c as c\n")
    (pkg / "c.py").write_text("from . import a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import demo.a\n")
    graph = import_graph(tmp_path, "demo")
    assert set(graph.edges) == {("demo.a", "demo.sub.b"), ("demo.sub.b", "demo.c"), ("demo.c", "demo.a")}
    assert import_cycles(graph) == [["demo.a", "demo.c", "demo.sub.b"]]


def test_no_import_cycles_in_clipdex():
    graph = import_graph()
    assert graph.number_of_nodes() > 100, "the source tree was not found"
    cycles = import_cycles(graph)
    assert not cycles, (f"{len(cycles)} import cycle(s); move the shared piece down a layer:\n"
                        + "\n".join(_describe(graph, c) for c in cycles))
