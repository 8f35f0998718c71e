"""Inline file processors."""
