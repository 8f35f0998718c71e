"""Remote inference providers (the OpenAI-compatible family)."""
