"""Inline providers of the Responses API."""
