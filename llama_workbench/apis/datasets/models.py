"""Types of the Datasets API (Llama Stack 0.7.3), the columns each purpose needs, and row helpers."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticSerializationError, to_jsonable_python

from llama_workbench.apis.base import ApiModel
from llama_workbench.core.errors import BadRequestError

Row = dict[str, Any]
CHECKED_ROWS = 20  # how many leading rows registration inspects for a purpose's shape


class DatasetPurpose(StrEnum):
    """What a dataset is for; each purpose needs certain columns (EVAL_COLUMNS)."""

    eval_question_answer = "eval/question-answer"
    eval_messages_answer = "eval/messages-answer"
    post_training_messages = "post-training/messages"  # ours, beyond Llama Stack 0.7.3


# The columns of each purpose: role -> the accepted spellings (the first is Llama Stack's
# benchmark spelling, the second its dataset spelling). A row needs one spelling per role.
EVAL_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    DatasetPurpose.eval_question_answer.value: {
        "question": ("input_query", "question"),
        "answer": ("expected_answer", "answer"),
    },
    DatasetPurpose.eval_messages_answer.value: {
        "messages": ("messages", "chat_completion_input"),
        "answer": ("expected_answer", "answer"),
    },
    DatasetPurpose.post_training_messages.value: {
        "messages": ("messages",),
    },
}


class URIDataSource(ApiModel):
    """Rows behind a URI: a local path or file://, data:, http(s)://, hf:// or huggingface://."""

    type: Literal["uri"] = "uri"
    uri: str = Field(
        min_length=1,
        pattern=r"^[^\x00]*$",
        description="Where the rows are, e.g. file:///data/qa.jsonl.",
    )


class RowsDataSource(ApiModel):
    """Rows given inline: a list of dicts, or (from Python) a pandas DataFrame."""

    type: Literal["rows"] = "rows"
    rows: list[Row] = Field(description="The rows, e.g. [{'question': ..., 'answer': ...}].")

    @field_validator("rows", mode="before")
    @classmethod
    def _tabular(cls, value: Any) -> Any:
        return rows_from(value)


DataSource = Annotated[URIDataSource | RowsDataSource, Field(discriminator="type")]


class Dataset(ApiModel):
    """A registered dataset: its id, the provider that serves it, its purpose and its source."""

    identifier: str
    provider_resource_id: str | None = None
    provider_id: str
    type: Literal["dataset"] = "dataset"
    purpose: DatasetPurpose
    source: DataSource
    metadata: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = Field(None, description="Principal that registered it (server auth).")


class RegisterDatasetRequest(ApiModel):
    """Register a dataset; without `dataset_id` one is generated, without `provider_id` one is picked."""

    model_config = ConfigDict(extra="forbid")

    purpose: DatasetPurpose
    source: DataSource
    metadata: dict[str, Any] | None = None
    dataset_id: str | None = Field(None, min_length=1)
    provider_id: str | None = Field(None, description="Ours: the datasetio provider to use.")

    @field_validator("source", mode="before")
    @classmethod
    def _tagged(cls, value: Any) -> Any:
        # {"rows": df} and {"uri": "..."} say which source they are without the "type" tag.
        if isinstance(value, Mapping) and "type" not in value:
            for tag in ("uri", "rows"):
                if tag in value:
                    return {"type": tag, **value}
        return value


class ListDatasetsResponse(ApiModel):
    data: list[Dataset]


# ----------------------------------------------------------------------------- rows


def rows_from(data: Any) -> list[Row]:
    """Rows as JSON-ready dicts from a list of dicts, a pandas DataFrame, an Arrow table or a
    `datasets.Dataset`: NaN/NA become None, numpy values plain Python, dates ISO strings."""
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and hasattr(data, "to_dict"):
        records = data.to_dict("records")
    elif module == "pyarrow" and hasattr(data, "to_pylist"):
        records = data.to_pylist()
    elif module == "datasets" and hasattr(data, "to_list"):
        records = data.to_list()
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes | Mapping):
        records = list(data)
    else:
        raise BadRequestError(
            f"Rows must be a list of dicts or a pandas DataFrame, got {type(data).__name__}."
        )
    rows = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise BadRequestError(f"Row {i} must be a dict of column values, got {record!r:.80}.")
        rows.append({str(k): _plain(v, i, str(k)) for k, v in record.items()})
    return rows


