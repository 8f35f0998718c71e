"""The execution engine's connection errors say what to do (the cluster itself: tests/integration)."""

from __future__ import annotations

import pytest

from llama_workbench.execution.engine import _auth_hint


def test_a_host_port_address_hints_at_token_authentication(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    hint = _auth_hint("10.0.0.5:6379")
    assert "RAY_AUTH_MODE=token" in hint and "~/.ray/auth_token" in hint
    assert "RAY_AUTH_MODE=token" in _auth_hint("ray://10.0.0.5:10001")


def test_no_hint_where_it_cannot_be_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert _auth_hint("auto") == ""  # Ray finds a local cluster's token itself
    assert _auth_hint("local") == ""  # a private Ray of this process
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert _auth_hint("10.0.0.5:6379") == ""  # already sending the token
