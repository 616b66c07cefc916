"""A fixed number of requests shared by the users of one Locust process (`--max-requests`).

A user takes a ticket before it starts a request, not when the request ends: with C users
in flight, counting at the end would let up to C - 1 more start after the N-th. The last
request to finish ends the run, so the report holds exactly N requests, none cut short.

Users are gevent greenlets, which switch only where they wait for I/O; `start` and `finish`
never wait, so each runs whole between switches and needs no lock. The count lives in one
process: it cannot cap a run spread over Locust workers.
"""

from __future__ import annotations


class RequestBudget:
    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError(f"a request budget needs at least 1 request, got {total}")
        self.total = total
        self.started = 0
        self.finished = 0

    def start(self) -> bool:
        """Take a ticket for one request; False once all `total` have been started."""
        if self.started >= self.total:
            return False
        self.started += 1
        return True

    def finish(self) -> bool:
        """Give back a used ticket; True for the last one (the run is done)."""
        self.finished += 1
        return self.finished == self.total
