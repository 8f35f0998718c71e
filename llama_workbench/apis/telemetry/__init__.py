"""The Telemetry API: traces and spans of the stack's calls, and metrics over them (Llama Stack's names)."""
