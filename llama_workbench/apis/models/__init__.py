"""The Models API: the registry of models served by inference providers."""
