"""The query API over request logs: /v1/logs, /v1/logs/{id}, /v1/usage.

router (HTTP) → service (validation, rows to JSON, archived payloads) → repository (SQL).
"""
