"""The translation capture as the debug mode renders it, and the header that asks for it."""

from __future__ import annotations

import pytest

from api_server.generation.translation import TranslationCapture, translation_debug_requested


def test_capture_joins_the_raw_chunks() -> None:
    capture = TranslationCapture(prompt="<|im_start|>user\nhi", raw_chunks=["Hel", "lo"])
    assert capture.as_dict() == {"prompt": "<|im_start|>user\nhi", "raw_completion": "Hello"}


def test_no_engine_asked_means_nothing_to_show() -> None:
    # A cache or a hosted upstream answered: no prompt was formatted, no raw text came.
    assert TranslationCapture().as_dict() == {"prompt": None, "raw_completion": None}


@pytest.mark.parametrize(
    ("header", "asked"),
    [("translation", True), (" Translation ", True), ("prompt", False), ("", False), (None, False)],
)
def test_header_value(header: str | None, asked: bool) -> None:
    assert translation_debug_requested(header) is asked
