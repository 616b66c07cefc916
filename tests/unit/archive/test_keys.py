from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from api_server.archive.object_keys import archive_key, check_key


def test_key_is_the_utc_day_and_the_request_id() -> None:
    received = datetime(2025, 3, 9, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert archive_key("req-1", received) == "2025/03/10/req-1.json"
    assert archive_key("abc", datetime(2025, 12, 1, tzinfo=UTC)) == "2025/12/01/abc.json"


@pytest.mark.parametrize("key", ["2025/01/01/a.json", "a", "x/...json", "a:b/c-d_e.json"])
def test_ordinary_keys_pass(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a/", "a\0b"]
)
def test_keys_that_could_leave_the_root_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        check_key(key)
