"""Types of the Inference API, in OpenAI's chat completions, completions and embeddings shapes."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from llama_workbench.apis.base import ApiModel


class _Open(ApiModel):
    """Request models keep unknown fields (OpenAI `extra_body`) for providers that accept them."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())


# ----------------------------------------------------------------------------- messages


class TextContentPart(ApiModel):
    type: Literal["text"]
    text: str


class ImageURL(ApiModel):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageContentPart(ApiModel):
    type: Literal["image_url"]
    image_url: ImageURL


class FileRef(ApiModel):
    """A file given to the model: an uploaded file's id, or its bytes (a data URL or base64)."""

    # One of the two is required (the validator below); the schema says so too.
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["file_data"]}, {"required": ["file_id"]}]}
    )

    file_data: str | None = Field(None, description="A data URL, or base64 of the bytes.")
    file_id: str | None = Field(None, description="An uploaded file (the Files API).")
    filename: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FileRef:
        if self.file_data is None and self.file_id is None:
            raise ValueError("Either file_data or file_id must be provided")
        return self


class FileContentPart(ApiModel):
    """A file, given to the model as the text our document parsers extract from it."""

    type: Literal["file"]
    file: FileRef


ContentPart = Annotated[
    TextContentPart | ImageContentPart | FileContentPart, Field(discriminator="type")
]
Content = str | list[ContentPart]


class FunctionCall(ApiModel):
    name: str
    arguments: str = Field(description="JSON-encoded arguments, as the model produced them.")


class ToolCall(ApiModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall
    # A service's own data on the call, kept and sent back with the conversation (Gemini's
    # {"google": {"thought_signature": ...}}, which its next turn requires).
    extra_content: dict[str, Any] | None = None


class SystemMessage(ApiModel):
    role: Literal["system"]
    content: Content
    name: str | None = None


class DeveloperMessage(ApiModel):
    role: Literal["developer"]
    content: Content
    name: str | None = None


class UserMessage(ApiModel):
    role: Literal["user"]
    content: Content
    name: str | None = None


class AssistantMessage(ApiModel):
    role: Literal["assistant"]
    content: Content | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None


class ToolMessage(ApiModel):
    role: Literal["tool"]
    content: Content
    tool_call_id: str


# Discriminator fields have no default: the OpenAPI schema marks them required, as clients send them.
Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


def content_text(content: Content | None) -> str:
    """The text of a message's content (image parts are not text)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextContentPart))


# ----------------------------------------------------------------------------- tools and formats


class FunctionDefinition(ApiModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(ApiModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedToolChoice(ApiModel):
    type: Literal["function"] = "function"
    function: dict[str, str]


class JsonSchemaSpec(ApiModel):
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None

    # `schema` in every dump (stored completions, echoes), not the attribute's name.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ResponseFormatText(ApiModel):
    type: Literal["text"]


class ResponseFormatJsonObject(ApiModel):
    type: Literal["json_object"]


class ResponseFormatJsonSchema(ApiModel):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJsonObject | ResponseFormatJsonSchema,
    Field(discriminator="type"),
]


class StreamOptions(ApiModel):
    include_usage: bool = False


# ----------------------------------------------------------------------------- requests


class SamplingFields(_Open):
    """Sampling parameters shared by chat completions and completions."""

    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0, description="Inline providers only.")
    n: int | None = Field(None, ge=1, le=16)
    stop: str | list[str] | None = None
    seed: int | None = None
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class ChatCompletionRequest(SamplingFields):
    """POST /v1/chat/completions."""

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    metadata: dict[str, str] | None = None
    store: bool | None = Field(
        None, description="false: don't keep this completion (GET /v1/chat/completions)."
    )

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(SamplingFields):
    """POST /v1/completions."""

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    echo: bool | None = None
    logprobs: int | None = Field(None, ge=0, le=5)
    best_of: int | None = Field(None, ge=1)
    suffix: str | None = None


class EmbeddingsRequest(_Open):
    """POST /v1/embeddings."""

    model: str = Field(min_length=1)
    # As Llama Stack 0.7.3: an empty list (or an empty token array) is a 400 from validation.
    input: (
        str
        | Annotated[list[str], Field(min_length=1, max_length=2048)]
        | Annotated[list[int], Field(min_length=1, max_length=2048)]
        | Annotated[
            list[Annotated[list[int], Field(min_length=1)]], Field(min_length=1, max_length=2048)
        ]
    )
    encoding_format: Literal["float", "base64"] | None = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None


# ----------------------------------------------------------------------------- responses


def _completion_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def _now() -> int:
    return int(time.time())


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class Usage(ApiModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletionMessage(ApiModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatChoice(ApiModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: FinishReason | None = "stop"
    logprobs: dict[str, Any] | None = None
    # A provider's note on this choice, e.g. {"loop_guard": "..."} when a repeating output was
    # ended; OpenAI's clients keep unknown fields, and it is left out when None.
    metadata: dict[str, Any] | None = None


class ChatCompletion(ApiModel):
    id: str = Field(default_factory=lambda: _completion_id("chatcmpl"))
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[ChatChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class ToolCallFunctionDelta(ApiModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(ApiModel):
    index: int = 0
    id: str | None = None
    type: Literal["function"] | None = None
    function: ToolCallFunctionDelta | None = None
    extra_content: dict[str, Any] | None = None  # as ToolCall.extra_content


class ChoiceDelta(ApiModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(ApiModel):
    index: int = 0
    delta: ChoiceDelta
    finish_reason: FinishReason | None = None
    logprobs: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None  # as ChatChoice.metadata


class ChatCompletionChunk(ApiModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class CompletionChoice(ApiModel):
    index: int = 0
    text: str
    finish_reason: FinishReason | None = "stop"
    logprobs: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None  # as ChatChoice.metadata


class Completion(ApiModel):
    id: str = Field(default_factory=lambda: _completion_id("cmpl"))
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=_now)
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


class EmbeddingData(ApiModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingsResponse(ApiModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: Usage = Field(default_factory=Usage)


class StoredChatCompletion(ChatCompletion):
    """A stored chat completion with the messages that produced it (and its request's metadata)."""

    input_messages: list[Message]
    metadata: dict[str, str] | None = None


class StoredChatCompletionList(ApiModel):
    object: Literal["list"] = "list"
    data: list[StoredChatCompletion]
    has_more: bool = False
    first_id: str = ""
    last_id: str = ""
