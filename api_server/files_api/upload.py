"""A `multipart/form-data` upload (`file` and `purpose`, as the OpenAI SDK sends them),
streamed into a temporary file as it arrives: memory holds one piece of the body at a time,
and the body is refused (413) as soon as the file passes its limit."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from api_server.errors import InvalidRequestError, RequestTooLargeError, UnsupportedMediaTypeError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
MAX_FIELD_BYTES = 64 * 1024  # purpose and the like: a few words
MAX_PARTS = 16
# Room for the form's other parts, headers and boundaries beside the file itself.
FORM_OVERHEAD_BYTES = MAX_PARTS * (MAX_FIELD_BYTES + 1024)


@dataclass
class Upload:
    path: Path  # the file's bytes, in a temporary file removed after the request
    filename: str
    bytes: int
    fields: dict[str, str]  # the form's other parts (purpose, ...)


@asynccontextmanager
async def received_upload(request: Request, max_file_bytes: int) -> AsyncIterator[Upload]:
    """The request's upload while the block runs; 415 unless multipart/form-data, 413 past
    `max_file_bytes` of file, 400 for a malformed form or one without a `file` part."""
    media_type, options = parse_options_header(request.headers.get("content-type"))
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaTypeError(
            "Upload the file as multipart/form-data, with `file` and `purpose` parts"
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidRequestError("The multipart/form-data body names no boundary")
    limit = max_file_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdecimal() and int(declared) > limit:
        raise RequestTooLargeError(f"Files may be at most {max_file_bytes} bytes")
    with tempfile.TemporaryDirectory(prefix="inferstack-upload-") as folder:
        path = Path(folder) / "upload"
        file = await asyncio.to_thread(path.open, "wb")
        try:
            form = _Form(file, max_file_bytes)
            await form.read(request, boundary, limit)
        finally:
            await asyncio.to_thread(file.close)
        if form.filename is None:
            raise InvalidRequestError(f"The form has no `{FILE_FIELD}` part with a filename")
        yield Upload(path, form.filename, form.file_bytes, form.fields)


@dataclass
class _Form:
    """The parser's callbacks: the file part's bytes wait in `pending` (at most one piece
    of the body) until written off the event loop; other parts are kept, small."""

    file: IO[bytes]
    max_file_bytes: int
    filename: str | None = None
    file_bytes: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    pending: bytearray = field(default_factory=bytearray)
    parts: int = 0
    ended: bool = False
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _name: str | None = None
    _is_file: bool = False
    _value: bytearray = field(default_factory=bytearray)

    async def read(self, request: Request, boundary: bytes, limit: int) -> None:
        callbacks: MultipartCallbacks = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }
        parser = MultipartParser(boundary, callbacks)
        received = 0
        try:
            async for piece in request.stream():
                received += len(piece)
                if received > limit:
                    raise RequestTooLargeError(f"Files may be at most {self.max_file_bytes} bytes")
                parser.write(piece)
                if self.pending:
                    await asyncio.to_thread(self.file.write, bytes(self.pending))
                    self.pending.clear()
            parser.finalize()
        except FormParserError as exc:
            raise InvalidRequestError(f"Malformed multipart/form-data body: {exc}") from exc
        if not self.ended:
            raise InvalidRequestError("The multipart/form-data body ended before its last part")

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidRequestError(f"The form has more than {MAX_PARTS} parts")
        self._headers.clear()
        self._name, self._is_file = None, False
        self._value.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidRequestError("A part of the form has no Content-Disposition name")
        self._name = options[b"name"].decode("utf-8", "replace")
        if self._name == FILE_FIELD and b"filename" in options:
            if self.filename is not None:
                raise InvalidRequestError(f"The form has more than one `{FILE_FIELD}` part")
            self._is_file = True
            self.filename = options[b"filename"].decode("utf-8", "replace") or "upload.jsonl"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.file_bytes += end - start
            if self.file_bytes > self.max_file_bytes:
                raise RequestTooLargeError(f"Files may be at most {self.max_file_bytes} bytes")
            self.pending += data[start:end]
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise InvalidRequestError(f"The form's `{self._name}` part is too long")

    def _part_end(self) -> None:
        if not self._is_file and self._name is not None:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def _end(self) -> None:
        self.ended = True
