"""Remote providers: adapters to services."""
