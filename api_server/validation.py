"""Parse request bodies into wire models, turning every failure into a clear 400."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from api_server.errors import InvalidRequestError

WireModel = TypeVar("WireModel", bound=BaseModel)
# Tools one request may offer (OpenAI's own limit): each schema costs a compile.
MAX_TOOLS = 128


class LenientModel(BaseModel):
    """A wire model that keeps fields it does not know (they change nothing here; the
    front door notes them), as every front door's request models are."""

    model_config = ConfigDict(extra="allow")

    def unknown_fields(self) -> list[str]:
        return sorted(self.model_extra or {})


def parse_body(model: type[WireModel], body: bytes) -> WireModel:
    if not body.strip():
        raise InvalidRequestError("The request body is empty; expected a JSON object")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _invalid_request(exc) from None


def parse_object(model: type[WireModel], data: object) -> WireModel:
    """`parse_body` for a body already parsed as JSON (a relayed request's fields)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid_request(exc) from None


def _invalid_request(exc: ValidationError) -> InvalidRequestError:
    # The deepest problem is the telling one: for `str | list[block]`, "not a valid string"
    # is noise next to "unknown block type 'document'" one level down.
    first = max(exc.errors(include_url=False), key=lambda error: len(error["loc"]))
    if first["type"] == "json_invalid":
        return InvalidRequestError(
            f"We could not parse the JSON body of your request: {first['msg']}"
        )
    if first["type"] == "model_type" and not first["loc"]:
        return InvalidRequestError("The request body must be a JSON object")
    param = _param_path(first["loc"])
    message = f"Invalid value for '{param}': {first['msg']}" if param else first["msg"]
    if len(exc.errors()) > 1:
        message += f" (and {len(exc.errors()) - 1} more problem(s))"
    return InvalidRequestError(message, param=param or None)


def _param_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in location:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("str", "list[...]") or "[" in item or item.startswith("function-"):
            # pydantic names union branches in locations; clients know only field names.
            continue
        else:
            parts.append(f".{item}" if parts else item)
    return "".join(parts)
