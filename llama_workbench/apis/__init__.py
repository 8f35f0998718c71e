"""Typed APIs: one subpackage per API (models.py, api.py, routes.py)."""
