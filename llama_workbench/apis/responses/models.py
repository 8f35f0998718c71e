"""Types of the Responses API (OpenAI's): items, tools, requests, response objects, stream events."""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.responses.tools import AllowedToolsFilter as AllowedToolsFilter
from llama_workbench.apis.responses.tools import ApprovalFilter as ApprovalFilter
from llama_workbench.apis.responses.tools import FileSearchTool as FileSearchTool
from llama_workbench.apis.responses.tools import FunctionTool as FunctionTool
from llama_workbench.apis.responses.tools import McpTool as McpTool
from llama_workbench.apis.responses.tools import OpenModel as _Open
from llama_workbench.apis.responses.tools import ResponseTool as ResponseTool
from llama_workbench.apis.responses.tools import ToolChoice as ToolChoice
from llama_workbench.apis.responses.tools import ToolChoiceAllowedTools as ToolChoiceAllowedTools
from llama_workbench.apis.responses.tools import ToolChoiceFileSearch as ToolChoiceFileSearch
from llama_workbench.apis.responses.tools import ToolChoiceFunction as ToolChoiceFunction
from llama_workbench.apis.responses.tools import ToolChoiceMcp as ToolChoiceMcp
from llama_workbench.apis.responses.tools import ToolChoiceWebSearch as ToolChoiceWebSearch
from llama_workbench.apis.responses.tools import WebSearchTool as WebSearchTool


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: `resp_…`, `msg_…`, `fc_…`, `conv_…`."""
    return f"{prefix}_{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


# ----------------------------------------------------------------------------- content parts


class InputText(_Open):
    type: Literal["input_text"] = "input_text"
    text: str


class InputImage(_Open):
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["low", "high", "auto"] = "auto"


class InputFile(_Open):
    type: Literal["input_file"] = "input_file"
    file_id: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    filename: str | None = None


class FileCitation(ApiModel):
    type: Literal["file_citation"] = "file_citation"
    file_id: str
    filename: str
    index: int


class OutputText(_Open):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[FileCitation] = Field(default_factory=list)
    logprobs: list[dict[str, Any]] | None = None


class Refusal(_Open):
    type: Literal["refusal"] = "refusal"
    refusal: str


ContentPart = Annotated[
    InputText | InputImage | InputFile | OutputText | Refusal, Field(discriminator="type")
]


# ----------------------------------------------------------------------------- items


class MessageItem(_Open):
    """A message: the user's input, the model's answer (output_text or refusal), instructions."""

    type: Literal["message"] = "message"
    id: str | None = None
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart]
    status: str | None = None


class FunctionCallItem(_Open):
    """The model asks the caller to run a function; answer with a function_call_output item."""

    type: Literal["function_call"] = "function_call"
    id: str | None = None
    call_id: str
    name: str
    arguments: str
    status: str | None = None


class FunctionCallOutputItem(_Open):
    type: Literal["function_call_output"] = "function_call_output"
    id: str | None = None
    call_id: str
    output: str | list[ContentPart]
    status: str | None = None


class FileSearchResult(ApiModel):
    file_id: str
    filename: str
    score: float
    text: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class FileSearchCallItem(_Open):
    """A search the server ran over vector stores for the model."""

    type: Literal["file_search_call"] = "file_search_call"
    id: str
    queries: list[str]
    status: str
    results: list[FileSearchResult] | None = None


class WebSearchSource(_Open):
    type: Literal["url"] = "url"
    url: str


class WebSearchAction(_Open):
    """What the search did (OpenAI's `search` action): its query, and the pages it found
    when the request's include asks for web_search_call.action.sources."""

    type: Literal["search"] = "search"
    query: str | None = None
    sources: list[WebSearchSource] | None = None


class WebSearchCallItem(_Open):
    """A web search the server ran for the model (with the stack's web search tool runtime)."""

    type: Literal["web_search_call"] = "web_search_call"
    id: str
    status: str
    action: WebSearchAction | None = None


class McpToolInfo(ApiModel):
    name: str
    description: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=dict)


