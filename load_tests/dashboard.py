"""The gateway's live dashboard (`{host}/dashboard`) kept as `dashboard.png` in a run's report
folder, taken right after the load ends.

The page computes its rates and percentiles from its own scrapes of `/metrics` (every 2 s,
over a 15 s sliding window): a page opened once the load is over has no scrape from during it
and shows an idle gateway. So the page is opened in headless Chromium as the run starts and
watches the whole load (its charts keep 5 minutes); once the report is written it is given
one more full scrape, then captured.

Never fails the load test: without Chromium it says so in one line, on any error it prints a
warning and the run goes on.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from pathlib import Path

from load_tests.browser import chromium_binary, chromium_page

FILENAME = "dashboard.png"
POLLS = "(Number(document.body.dataset.polls) || 0)"  # the page counts its scrapes here
NAVIGATE_TIMEOUT_S = 30.0
CAPTURE_TIMEOUT_S = 30.0  # from the end of the load to the PNG on disk


class DashboardScreenshot:
    """`open()` as the load starts, `take()` once the report is written (or `cancel()`)."""

    def __init__(self, host: str, report_dir: Path) -> None:
        self.url = f"{host.rstrip('/')}/dashboard"
        self.path = report_dir / FILENAME
        self._load_ended = threading.Event()
        self._cancelled = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Start Chromium on the dashboard in a background thread (nothing without Chromium)."""
        if chromium_binary() is None:
            return
        self._thread = threading.Thread(target=self._run, name="dashboard-screenshot", daemon=True)
        self._thread.start()

    def take(self) -> Path | None:
        """Capture the page now; the PNG's path, or None (after one line saying why)."""
        if self._thread is None:
            print("no chromium: dashboard screenshot skipped (scripts/install_chromium.sh)")
            return None
        self._load_ended.set()
        self._thread.join(NAVIGATE_TIMEOUT_S + CAPTURE_TIMEOUT_S + 30)
        if self._thread.is_alive():
            self._error = TimeoutError("Chromium did not finish")
        if self._error is not None or not self.path.exists():
            error = self._error or RuntimeError("no PNG written")
            print(f"warning: dashboard screenshot of {self.url} failed: {error!r}", file=sys.stderr)
            return None
        return self.path

    def cancel(self) -> None:
        """No screenshot after all: close Chromium."""
        self._cancelled = True
        self._load_ended.set()
        if self._thread is not None:
            self._thread.join(NAVIGATE_TIMEOUT_S + 30)

    def _run(self) -> None:
        try:
            asyncio.run(self._watch())
        except BaseException as error:  # reported by take(), never raised into the run
            self._error = error

    async def _watch(self) -> None:
        with tempfile.TemporaryDirectory(
            prefix="inferstack-dashboard-", ignore_cleanup_errors=True
        ) as tmp:
            async with chromium_page(Path(tmp) / "profile") as page:
                await page.navigate(self.url, timeout_s=NAVIGATE_TIMEOUT_S)
                # A threading.Event (set by the main thread), hence polled.
                while not self._load_ended.is_set():  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
                if self._cancelled:
                    return
                async with asyncio.timeout(CAPTURE_TIMEOUT_S):
                    # One full scrape started after the load ended: the last requests count.
                    polls = await page.evaluate(POLLS)
                    await page.wait_for(f"{POLLS} >= {polls + 2}", timeout_s=CAPTURE_TIMEOUT_S)
                    await page.screenshot(self.path)
