"""The Inspect API: health, version and the routes a server serves."""
