"""Headers every request a provider sends to a service carries, from whoever supplies them.

Tracing supplies the W3C trace context (`traceparent`) once a stack with telemetry on is built
(`tracking/propagation.py`); providers (`providers/utils/openai_compat.py`) ask here, and never
import the tracking package. A leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["HeaderSource", "add_source", "outbound_headers"]

HeaderSource = Callable[[], Mapping[str, str] | None]
"""Asked at each outgoing request: the headers it adds (None or {} for none)."""

_sources: list[HeaderSource] = []


def add_source(source: HeaderSource) -> None:
    """Ask `source` at every outgoing request from now on (added once)."""
    if source not in _sources:
        _sources.append(source)


def outbound_headers() -> dict[str, str] | None:
    """The headers for a request going out now (None while no source has any)."""
    headers: dict[str, str] = {}
    for source in _sources:
        found = source()
        if found:
            headers.update(found)
    return headers or None
