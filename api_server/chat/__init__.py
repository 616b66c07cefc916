"""Protocol-neutral chat domain: what every front door (OpenAI, Anthropic, ...) translates into."""
