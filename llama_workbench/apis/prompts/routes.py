"""REST routes of the Prompts API (Llama Stack 0.7 paths and payloads)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from llama_workbench.apis.prompts.api import Prompts
from llama_workbench.apis.prompts.models import (
    CreatePromptRequest,
    ListPromptsResponse,
    Prompt,
    SetDefaultVersionBodyRequest,
    UpdatePromptBodyRequest,
)

_PROMPTS = "/v1/prompts"
_ONE = _PROMPTS + "/{prompt_id}"


def create_router(impl: Prompts) -> APIRouter:
    router = APIRouter(tags=["prompts"])

    @router.get(_PROMPTS, response_model=ListPromptsResponse, summary="List all prompts.")
    async def list_prompts() -> ListPromptsResponse:
        return await impl.list_prompts()

    @router.post(_PROMPTS, response_model=Prompt, summary="Create a prompt.")
    async def create_prompt(request: CreatePromptRequest) -> Prompt:
        return await impl.create_prompt(request.prompt, request.variables)

    @router.get(_ONE, response_model=Prompt, summary="Get a prompt.")
    async def get_prompt(
        prompt_id: str,
        version: int | None = Query(
            None, description="The version of the prompt to get (defaults to its default)."
        ),
    ) -> Prompt:
        return await impl.get_prompt(prompt_id, version)

    @router.put(_ONE, response_model=Prompt, summary="Update a prompt.")
    async def update_prompt(prompt_id: str, request: UpdatePromptBodyRequest) -> Prompt:
        return await impl.update_prompt(
            prompt_id, request.prompt, request.version, request.variables, request.set_as_default
        )

    @router.delete(_ONE, summary="Delete a prompt.")
    async def delete_prompt(prompt_id: str) -> None:
        await impl.delete_prompt(prompt_id)

    @router.get(
        _ONE + "/versions", response_model=ListPromptsResponse, summary="List prompt versions."
    )
    async def list_prompt_versions(prompt_id: str) -> ListPromptsResponse:
        return await impl.list_prompt_versions(prompt_id)

    @router.put(_ONE + "/set-default-version", response_model=Prompt, summary="Set prompt version.")
    async def set_default_version(prompt_id: str, request: SetDefaultVersionBodyRequest) -> Prompt:
        return await impl.set_default_version(prompt_id, request.version)

    return router
