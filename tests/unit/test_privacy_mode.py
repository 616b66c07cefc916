"""privacy_mode wins over every setting that would keep a request's content."""

from __future__ import annotations

import pytest

from api_server.config import Settings
from api_server.interceptors.config import EventRecorderSpec, PrinterSpec


def test_privacy_mode_forces_content_keepers_off(tmp_path: object) -> None:
    settings = Settings(
        privacy_mode=True,
        cache_enabled=True,
        archive_enabled=True,
        interceptors=[PrinterSpec(), EventRecorderSpec(path=f"{tmp_path}/events.jsonl")],
    )
    assert (settings.cache_enabled, settings.archive_enabled, settings.interceptors) == (
        False,
        False,
        [],
    )
    assert settings.privacy_turned_off == (
        "cache_enabled (exact and semantic caches)",
        "archive_enabled",
        "interceptors (printer, event_recorder)",
    )


def test_privacy_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERSTACK_PRIVACY_MODE", "1")
    monkeypatch.setenv("INFERSTACK_CACHE_ENABLED", "true")
    settings = Settings()
    assert settings.privacy_mode and not settings.cache_enabled


def test_without_privacy_mode_settings_stand() -> None:
    settings = Settings(cache_enabled=True, archive_enabled=True)
    assert (settings.cache_enabled, settings.archive_enabled) == (True, True)
    assert settings.privacy_turned_off == ()
