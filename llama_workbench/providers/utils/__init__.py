"""Pieces shared by providers."""
