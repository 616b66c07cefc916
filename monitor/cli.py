"""`python -m monitor`: the live dashboard, or one frame with `--once`."""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.live import Live

from monitor.app import Monitor
from monitor.scrape import GatewayScraper

EXIT_UNREACHABLE = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m monitor",
        description="Live terminal dashboard of an inferstack gateway, from its /metrics and "
        "/health/ready. Rates and percentiles cover the last --window seconds.",
        epilog=f"Exit status: 0; with --once, {EXIT_UNREACHABLE} when the gateway could not be "
        "read (the frame then says why).",
    )
    parser.add_argument("--url", default="http://localhost:8000", help="gateway base URL")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes")
    parser.add_argument("--window", type=float, default=30.0, help="rate window in seconds")
    parser.add_argument("--trend", type=float, default=300.0, help="sparkline span, seconds")
    parser.add_argument("--timeout", type=float, default=5.0, help="HTTP timeout, seconds")
    parser.add_argument(
        "--once", action="store_true", help="scrape twice, --interval apart, print and exit"
    )
    parser.add_argument("--no-color", action="store_true", help="plain text, no ANSI styles")
    parser.add_argument("--width", type=int, help="columns (default: the terminal's, else 140)")
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.window <= 0 or args.trend <= 0:
        parser.error("--interval, --window and --trend must be positive")
    return args


def _spark_width(console: Console) -> int:
    return max(10, min(90, console.width - 45))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(color_system=None if args.no_color else "auto", width=args.width)
    if args.width is None and not console.is_terminal:
        console.width = 140
    scraper = GatewayScraper(args.url, timeout_s=args.timeout)
    monitor = Monitor(scraper.scrape, scraper.url, args.interval, args.window, args.trend)
    if args.once:
        monitor.tick()
        time.sleep(args.interval)
        console.print(monitor.tick(_spark_width(console)))
        return EXIT_UNREACHABLE if monitor.last_error else 0
    try:
        with Live(console=console, screen=True, auto_refresh=False) as live:
            while True:
                started = time.monotonic()
                live.update(monitor.tick(_spark_width(console)), refresh=True)
                time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    return 0
