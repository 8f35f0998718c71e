"""The Prompts API protocol: versioned prompt templates, and rendering them with values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from llama_workbench.apis.prompts.models import ListPromptsResponse, Prompt


@runtime_checkable
class Prompts(Protocol):
    """Create, version, read, render and delete prompt templates (owner-checked)."""

    async def list_prompts(self) -> ListPromptsResponse:
        """Every prompt the caller may see, in its default version."""
        ...

    async def get_prompt(self, prompt_id: str, version: int | None = None) -> Prompt:
        """One version of a prompt (default: its default version)."""
        ...

    async def create_prompt(self, prompt: str, variables: list[str] | None = None) -> Prompt:
        """A new prompt at version 1; every {{placeholder}} must be among `variables`."""
        ...

    async def update_prompt(
        self,
        prompt_id: str,
        prompt: str,
        version: int,
        variables: list[str] | None = None,
        set_as_default: bool = True,
    ) -> Prompt:
        """A new version on top of `version`, which must be the latest one."""
        ...

    async def delete_prompt(self, prompt_id: str) -> None:
        """Delete a prompt and all its versions."""
        ...

    async def list_prompt_versions(self, prompt_id: str) -> ListPromptsResponse:
        """Every version of a prompt, oldest first."""
        ...

    async def set_default_version(self, prompt_id: str, version: int) -> Prompt:
        """Make `version` the one used when no version is asked for."""
        ...

    async def render(
        self,
        prompt_id: str,
        variables: Mapping[str, str] | None = None,
        version: int | None = None,
    ) -> str:
        """The prompt's text with its {{placeholders}} filled in from `variables`."""
        ...
