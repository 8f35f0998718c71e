"""Notebooks as pipelines: run them headless with papermill; a failing cell fails the run."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_workbench.core.errors import BadRequestError, LlamaWorkbenchError, MissingDependencyError


class NotebookFailed(LlamaWorkbenchError):
    """A cell of a pipeline notebook raised: which notebook, which cell, what error."""

    status_code = 500
    error_type = "notebook_failed"


@dataclass
class NotebookRun:
    notebook: Path
    output: Path
    seconds: float


def parameter(text: str) -> Any:
    """A `-p key value` value as YAML reads it (numbers, booleans, lists), else the string."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def run_notebooks(
    notebooks: Sequence[str | Path],
    parameters: Mapping[str, Any] | None = None,
    output_dir: str | Path = "executed",
    kernel_name: str | None = None,
) -> list[NotebookRun]:
    """Execute each notebook in its own folder with `parameters`; stop at the first failure."""
    try:
        import papermill
    except ImportError as exc:
        raise MissingDependencyError("papermill", "notebook") from exc
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    sockets = tempfile.TemporaryDirectory(prefix="llama-workbench-kernel-")
    for item in notebooks:
        path = Path(item)
        if not path.is_file():
            raise BadRequestError(f"No notebook at {path}.")
        target = out / path.name
        started = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(path),
                str(target),
                parameters=dict(parameters or {}),
                cwd=str(path.parent.resolve()),
                kernel_name=kernel_name,
                progress_bar=False,
                kernel_manager_class=_local_kernel_manager(Path(sockets.name)),
            )
        except papermill.PapermillExecutionError as exc:
            sockets.cleanup()
            raise NotebookFailed(_failure(path, target, exc)) from None
        runs.append(NotebookRun(path, target, time.perf_counter() - started))
    sockets.cleanup()
    return runs


def _local_kernel_manager(folder: Path) -> type:
    """Kernels that talk over Unix sockets in `folder` (private to this run) instead of plain-text
    TCP ports on the machine (which ipykernel warns about on every start)."""
    from jupyter_client.manager import AsyncKernelManager

    class LocalKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(folder / "kernel"))
            super().__init__(**kwargs)

    return LocalKernelManager


def _failure(path: Path, target: Path, exc: Any) -> str:
    source = "\n".join(f"    {line}" for line in str(exc.source or "").splitlines()[:8])
    return (
        f"{path} failed at cell {exc.cell_index + 1} (execution {exc.exec_count}): "
        f"{exc.ename}: {exc.evalue}\n{source}\nThe executed notebook, with the error: {target}"
    )
