"""The Admin API: providers, routes, health and version for operators (admin-only with auth on)."""
