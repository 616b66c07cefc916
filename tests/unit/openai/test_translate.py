"""OpenAI request translation: images as the client sent them."""

from __future__ import annotations

import pytest

from api_server.chat.conversation import ImageInput
from api_server.errors import UnsupportedFeatureError
from api_server.openai.protocol import ChatCompletionRequest
from api_server.openai.translate import image_from_url, to_conversation


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("data:image/png;base64,AAAA", ImageInput(media_type="image/png", data="AAAA")),
        ("data:image/jpeg;base64,/9j/", ImageInput(media_type="image/jpeg", data="/9j/")),
        ("data:;base64,AAAA", ImageInput(media_type="image/png", data="AAAA")),
        ("https://example.com/a.png", ImageInput(url="https://example.com/a.png")),
        ("data:image/svg+xml,<svg/>", ImageInput(url="data:image/svg+xml,<svg/>")),  # not base64
    ],
)
def test_image_urls_as_sent(url: str, expected: ImageInput) -> None:
    assert image_from_url(url) == expected


IMAGE_MESSAGE = {
    "role": "user",
    "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ],
}


def test_images_pass_for_a_model_that_takes_them() -> None:
    request = ChatCompletionRequest.model_validate({"model": "m", "messages": [IMAGE_MESSAGE]})
    [message] = to_conversation(request, accepts_images=True).messages
    assert message.content == "What is this?"
    assert message.images == (ImageInput(url="https://example.com/a.png"),)


def test_images_are_refused_for_a_text_model() -> None:
    request = ChatCompletionRequest.model_validate({"model": "m", "messages": [IMAGE_MESSAGE]})
    with pytest.raises(UnsupportedFeatureError, match="text only"):
        to_conversation(request)
