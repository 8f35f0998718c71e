"""The Connectors API: MCP servers declared in the run config or registered as tool groups."""
