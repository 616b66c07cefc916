"""A suite of JSON schemas for structured outputs against a real model: nested objects,
arrays, enums, required and optional properties, bounded integers, nullable values,
references, tuples and anchored patterns. Strings and arrays are bounded (maxLength,
maxItems) as a client asking a small model for data should bound them: an unbounded string
lets the model write until max_tokens, and a cut answer is no JSON. Each entry: a name, the
question, the schema."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def text(max_length: int = 40, min_length: int = 1) -> Schema:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def integer(minimum: int, maximum: int) -> Schema:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def strings(max_items: int = 3, min_items: int = 1, max_length: int = 20) -> Schema:
    return {
        "type": "array",
        "items": text(max_length),
        "minItems": min_items,
        "maxItems": max_items,
    }


def obj(required: list[str] | None = None, /, **properties: Schema) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def enum(*values: Any) -> Schema:
    return {"enum": list(values)}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


ADDRESS = obj(street=text(), city=text(30), postcode={"type": "string", "pattern": "^[0-9]{5}$"})
PERSON = obj(name=text(30), age=integer(0, 120))

SCHEMAS: list[tuple[str, str, Schema]] = [
    # Flat objects
    ("city", "Name a city and its country.", obj(city=text(30), country=text(30))),
    ("person", "Describe a person.", PERSON),
    ("flag", "Is water wet?", obj(answer={"type": "boolean"})),
    ("score", "Rate the movie Jaws from 1 to 10.", obj(score=integer(1, 10))),
    ("year", "When did the Berlin wall fall?", obj(year=integer(1900, 2100))),
    ("negative", "A temperature below freezing in Celsius.", obj(celsius=integer(-60, -1))),
    ("ratio", "Any number.", obj(value={"type": "number"})),
    ("nothing", "Say nothing.", obj(value={"type": "null"})),
    ("color", "Pick a primary color.", obj(color=enum("red", "yellow", "blue"))),
    ("size", "Pick a shirt size.", obj(size=enum("S", "M", "L", "XL"))),
    ("mixed-enum", "Pick one.", obj(choice=enum("one", 2, True, None))),
    ("const", "Confirm.", obj(status={"const": "ok"}, note=text(30))),
    (
        "title-year",
        "A book with its publication year.",
        obj(title=text(40), author=text(30), year=integer(1450, 2030)),
    ),
    ("product", "A product and its price in cents.", obj(name=text(), cents=integer(1, 100000))),
    (
        "weather",
        "The weather in Paris.",
        obj(city=text(30), celsius=integer(-30, 50), sky=enum("sunny", "cloudy", "rainy")),
    ),
    # Optional properties
    ("optional-one", "A user, nickname if any.", obj(["name"], name=text(30), nickname=text(20))),
    ("optional-all", "Anything about a dog.", obj([], name=text(20), age=integer(0, 25))),
    (
        "optional-some",
        "A recipe.",
        obj(["dish", "minutes"], dish=text(30), minutes=integer(1, 600), cuisine=text(20)),
    ),
    # Nested objects
    ("nested-address", "A person's address.", obj(name=text(30), address=ADDRESS)),
    (
        "nested-two",
        "A company and its CEO.",
        obj(company=text(30), ceo=PERSON, founded=integer(1800, 2030)),
    ),
    (
        "nested-three",
        "An order.",
        obj(order=obj(id=integer(1, 99999), customer=obj(name=text(30), vip={"type": "boolean"}))),
    ),
    (
        "nested-optional",
        "A trip.",
        obj(["from", "to"], **{"from": text(30), "to": text(30), "stop": obj(city=text(30))}),
    ),
    ("point", "A point on a grid.", obj(point=obj(x=integer(-100, 100), y=integer(-100, 100)))),
    (
        "rect",
        "A rectangle.",
        obj(
            top_left=obj(x=integer(0, 1000), y=integer(0, 1000)),
            size=obj(w=integer(1, 1000), h=integer(1, 1000)),
        ),
    ),
    # Arrays
    ("colors", "List some colors.", obj(colors=strings())),
    (
        "numbers",
        "Three small numbers.",
        obj(numbers={"type": "array", "items": integer(0, 9), "minItems": 3, "maxItems": 3}),
    ),
    ("empty-ok", "Your allergies, if any.", obj(allergies=strings(3, 0))),
    (
        "people",
        "Two people.",
        obj(people={"type": "array", "items": PERSON, "minItems": 2, "maxItems": 2}),
    ),
    (
        "enum-list",
        "Pick weekdays.",
        obj(
            days={
                "type": "array",
                "items": enum("mon", "tue", "wed", "thu", "fri"),
                "minItems": 1,
                "maxItems": 5,
            }
        ),
    ),
    (
        "matrix",
        "A 2x2 matrix.",
        obj(
            rows={
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"type": "array", "items": integer(0, 9), "minItems": 2, "maxItems": 2},
            }
        ),
    ),
    (
        "top-array",
        "List fruits.",
        {"type": "array", "items": text(20), "minItems": 1, "maxItems": 4},
    ),
    (
        "top-array-objects",
        "List two cities with populations.",
        {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": obj(city=text(30), population=integer(0, 40_000_000)),
        },
    ),
    (
        "tags-and-scores",
        "A blog post.",
        obj(
            title=text(),
            tags=strings(4),
            scores={"type": "array", "items": integer(0, 5), "maxItems": 3},
        ),
    ),
    (
        "tuple",
        "A coordinate pair.",
        obj(
            pair={
                "type": "array",
                "prefixItems": [integer(-90, 90), integer(-180, 180)],
                "minItems": 2,
                "maxItems": 2,
            }
        ),
    ),
    # Nullable and alternatives
    ("nullable-string", "A middle name, if any.", obj(middle=nullable(text(20)))),
    ("nullable-int", "A phone extension, if any.", obj(extension=nullable(integer(1, 9999)))),
    (
        "any-of-types",
        "An id.",
        obj(id={"anyOf": [integer(1, 1000), {"type": "string", "pattern": "^[A-Z]{3}$"}]}),
    ),
    (
        "type-list",
        "A count, or null.",
        obj(count={"type": ["integer", "null"], "minimum": 0, "maximum": 50}),
    ),
    (
        "any-of-objects",
        "A shape.",
        obj(shape={"anyOf": [obj(circle=integer(1, 100)), obj(square=integer(1, 100))]}),
    ),
    # References
    (
        "refs",
        "A sender and a receiver.",
        {
            "type": "object",
            "$defs": {"party": obj(name=text(30), country=text(20))},
            "properties": {
                "sender": {"$ref": "#/$defs/party"},
                "receiver": {"$ref": "#/$defs/party"},
            },
            "required": ["sender", "receiver"],
            "additionalProperties": False,
        },
    ),
    (
        "ref-array",
        "Some items.",
        {
            "type": "object",
            "$defs": {
                "item": obj(
                    sku={"type": "string", "pattern": "^[A-Z]{2}[0-9]{3}$"}, qty=integer(1, 99)
                )
            },
            "properties": {
                "items": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/item"},
                    "minItems": 1,
                    "maxItems": 3,
                }
            },
            "required": ["items"],
            "additionalProperties": False,
        },
    ),
    # Patterns and lengths
    ("code", "An airport code.", obj(code={"type": "string", "pattern": "^[A-Z]{3}$"})),
    (
        "date-like",
        "A month.",
        obj(month={"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])$"}),
    ),
    ("hex", "A color in hex.", obj(hex={"type": "string", "pattern": "^#[0-9a-f]{6}$"})),
    ("short", "One word.", obj(word=text(8))),
    ("exact-length", "A two-letter country code.", obj(iso=text(2, 2))),
    (
        "version",
        "A version number.",
        obj(version={"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$", "maxLength": 20}),
    ),
    # Mixed, larger
    (
        "invoice",
        "An invoice.",
        obj(
            number=integer(1, 99999),
            customer=obj(name=text(30), email={"type": "string", "maxLength": 40}),
            lines={
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": obj(item=text(20), qty=integer(1, 10), cents=integer(1, 100000)),
            },
            paid={"type": "boolean"},
        ),
    ),
    (
        "event",
        "A meeting.",
        obj(
            ["title", "attendees"],
            title=text(30),
            attendees=strings(4),
            room=nullable(text(10)),
            priority=enum("low", "normal", "high"),
        ),
    ),
    (
        "profile",
        "A user profile.",
        obj(
            user=obj(id=integer(1, 10**6), handle={"type": "string", "pattern": "^@[a-z]{2,12}$"}),
            settings=obj(dark={"type": "boolean"}, language=enum("en", "fr", "de")),
        ),
    ),
    (
        "inventory",
        "A warehouse.",
        obj(
            warehouse=text(20),
            bins={
                "type": "array",
                "maxItems": 2,
                "items": obj(bin=integer(1, 50), items=strings(2, 0, 10)),
            },
        ),
    ),
    (
        "classification",
        "Classify: 'I love this phone!'",
        obj(sentiment=enum("positive", "neutral", "negative"), confidence=integer(0, 100)),
    ),
    (
        "extraction",
        "Extract: 'Alice, 31, lives in Lyon.'",
        obj(name=text(20), age=integer(0, 120), city=text(20)),
    ),
    (
        "translation",
        "Translate 'cat' to French.",
        obj(source=text(10), target=text(10), language=enum("fr")),
    ),
]
