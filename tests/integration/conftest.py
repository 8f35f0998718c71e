"""Fixtures for the integration tests: real local servers, started and stopped by the tests."""

from __future__ import annotations

from tests.integration.postgres_server import postgres_server
from tests.support.ray_cluster import ray_head

__all__ = ["postgres_server", "ray_head"]
