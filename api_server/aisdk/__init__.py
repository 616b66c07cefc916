"""The Vercel AI SDK front door: the UI message stream at `/api/chat`, and `/v1/title`."""
