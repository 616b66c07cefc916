"""Generation on a local engine: the request types every path shares, the prompt,
the engine stream parsed for tool calls, and the per-model tool-call rules."""
