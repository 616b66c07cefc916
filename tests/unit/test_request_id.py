"""The request id is the gateway's; a client's own id is kept and echoed apart from it."""

from __future__ import annotations

import pytest

from api_server.middleware.request_id import client_request_id


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"x-request-id", b"trace-7")], "trace-7"),
        ([(b"x-client-request-id", b"oai-1")], "oai-1"),
        # OpenAI's header wins over the generic one, whatever the order.
        ([(b"x-request-id", b"generic"), (b"x-client-request-id", b"oai-1")], "oai-1"),
        ([(b"x-request-id", b"a" * 128)], "a" * 128),
        ([(b"x-request-id", b"a" * 129)], None),
        ([(b"x-request-id", b"trace-7\n")], None),  # `$` would have let the newline by
        ([(b"x-request-id", b"bad id")], None),
        ([(b"x-request-id", b"")], None),
        ([], None),
    ],
)
def test_client_request_id(headers: list[tuple[bytes, bytes]], expected: str | None) -> None:
    assert client_request_id(headers) == expected
