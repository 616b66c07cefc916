"""The native stack's own secrets: made once, owner-only, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.secrets import redacted, stack_secret


def test_a_secret_is_made_once_and_kept_owner_only(tmp_path: Path) -> None:
    first = stack_secret(tmp_path, "redis-password")
    assert stack_secret(tmp_path, "redis-password") == first
    assert stack_secret(tmp_path, "other") != first
    path = tmp_path / "secrets" / "redis-password"
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    path.write_text("")  # emptied: a new one, owner-only again
    again = stack_secret(tmp_path, "redis-password")
    assert again and again != first
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("postgres://u:pw@h:5432/d", "postgres://u:***@h:5432/d"),
        ("postgres://u@h:5432/d", "postgres://u@h:5432/d"),
        ("http://127.0.0.1:8000/health", "http://127.0.0.1:8000/health"),
    ],
)
def test_passwords_are_redacted_in_messages(url: str, shown: str) -> None:
    assert redacted(url) == shown
