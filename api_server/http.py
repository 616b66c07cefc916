"""Response helpers shared by every router."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


def json_response(
    payload: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    # orjson directly: FastAPI's jsonable_encoder walk is the slowest part of a small response.
    return Response(
        orjson.dumps(payload),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
