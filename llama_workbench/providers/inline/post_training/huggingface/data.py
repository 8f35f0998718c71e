"""Training rows -> token ids with labels on the assistant's tokens only, and seeded batches."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llama_workbench.core.errors import BadRequestError

IGNORE = -100  # the label of a token the loss skips
_QUESTION = ("input_query", "question")
_ANSWER = ("expected_answer", "answer")
_MESSAGES = ("messages", "chat_completion_input")


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def row_messages(row: Mapping[str, Any], data_format: str, where: str) -> list[dict[str, str]]:
    """A row as chat messages: dialog rows have `messages`; instruct rows a question and answer
    (or messages and an answer, which becomes the last assistant turn)."""
    raw = _first(row, _MESSAGES)
    answer = _first(row, _ANSWER)
    if data_format == "dialog":
        if raw is None:
            raise BadRequestError(
                f"{where}: data_format 'dialog' needs a 'messages' column "
                f"(the row has {', '.join(sorted(row))}); instruct rows need data_format 'instruct'."
            )
        return messages_of(raw, where)
    question = _first(row, _QUESTION)
    if answer is None or (question is None and raw is None):
        raise BadRequestError(
            f"{where}: data_format 'instruct' needs 'input_query' and 'expected_answer' (or "
            f"'question' and 'answer'); the row has {', '.join(sorted(row))}."
        )
    prompt = messages_of(raw, where) if raw is not None else [_msg("user", question)]
    return [*prompt, _msg("assistant", answer)]


def messages_of(raw: Any, where: str) -> list[dict[str, str]]:
    """Messages as {role, content} with text content (a JSON string or content parts are read)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, list) or not raw:
        raise BadRequestError(f"{where}: messages must be a non-empty list of role/content dicts.")
    out = []
    for message in raw:
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise BadRequestError(
                f"{where}: a message needs a role and content, got {message!r:.80}"
            )
        out.append(_msg(message["role"], _text(message.get("content"))))
    return out


def sft_examples(
    rows: list[dict[str, Any]],
    tokenizer: Any,
    data_format: str,
    max_seq_len: int,
    train_on_input: bool,
    dataset_id: str,
) -> list[Example]:
    """Tokenized rows, cut to `max_seq_len`; rows left with nothing to learn are dropped."""
    examples = []
    for index, row in enumerate(rows):
        where = f"dataset '{dataset_id}' row {index}"
        ids, labels = dialog_tokens(tokenizer, row_messages(row, data_format, where), where)
        ids, labels = ids[:max_seq_len], labels[:max_seq_len]
        if not train_on_input and all(label == IGNORE for label in labels):
            continue
        examples.append(Example(ids, ids if train_on_input else labels))
    if not examples:
        raise BadRequestError(
            f"Dataset '{dataset_id}' has no row with an assistant answer within max_seq_len "
            f"{max_seq_len} tokens."
        )
    return examples


def dialog_tokens(
    tokenizer: Any, messages: list[dict[str, str]], where: str
) -> tuple[list[int], list[int]]:
    """The chat template's tokens; labels are the ids of assistant turns, IGNORE elsewhere.

    The conversation is rendered turn by turn: each assistant turn is what its rendering adds
    to the prompt before it (with the generation prompt), so the template decides the bounds.
    """
    if not any(m["role"] == "assistant" for m in messages):
        raise BadRequestError(f"{where}: the conversation has no assistant message to learn.")
    ids: list[int] = []
    labels: list[int] = []
    done = ""
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        if i == 0:
            raise BadRequestError(f"{where}: a conversation starts with a user or system message.")
        prompt = _render(tokenizer, messages[:i], generation_prompt=True)
        full = _render(tokenizer, messages[: i + 1], generation_prompt=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise BadRequestError(
                f"{where}: the model's chat template does not render turn by turn; "
                "train on single-turn rows."
            )
        for text, learn in ((prompt[len(done) :], False), (full[len(prompt) :], True)):
            tokens = tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
            ids.extend(tokens)
            labels.extend(tokens if learn else [IGNORE] * len(tokens))
        done = full
    return ids, labels


def epoch_batches(
    count: int, batch_size: int, shuffle: bool, seed: int, epoch: int
) -> list[list[int]]:
    """Row indices of each micro-batch of `epoch`: the same for the same seed (resume relies on it)."""
    order = list(range(count))
    if shuffle:
        random.Random(seed * 100_003 + epoch).shuffle(order)
    return [order[i : i + batch_size] for i in range(0, count, batch_size)]


def steps_per_epoch(count: int, batch_size: int, accumulation: int, cap: int | None) -> int:
    steps = math.ceil(math.ceil(count / batch_size) / accumulation)
    return min(steps, cap) if cap else steps


def collate(examples: list[Example], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors: input_ids, attention_mask, and labels IGNORE on the padding."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids, mask, labels = [], [], []
    for e in examples:
        pad = width - len(e.input_ids)
        ids.append(e.input_ids + [pad_id] * pad)
        mask.append([1] * len(e.input_ids) + [0] * pad)
        labels.append(e.labels + [IGNORE] * pad)
    return {
        "input_ids": torch.tensor(ids),
        "attention_mask": torch.tensor(mask),
        "labels": torch.tensor(labels),
    }


def dpo_rows(rows: list[dict[str, Any]], dataset_id: str) -> list[dict[str, Any]]:
    """Preference rows in trl's conversational shape: prompt (messages), chosen and rejected."""
    out = []
    for index, row in enumerate(rows):
        where = f"dataset '{dataset_id}' row {index}"
        prompt = row.get("prompt", row.get("messages"))
        if prompt is None or row.get("chosen") is None or row.get("rejected") is None:
            raise BadRequestError(
                f"{where}: preference rows need 'prompt' (or 'messages'), 'chosen' and "
                f"'rejected'; the row has {', '.join(sorted(row))}."
            )
        messages = [_msg("user", prompt)] if isinstance(prompt, str) else messages_of(prompt, where)
        out.append(
            {
                "prompt": messages,
                "chosen": _answer(row["chosen"], where),
                "rejected": _answer(row["rejected"], where),
            }
        )
    return out


def _answer(value: Any, where: str) -> list[dict[str, str]]:
    if isinstance(value, str):
        return [_msg("assistant", value)]
    return messages_of(value, where)


def _render(tokenizer: Any, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
    return str(
        tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation_prompt
        )
    )


def _first(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    return next((row[n] for n in names if row.get(n) is not None), None)


def _msg(role: str, content: Any) -> dict[str, str]:
    return {"role": role, "content": _text(content)}


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)
