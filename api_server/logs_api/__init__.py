"""The request-logs API (/v1/logs, /v1/usage) over the logs store."""
