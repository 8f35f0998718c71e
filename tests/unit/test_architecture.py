"""docs/architecture.md kept true: the package's import graph has its one-way arrows and no cycles.

The graph is read from the source (ast), every `import` of a llama_workbench module: those at a
module's top level (run on import) and those inside functions (run on first use), both; imports
under `if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "llama_workbench"

# Arrows that must not exist, at any level (package prefixes, with the dot).
FORBIDDEN = [
    ("providers.", "jupyter."),  # providers never know the notebook
    ("providers.", "server."),  # ... nor the HTTP server
    ("providers.", "lab."),
    ("providers.", "cli"),
    ("providers.", "tracking."),  # a run tracker comes in deps.tracker (core/run_tracking.py)
    ("apis.", "providers."),  # an API is a contract: it names no implementation
    ("apis.", "server."),  # routes are built by the server, they don't reach into it
    ("apis.", "core.stack"),
    ("apis.", "jupyter."),
    ("storage.", "providers."),
    ("storage.", "apis."),
    ("core.", "jupyter."),  # front ends sit on the core, never the other way round
    ("core.", "server."),  # the in-process clients get the REST app through core/app_hook.py
    ("core.", "lab."),
    ("core.", "cli"),
    ("facade.", "providers."),
    ("facade.", "server."),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str | None:
    """The package module an import name lands in ("llama_workbench.core.stack.Stack" -> core.stack)."""
    if name != "llama_workbench" and not name.startswith("llama_workbench."):
        return None
    name = name.removeprefix("llama_workbench").removeprefix(".")
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path) -> tuple[set[str], set[str]]:
    """(targets imported at the top level, targets imported inside functions)."""
    top: set[str] = set()
    deferred: set[str] = set()

    def names(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(["llama_workbench", *package, *([base] if base else [])])
        # `from pkg import sub` imports the submodule when there is one, else a name of pkg.
        return [f"{base}.{a.name}" for a in node.names]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for stmt in child.orelse:
                    visit(stmt, in_function)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                for name in names(child):
                    target = _target(name)
                    if target is not None and target != module:
                        (deferred if in_function else top).add(target)
            visit(
                child,
                in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef),
            )

    visit(ast.parse(path.read_text()), False)
    return top, deferred - top


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read() -> None:
    # A sanity floor: the parser found the modules and the arrows everyone knows are there.
    assert len(MODULES) > 150
    assert "core.resolver" in GRAPH["core.stack"][0]
    assert "core.build_context" in GRAPH["core.scoring"][0]
    assert "core.stack" in GRAPH["jupyter.session"][0]
    assert "facade.sync.inference" in GRAPH["facade.sync._apis"][1]  # inside a property


def test_no_cycle_among_imports_run_at_import_time() -> None:
    cycle = _cycle({m: top for m, (top, _) in GRAPH.items()})
    assert cycle is None, " -> ".join(cycle or [])


def test_no_cycle_once_deferred_imports_count() -> None:
    cycle = _cycle({m: top | deferred for m, (top, deferred) in GRAPH.items()})
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_is_found() -> None:
    # The finder itself: a deferred back edge closes a loop, and one is reported.
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(edges) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "d": {"a", "b"}}) is None


def test_no_forbidden_arrow() -> None:
    wrong = [
        f"{m} -> {t}"
        for m, (top, deferred) in GRAPH.items()
        for t in top | deferred
        for source, target in FORBIDDEN
        if m.startswith(source) and (t == target.rstrip(".") or t.startswith(target))
    ]
    assert wrong == []


def test_no_module_is_over_500_lines() -> None:
    """Modules stay short: one past 500 lines is split (the generated faces too)."""
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert long == {}, long
