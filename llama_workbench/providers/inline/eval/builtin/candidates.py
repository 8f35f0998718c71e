"""How a candidate answers one row: a model through chat completions, an agent through Responses."""

from __future__ import annotations

import json
from typing import Any

from llama_workbench.apis.eval.models import (
    AgentCandidate,
    ModelCandidate,
    SamplingParams,
    TopKSamplingStrategy,
    TopPSamplingStrategy,
)
from llama_workbench.core.errors import BadRequestError


def eval_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row with Llama Stack's column names (input_query, expected_answer, ...)."""
    from llama_workbench.apis.datasets.models import normalize_eval_row

    return normalize_eval_row(row)


def sampling(params: SamplingParams) -> dict[str, Any]:
    """Chat-completion sampling fields for the params (greedy is temperature 0)."""
    out: dict[str, Any] = {"temperature": 0.0}
    strategy = params.strategy
    if isinstance(strategy, TopPSamplingStrategy):
        out = {"temperature": strategy.temperature, "top_p": strategy.top_p}
    elif isinstance(strategy, TopKSamplingStrategy):
        out = {"temperature": 1.0, "top_k": strategy.top_k}
    if params.max_tokens:
        out["max_tokens"] = params.max_tokens
    if params.stop:
        out["stop"] = params.stop
    return out


def messages_for(row: dict[str, Any], system: str | None) -> list[dict[str, Any]]:
    given = row.get("chat_completion_input")
    if isinstance(given, str):
        try:
            given = json.loads(given)
        except json.JSONDecodeError as exc:
            raise BadRequestError(f"chat_completion_input is not JSON: {exc.msg}") from None
    if given:
        if not isinstance(given, list):
            raise BadRequestError("chat_completion_input must be a list of messages.")
        messages = list(given)
    elif row.get("input_query") is not None:
        messages = [{"role": "user", "content": str(row["input_query"])}]
    else:
        raise BadRequestError(
            "A row needs input_query (or question) or chat_completion_input (or messages)."
        )
    if system:
        messages = [{"role": "system", "content": system}, *messages]
    return messages


async def generate(
    candidate: ModelCandidate | AgentCandidate, row: dict[str, Any], apis: Any
) -> dict[str, Any]:
    """The candidate's answer to one row: {"generated_answer": ...} (+ the agent's response id)."""
    if isinstance(candidate, ModelCandidate):
        return await _model_answer(candidate, row, apis.inference)
    return await _agent_answer(candidate, row, apis.responses)


async def _model_answer(
    candidate: ModelCandidate, row: dict[str, Any], inference: Any
) -> dict[str, Any]:
    from llama_workbench.apis.inference.models import ChatCompletionRequest

    system = candidate.system_message.content if candidate.system_message else None
    request = ChatCompletionRequest.model_validate(
        {
            "model": candidate.model,
            "messages": messages_for(row, system),
            "store": False,
            **sampling(candidate.sampling_params),
        }
    )
    completion = await inference.chat_completion(request)
    return {"generated_answer": completion.choices[0].message.content or ""}


async def _agent_answer(
    candidate: AgentCandidate, row: dict[str, Any], responses: Any
) -> dict[str, Any]:
    from llama_workbench.apis.responses.models import CreateResponseRequest

    if responses is None:
        raise BadRequestError("An agent candidate needs the responses API in the run config.")
    config = candidate.config
    messages = messages_for(row, None)
    fields = sampling(config.sampling_params)
    request = CreateResponseRequest.model_validate(
        {
            "model": config.model,
            "input": [{"type": "message", **m} for m in messages],
            "instructions": config.instructions,
            "tools": config.tools or None,
            "guardrails": config.shields or None,
            "max_infer_iters": config.max_infer_iters,
            "temperature": fields.get("temperature"),
            "top_p": fields.get("top_p"),
            "max_output_tokens": max(16, fields["max_tokens"]) if "max_tokens" in fields else None,
            "store": False,
        }
    )
    response = await responses.create_response(request)
    return {"generated_answer": response.output_text, "response_status": response.status}


async def answer_row(stack: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """A Ray worker's half of an eval job: one row answered through the worker's own stack."""
    from types import SimpleNamespace

    candidate = ModelCandidate.model_validate(payload["candidate"])
    apis = SimpleNamespace(inference=stack.impl("inference"))
    return await generate(candidate, payload["row"], apis)
