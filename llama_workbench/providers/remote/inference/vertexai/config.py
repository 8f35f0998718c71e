"""Configuration of the Vertex AI provider (Llama Stack 0.7.3's keys: project, location,
access_token, plus the common allowed_models / refresh_models / network, mapped at load)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


def endpoint(project: str, location: str) -> str:
    """Vertex AI's OpenAI-compatible endpoint of a project and location."""
    host = (
        "aiplatform.googleapis.com"
        if location == "global"
        else f"{location}-aiplatform.googleapis.com"
    )
    return f"https://{host}/v1/projects/{project}/locations/{location}/endpoints/openapi"


class VertexAIConfig(OpenAICompatConfig):
    """Vertex AI's OpenAI-compatible endpoint. An OAuth access token authenticates when given
    (`access_token`, Llama Stack's name; per request: provider data `vertex_access_token`, with
    `vertex_project` / `vertex_location` to address another project); otherwise Application
    Default Credentials (google-auth) supply and refresh one."""

    provider_data_api_key_field: ClassVar[str | None] = "vertex_access_token"

    project: str = Field(description="The Google Cloud project.")
    location: str = Field("global", description="The Google Cloud location, e.g. us-central1.")
    base_url: str = Field(
        "",
        description="The endpoint; empty: Vertex AI's OpenAI-compatible one for project/location.",
    )
    discover_models: bool = Field(
        False,
        description="The endpoint lists no models: name them in `models` (as google/<model>) or "
        "register them.",
    )
    supports_top_k: bool = False

    @model_validator(mode="after")
    def _endpoint(self) -> VertexAIConfig:
        if not self.project:
            raise ValueError("project: a Google Cloud project is required (VERTEX_AI_PROJECT)")
        if not self.base_url:
            self.base_url = endpoint(self.project, self.location)
        return self
