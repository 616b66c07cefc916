"""The Responses API: create a response over the chat domain (streamed or not), stored per
tenant when asked; read, delete and list the input items of stored responses.

A response continues another (`previous_response_id`) by replaying the stored chain's
items before its own input. Chains are bounded (MAX_CHAIN_DEPTH responses, MAX_HISTORY_BYTES
of items): a request past either is refused before anything is read or generated, and the
model's context length is checked on the prompt as for any chat. A stored response is
written before the client hears it is complete, so the next turn can always chain onto it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from api_server.chat.conversation import Conversation
from api_server.chat.events import ChatEvent, Finished
from api_server.chat.streaming import JsonResult
from api_server.errors import (
    InvalidRequestError,
    ResponseNotFoundError,
    UnsupportedFeatureError,
)
from api_server.frontdoor.service import FrontDoorResult, FrontDoorService, log_unknown_fields
from api_server.generation.request import ChatRequest
from api_server.response_store.record import ResponseStore, StoredResponse
from api_server.responses.listing import item_page
from api_server.responses.protocol import InputItem, ResponsesRequest
from api_server.responses.render import (
    ResponseOutput,
    ResponseStreamRenderer,
    assemble,
    new_id,
)
from api_server.responses.translate import (
    input_items,
    output_format,
    parse_items,
    refuse_unsupported,
    request_echo,
    request_items,
    to_conversation,
    to_sampling,
)
from api_server.tracking import RequestTracker
from api_server.validation import parse_body

logger = logging.getLogger(__name__)

RESPONSES_ENDPOINT = "/v1/responses"
# The most responses one conversation may chain (previous_response_id), and the most JSON
# its items may add up to: what one request may make the gateway read back and replay.
MAX_CHAIN_DEPTH = 100
MAX_HISTORY_BYTES = 16 * 1024 * 1024


class ResponsesService(FrontDoorService):
    api_flavour = "openai"

    async def create(self, body: bytes) -> FrontDoorResult:
        return await self._tracked(RESPONSES_ENDPOINT, self._create, body)

    async def retrieve(self, response_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        if params.get("stream", "false").lower() == "true":
            raise UnsupportedFeatureError(
                "Streaming a stored response again is not supported", param="stream"
            )
        return (await self._stored(response_id)).as_response()

    async def delete(self, response_id: str) -> dict[str, Any]:
        store = self._store_for(response_id)
        if not await store.delete(self.principal.tenant, response_id):
            raise _not_found(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    async def input_items(self, response_id: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The items the response's model read (its chain's and its own input), paged."""
        store = self._store_for(response_id)
        chain = await store.chain(self.principal.tenant, response_id, MAX_CHAIN_DEPTH)
        if not chain:
            raise _not_found(response_id)
        *earlier, record = chain
        return item_page([*_history(earlier), *record.input_items], params)

    async def _create(self, body: bytes, tracker: RequestTracker) -> FrontDoorResult:
        request = parse_body(ResponsesRequest, body)
        log_unknown_fields(request.unknown_fields(), RESPONSES_ENDPOINT)
        refuse_unsupported(request)
        runtime = self.state.runtime_for(request.model)
        await self._admit(runtime, tracker, stream=request.stream, end_user=request.user)
        items = request_items(request)
        own_items = input_items(items, new_id)
        chain = await self._chain(request.previous_response_id, own_items)
        # Off the event loop with tools (their schemas compile) or a chain to read back.
        conversation = await self._translated(
            bool(request.tools) or bool(chain),
            _conversation,
            chain,
            items,
            request,
            runtime.spec.accepts_images,
        )
        structured = await self._translated(_has_schema(request), output_format, request)
        store = self.state.response_store if request.store else None
        sampling = to_sampling(
            request, runtime.spec, self._default_temperature(runtime), structured
        )
        output = ResponseOutput(
            runtime.spec.name, request_echo(request, sampling, stored=store is not None)
        )
        chat = ChatRequest(
            model=runtime,
            conversation=conversation,
            sampling=sampling,
            request_id=self.request_id,
            client_headers=self.client_headers,
            priority=self.engine_priority,
            end_user=request.user,
        )
        generation = await self._cached_generation(chat, tracker, paced=request.stream)
        events = tracker.observed(generation.events)
        if store is not None:
            last = chain[-1] if chain else None
            events = self._stored_when_finished(events, store, output, own_items, last)
        if request.stream:
            renderer = ResponseStreamRenderer(output)
            return await self._stream(
                tracker,
                events,
                renderer.render,
                renderer.render_error,
                renderer.opening(),
                generation.headers,
            )
        return JsonResult(await assemble(output, events), generation.headers)

    async def _chain(
        self, previous_response_id: str | None, own_items: list[dict[str, Any]]
    ) -> list[StoredResponse]:
        """The stored responses a request continues, oldest first (none without
        previous_response_id); 404 for one this caller has not stored, 400 past the bounds."""
        if previous_response_id is None:
            return []
        param = "previous_response_id"
        store = self.state.response_store
        if store is None:
            raise InvalidRequestError(
                "previous_response_id needs stored responses, and this gateway stores none: "
                "it has no database (database_url). Send the whole conversation as input",
                param=param,
            )
        chain = await store.chain(self.principal.tenant, previous_response_id, MAX_CHAIN_DEPTH)
        if not chain:
            raise _not_found(previous_response_id, param=param)
        newest = chain[-1]
        if newest.depth >= MAX_CHAIN_DEPTH:
            raise InvalidRequestError(
                f"A conversation may chain at most {MAX_CHAIN_DEPTH} responses; start a new "
                "one (send what matters of it as input)",
                param=param,
            )
        if len(chain) != newest.depth:
            raise ResponseNotFoundError(
                f"Previous response '{previous_response_id}' continues a response that was "
                "deleted; its conversation cannot be continued",
                param=param,
            )
        if newest.history_bytes + _json_size(own_items) > MAX_HISTORY_BYTES:
            raise InvalidRequestError(
                f"The conversation would exceed {MAX_HISTORY_BYTES} bytes of stored items; "
                "start a new one",
                param=param,
            )
        return chain

    async def _stored_when_finished(
        self,
        events: AsyncGenerator[ChatEvent, None],
        store: ResponseStore,
        output: ResponseOutput,
        own_items: list[dict[str, Any]],
        previous: StoredResponse | None,
    ) -> AsyncGenerator[ChatEvent, None]:
        """`events`, with the response stored before its end goes out (a failure to store
        fails the response: the client asked for it kept)."""
        try:
            async for event in events:
                if isinstance(event, Finished):
                    final = output.finish(event)
                    outputs: list[dict[str, Any]] = final["output"]
                    await store.save(
                        StoredResponse(
                            id=output.id,
                            tenant=self.principal.tenant,
                            created_at=output.created_at,
                            model=output.model,
                            previous_response_id=previous.id if previous else None,
                            input_items=own_items,
                            output_items=outputs,
                            response={k: v for k, v in final.items() if k != "output"},
                            depth=(previous.depth if previous else 0) + 1,
                            history_bytes=(previous.history_bytes if previous else 0)
                            + _json_size(own_items)
                            + _json_size(outputs),
                        )
                    )
                yield event
        finally:
            await events.aclose()  # close the engine stream now, not at garbage collection

    async def _stored(self, response_id: str) -> StoredResponse:
        store = self._store_for(response_id)
        record = await store.get(self.principal.tenant, response_id)
        if record is None:
            raise _not_found(response_id)
        return record

    def _store_for(self, response_id: str) -> ResponseStore:
        store = self.state.response_store
        if store is None:
            raise ResponseNotFoundError(
                f"No response with id '{response_id}': this gateway stores no responses "
                "(it has no database)"
            )
        return store


def _conversation(
    chain: list[StoredResponse],
    items: list[InputItem],
    request: ResponsesRequest,
    accepts_images: bool,
) -> Conversation:
    return to_conversation(parse_items(_history(chain)), items, request, accepts_images)


def _history(chain: list[StoredResponse]) -> list[dict[str, Any]]:
    """The items of stored responses in conversation order: each one's input, then output."""
    return [item for record in chain for item in (*record.input_items, *record.output_items)]


def _has_schema(request: ResponsesRequest) -> bool:
    """A JSON schema to compile: off the event loop, as tool schemas are."""
    text_format = request.text.format if request.text is not None else None
    return bool(text_format) and (text_format or {}).get("type") == "json_schema"


def _json_size(items: list[dict[str, Any]]) -> int:
    return len(orjson.dumps(items))


def _not_found(response_id: str, param: str | None = None) -> ResponseNotFoundError:
    return ResponseNotFoundError(f"Response with id '{response_id}' not found.", param=param)
