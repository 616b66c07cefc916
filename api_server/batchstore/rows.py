"""Rows of the version-5 tables to records and back, column for field (a record's fields are
its table's columns, by name): times (the `…_at` fields) as `timestamptz`, JSON (`metadata`,
`errors`) as text."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import orjson

from api_server.batchstore.records import BatchRecord, FileRecord

Record = TypeVar("Record", FileRecord, BatchRecord)
_JSON_FIELDS = frozenset({"metadata", "errors"})


def column_names(record_type: type[FileRecord | BatchRecord]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(record_type))


def insert_statement(table: str, record_type: type[FileRecord | BatchRecord]) -> str:
    names = column_names(record_type)
    values = ", ".join(f"${number}" for number in range(1, len(names) + 1))
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values})"


FILE_COLUMNS = ", ".join(column_names(FileRecord))
INSERT_FILE = insert_statement("files", FileRecord)
INSERT_BATCH = insert_statement("batches", BatchRecord)


def timestamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def row_values(record: FileRecord | BatchRecord) -> tuple[Any, ...]:
    """The record's fields as the arguments of its INSERT (`insert_statement`)."""
    values = []
    for name in column_names(type(record)):
        value = getattr(record, name)
        if name.endswith("_at"):
            value = timestamp(value)
        elif name in _JSON_FIELDS:
            value = json_text(value)
        values.append(value)
    return tuple(values)


def record_of(record_type: type[Record], row: asyncpg.Record) -> Record:
    """The record a row holds (the row may have more columns: a batch's lease)."""
    values: dict[str, Any] = {}
    for name in column_names(record_type):
        value = row[name]
        if value is not None and name.endswith("_at"):
            value = value.timestamp()
        elif value is not None and name in _JSON_FIELDS:
            value = orjson.loads(value)
        values[name] = value
    return record_type(**values)
