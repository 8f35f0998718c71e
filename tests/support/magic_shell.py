"""What the magic tests share: a real InteractiveShell on a run config, and a cell runner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output


@contextmanager
def configured_shell(config: dict[str, Any], folder: Path) -> Iterator[InteractiveShell]:
    """The extension loaded and `%llama config` pointed at `config` (written to folder)."""
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    ip = InteractiveShell.instance()
    ip.run_cell("%load_ext llama_workbench")
    assert ip.run_cell(f"%llama config {path}").success
    try:
        yield ip
    finally:
        ip.run_cell("%unload_ext llama_workbench")
        InteractiveShell.clear_instance()


def run(ip: InteractiveShell, code: str) -> tuple[Any, str]:
    """Run a cell: its result, and everything it showed (streams and plain-text displays)."""
    with capture_output() as out:
        result = ip.run_cell(code)
    shown = "".join(o.data.get("text/plain", "") for o in out.outputs)
    return result, out.stdout + out.stderr + shown
