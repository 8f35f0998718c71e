"""Requests to token ids: chat messages through the tokenizer's chat template, tools, prompts."""

from __future__ import annotations

from typing import Any

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    CompletionRequest,
    NamedToolChoice,
    Tool,
)
from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.utils.chat_template import (
    template_message,
    with_system,
)
from llama_workbench.providers.utils.local_llm import completion_prompt_ids
from llama_workbench.providers.utils.local_llm import echo_texts as shared_echo_texts
from llama_workbench.providers.utils.structured_output import json_instruction
from llama_workbench.providers.utils.tool_calls import tools_system_prompt


def active_tools(request: ChatCompletionRequest) -> list[Tool]:
    """The tools the model may call: none for tool_choice 'none', only the named one if named."""
    tools = request.tools or []
    choice = request.tool_choice
    if not tools or choice == "none":
        return []
    if isinstance(choice, NamedToolChoice):
        name = choice.function.get("name")
        named = [t for t in tools if t.function.name == name]
        if not named:
            known = ", ".join(t.function.name for t in tools)
            raise BadRequestError(f"tool_choice names '{name}', which is not in tools ({known})")
        return named
    return tools


def chat_prompt_ids(tokenizer: Any, request: ChatCompletionRequest) -> list[int]:
    """Render the messages (and tools, and a JSON instruction) with the model's chat template."""
    template = tokenizer.chat_template
    if not template:
        raise BadRequestError(
            f"Model '{request.model}' has no chat template; use completions with a plain prompt."
        )
    tools = active_tools(request)
    native = bool(tools) and "tools" in template
    messages = [template_message(m, native) for m in request.messages]
    extra = [] if native or not tools else [tools_system_prompt(tools)]
    hint = json_instruction(request.response_format)
    if hint:
        extra.append(hint)
    if extra:
        messages = with_system(messages, "\n\n".join(extra))
    options: dict[str, Any] = {}
    if native:
        options["tools"] = [t.model_dump(exclude_none=True) for t in tools]
    try:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **options
        )
    except Exception as exc:  # jinja2's TemplateError, raised by templates that reject a message
        raise BadRequestError(
            f"The chat template of '{request.model}' rejected the messages: {exc}"
        ) from exc
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def completion_prompts(tokenizer: Any, request: CompletionRequest) -> list[list[int]]:
    """Each prompt as token ids: text is tokenized, token ids are checked against the vocabulary."""
    return completion_prompt_ids(
        request, len(tokenizer), lambda text: list(tokenizer(text)["input_ids"])
    )


def echo_texts(tokenizer: Any, request: CompletionRequest, prompts: list[list[int]]) -> list[str]:
    """The text `echo` puts before each completion: the prompt as given (token ids decoded)."""
    return shared_echo_texts(request, prompts, lambda ids: str(tokenizer.decode(ids)))
