"""The package's import graph has no cycle, function-level imports included.

A function-level import that closes a cycle only hides it: the cycle is still there, it just
fails later and elsewhere. So every ``import``/``from ... import`` of the package anywhere in a
module (module level, inside functions, under ``if TYPE_CHECKING``) is an edge here. Importing
``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``, so it is an edge to each of them.
Only the optional GPU packages (tensorrt, pycuda) may be imported inside functions; they are
not the package's modules and make no edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "trt_plugin_bench"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "workflow" / PACKAGE


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(current: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every package module ``path`` imports, anywhere in the file."""
    current = module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(current, is_package, node.level, node.module)
            targets = [base]
            # `from . import sweeps` imports the submodule sweeps
            targets += [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
        for target in targets:
            if not target.startswith(PACKAGE):
                continue
            parts = target.split(".")
            for i in range(2, len(parts) + 1):  # the parent packages run too (not the root's docstring-only one)
                name = ".".join(parts[:i])
                # a module's own parent packages have run before it: no edge to them
                if name in modules and name != current and not current.startswith(name + "."):
                    found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE_DIR.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for comp in components:
        members = set(comp)
        start = min(comp)
        # a shortest path back to start inside the component (BFS)
        prev: dict[str, str] = {}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & members):
                    if w == start:
                        found = v
                        break
                    if w not in prev:
                        prev[w] = v
                        nxt.append(w)
                if found is not None:
                    break
            frontier = nxt
        path = [found] if found else []
        while path and path[-1] != start:
            path.append(prev[path[-1]])
        cycles.append([*reversed(path), start])
    return cycles


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve() -> None:
    assert _absolute("trt_plugin_bench.backends.reference", False, 2, "config") == "trt_plugin_bench.config"
    assert _absolute("trt_plugin_bench.backends", True, 1, "base") == "trt_plugin_bench.backends.base"
    assert _absolute("trt_plugin_bench.cli", False, 1, None) == "trt_plugin_bench"


def test_function_level_imports_count() -> None:
    graph = import_graph()
    # cli imports sweeps inside a function (`from . import sweeps`): it is an edge
    assert "trt_plugin_bench.sweeps" in graph["trt_plugin_bench.cli"]
    assert "trt_plugin_bench.backends" in graph["trt_plugin_bench.cli"]


def test_no_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles (function-level imports included): " + "; ".join(
        " -> ".join(c) for c in cycles
    )