class McpListToolsItem(_Open):
    type: Literal["mcp_list_tools"] = "mcp_list_tools"
    id: str
    server_label: str
    tools: list[McpToolInfo]
    error: str | None = None


class McpCallItem(_Open):
    """A tool call the server made to an MCP server for the model."""

    type: Literal["mcp_call"] = "mcp_call"
    id: str
    name: str
    arguments: str
    server_label: str
    output: str | None = None
    error: str | None = None
    approval_request_id: str | None = None  # the approved mcp_approval_request it ran for


class McpApprovalRequestItem(_Open):
    """The model called an MCP tool that needs the user's approval: the response stops here;
    the next request answers with an mcp_approval_response item."""

    type: Literal["mcp_approval_request"] = "mcp_approval_request"
    id: str
    name: str
    arguments: str
    server_label: str


class McpApprovalResponseItem(_Open):
    """The user's answer to an mcp_approval_request: approve runs the call, deny declines it."""

    type: Literal["mcp_approval_response"] = "mcp_approval_response"
    id: str | None = None
    approval_request_id: str
    approve: bool
    reason: str | None = None


class ReasoningSummary(_Open):
    type: Literal["summary_text"] = "summary_text"
    text: str


class ReasoningText(_Open):
    type: Literal["reasoning_text"] = "reasoning_text"
    text: str


class ReasoningItem(_Open):
    """A reasoning model's reasoning. Kept in the history with every field it came with; not
    sent back to the model (as OpenAI does for models that don't reason)."""

    type: Literal["reasoning"] = "reasoning"
    id: str | None = None
    summary: list[ReasoningSummary] = Field(default_factory=list)
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


def _item_type(value: Any) -> str | None:
    """An item's type; OpenAI accepts `{"role": ..., "content": ...}` without one as a message."""
    if isinstance(value, dict):
        return str(value.get("type", "message"))
    return getattr(value, "type", None)


Item = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[FileSearchCallItem, Tag("file_search_call")]
    | Annotated[WebSearchCallItem, Tag("web_search_call")]
    | Annotated[McpListToolsItem, Tag("mcp_list_tools")]
    | Annotated[McpCallItem, Tag("mcp_call")]
    | Annotated[McpApprovalRequestItem, Tag("mcp_approval_request")]
    | Annotated[McpApprovalResponseItem, Tag("mcp_approval_response")]
    | Annotated[ReasoningItem, Tag("reasoning")],
    Discriminator(_item_type),
]
OutputItem = Item


# ----------------------------------------------------------------------------- request


class TextFormat(_Open):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None

    # Echoed back (and stored) as `schema`, OpenAI's key, not the attribute's name `schema_`.
    # Other keys (json_schema's `description`) are kept as given and echoed only when given.
    model_config = ConfigDict(populate_by_name=True, extra="allow", serialize_by_alias=True)


class TextConfig(_Open):
    format: TextFormat = Field(default_factory=TextFormat)


PromptVariable = str | Annotated[InputText | InputImage | InputFile, Field(discriminator="type")]


