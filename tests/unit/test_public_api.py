"""The public surface: `__all__` is the API, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import llama_workbench


def test_all_lists_existing_sorted_names() -> None:
    names = llama_workbench.__all__
    assert names == sorted(names) and len(names) == len(set(names))
    for name in names:
        assert hasattr(llama_workbench, name), name
    public = {
        n
        for n in vars(llama_workbench)
        if not n.startswith("_") and n not in (*names, "annotations")
    }
    # Whatever else is reachable at the top level is a subpackage, not API.
    assert all(type(getattr(llama_workbench, n)).__name__ == "module" for n in public), public


# Each is imported on first use of the provider that needs it, never when the stack is built:
# together they cost seconds (autoevals -> jsonschema alone built a grammar for 1.2 s).
HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "ctranslate2",
    "autoevals",
    "jsonschema",
    "mlflow",
    "datasets",
    "pandas",
    "semgrep",
    "faiss",
    "peft",
    "opentelemetry.sdk",
    "fastapi",
    "sqlalchemy",
    # Lighter, but each a share of start-up that only its provider's first use needs.
    "numpy",
    "phonenumbers",
    "regex",
    "markdown_it",
)


# Built on first use by a stack built from sync code (core/resolver.py: DEFERRABLE): neither
# their routers nor their providers are imported when the starter stack builds.
FIRST_USE = (
    "llama_workbench.apis.responses.api",
    "llama_workbench.providers.inline.responses.builtin.impl",
    "llama_workbench.providers.inline.scoring.basic.impl",
    "llama_workbench.providers.inline.eval.builtin.impl",
    "llama_workbench.providers.inline.batches.reference.impl",
    "llama_workbench.providers.inline.post_training.huggingface.impl",
    "llama_workbench.core.eval",
    "llama_workbench.core.scoring",
)


def test_import_and_starter_stack_do_not_load_heavy_packages(tmp_path) -> None:
    code = (
        "import sys, llama_workbench\n"
        "s = llama_workbench.Stack.from_distribution('starter')\n"
        "ids = [m.identifier for m in s.models.list()]\n"
        f"heavy = [m for m in {HEAVY + FIRST_USE!r} if m in sys.modules]\n"
        "print(heavy, ids)\n"
    )
    env = {"LLAMA_WORKBENCH_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # prints nothing, warns nothing
    assert out.stdout.strip() == (
        "[] ['sentence-transformers/all-MiniLM-L6-v2', 'transformers/HuggingFaceTB/SmolLM2-135M-Instruct']"
    )
