"""A stack over the scripted model server (chat model "s/m", 8-d embeddings "s/e") with every API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.full_stack import full_stack_config
from tests.support.scripted_llm import ScriptedModelServer

CHAT = "s/m"
EMBEDDING = "s/e"

# Llama Stack 0.7.3's contextual chunking document, twice (several chunks of 100 words).
_SECTIONS = """# Technical Overview of Machine Learning Systems

## Introduction to Neural Networks

Neural networks are computational models inspired by biological neural networks.
They consist of interconnected nodes called neurons organized in layers.
Each connection has a weight that is adjusted during training.

## Gradient Descent Optimization

The backpropagation algorithm computes gradients for each layer.
These gradients are used to update weights using gradient descent.
The learning rate controls the step size during optimization.

## Data Preprocessing

Raw data must be normalized before training.
Feature scaling ensures all inputs have similar ranges.
Data augmentation can increase the effective training set size.
"""
ML_OVERVIEW = _SECTIONS + "\n" + _SECTIONS.replace("# Technical", "# More on")


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
