"""Who calls: API keys (hashed in PostgreSQL), the authenticator, principals and the key CLI."""
