"""The SFT loop on a data-parallel group equals the in-process loop: 2 torch ranks (DDP on gloo,
the rank logic Ray Train workers run) train a tiny Llama to the same losses and adapter."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.apis.post_training.models import LoraFinetuningConfig, TrainingConfig
from llama_workbench.providers.inline.post_training.huggingface.jobs import BaseModelRef
from llama_workbench.providers.inline.post_training.huggingface.parallel import Parallel
from llama_workbench.providers.inline.post_training.huggingface.ray_train import RayParallel
from llama_workbench.providers.inline.post_training.huggingface.training import (
    JobControl,
    TrainPlan,
)

pytest.importorskip("peft")

TEMPLATE = (
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
# 5 rows in batches of 4: the second micro-batch of each epoch has 1 row, so one rank has none.
ROWS = [
    {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    for q, a in [
        ("capital?", "Quillhaven."),
        ("money?", "The brindle."),
        ("founder?", "Captain Orsa Lune."),
        ("river?", "The Sallow."),
        ("sport?", "Kite racing, all summer long."),
    ]
]


def tiny_model(folder: Path) -> Path:
    """A 2-layer Llama with a byte-level tokenizer and a chat template (no download)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", pad_token="<eos>")
    tokenizer.chat_template = TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
    )
    LlamaForCausalLM(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def plan(model: Path, output_dir: Path) -> TrainPlan:
    training = TrainingConfig.model_validate(
        {
            "n_epochs": 2,
            "max_seq_len": 64,
            "save_every_steps": 2,
            "data_config": {"dataset_id": "rows", "batch_size": 4},
            "optimizer_config": {"lr": 1e-2},
        }
    )
    return TrainPlan(
        job_uuid="tiny",
        algorithm=LoraFinetuningConfig(rank=4, alpha=8, dropout=0.0),
        training=training,
        base=BaseModelRef(model_id="tiny", provider_id="t", path=str(model), cache_dir=str(model)),
        output_dir=output_dir,
        rows=ROWS,
        validation_rows=None,
        lr=1e-2,
        num_threads=1,
        keep_checkpoints=3,
        mlflow=None,
        params={},
    )


class Recorder(JobControl):
    """A JobControl that keeps every step's loss."""

    def __init__(self) -> None:
        super().__init__([], None)
        self.losses: list[float] = []

    def step_done(
        self, step: int, total: int, epoch: int, loss: float, lr: float, seconds: float
    ) -> None:
        self.losses.append(loss)
        super().step_done(step, total, epoch, loss, lr, seconds)


class LocalGroup(RayParallel):
    """RayParallel's rank logic; checkpoints written by the main rank, as in-process (the Ray
    report itself is covered by the cluster test)."""

    def save(self, model: Any, tokenizer: Any, plan: TrainPlan, checkpoint: Any, state: Any) -> Any:
        return (
            Parallel.save(self, model, tokenizer, plan, checkpoint, state) if self.is_main else []
        )


def rank_main(rank: int, port: int, model: str, out: str) -> None:
    import torch.distributed as dist

    from llama_workbench.providers.inline.post_training.huggingface.sft import SftTrainer

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        control = Recorder()
        result = SftTrainer(plan(Path(model), Path(out)), control, LocalGroup(rank, 2)).run()
        if rank == 0:
            assert result.final is not None
            (Path(out) / "losses.json").write_text(json.dumps(control.losses))
    finally:
        dist.destroy_process_group()


def adapter(folder: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_two_ranks_train_as_the_in_process_loop(tmp_path: Path) -> None:
    import torch
    import torch.multiprocessing as mp

    from llama_workbench.providers.inline.post_training.huggingface.sft import SftTrainer

    model = tiny_model(tmp_path / "model")
    control = Recorder()
    alone = SftTrainer(plan(model, tmp_path / "alone"), control).run()
    assert alone.outcome == "completed" and alone.final is not None and alone.final.step == 4

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(rank_main, args=(port, str(model), str(tmp_path / "group")), nprocs=2, join=True)

    losses = json.loads((tmp_path / "group" / "losses.json").read_text())
    assert losses == pytest.approx(control.losses, rel=1e-5)
    assert len(losses) == 4 and losses[-1] < losses[0]
    ours, theirs = adapter(Path(alone.final.path)), adapter(tmp_path / "group" / "step-4")
    assert ours.keys() == theirs.keys()
    for name, tensor in ours.items():
        torch.testing.assert_close(theirs[name], tensor, rtol=1e-4, atol=1e-6)
