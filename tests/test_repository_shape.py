"""The repository's shape: modules of at most 500 lines, no import cycles, test support apart.

``llmchat.testing`` ships with the app for tests, benchmarks, ``deploy/`` and users: it may
import starlette, uvicorn, httpx and the standard library (and ``llmchat.ports``), never gradio,
and no module of the app may import it. Read from the source (``ast``), so nothing is run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500
TESTING_MAY_IMPORT = {"starlette", "uvicorn", "httpx", "llmchat.ports", "llmchat.testing"}


def python_files() -> list[Path]:
    """Every .py file git tracks or would track (new files included, ignored ones not)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).exists()]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module name ``path`` imports, at any depth of its code (``from a import b`` gives
    ``a`` and ``a.b``; relative imports are resolved)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*kept, base] if base else kept)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of this repository it imports."""
    files = {module_name(path): path for path in python_files()}

    def ours(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    return {
        module: {target for name in imported(path) if (target := ours(name)) not in (None, module)}
        for module, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or round a loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            if group:
                found.append(sorted([module, *group]))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_no_python_module_is_over_500_lines() -> None:
    sizes = {
        path.relative_to(ROOT): len(path.read_text(encoding="utf-8").splitlines()) for path in python_files()
    }
    assert sizes, "no Python files found"
    assert {str(p): n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert "benchmarks.stream_bench.cli" in graph and "llmchat.testing.openai_server" in graph
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_test_support_imports_no_gradio_and_the_app_does_not_import_it() -> None:
    allowed = set(sys.stdlib_module_names) | TESTING_MAY_IMPORT
    for path in sorted((ROOT / "llmchat" / "testing").glob("*.py")):
        for name in imported(path):
            assert any(name == ok or name.startswith(ok + ".") for ok in allowed), (path.name, name)
    for path in python_files():
        module = module_name(path)
        if module.startswith("llmchat.") and not module.startswith("llmchat.testing"):
            assert not any(n.startswith("llmchat.testing") for n in imported(path)), module
