"""A model's tool-call rules from the registry (`tools:`), applied to its chat events.

- At most `max_parallel_calls` calls per turn (1 when the client turned parallel calls off):
  the calls beyond are dropped (`on_extra_calls: truncate`) or fail the response (`error`).
- `strict_arguments`: a call's argument fragments are held back until the call is complete,
  checked against the tool's JSON schema, and sent on as one fragment; a call that is not
  JSON, breaks the schema, or names a tool that was not offered fails the response. The
  schema was compiled when the request was read (`api_server.client_schemas`: no `$ref`
  fetched, RE2 patterns) and is checked off the event loop within a time budget.

Every front door, streaming or not, reads the same transformed events, so what a client is
told about calls (their number, their `index` from 0 without gaps) is the same everywhere.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api_server.chat.events import ChatEvent, Finished, ToolCallArgumentsDelta, ToolCallStart
from api_server.errors import ToolArgumentsError, ToolCallLimitError

if TYPE_CHECKING:
    from api_server.chat.conversation import Conversation
    from api_server.client_schemas import ClientSchema
    from api_server.registry import ToolCallSettings

# A call's arguments past this many characters are not parsed: more than any model's
# max_tokens can emit, so only a broken stream gets here.
MAX_ARGUMENT_CHARS = 1 << 20


def call_limit(conversation: Conversation, settings: ToolCallSettings) -> int:
    """The most calls one turn may carry; 0 is no limit."""
    return settings.max_parallel_calls if conversation.parallel_tool_calls else 1


def tool_rules_apply(conversation: Conversation, settings: ToolCallSettings) -> bool:
    """Whether `enforce_tool_rules` could change anything: without it the events are
    passed on as they come, at no cost."""
    if not conversation.offers_tools:
        return False  # the output is not parsed for calls at all
    return settings.strict_arguments or call_limit(conversation, settings) > 0


async def enforce_tool_rules(
    events: AsyncIterator[ChatEvent],
    conversation: Conversation,
    settings: ToolCallSettings,
    model_name: str,
) -> AsyncGenerator[ChatEvent, None]:
    """`events` with `settings` applied; raises ToolCallLimitError / ToolArgumentsError
    (502) when the model broke a rule that cannot be mended by dropping calls."""
    rules = _Rules(conversation, settings, model_name)
    async for event in events:
        for out in await rules.apply(event):
            yield out


@dataclass(slots=True)
class _PendingCall:
    """A strict call whose arguments are held back until it is complete."""

    index: int  # as the client sees it
    name: str
    schema: ClientSchema
    fragments: list[str] = field(default_factory=list)


class _Rules:
    """The per-response state: which calls are kept, renumbered, and held back."""

    def __init__(
        self, conversation: Conversation, settings: ToolCallSettings, model_name: str
    ) -> None:
        self._limit = call_limit(conversation, settings)
        self._on_extra = settings.on_extra_calls
        self._strict = settings.strict_arguments
        self._model = model_name
        self._schemas = {tool.name: tool.schema for tool in conversation.tools}
        self._kept: dict[int, int] = {}  # the parser's index -> the client's
        self._pending: _PendingCall | None = None

    async def apply(self, event: ChatEvent) -> list[ChatEvent]:
        if isinstance(event, ToolCallArgumentsDelta):
            return self._arguments(event)
        # Anything else after a call's arguments means the call is complete.
        out = await self._flush(cut_off=isinstance(event, Finished) and event.reason == "length")
        if isinstance(event, ToolCallStart):
            out.extend(self._start(event))
        else:
            out.append(event)
        return out

    def _start(self, event: ToolCallStart) -> list[ChatEvent]:
        if self._limit and len(self._kept) >= self._limit:
            if self._on_extra == "error":
                raise ToolCallLimitError(
                    f"{self._model} made more than {self._limit} tool call(s) in one turn "
                    f"(call {len(self._kept)} to '{event.name}')"
                )
            return []  # truncate: the call and its arguments never reach the client
        index = len(self._kept)
        self._kept[event.index] = index
        if self._strict:
            if event.name not in self._schemas:
                offered = ", ".join(sorted(self._schemas))
                raise ToolArgumentsError(
                    f"{self._model} called tool '{event.name}', which was not offered "
                    f"(offered: {offered})"
                )
            schema = self._schemas[event.name]
            if schema is not None:
                self._pending = _PendingCall(index, event.name, schema)
        return [ToolCallStart(index, event.name, event.model_id)]

    def _arguments(self, event: ToolCallArgumentsDelta) -> list[ChatEvent]:
        index = self._kept.get(event.index)
        if index is None:
            return []  # a dropped call's
        pending = self._pending
        if pending is not None and pending.index == index:
            pending.fragments.append(event.fragment)
            return []
        return [ToolCallArgumentsDelta(index, event.fragment)]

    async def _flush(self, *, cut_off: bool) -> list[ChatEvent]:
        """The pending call is complete: checked, and its arguments sent as one fragment.
        A call cut off by max_tokens is sent unchecked: the finish reason ("length") tells
        the client, and it is not the model's fault that its arguments do not parse."""
        pending, self._pending = self._pending, None
        if pending is None:
            return []
        text = "".join(pending.fragments)
        if not cut_off:
            await self._check(pending, text)
        return [ToolCallArgumentsDelta(pending.index, text)] if text else []

    async def _check(self, call: _PendingCall, text: str) -> None:
        where = f"{self._model}'s tool call {call.index} to '{call.name}'"
        if len(text) > MAX_ARGUMENT_CHARS:
            raise ToolArgumentsError(
                f"{where}: arguments are longer than {MAX_ARGUMENT_CHARS} characters"
            )
        try:
            # No arguments at all is how parsers render a call of a tool without parameters.
            arguments = json.loads(text or "{}")
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, or a 5,000-digit int
            raise ToolArgumentsError(f"{where}: arguments are not valid JSON ({exc})") from None
        error = await call.schema.check(arguments)
        if error is not None:
            raise ToolArgumentsError(f"{where}: arguments break the tool's schema {error}")


__all__ = ["call_limit", "enforce_tool_rules", "tool_rules_apply"]
