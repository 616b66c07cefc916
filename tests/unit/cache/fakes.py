"""Async stand-ins for redis.asyncio.Redis: a dict, one that is down, one that hangs."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError


class DictRedis:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.ttls: dict[str, int | None] = {}

    async def get(self, name: str) -> Any:
        return self.data.get(name)

    async def set(self, name: str, value: bytes, ex: int | None = None) -> Any:
        self.data[name] = value
        self.ttls[name] = ex
        return True


class DownRedis:
    async def get(self, name: str) -> Any:
        raise RedisConnectionError("Connection refused")

    async def set(self, name: str, value: bytes, ex: int | None = None) -> Any:
        raise RedisConnectionError("Connection refused")


class HangingRedis:
    async def get(self, name: str) -> Any:
        await asyncio.sleep(10)

    async def set(self, name: str, value: bytes, ex: int | None = None) -> Any:
        await asyncio.sleep(10)
