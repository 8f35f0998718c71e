"""Inline inference providers: transformers (LLMs) and sentence-transformers (embeddings)."""
