"""Providers defined by the tests (plugged in through a registry or an entry point)."""
