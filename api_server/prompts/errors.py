"""The one error prompt formatting raises.

A `ValueError` subclass so callers that only know "bad input" still catch it;
the gateway maps it to a 400 because the conversation, not the server, is at fault.
"""

from __future__ import annotations


class PromptFormatError(ValueError):
    """The conversation cannot be rendered in this prompt format."""
