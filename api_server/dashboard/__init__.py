"""`/dashboard`: a live web dashboard of the gateway's own `/metrics` and `/health`."""
