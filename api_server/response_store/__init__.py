"""Stored responses of the Responses API: one row per response in PostgreSQL, per tenant."""
