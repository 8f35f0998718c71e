"""Types of the ScoringFunctions API: scoring functions, their params and their return types."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from llama_workbench.apis.base import ApiModel

# ----------------------------------------------------------------------------- return types


class StringType(ApiModel):
    type: Literal["string"] = "string"


class NumberType(ApiModel):
    type: Literal["number"] = "number"


class BooleanType(ApiModel):
    type: Literal["boolean"] = "boolean"


class ArrayType(ApiModel):
    type: Literal["array"] = "array"


class ObjectType(ApiModel):
    type: Literal["object"] = "object"


class JsonType(ApiModel):
    type: Literal["json"] = "json"


class UnionType(ApiModel):
    type: Literal["union"] = "union"


class ChatCompletionInputType(ApiModel):
    type: Literal["chat_completion_input"] = "chat_completion_input"


class CompletionInputType(ApiModel):
    type: Literal["completion_input"] = "completion_input"


def _type_by_name(value: Any) -> Any:
    # Notebook shorthand: return_type="number" is {"type": "number"}.
    return {"type": value} if isinstance(value, str) else value


ParamType = Annotated[
    StringType
    | NumberType
    | BooleanType
    | ArrayType
    | ObjectType
    | JsonType
    | UnionType
    | ChatCompletionInputType
    | CompletionInputType,
    Field(discriminator="type"),
    BeforeValidator(_type_by_name),
]

# ----------------------------------------------------------------------------- params


class AggregationFunctionType(StrEnum):
    """How the per-row scores of a function are summarised."""

    average = "average"
    weighted_average = "weighted_average"
    median = "median"
    categorical_count = "categorical_count"
    accuracy = "accuracy"


def _compiled(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"'{pattern}' is not a valid regular expression: {exc}") from None
    return patterns


class LLMAsJudgeScoringFnParams(ApiModel):
    """A judge model, the prompt it gets ({input_query}, {generated_answer}, {expected_answer}
    or any other row column) and the regexes whose first group is the score."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    type: Literal["llm_as_judge"] = "llm_as_judge"
    judge_model: str
    prompt_template: str | None = None
    judge_score_regexes: list[str] = Field(
        default_factory=list, description="Regexes to extract the answer from generated response"
    )
    aggregation_functions: list[AggregationFunctionType] = Field(
        default_factory=list, description="Aggregation functions to apply to the scores of each row"
    )

    _regexes = field_validator("judge_score_regexes")(_compiled)


class RegexParserScoringFnParams(ApiModel):
    """Regexes whose first group is the answer parsed out of `generated_answer`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["regex_parser"] = "regex_parser"
    parsing_regexes: list[str] = Field(
        default_factory=list, description="Regex to extract the answer from generated response"
    )
    aggregation_functions: list[AggregationFunctionType] = Field(
        default_factory=list, description="Aggregation functions to apply to the scores of each row"
    )

    _regexes = field_validator("parsing_regexes")(_compiled)


class BasicScoringFnParams(ApiModel):
    """Only how the scores are aggregated."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["basic"] = "basic"
    aggregation_functions: list[AggregationFunctionType] = Field(
        default_factory=list, description="Aggregation functions to apply to the scores of each row"
    )


ScoringFnParams = Annotated[
    LLMAsJudgeScoringFnParams | RegexParserScoringFnParams | BasicScoringFnParams,
    Field(discriminator="type"),
]

# ----------------------------------------------------------------------------- resources


class ScoringFn(ApiModel):
    """A scoring function: `identifier` is what score() names; its provider runs it."""

    identifier: str = Field(description="Unique identifier for this resource in llama stack")
    provider_resource_id: str | None = Field(
        None, description="Unique identifier for this resource in the provider"
    )
    provider_id: str = Field(description="ID of the provider that owns this resource")
    type: Literal["scoring_function"] = "scoring_function"
    description: str | None = None
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Any additional metadata for this definition"
    )
    return_type: ParamType = Field(description="The return type of the deterministic function")
    params: ScoringFnParams | None = Field(
        None,
        description="The parameters for the scoring function for benchmark eval, these can be "
        "overridden for app eval",
    )
    owner: str | None = Field(None, description="Principal that registered it (server auth).")
    source: Literal["config", "provider", "user"] = "user"


class RegisterScoringFunctionRequest(ApiModel):
    """Register `scoring_fn_id`, run by `provider_id` as `provider_scoring_fn_id` with `params`."""

    model_config = ConfigDict(extra="forbid")

    scoring_fn_id: str = Field(
        min_length=1, description="The ID of the scoring function to register."
    )
    description: str = Field(description="The description of the scoring function.")
    return_type: ParamType = Field(description="The return type of the scoring function.")
    provider_scoring_fn_id: str | None = Field(
        None, description="The ID of the provider scoring function to use for the scoring function."
    )
    provider_id: str | None = Field(
        None, description="The ID of the provider to use for the scoring function."
    )
    params: ScoringFnParams | None = Field(
        None,
        description="The parameters for the scoring function for benchmark eval, these can be "
        "overridden for app eval.",
    )


class ListScoringFunctionsResponse(ApiModel):
    data: list[ScoringFn] = Field(description="List of scoring function objects.")
