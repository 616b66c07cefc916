"""Clients for the platform's backing services (Redis, PostgreSQL, Qdrant, object storage),
opened once in the lifespan. Each is optional: unset in settings means not used."""
