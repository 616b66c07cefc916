"""inferstack: an OpenAI- and Anthropic-compatible gateway in front of real inference engines."""

__version__ = "0.1.0"
