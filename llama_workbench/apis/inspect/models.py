"""Types of the Inspect API."""

from __future__ import annotations

from typing import Literal

from llama_workbench.apis.base import ApiModel


class HealthInfo(ApiModel):
    status: Literal["OK", "Error", "Not Implemented"] = "OK"


class VersionInfo(ApiModel):
    version: str


class RouteInfo(ApiModel):
    route: str
    method: str
    provider_types: list[str]


class ListRoutesResponse(ApiModel):
    data: list[RouteInfo]
