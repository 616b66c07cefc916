"""Stop strings for engines that stream them back: MAX Serve stops at a stop string but keeps
it in the text it returns (seen with 26.7: stop ["5"] → "1, 2, 3, 4, 5") and does not say
which one it was. OpenAI's contract is the text before the stop, and Anthropic clients are
owed the stop string itself, so the gateway cuts the text at the first stop string and
remembers which. Text that could be the start of a stop string is held back until the next
piece of text settles it, so a stop split over two chunks never reaches the client.
"""

from __future__ import annotations


class StopStringCutter:
    """`stopped` is the stop string that ended the text, once one has."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(stop for stop in stops if stop)
        self._held = ""
        self.stopped: str | None = None

    def feed(self, text: str) -> str:
        """The next piece of text, less what must wait or comes after a stop."""
        if self.stopped is not None:
            return ""
        pending = self._held + text
        first = min(
            ((at, stop) for stop in self._stops if (at := pending.find(stop)) >= 0),
            default=None,
        )
        if first is not None:
            at, stop = first
            self._held, self.stopped = "", stop
            return pending[:at]
        keep = self._longest_stop_prefix_at_end(pending)
        self._held = pending[len(pending) - keep :] if keep else ""
        return pending[: len(pending) - keep]

    def finish(self) -> str:
        """The text still held back once the engine has finished: no stop came after all."""
        held, self._held = self._held, ""
        return held

    def _longest_stop_prefix_at_end(self, text: str) -> int:
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest
