"""Inline (in-process) providers."""
