"""Locust load tests of the gateway: scenarios, report.json with P50/P95/P99, thresholds."""
