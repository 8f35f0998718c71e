"""Stand-ins for the hosted OpenAI-compatible services, shared by this package's modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_services import ServiceStub, all_services


@pytest.fixture(scope="package")
def stubs() -> Iterator[dict[str, ServiceStub]]:
    """One stand-in per service of tests/support/openai_services.py, by name."""
    with all_services() as started:
        yield started