class ResponsePrompt(_Open):
    """A stored prompt template (the Prompts API) to use, and the values of its variables."""

    id: str = Field(description="The prompt's id (pmpt_...).")
    version: str | None = Field(None, description="Its version (default: its default version).")
    variables: dict[str, PromptVariable] | None = Field(
        None, description="Values of its {{variables}}: strings or input_text parts."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # OpenAI types it a string; a number means the same version.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class GuardrailSpec(ApiModel):
    type: str = Field(description="A shield id.")


# OpenAI's (and Llama Stack 0.7.3's) values of `include`.
ResponseInclude = Literal[
    "web_search_call.action.sources",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
]


class ResponseReasoning(ApiModel):
    """How much a reasoning model reasons (sent to it as reasoning_effort)."""

    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None


class ResponseStreamOptions(ApiModel):
    model_config = ConfigDict(extra="forbid")

    include_obfuscation: bool = True


class CreateResponseRequest(_Open):
    """POST /v1/responses."""

    model: str = Field(min_length=1)
    input: str | list[Item]
    instructions: str | None = None
    prompt: ResponsePrompt | None = None
    tools: list[ResponseTool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = True
    previous_response_id: str | None = None
    conversation: str | None = None
    store: bool | None = True
    stream: bool | None = False
    background: bool | None = False
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    max_output_tokens: int | None = Field(None, ge=16)
    max_infer_iters: int | None = Field(10, ge=1)
    max_tool_calls: int | None = Field(None, ge=1)
    text: TextConfig | None = None
    metadata: dict[str, str] | None = None
    guardrails: list[str | GuardrailSpec] | None = None
    include: list[ResponseInclude] | None = None
    top_logprobs: int | None = Field(None, ge=0, le=20)
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    reasoning: ResponseReasoning | None = None
    truncation: Literal["auto", "disabled"] | None = None
    service_tier: Literal["auto", "default", "flex", "priority"] | None = None
    safety_identifier: str | None = Field(None, max_length=64)
    prompt_cache_key: str | None = Field(None, max_length=64)
    stream_options: ResponseStreamOptions | None = None

    def shield_ids(self) -> list[str]:
        return [g if isinstance(g, str) else g.type for g in self.guardrails or []]


# ----------------------------------------------------------------------------- response


class ResponseError(ApiModel):
    code: str
    message: str


class IncompleteDetails(ApiModel):
    reason: str


class InputTokensDetails(ApiModel):
    cached_tokens: int = 0


class OutputTokensDetails(ApiModel):
    reasoning_tokens: int = 0


class ResponseUsage(ApiModel):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)


ResponseStatus = Literal["queued", "in_progress", "completed", "failed", "incomplete", "cancelled"]


class ResponseObject(ApiModel):
    """A model response: its output items, status, usage and the request's settings."""

    id: str = Field(default_factory=lambda: new_id("resp"))
    object: Literal["response"] = "response"
    created_at: int = Field(default_factory=now)
    completed_at: int | None = None
    model: str
    status: ResponseStatus = "in_progress"
    output: list[Item] = Field(default_factory=list)
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    prompt: ResponsePrompt | None = None
    previous_response_id: str | None = None
    conversation: dict[str, str] | None = None
    tools: list[ResponseTool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    text: TextConfig = Field(default_factory=TextConfig)
    truncation: str | None = None
    top_logprobs: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    reasoning: ResponseReasoning | None = None
    service_tier: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    usage: ResponseUsage | None = None
    metadata: dict[str, str] | None = None
    background: bool = False
    store: bool = True

    @property
    def output_text(self) -> str:
        """The text of every output_text part, joined (like the openai SDK's property)."""
        return "".join(
            part.text
            for item in self.output
            if isinstance(item, MessageItem) and not isinstance(item.content, str)
            for part in item.content
            if isinstance(part, OutputText)
        )


class ResponseWithInput(ResponseObject):
    input: list[Item] = Field(default_factory=list)


class ResponseList(ApiModel):
    object: Literal["list"] = "list"
    data: list[ResponseWithInput]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class InputItemList(ApiModel):
    object: Literal["list"] = "list"
    data: list[Item]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class ResponseDeleted(ApiModel):
    id: str
    object: Literal["response"] = "response"
    deleted: bool = True


# ----------------------------------------------------------------------------- stream events


class StreamEvent(_Open):
    """One event of a streamed response (OpenAI's typed event stream); `type` names it.

    Fields by type: response.* carry `response`; item events carry `output_index` and `item`;
    text and argument events carry `item_id`, `output_index`, (`content_index`) and `delta` or
    the finished value. Every event has a `sequence_number`, increasing from 0.
    """

    type: str
    sequence_number: int = 0
