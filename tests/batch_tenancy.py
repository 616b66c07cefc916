"""Tenants kept apart in the Files and Batch APIs, checked the same way on a test gateway
and on the real stack."""

from __future__ import annotations

import openai
import pytest


def assert_hidden_from(stranger: openai.OpenAI, file_id: str, batch_id: str) -> None:
    """Another tenant's file and batch are absent (404) to `stranger` wherever it names
    them: read, download, delete, cancel, or a batch made of the file."""
    for attempt in (
        lambda: stranger.files.retrieve(file_id),
        lambda: stranger.files.content(file_id),
        lambda: stranger.files.delete(file_id),
        lambda: stranger.batches.retrieve(batch_id),
        lambda: stranger.batches.cancel(batch_id),
        lambda: stranger.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        ),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
