"""The Responses API: model responses with server-side tools, chaining and conversations."""
