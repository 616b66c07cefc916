"""The Batch API's logic: create a batch from one of the caller's files (its every line
checked first: a 400 names the first bad one), and get, list and cancel only the caller's
own batches (another tenant's are 404, as absent ones). The runner does the rest."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from api_server.auth.principal import Principal
from api_server.batches.input import PARAM, InputSummary, check_input
from api_server.batches.protocol import (
    COMPLETION_WINDOWS_S,
    ENDPOINTS,
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    BatchCreateRequest,
    batch_list,
    batch_object,
)
from api_server.batchstore.lines import MissingObjectError, stored_lines
from api_server.batchstore.records import (
    CANCELLABLE_STATUSES,
    BatchRecord,
    FileRecord,
    new_batch_id,
    owner_of,
    plausible_id,
    storable,
)
from api_server.batchstore.storage import storage_errors_as_503
from api_server.embeddings_api.service import names_model
from api_server.errors import (
    BatchNotFoundError,
    InferstackError,
    InvalidRequestError,
    PermissionDeniedError,
    StoredFileNotFoundError,
)
from api_server.files_api.service import required_storage
from api_server.state import AppState
from api_server.validation import parse_body


class BatchesService:
    def __init__(self, state: AppState, principal: Principal) -> None:
        self.state = state
        self.principal = principal
        self.owner = owner_of(principal.tenant)
        self.storage = required_storage(state)

    async def create(self, body: bytes) -> dict[str, Any]:
        request = parse_body(BatchCreateRequest, body)
        window_s = _checked(request)
        file = await self.storage.lookup(self.storage.files.get, self.owner, request.input_file_id)
        if file is None:
            raise StoredFileNotFoundError(
                f"No file with id {request.input_file_id!r}", param="input_file_id"
            )
        if file.purpose != "batch":
            raise InvalidRequestError(
                f"File {file.id} has purpose {file.purpose!r}; a batch's input is uploaded "
                "with purpose 'batch'",
                param="input_file_id",
            )
        summary = await self._checked_input(file, request.endpoint)
        self._check_model(request.endpoint, summary)
        now = time.time()
        record = BatchRecord(
            id=new_batch_id(),
            owner=self.owner,
            api_key_id=self.principal.key_id,
            endpoint=request.endpoint,
            model=summary.model,
            input_file_id=file.id,
            input_object_key=file.object_key,
            completion_window=request.completion_window,
            status="validating",  # until a runner takes it up
            metadata=request.metadata,
            total=summary.requests,
            created_at=now,
            expires_at=now + window_s,
        )
        async with storage_errors_as_503():
            await self.storage.batches.create(record)
        return batch_object(record)

    async def get(self, batch_id: str) -> dict[str, Any]:
        record = await self.storage.lookup(self.storage.batches.get, self.owner, batch_id)
        if record is None:
            raise BatchNotFoundError(f"No batch with id {batch_id!r}", param="batch_id")
        return batch_object(record)

    async def list(self, *, after: str | None, limit: int) -> dict[str, Any]:
        if after is not None and not plausible_id(after):
            raise InvalidRequestError("after must be a batch id", param="after")
        async with storage_errors_as_503():
            await self.storage.ready()
            records = await self.storage.batches.page(self.owner, after=after, limit=limit)
        return batch_list(records, limit)

    async def cancel(self, batch_id: str) -> dict[str, Any]:
        cancel = partial(self.storage.batches.cancel, now=time.time())
        record = await self.storage.lookup(cancel, self.owner, batch_id)
        if record is None:
            raise BatchNotFoundError(f"No batch with id {batch_id!r}", param="batch_id")
        if record.status not in ("cancelling", "cancelled"):
            allowed = " or ".join(CANCELLABLE_STATUSES)
            raise InvalidRequestError(
                f"Batch {batch_id} is {record.status}; only a {allowed} batch can be cancelled",
                param="batch_id",
            )
        return batch_object(record)

    async def _checked_input(self, file: FileRecord, endpoint: str) -> InputSummary:
        lines = stored_lines(
            self.storage.objects, file.object_key, self.state.settings.max_body_bytes
        )
        async with storage_errors_as_503():
            try:
                return await check_input(lines, endpoint, self.state.settings.batch_max_lines)
            except MissingObjectError:
                raise StoredFileNotFoundError(
                    f"The contents of file {file.id} are gone", param="input_file_id"
                ) from None
            finally:
                await lines.aclose()

    def _check_model(self, endpoint: str, summary: InputSummary) -> None:
        """The batch's model exists here and the caller may use it (checked once, now)."""
        where = f"Line {summary.first_line} of the input file"
        if endpoint == "/v1/embeddings":
            embedder = self.state.embedder
            if embedder is None or not names_model(summary.model, embedder.model_name):
                raise InvalidRequestError(
                    f"{where}: model {summary.model!r} makes no embeddings here", param=PARAM
                )
            if not self.principal.may_use_named(embedder.model_name):
                raise PermissionDeniedError(f"This key may not use the model {summary.model!r}")
            return
        try:
            runtime = self.state.runtime_for(summary.model)
        except InferstackError as exc:
            raise InvalidRequestError(f"{where}: {exc.message}", param=PARAM) from None
        if not self.principal.may_use(runtime.spec):
            raise PermissionDeniedError(f"This key may not use the model {runtime.spec.name!r}")


def _checked(request: BatchCreateRequest) -> int:
    """The completion window in seconds, once the request's fields are checked."""
    if request.endpoint not in ENDPOINTS:
        raise InvalidRequestError(
            f"endpoint {request.endpoint!r} is not one a batch can run: {', '.join(ENDPOINTS)}",
            param="endpoint",
        )
    window_s = COMPLETION_WINDOWS_S.get(request.completion_window)
    if window_s is None:
        raise InvalidRequestError(
            f"completion_window must be one of {', '.join(COMPLETION_WINDOWS_S)}",
            param="completion_window",
        )
    metadata = request.metadata or {}
    if len(metadata) > METADATA_MAX_KEYS:
        raise InvalidRequestError(
            f"metadata holds at most {METADATA_MAX_KEYS} keys", param="metadata"
        )
    for key, value in metadata.items():
        if not storable(key) or not storable(value):
            raise InvalidRequestError(
                "metadata holds a NUL or an unpaired surrogate", param="metadata"
            )
        if len(key) > METADATA_MAX_KEY_CHARS or len(value) > METADATA_MAX_VALUE_CHARS:
            raise InvalidRequestError(
                f"metadata keys are at most {METADATA_MAX_KEY_CHARS} characters, values at "
                f"most {METADATA_MAX_VALUE_CHARS}",
                param="metadata",
            )
    return window_s
