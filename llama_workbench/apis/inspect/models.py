"""Types of the Inspect API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthInfo(BaseModel):
    status: Literal["OK", "Error", "Not Implemented"] = "OK"


class VersionInfo(BaseModel):
    version: str


class RouteInfo(BaseModel):
    route: str
    method: str
    provider_types: list[str]


class ListRoutesResponse(BaseModel):
    data: list[RouteInfo]
