"""The Anthropic Messages API front door (`POST /v1/messages`, `/v1/messages/count_tokens`)."""
