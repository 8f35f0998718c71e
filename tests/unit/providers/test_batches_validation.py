"""inline::reference batches: the input file's line checks (Llama Stack 0.7's codes and params)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from llama_workbench.apis.batches.models import BatchError
from llama_workbench.providers.inline.batches.reference.validation import (
    BatchRequest,
    validate_input,
)

CHAT = "/v1/chat/completions"


def line(custom_id: str = "a", url: str = CHAT, **body: Any) -> dict[str, Any]:
    body = body or {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def validate(
    lines: list[Any], endpoint: str = CHAT, models: tuple[str, ...] = ("m",)
) -> tuple[list[BatchError], list[BatchRequest]]:
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    asked: list[str] = []

    async def exists(model: str) -> bool:
        asked.append(model)
        return model in models

    result = asyncio.run(validate_input(text.encode(), endpoint, exists))
    assert len(asked) == len(set(asked))  # each model is looked up once
    return result


def codes(errors: list[BatchError]) -> list[tuple[str | None, int | None, str | None]]:
    return [(e.code, e.line, e.param) for e in errors]


def test_valid_lines_become_requests_and_blank_lines_are_skipped() -> None:
    errors, requests = validate([line("a"), "", line("b")])
    assert errors == []
    assert [(r.custom_id, r.line) for r in requests] == [("a", 1), ("b", 3)]


def test_missing_and_mistyped_line_fields() -> None:
    no_id = {k: v for k, v in line().items() if k != "custom_id"}
    no_body = {k: v for k, v in line().items() if k != "body"}
    errors, requests = validate([no_id, no_body, {**line(), "url": 3}, {**line(), "body": []}])
    assert codes(errors) == [
        ("missing_required_parameter", 1, "custom_id"),
        ("missing_required_parameter", 2, "body"),
        ("invalid_request", 3, "url"),
        ("invalid_request", 4, "body"),
    ]
    assert errors[0].message == "Missing required parameter: custom_id"
    assert errors[2].message == "URL must be a string"
    assert errors[3].message == "Body must be a JSON dictionary object"
    assert requests == []


def test_bad_json_and_non_objects() -> None:
    errors, _ = validate([line(), "{not json", "[1, 2]"])
    assert codes(errors) == [("invalid_json_line", 2, None), ("invalid_request", 3, None)]
    assert errors[0].message == "This line is not parseable as valid JSON."


def test_url_mismatch_streaming_and_body_fields() -> None:
    errors, requests = validate(
        [
            line("a", url="/v1/embeddings"),
            line("b", model="m", messages=[], stream=True),
            line("c", messages=[{"role": "user", "content": "no model"}]),
            line("d", model="m", messages="not a list"),
        ]
    )
    assert codes(errors) == [
        ("invalid_url", 1, "url"),
        ("streaming_unsupported", 2, "body.stream"),
        ("invalid_request", 3, "body.model"),
        ("invalid_request", 4, "body.messages"),
    ]
    assert errors[2].message == "Model parameter is required"
    assert errors[3].message == "Messages must be an array"
    assert requests == []


def test_unknown_models_are_reported_per_line() -> None:
    errors, requests = validate([line("a"), line("b", model="nope", messages=[]), line("c")])
    assert codes(errors) == [("model_not_found", 2, "body.model")]
    assert "'nope' does not exist or is not supported" in str(errors[0].message)
    assert [r.custom_id for r in requests] == ["a", "c"]


def test_each_endpoint_checks_its_own_body_fields() -> None:
    emb = "/v1/embeddings"
    errors, _ = validate([line(url=emb, model="m", input=3)], endpoint=emb)
    assert codes(errors) == [("invalid_request", 1, "body.input")]
    comp = "/v1/completions"
    errors, _ = validate([line(url=comp, model="m")], endpoint=comp)
    assert codes(errors) == [("invalid_request", 1, "body.prompt")]
    resp = "/v1/responses"
    errors, requests = validate([line(url=resp, model="m", input="hi")], endpoint=resp)
    assert errors == [] and requests[0].body["input"] == "hi"


def test_a_file_that_is_not_text() -> None:
    async def exists(model: str) -> bool:
        return True

    errors, _ = asyncio.run(validate_input(b"\xff\xfe", CHAT, exists))
    assert codes(errors) == [("invalid_request", None, None)]
