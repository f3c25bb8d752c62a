"""The layers hold: core needs no gradio, openai or httpx; only llmchat/web needs gradio; arrows
point down (web and cli → engine → core; i18n → core).

Each check imports every module of a layer in a fresh interpreter in which the forbidden packages
cannot be imported at all, so a stray import anywhere (even inside a function that runs at import
time) fails here, not in a user's terminal.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "llmchat"

IMPORT_ALL = """
import importlib, pkgutil, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not allowed here")
        return None

BLOCKED = set(sys.argv[1].split(","))
sys.meta_path.insert(0, Blocked())
import llmchat
failed = []
for module in pkgutil.walk_packages(llmchat.__path__, "llmchat."):
    if not module.name.startswith(tuple(sys.argv[2].split(","))):
        continue
    if module.name.endswith("__main__"):  # running it starts the command
        continue
    if module.name.startswith(tuple(filter(None, sys.argv[3].split(",")))):
        continue
    try:
        importlib.import_module(module.name)
    except ImportError as exc:
        failed.append(f"{module.name}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def import_all(blocked: str, within: str, skip: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, blocked, within, skip],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_core_imports_without_gradio_openai_or_httpx() -> None:
    result = import_all("gradio,openai,httpx,httpx2,gradio_client", "llmchat.core,llmchat.i18n")
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_outside_the_web_layer_imports_gradio() -> None:
    result = import_all("gradio", "llmchat.", skip="llmchat.web")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_blocked_import_is_caught() -> None:
    """The check itself works: the web layer cannot be imported without gradio."""
    result = import_all("gradio", "llmchat.web")
    assert result.returncode == 1 and "gradio is not allowed here" in result.stdout


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


# layer -> the llmchat packages it may import (besides itself)
MAY_IMPORT = {
    "core": set(),
    "i18n": {"core"},
    "engine": {"core"},
    "testing": set(),
}


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_arrows_point_down(layer: str) -> None:
    allowed = MAY_IMPORT[layer] | {layer, "ports"}
    wrong = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] == "llmchat" and len(parts) > 1 and parts[1] not in allowed:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)
