"""Object keys of archived payloads: `yyyy/mm/dd/<request_id>.json`, by the UTC day the
request was received, so a day's objects list (and expire) together. The request id is the
gateway's (middleware/request_id.py), never the client's: a client reusing an id of its own
cannot overwrite another request's payload."""

from __future__ import annotations

from datetime import UTC, datetime


def archive_key(request_id: str, received_at: datetime) -> str:
    day = received_at.astimezone(UTC)
    return f"{day:%Y/%m/%d}/{request_id}.json"


def check_key(key: str) -> str:
    """Refuse keys that could leave a store's root (`..`, absolute paths, backslashes).
    Request ids are minted hex already; this guards every caller."""
    parts = key.split("/")
    if not key or "\\" in key or "\0" in key or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"invalid object key: {key!r}")
    return key
