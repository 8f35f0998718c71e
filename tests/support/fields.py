"""A stack over the scripted model server (chat model "s/m", 8-d embeddings "s/e") with every API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.full_stack import full_stack_config
from tests.support.scripted_llm import ScriptedModelServer

CHAT = "s/m"
EMBEDDING = "s/e"


def scripted_model() -> ScriptedModelServer:
    """The model server (not started): chat model "m", hashed 8-d embeddings "e"."""
    return ScriptedModelServer(models=["m"], embedding_models=["e"])


def scripted_stack_config(model: ScriptedModelServer, data_dir: Path, **top: Any) -> dict[str, Any]:
    """full_stack_config over `model`, plus any top-level sections (e.g. vector_stores)."""
    config = full_stack_config(model.base_url, data_dir)
    config["providers"]["inference"][0]["config"]["embedding_models"] = {"e": 8}
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config
