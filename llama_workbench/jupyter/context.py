"""Notebook context in prompts: `{var}`, `{In[n]}`, `{Out[n]}`, `{Err[n]}` from the user namespace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# A name, optionally indexed: {df}, {In[3]}, {Out[-1]}. Other braces (JSON, code) stay as they are.
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\[(-?\d+)\])?\}")


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Fill `{name}` and `{name[i]}` from the namespace; unknown names are left untouched."""

    def fill(match: re.Match[str]) -> str:
        name, index = match.group(1), match.group(2)
        if name not in namespace:
            return match.group(0)
        value = namespace[name]
        if index is None:
            return str(value)
        try:
            return str(value[int(index)])
        except (KeyError, IndexError, TypeError):
            return match.group(0)

    return _FIELD.sub(fill, text)


def record_errors(shell: Any) -> None:
    """Keep each failed cell's error as `Err[n]` (as `Out[n]` keeps results), for prompts."""
    errors: dict[int, str] = shell.user_ns.setdefault("Err", {})

    def after(result: Any) -> None:
        error = result.error_in_exec or result.error_before_exec
        count = result.execution_count
        if error is not None and count is not None:
            errors[count] = f"{type(error).__name__}: {error}"

    shell.events.register("post_run_cell", after)
