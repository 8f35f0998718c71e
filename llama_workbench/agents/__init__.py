"""Agents: Python functions as tools (`@tool`), for the Responses API's function calling."""

from __future__ import annotations

from llama_workbench.agents.agent import Agent, AgentSession, StepEvent, Turn
from llama_workbench.agents.tools import FunctionTool, tool

__all__ = ["Agent", "AgentSession", "FunctionTool", "StepEvent", "Turn", "tool"]
