"""The `interceptors:` list in the gateway's YAML: one entry per interceptor, told apart by
`type`. Unknown keys are refused so a misspelt option fails at startup, not silently."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


class PrinterSpec(_Spec):
    """One console line when a request arrives and one when its response ends."""

    type: Literal["printer"] = "printer"
    stream: Literal["stdout", "stderr"] = "stderr"
    color: bool | None = None  # None: colour when the stream is a terminal


class MessageLoggerSpec(_Spec):
    """Each finished exchange as one JSON line, rotated like RotatingFileHandler."""

    type: Literal["message_logger"] = "message_logger"
    path: Path = Path(".state/messages/messages.jsonl")
    max_bytes: PositiveInt = 10 * 1024 * 1024
    backup_count: NonNegativeInt = 5


class EventRecorderSpec(_Spec):
    """Each exchange with its timing, enough to re-send it (`inferstack replay`).
    Bounded: each body (request, response) is cut to `max_body_bytes` and marked truncated;
    once the file holds `max_bytes`, further exchanges are not recorded (counted, logged)."""

    type: Literal["event_recorder"] = "event_recorder"
    path: Path = Path(".state/recordings/recording.jsonl")
    max_body_bytes: PositiveInt = 1024 * 1024
    max_bytes: PositiveInt = 256 * 1024 * 1024


InterceptorSpec = Annotated[
    PrinterSpec | MessageLoggerSpec | EventRecorderSpec, Field(discriminator="type")
]
