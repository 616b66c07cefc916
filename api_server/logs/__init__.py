"""Request logs: one row per request in PostgreSQL, written off the request path."""
