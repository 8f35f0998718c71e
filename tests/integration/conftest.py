"""Fixtures for the integration tests: real local servers, started and stopped by the tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.integration.postgres_server import postgres_server
from tests.support.ray_cluster import ray_head

__all__ = ["postgres_server", "ray_head"]


@pytest.fixture(autouse=True, scope="module")
def _leave_ray_after_the_module() -> Iterator[None]:
    """A module whose jobs ran on the session's Ray cluster leaves it when it ends: a connected
    driver keeps Ray's threads in the test process (its garbage-collection thread among them),
    which slowed every later test of the session many times over."""
    yield
    if "ray" in sys.modules:
        from llama_workbench.execution.engine import disconnect

        disconnect()
