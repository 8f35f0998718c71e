"""Every provider's factory says what it builds: `async def create(config, deps) -> TheImpl`."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

PROVIDERS = Path(__file__).parents[3] / "llama_workbench" / "providers"


def test_every_create_names_the_class_it_returns() -> None:
    untyped = []
    found = 0
    for init in sorted(PROVIDERS.glob("*/*/*/__init__.py")):
        tree = ast.parse(init.read_text())
        for node in tree.body:
            if isinstance(node, ast.AsyncFunctionDef) and node.name == "create":
                found += 1
                returns = ast.unparse(node.returns) if node.returns else ""
                if returns in ("", "object", "Any"):
                    untyped.append(f"{init.relative_to(PROVIDERS.parent)}: -> {returns or '?'}")
    assert found >= 40 and untyped == []


def test_the_factories_still_import() -> None:
    # The return types are imported under TYPE_CHECKING only: the modules stay light.
    for init in sorted(PROVIDERS.glob("*/*/*/__init__.py")):
        module = ".".join(init.relative_to(PROVIDERS.parents[1]).with_suffix("").parts[:-1])
        assert callable(importlib.import_module(module).create), module
