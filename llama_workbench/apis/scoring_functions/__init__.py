"""The ScoringFunctions API: the registry of functions that score rows (built in, configured, registered)."""
