"""How the SFT loop runs: in this process, or as one rank of a data-parallel group (Ray Train).

The loop (sft.py) is the same either way; what differs is behind `Parallel`: which rows of a
micro-batch this process trains on, how the stop request and the loss are agreed across ranks,
and where a checkpoint goes."""

from __future__ import annotations

from typing import Any

from llama_workbench.apis.post_training.models import Checkpoint
from llama_workbench.providers.inline.post_training.huggingface.checkpoints import (
    prune_checkpoints,
    save_checkpoint,
)
from llama_workbench.providers.inline.post_training.huggingface.data import IGNORE, Example
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    TrainPlan,
)


def learned_tokens(example: Example) -> int:
    """Tokens the loss counts in `example`: labels after the shift of causal LM (position 0
    predicts nothing), not IGNORE."""
    return sum(1 for label in example.labels[1:] if label != IGNORE)


class Parallel:
    """The in-process job: one rank that trains on every row and writes its own checkpoints."""

    rank = 0
    world_size = 1

    @property
    def is_main(self) -> bool:
        """The rank that logs to MLflow, evaluates and saves checkpoints."""
        return self.rank == 0

    def wrap(self, model: Any) -> Any:
        """The model the loop calls (DDP around it on a group)."""
        return model

    def unwrap(self, model: Any) -> Any:
        """The plain (peft) model behind `wrap`'s result: what is evaluated and saved."""
        return model

    def share(self, examples: list[Example]) -> list[Example]:
        """This rank's rows of one micro-batch."""
        return examples

    def should_stop(self, control: JobControl) -> bool:
        """Whether the job stops before the next step (every rank must agree)."""
        return control.stop.is_set()

    def total(self, value: float) -> float:
        """The sum of `value` over the ranks (each rank's share of the step's loss)."""
        return value

    def save(
        self,
        model: Any,
        tokenizer: Any,
        plan: TrainPlan,
        checkpoint: Checkpoint,
        state: dict[str, Any] | None,
    ) -> list[Checkpoint]:
        """Write the checkpoint; returns the job's kept checkpoints, oldest first."""
        save_checkpoint(model, tokenizer, plan.output_dir, checkpoint, state)
        return prune_checkpoints(plan.output_dir, plan.keep_checkpoints)
