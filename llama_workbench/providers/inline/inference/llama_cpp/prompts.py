"""Requests to llama.cpp prompts: the GGUF's chat template, forced tool calls, JSON grammars."""

from __future__ import annotations

import json
import logging
from typing import Any

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    CompletionRequest,
    NamedToolChoice,
    ResponseFormatJsonObject,
    ResponseFormatJsonSchema,
    Tool,
)
from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.inline.inference.llama_cpp.loader import LoadedModel
from llama_workbench.providers.utils.chat_template import (
    template_message,
    with_system,
)
from llama_workbench.providers.utils.local_llm import completion_prompt_ids
from llama_workbench.providers.utils.local_llm import echo_texts as shared_echo_texts
from llama_workbench.providers.utils.structured_output import json_instruction

logger = logging.getLogger(__name__)


def forced_tool(request: ChatCompletionRequest) -> Tool | None:
    """The tool a request makes the model call, or None when it calls none.

    Like llama-cpp-python's chat handler, calls are grammar-constrained to one named tool's
    arguments; free choice between answering and calling ('auto') would need a parser of the
    model's own call format, which llama.cpp's generic handler does not have.
    """
    tools, choice = request.tools or [], request.tool_choice
    if not tools or choice == "none":
        return None
    if isinstance(choice, NamedToolChoice):
        name = choice.function.get("name")
        named = [t for t in tools if t.function.name == name]
        if not named:
            known = ", ".join(t.function.name for t in tools)
            raise BadRequestError(f"tool_choice names '{name}', which is not in tools ({known})")
        return named[0]
    if choice == "required" and len(tools) == 1:
        return tools[0]
    raise BadRequestError(
        "inline::llama-cpp calls tools only when the call is forced: name the tool in "
        "tool_choice ({'type': 'function', 'function': {'name': ...}}), or give one tool with "
        f"tool_choice 'required' (got tool_choice {choice!r} with {len(tools)} tools). The "
        "call is then grammar-constrained to the tool's parameters. For 'auto', use "
        "inline::transformers, which parses calls from the model's text."
    )


def chat_prompt(lm: LoadedModel, request: ChatCompletionRequest, tool: Tool | None) -> list[int]:
    """The messages rendered with the GGUF's own chat template, as token ids."""
    if lm.formatter is None or not lm.chat_template:
        raise BadRequestError(
            f"Model '{request.model}' has no chat template; use completions with a plain prompt."
        )
    native = "tool_calls" in lm.chat_template
    messages = [template_message(m, native) for m in request.messages]
    extra = [hint] if (hint := json_instruction(request.response_format)) else []
    if tool is not None:
        extra = [_tool_instruction(tool)]
    if extra:
        messages = with_system(messages, "\n\n".join(extra))
    options: dict[str, Any] = {}
    if tool is not None:
        options = {"tools": [tool.model_dump(exclude_none=True)], "tool_choice": "required"}
    try:
        text = lm.formatter(messages=messages, **options).prompt
    except Exception as exc:  # jinja2 errors and the template's own raise_exception
        raise BadRequestError(
            f"The chat template of '{request.model}' rejected the messages: {exc}"
        ) from exc
    # The template writes the special tokens itself (llama-cpp-python tokenizes it the same way).
    return list(lm.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def grammar(request: ChatCompletionRequest, tool: Tool | None) -> str | None:
    """GBNF for a forced tool call's arguments or a JSON response format; None for free text."""
    from llama_cpp.llama_grammar import JSON_GBNF, json_schema_to_gbnf

    fmt = request.response_format
    if tool is not None:
        schema: dict[str, Any] | None = tool.function.parameters or {"type": "object"}
    elif isinstance(fmt, ResponseFormatJsonSchema):
        schema = fmt.json_schema.schema_
    elif isinstance(fmt, ResponseFormatJsonObject):
        schema = None
    else:
        return None
    if not schema:
        return str(JSON_GBNF)
    try:
        return str(json_schema_to_gbnf(json.dumps(schema)))
    except Exception as exc:
        # A schema feature llama.cpp can't express: constrain to plain JSON, validate after.
        logger.warning("llama.cpp can't turn the schema into a grammar (%s); using plain JSON", exc)
        return str(JSON_GBNF)


def completion_prompts(lm: LoadedModel, request: CompletionRequest) -> list[list[int]]:
    """Each prompt as token ids; add_bos follows the model's own setting, special tokens in
    the text are parsed."""
    return completion_prompt_ids(
        request,
        lm.n_vocab,
        lambda text: list(lm.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)),
    )


def echo_texts(lm: LoadedModel, request: CompletionRequest, prompts: list[list[int]]) -> list[str]:
    """The text `echo` puts before each completion: the prompt as given (token ids decoded)."""
    return shared_echo_texts(
        request,
        prompts,
        lambda ids: bytes(lm.llm.detokenize(ids)).decode("utf-8", errors="replace"),
    )


def _tool_instruction(tool: Tool) -> str:
    spec = tool.function
    about = f": {spec.description}" if spec.description else ""
    schema = json.dumps(spec.parameters or {"type": "object"})
    return (
        f"Call the function `{spec.name}`{about}. Answer with only its arguments, as a JSON "
        f"object that conforms to this JSON schema:\n{schema}"
    )
