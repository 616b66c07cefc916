"""Which replicas served each prompt prefix lately, so the next prompt that shares it (the
same long system prompt, the next turn of a conversation) goes where an engine still holds
that prefix in its KV cache: a prefix every replica served (a common system prompt) leaves
the choice to load, one only a single replica served (a conversation's) picks that one.

The gateway formats every local prompt itself, so it knows the exact text the engine will
see. A prompt is cut into whole blocks of `block_bytes` (UTF-8); block i's key is a stable
hash of everything up to its end (a chain), so two prompts share key i exactly when they
share their first i+1 blocks. Keys are stable across processes (not `hash()`), which lets
gateway workers share them through Redis: CRC-32 and Adler-32 side by side, both of which
chain block to block in C (a cryptographic hash per block cost twice the time; a collision
here only costs one request a cache-blind route).

Bounded: at most `max_entries` keys, the least recently used dropped first.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Sequence


def prefix_keys(text: str, block_bytes: int, max_blocks: int) -> tuple[int, ...]:
    """The chained key of each whole block of `text`, the first `max_blocks` of them (a
    prompt shorter than one block has none: too short to be worth routing for)."""
    data = memoryview(text.encode())
    crc, adler = 0, 1
    keys: list[int] = []
    end = min(len(data) // block_bytes, max_blocks) * block_bytes
    for start in range(0, end, block_bytes):
        block = data[start : start + block_bytes]
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
        keys.append(crc << 32 | adler)
    return tuple(keys)


class PrefixIndex:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._owner: OrderedDict[int, int] = OrderedDict()  # key -> replicas (bit i: replica i)

    def __len__(self) -> int:
        return len(self._owner)

    def longest_match(self, keys: Sequence[int]) -> tuple[int, int] | None:
        """(blocks matched, the replicas that served them: bit i for replica i) for the
        longest prefix of `keys` the index holds; None when it holds not even the first.

        Binary search: a prompt's keys are recorded together and its shorter prefixes are
        refreshed by every prompt that shares them, so a held key's predecessors are held."""
        owner = self._owner
        low, high = 0, len(keys)  # keys[:low] held; keys[high:] taken as not held
        while low < high:
            middle = (low + high + 1) // 2
            if keys[middle - 1] in owner:
                low = middle
            else:
                high = middle - 1
        if low == 0:
            return None
        return low, owner[keys[low - 1]]

    def record(self, keys: Sequence[int], replica: int) -> None:
        """`replica` now holds every prefix in `keys` too (shortest first, so the deepest is
        the most recently used and the last to go)."""
        owner = self._owner
        bit = 1 << replica
        for key in keys:
            owner[key] = owner.get(key, 0) | bit
            owner.move_to_end(key)
        while len(owner) > self.max_entries:
            owner.popitem(last=False)

    def forget_replica(self, replica: int) -> None:
        """A replica that restarted holds nothing any more."""
        bit = 1 << replica
        for key in [key for key, owners in self._owner.items() if owners & bit]:
            owners = self._owner[key] & ~bit
            if owners:
                self._owner[key] = owners
            else:
                del self._owner[key]
