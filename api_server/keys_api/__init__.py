"""The admin API for API keys (/admin/keys)."""
