"""Checkpoint folders: a loadable adapter (or model) with its tokenizer, metrics and resume state."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from llama_workbench.apis.post_training.models import Checkpoint

STATE_FILE = "training_state.pt"  # optimizer, scheduler, step, RNG: what resuming needs
TRAINER_STATE = "trainer_state.json"  # the same for a transformers Trainer checkpoint (DPO)
# Everything only resuming needs: dropped from all but the newest checkpoint, and at the end.
RESUME_FILES = (
    STATE_FILE,
    TRAINER_STATE,
    "optimizer.pt",
    "scheduler.pt",
    "rng_state.pth",
    "training_args.bin",
)
METRICS_FILE = "checkpoint.json"  # the Checkpoint record, so the folder describes itself
_PREFIX = "step-"


def save_checkpoint(
    model: Any,
    tokenizer: Any,
    output_dir: Path,
    checkpoint: Checkpoint,
    state: dict[str, Any] | None,
) -> None:
    """Write into a temporary folder, then rename: a folder named step-N is always complete."""
    target = Path(checkpoint.path)
    tmp = output_dir / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_files(model, tokenizer, tmp, state)
    mark_complete(tmp, checkpoint)
    if target.exists():  # the same step saved again after a resume
        shutil.rmtree(target)
    os.replace(tmp, target)


def write_files(model: Any, tokenizer: Any, folder: Path, state: dict[str, Any] | None) -> None:
    """The adapter (or model), its tokenizer and, when resuming will need it, the resume state."""
    import torch

    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    if state is not None:
        torch.save(state, folder / STATE_FILE)


def mark_complete(folder: Path, checkpoint: Checkpoint) -> None:
    """The Checkpoint record, written last: a folder without it is not a checkpoint (yet)."""
    (folder / METRICS_FILE).write_text(checkpoint.model_dump_json(indent=2))


def checkpoint_path(output_dir: Path, step: int) -> Path:
    return output_dir / f"{_PREFIX}{step}"


def scan_checkpoints(output_dir: Path) -> list[Checkpoint]:
    """The complete checkpoints on disk, oldest first (the disk is the truth after a crash)."""
    found = []
    for folder in output_dir.glob(f"{_PREFIX}*") if output_dir.is_dir() else []:
        record = folder / METRICS_FILE
        if folder.name[len(_PREFIX) :].isdigit() and record.is_file():
            found.append(Checkpoint.model_validate_json(record.read_text()))
    return sorted(found, key=lambda c: c.step)


def prune_checkpoints(output_dir: Path, keep: int) -> list[Checkpoint]:
    """Keep the newest `keep` checkpoints, and the resume state of the newest one only."""
    checkpoints = scan_checkpoints(output_dir)
    for old in checkpoints[:-keep]:
        shutil.rmtree(old.path, ignore_errors=True)
    kept = checkpoints[-keep:]
    for older in kept[:-1]:
        drop_resume_state(Path(older.path))
    return kept


def drop_resume_state(folder: Path) -> None:
    for name in RESUME_FILES:
        (folder / name).unlink(missing_ok=True)


def resumable(folder: Path) -> bool:
    return (folder / STATE_FILE).is_file() or (folder / TRAINER_STATE).is_file()


def resume_point(output_dir: Path) -> Checkpoint | None:
    """The newest checkpoint that holds a resume state."""
    for checkpoint in reversed(scan_checkpoints(output_dir)):
        if resumable(Path(checkpoint.path)):
            return checkpoint
    return None


def load_state(checkpoint: Checkpoint) -> dict[str, Any]:
    import torch

    state: dict[str, Any] = torch.load(Path(checkpoint.path) / STATE_FILE, weights_only=True)
    return state
