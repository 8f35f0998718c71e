"""Providers: inline (in-process) and remote (adapters to services), and the registry of them."""
