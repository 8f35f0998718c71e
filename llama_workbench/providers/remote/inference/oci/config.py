"""Configuration of the OCI Generative AI provider (Llama Stack 0.7.3's keys: oci_auth_type,
oci_region, oci_compartment_id, oci_config_file_path, oci_config_profile, plus the common
allowed_models / refresh_models / network, mapped at load)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class OCIConfig(OpenAICompatConfig):
    """OCI Generative AI's OpenAI-compatible endpoint, every request signed with OCI's request
    signatures (the `oci` package): an instance principal, or a user's key from an OCI config
    file."""

    oci_auth_type: Literal["instance_principal", "config_file"] = Field(
        default_factory=lambda: os.getenv("OCI_AUTH_TYPE", "instance_principal"),  # type: ignore[arg-type]
        description="instance_principal (on OCI compute) or config_file (a user's API key).",
    )
    oci_region: str = Field(
        default_factory=lambda: os.getenv("OCI_REGION", "us-ashburn-1"),
        description="The OCI region, e.g. us-ashburn-1.",
    )
    oci_compartment_id: str = Field(
        default_factory=lambda: os.getenv("OCI_COMPARTMENT_OCID", ""),
        description="The compartment OCID the calls run in (sent as the CompartmentId header); "
        "every call needs one (a config without it loads, and its calls say so).",
    )
    oci_config_file_path: str = Field(
        default_factory=lambda: os.getenv("OCI_CONFIG_FILE_PATH", "~/.oci/config"),
        description="The OCI config file (config_file authentication).",
    )
    oci_config_profile: str = Field(
        default_factory=lambda: os.getenv("OCI_CLI_PROFILE", "DEFAULT"),
        description="The profile of the OCI config file.",
    )
    base_url: str = Field(
        "", description="The inference endpoint; empty: the region's /20231130/actions/v1."
    )
    management_url: str = Field(
        "",
        description="The Generative AI management endpoint (model listing); empty: the region's.",
    )
    supports_top_k: bool = False

    @model_validator(mode="after")
    def _endpoints(self) -> OCIConfig:
        region = self.oci_region
        if not self.base_url:
            self.base_url = (
                f"https://inference.generativeai.{region}.oci.oraclecloud.com/20231130/actions/v1"
            )
        if not self.management_url:
            self.management_url = f"https://generativeai.{region}.oci.oraclecloud.com/20231130"
        return self
