"""Payload archive: each request's full request and response as one JSON object, in S3 or a
local folder, written off the request path. Off unless `archive_enabled` (privacy)."""
