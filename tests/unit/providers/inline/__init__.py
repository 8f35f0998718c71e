"""Tests of the inline providers."""
