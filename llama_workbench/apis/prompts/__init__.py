"""The Prompts API (Llama Stack's /v1/prompts): versioned prompt templates with {{variables}}."""