def _plain(value: Any, row: int, column: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, row, column) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, row, column) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist) and type(value).__module__.split(".")[0] == "numpy":
        return _plain(tolist(), row, column)
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError:
        raise BadRequestError(
            f"Row {row}, column '{column}': a {type(value).__name__} can't be stored in a dataset "
            "(use strings, numbers, booleans, lists and dicts)."
        ) from None


def column_problems(purpose: str, rows: list[Row]) -> list[str]:
    """What keeps `rows` from fitting `purpose`: missing columns, malformed messages (first rows)."""
    roles = EVAL_COLUMNS.get(str(purpose), {})
    columns = {k for row in rows[:CHECKED_ROWS] for k in row}
    problems = [
        f"no {role} column ({_spellings(names)})"
        for role, names in roles.items()
        if not columns.intersection(names)
    ]
    if problems or "messages" not in roles:
        return problems
    for i, row in enumerate(rows[:CHECKED_ROWS]):
        name = next(n for n in roles["messages"] if n in row)
        if _messages(row[name]) is None:
            problems.append(
                f"row {i}: '{name}' must be a list of messages like "
                f'[{{"role": "user", "content": "..."}}], got {row[name]!r:.60}'
            )
            break
    return problems


def check_purpose(
    dataset_id: str, purpose: str, rows: list[Row], *, appended: bool = False
) -> None:
    """BadRequestError naming what is missing when `rows` do not fit `purpose`.

    No rows fit every purpose (rows appended later are checked when they come).
    """
    problems = column_problems(purpose, rows) if rows else []
    if problems:
        needs = " and ".join(
            f"{'an' if role[0] in 'aeiou' else 'a'} {role} column ({_spellings(names)})"
            for role, names in EVAL_COLUMNS[str(purpose)].items()
        )
        have = ", ".join(sorted({k for row in rows[:CHECKED_ROWS] for k in row})) or "none"
        what, their = (
            (f"Rows appended to dataset '{dataset_id}' do", "the rows' columns are")
            if appended
            else (f"Dataset '{dataset_id}' does", "the dataset's columns are")
        )
        raise BadRequestError(
            f"{what} not fit purpose '{purpose}': {'; '.join(problems)}. "
            f"That purpose needs {needs}; {their}: {have}."
        )


def normalize_eval_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an eval row with `input_query` and `expected_answer`, whichever spelling it used,
    and `chat_completion_input` (a list of messages; a JSON string is parsed) when it has messages.

    A row with messages but no question gets the last user message's text as `input_query`.
    """
    out = dict(row)
    question = _first(row, EVAL_COLUMNS["eval/question-answer"]["question"])
    answer = _first(row, EVAL_COLUMNS["eval/question-answer"]["answer"])
    raw = _first(row, EVAL_COLUMNS["eval/messages-answer"]["messages"])
    if raw is not None:
        messages = _messages(raw)
        if messages is None:
            raise BadRequestError(
                f"The row's messages must be a list of role/content messages, got {raw!r:.60}."
            )
        out["chat_completion_input"] = messages
        if question is None:
            question = _last_user_text(messages)
    if question is None or answer is None:
        missing = [
            what
            for what, value in (
                ("a question ('input_query' or 'question') or messages", question),
                ("an answer ('expected_answer' or 'answer')", answer),
            )
            if value is None
        ]
        raise BadRequestError(
            f"An eval row needs {' and '.join(missing)}; this row has: {', '.join(sorted(row))}."
        )
    out["input_query"] = question
    out["expected_answer"] = answer
    return out


def _first(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def _messages(value: Any) -> list[dict[str, Any]] | None:
    """`value` as a list of {role, content} dicts (a JSON string is parsed), else None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, list) or not value:
        return None
    for message in value:
        if not (
            isinstance(message, Mapping)
            and isinstance(message.get("role"), str)
            and "content" in message
        ):
            return None
    return [dict(m) for m in value]


def _last_user_text(messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, list):
                return " ".join(
                    str(part.get("text", "")) for part in content if isinstance(part, Mapping)
                )
            return None if content is None else str(content)
    return None


def _spellings(names: tuple[str, ...]) -> str:
    return " or ".join(f"'{n}'" for n in names)
