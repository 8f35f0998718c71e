"""Types of the Prompts API: a prompt version, the list of them, and the request bodies."""

from __future__ import annotations

import re
import secrets

from pydantic import Field, model_validator

from llama_workbench.apis.base import ApiModel

# A placeholder: `{{ name }}`, spaces inside the braces allowed (Llama Stack 0.7's syntax).
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def new_prompt_id() -> str:
    """`pmpt_` and 48 lowercase hex digits, as Llama Stack makes them."""
    return f"pmpt_{secrets.token_hex(24)}"


def placeholders(text: str | None) -> list[str]:
    """The variable names a template uses, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


class Prompt(ApiModel):
    """One version of a stored prompt template."""

    prompt: str | None = Field(None, description="The prompt text with {{variable}} placeholders.")
    version: int = Field(ge=1, description="Version (an integer from 1, incremented on update).")
    prompt_id: str = Field(description="Unique identifier: 'pmpt_' and 48 hex digits.")
    variables: list[str] = Field(
        default_factory=list, description="The variable names the template may use."
    )
    is_default: bool = Field(False, description="Whether this version is the default one.")

    @model_validator(mode="after")
    def _declared(self) -> Prompt:
        undeclared = sorted(set(placeholders(self.prompt)) - set(self.variables))
        if undeclared:
            raise ValueError(f"Prompt contains undeclared variables: {undeclared}")
        return self


class ListPromptsResponse(ApiModel):
    """Prompts (the default version of each), or the versions of one prompt."""

    data: list[Prompt]


class CreatePromptRequest(ApiModel):
    """POST /v1/prompts."""

    prompt: str = Field(description="The prompt text with {{variable}} placeholders.")
    variables: list[str] | None = Field(
        None, description="The variable names the template may use."
    )


class UpdatePromptBodyRequest(ApiModel):
    """PUT /v1/prompts/{prompt_id}: a new version on top of `version`, the latest one."""

    prompt: str = Field(description="The new prompt text.")
    version: int = Field(description="The current (latest) version of the prompt.")
    variables: list[str] | None = Field(
        None, description="The variable names the new text may use."
    )
    set_as_default: bool = Field(True, description="Make the new version the default.")


class SetDefaultVersionBodyRequest(ApiModel):
    """PUT /v1/prompts/{prompt_id}/set-default-version."""

    version: int = Field(description="The version to make the default.")
