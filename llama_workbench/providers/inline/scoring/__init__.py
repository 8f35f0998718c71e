"""Inline scoring providers."""
