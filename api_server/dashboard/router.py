"""Routes of the web dashboard: the page and its same-origin static files.

The page is static; its script polls `/metrics` and `/health` and does the arithmetic
(rates, histogram quantiles) in the browser, so the gateway does no work for it beyond
serving those two endpoints.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.exceptions import HTTPException

router = APIRouter(prefix="/dashboard", include_in_schema=False)

_STATIC_TYPES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "metrics.js": "text/javascript; charset=utf-8",
}
# Same-origin only: the page must work on a closed network, and this keeps it honest.
_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


@cache
def _read(name: str) -> bytes:
    return files(__package__).joinpath("static", name).read_bytes()


@router.get("")
async def dashboard_page() -> Response:
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=_HEADERS)


@router.get("/static/{name}")
async def dashboard_static(name: str) -> Response:
    media_type = _STATIC_TYPES.get(name)
    if media_type is None:  # a fixed list: no path from the URL ever reaches the filesystem
        raise HTTPException(404, f"No dashboard file {name!r}")
    return Response(_read(name), media_type=media_type, headers=_HEADERS)
