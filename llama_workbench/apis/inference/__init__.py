"""The Inference API: OpenAI-compatible chat completions, completions and embeddings."""
