"""A headless Chromium page driven over the DevTools protocol (aiohttp's websocket client).

Chromium is Debian's `chromium` (`scripts/install_chromium.sh`); `chromium_binary()` says
whether one is on PATH. Used by the load test's dashboard screenshot and by
`tests/integration/test_dashboard.py`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

WIDTH, HEIGHT = 1440, 1000
# The network may be closed: nothing that phones home, no sandbox (root in CI), no GPU.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    f"--window-size={WIDTH},{HEIGHT}",
    "--remote-debugging-port=0",
)
CALL_TIMEOUT_S = 30.0


class BrowserError(Exception):
    """Chromium did not start, a DevTools call failed, or a page expression threw or timed
    out."""


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class Page:
    """One Chromium tab over the DevTools protocol; collects console errors, uncaught
    exceptions and failed loads into `errors`."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())
        self.errors: list[str] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        await self._ws.send_json({"id": call_id, "method": method, "params": params})
        try:
            return await asyncio.wait_for(future, timeout=CALL_TIMEOUT_S)
        except TimeoutError:
            self._pending.pop(call_id, None)
            raise BrowserError(f"DevTools: no answer to {method} in {CALL_TIMEOUT_S:g} s") from None

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def navigate(self, url: str, timeout_s: float = 30) -> None:
        reply = await self.send("Page.navigate", url=url)
        if error := reply.get("errorText"):  # refused, DNS, ...: fail now, not on the timeout
            raise BrowserError(f"{url}: {error}")
        await self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'",
            timeout_s,
        )

    async def wait_for(self, expression: str, timeout_s: float) -> Any:
        """Evaluate `expression` until it is truthy (an exception counts as not yet)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if value := await self.evaluate(expression):
                    return value
            except BrowserError as error:
                last = str(error)
            else:
                last = "falsy"
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out on {expression} ({last}); errors: {self.errors}")
            await asyncio.sleep(0.25)

    async def screenshot(self, path: Path) -> None:
        """The whole page as a PNG, however tall."""
        height = await self.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}
        shot = await self.send(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))

    async def close(self) -> None:
        self._reader.cancel()
        await self._ws.close()

    async def _read(self) -> None:
        async for message in self._ws:
            data = message.json()
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is None or future.done():
                    continue  # its caller timed out
                if "error" in data:
                    future.set_exception(BrowserError(f"DevTools: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
                continue
            params = data.get("params", {})
            match data.get("method"):
                case "Runtime.consoleAPICalled" if params["type"] in ("error", "assert"):
                    self.errors.append(f"console: {[a.get('value') for a in params['args']]}")
                case "Runtime.exceptionThrown":
                    self.errors.append(f"exception: {params['exceptionDetails']}")
                case "Log.entryAdded" if params["entry"]["level"] == "error":
                    entry = params["entry"]
                    self.errors.append(f"{entry['source']}: {entry['text']} {entry.get('url')}")


@contextlib.asynccontextmanager
async def chromium_page(profile: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium (own profile folder `profile`, its output in
    `<profile>.log` beside it) with one blank tab, domains enabled before any navigation so
    no message is missed. Chromium is stopped when the block ends."""
    binary = chromium_binary()
    if binary is None:
        raise BrowserError("no chromium on PATH (scripts/install_chromium.sh)")
    argv = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"]
    log_path = profile.parent / f"{profile.name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(*argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.returncode is not None or time.monotonic() > deadline:
                raise BrowserError(f"chromium did not start; see {log_path}")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            async with session.ws_connect(url, max_msg_size=0) as ws:
                page = Page(ws)
                for domain in ("Page", "Runtime", "Log"):
                    await page.send(f"{domain}.enable")
                try:
                    yield page
                finally:
                    await page.close()
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()
