"""Inline post-training providers."""
