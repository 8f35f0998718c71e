"""Bundled distributions: run configs shipped as package data, listed and loaded by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llama_workbench.core.errors import NotFoundError

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class DistributionInfo:
    name: str
    description: str
    path: Path


def list_distributions() -> list[DistributionInfo]:
    """Every bundled distribution, with the description from its leading comment."""
    return [
        DistributionInfo(name=p.stem, description=_description(p), path=p)
        for p in sorted(_HERE.glob("*.yaml"))
    ]


def distribution_path(name: str) -> Path:
    """The run config file of a bundled distribution."""
    path = _HERE / f"{name}.yaml"
    if not name.replace("-", "").replace("_", "").isalnum() or not path.is_file():
        raise NotFoundError(
            "Distribution",
            name,
            [d.name for d in list_distributions()],
            hint="Pass a path to a run config for anything else.",
        )
    return path


def _description(path: Path) -> str:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").rstrip())
    return " ".join(lines)


__all__ = ["DistributionInfo", "distribution_path", "list_distributions"]
