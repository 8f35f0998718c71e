"""Inline providers of the Eval API."""
