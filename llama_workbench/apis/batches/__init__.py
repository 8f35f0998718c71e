"""The Batches API: OpenAI's /v1/batches (a JSONL file of requests run in the background)."""
