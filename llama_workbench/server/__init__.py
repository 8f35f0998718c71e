"""Server mode: the stack over HTTP with Llama Stack's REST routes (FastAPI + uvicorn)."""
