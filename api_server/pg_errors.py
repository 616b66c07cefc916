"""What a PostgreSQL database that is down, slow or refusing looks like through asyncpg:
each part of the gateway that queries one turns these into its own 503."""

from __future__ import annotations

import asyncpg

DATABASE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
