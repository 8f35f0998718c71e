"""The JupyterLab side: the prebuilt "Llama Stack" panel and its jupyter_server handlers."""

from __future__ import annotations

from typing import Any

LABEXTENSION_NAME = "llama-workbench-lab"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where `jupyter labextension develop` finds the built frontend (relative to this module)."""
    return [{"src": "../labextension", "dest": LABEXTENSION_NAME}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "llama_workbench.lab"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Add the /llama-workbench/ handlers to a running Jupyter server."""
    from llama_workbench.lab.handlers import setup_handlers

    setup_handlers(server_app.web_app)
    server_app.log.info("llama_workbench: /llama-workbench/ handlers registered")
