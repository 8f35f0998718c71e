"""The vector stores router: files -> chunks -> embeddings -> a vector index provider, and search."""

from llama_workbench.core.vector_stores.router import VectorStoresRouter

__all__ = ["VectorStoresRouter"]
