"""`/dashboard` serves its page and same-origin assets, and nothing from elsewhere."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
from fastapi.testclient import TestClient

STATIC = files("api_server.dashboard").joinpath("static")
ASSET_TYPES = {
    "/dashboard/static/dashboard.js": "text/javascript",
    "/dashboard/static/metrics.js": "text/javascript",
    "/dashboard/static/dashboard.css": "text/css",
}


def test_page_is_html_with_a_same_origin_policy(client: TestClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "<title>inferstack" in response.text


def test_page_references_only_its_own_assets(client: TestClient) -> None:
    html = client.get("/dashboard").text
    references = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert set(references) == {*ASSET_TYPES, "data:,"}  # data:, is the empty favicon


@pytest.mark.parametrize(("path", "media_type"), ASSET_TYPES.items())
def test_assets_are_served_with_their_types(client: TestClient, path: str, media_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.content == STATIC.joinpath(path.rsplit("/", 1)[1]).read_bytes()


@pytest.mark.parametrize(
    "name", ["index.html", "nope.js", "..%2Frouter.py", "%2E%2E%2F__init__.py"]
)
def test_only_listed_assets_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/dashboard/static/{name}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("name", ["index.html", "dashboard.js", "metrics.js", "dashboard.css"])
def test_no_external_urls(name: str) -> None:
    """No CDN, fonts or beacons: the page must work on a closed network."""
    text = STATIC.joinpath(name).read_text()
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text, re.I)
