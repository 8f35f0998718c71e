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
    """Add the /llama-workbench/ handlers to a running Jupyter server, and share the panel's run
    config (when it exists) with the kernels the server starts."""
    from pathlib import Path

    from llama_workbench.core.errors import LlamaWorkbenchError
    from llama_workbench.lab.handlers import setup_handlers
    from llama_workbench.lab.kernels import (
        CONFIG_SECTION,
        SETTING,
        SHARE_OPTION,
        share_with_kernels,
    )
    from llama_workbench.lab.store import resolve_config_path

    share = bool(server_app.config.get(CONFIG_SECTION, {}).get(SHARE_OPTION, True))
    server_app.web_app.settings[SETTING] = share
    setup_handlers(server_app.web_app)
    server_app.log.info("llama_workbench: /llama-workbench/ handlers registered")
    try:
        default = resolve_config_path(None, Path(server_app.root_dir).expanduser())
    except LlamaWorkbenchError as exc:  # e.g. LLAMA_WORKBENCH_CONFIG names no YAML file
        server_app.log.warning("llama_workbench: %s", exc)
        return
    if share_with_kernels(default.path, share):
        server_app.log.info("llama_workbench: kernels use the run config %s", default.path)
