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
    assert _absolute("trt_plugin_bench.backends.reference", False, 2, "cli") == "trt_plugin_bench.cli"
    assert _absolute("trt_plugin_bench.backends", True, 1, "base") == "trt_plugin_bench.backends.base"
    assert _absolute("trt_plugin_bench.cli", False, 1, None) == "trt_plugin_bench"


def test_function_level_imports_count() -> None:
    graph = import_graph()
    # cli imports sweeps inside a function (`from . import sweeps`): it is an edge
    assert "trt_plugin_bench.commands.sweeps" in graph["trt_plugin_bench.cli"]
    assert "trt_plugin_bench.backends" in graph["trt_plugin_bench.cli"]


def test_no_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles (function-level imports included): " + "; ".join(
        " -> ".join(c) for c in cycles
    )


# The sub-packages in the order of the flow (docs/pipeline.md, "The package"): a module imports only from
# its own sub-package and the ones before it; the entry points (cli, __main__) import from any.
FLOW = ["core", "device", "backends", "measure", "commands", "report"]
ENTRY_POINTS = {PACKAGE, f"{PACKAGE}.cli", f"{PACKAGE}.__main__"}


def sub_package(module: str) -> str:
    """trt_plugin_bench.core.config -> core; a top-level module (cli) -> its own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def against_the_flow(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a sub-package's module from a later sub-package (or from an entry point)."""
    upstream = []
    for module, targets in sorted(graph.items()):
        if module in ENTRY_POINTS:
            continue
        here = FLOW.index(sub_package(module)) if sub_package(module) in FLOW else -1
        for target in sorted(targets):
            there = sub_package(target)
            if there not in FLOW or FLOW.index(there) > here:
                upstream.append(f"{module} -> {target}")
    return upstream


def sub_package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph with each sub-package one node."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        node = packages.setdefault(sub_package(module), set())
        for target in targets:
            packages.setdefault(sub_package(target), set())
            if sub_package(target) != sub_package(module):
                node.add(sub_package(target))
    return packages


def test_the_flow_checks_find_planted_faults() -> None:
    core, measure, report = (f"{PACKAGE}.{p}.x" for p in ("core", "measure", "report"))
    graph = {core: {report}, report: {core}, f"{PACKAGE}.cli": {report}, measure: set()}
    assert against_the_flow(graph) == [f"{core} -> {report}"]
    assert find_cycles(sub_package_graph(graph)) == [["core", "report", "core"]]
    assert find_cycles(sub_package_graph({core: {measure}, f"{PACKAGE}.measure.y": {f"{PACKAGE}.core.z"}}))


def test_every_module_is_in_a_sub_package() -> None:
    loose = sorted(m for m in import_graph() if m not in ENTRY_POINTS and sub_package(m) not in FLOW)
    assert not loose, f"modules outside the sub-packages {FLOW}: {loose}"


def test_sub_packages_follow_the_flow() -> None:
    upstream = against_the_flow(import_graph())
    assert not upstream, "imports against the flow " + " > ".join(FLOW) + ": " + "; ".join(upstream)


def test_no_import_cycle_between_sub_packages() -> None:
    cycles = find_cycles(sub_package_graph(import_graph()))
    assert not cycles, "sub-package cycles: " + "; ".join(" -> ".join(c) for c in cycles)
