"""`stack.prompts`: the Prompts API as calls that return results.

Generated from llama_workbench/apis/prompts/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    from collections.abc import Mapping

    from llama_workbench.apis.prompts.models import ListPromptsResponse, Prompt


class PromptsApi(SyncFace):
    """Create, version, read, render and delete prompt templates (owner-checked)."""

    __slots__ = ()

    def list_prompts(self) -> ListPromptsResponse:
        """Every prompt the caller may see, in its default version."""
        return cast("ListPromptsResponse", self._call("list_prompts", locals()))

    def get_prompt(self, prompt_id: str, version: int | None = None) -> Prompt:
        """One version of a prompt (default: its default version)."""
        return cast("Prompt", self._call("get_prompt", locals()))

    def create_prompt(self, prompt: str, variables: list[str] | None = None) -> Prompt:
        """A new prompt at version 1; every {{placeholder}} must be among `variables`."""
        return cast("Prompt", self._call("create_prompt", locals()))

    def update_prompt(
        self,
        prompt_id: str,
        prompt: str,
        version: int,
        variables: list[str] | None = None,
        set_as_default: bool = True,
    ) -> Prompt:
        """A new version on top of `version`, which must be the latest one."""
        return cast("Prompt", self._call("update_prompt", locals()))

    def delete_prompt(self, prompt_id: str) -> None:
        """Delete a prompt and all its versions."""
        self._call("delete_prompt", locals())

    def list_prompt_versions(self, prompt_id: str) -> ListPromptsResponse:
        """Every version of a prompt, oldest first."""
        return cast("ListPromptsResponse", self._call("list_prompt_versions", locals()))

    def set_default_version(self, prompt_id: str, version: int) -> Prompt:
        """Make `version` the one used when no version is asked for."""
        return cast("Prompt", self._call("set_default_version", locals()))

    def render(
        self, prompt_id: str, variables: Mapping[str, str] | None = None, version: int | None = None
    ) -> str:
        """The prompt's text with its {{placeholders}} filled in from `variables`."""
        return cast("str", self._call("render", locals()))
