"""The task schema as a table for the write path's check (`taskcheck`), which must not import pydantic.

Generated from the pydantic models in `schema.py` by `python -m gittasks.schema`; do not edit by hand:
`tests/test_schema.py` fails when this file and the models differ.
"""

from __future__ import annotations

from typing import NamedTuple


class Rule(NamedTuple):
    """One field: its JSON types ("null" when it may be null), whether it must be there, the least length of a
    string, the values allowed (none: any), the JSON type of a list's items, whether it is a timestamp, and what it
    must hold in words (for the field, for an item)."""

    types: tuple[str, ...]
    required: bool
    min_length: int
    enum: tuple[str, ...]
    items: str
    stamp: bool
    expected: str
    item_expected: str


# the fields in the models' order: the first problem named is the one pydantic names first
TASK: dict[str, Rule] = {
    "id": Rule(
        types=("string",),
        required=True,
        min_length=1,
        enum=(),
        items="",
        stamp=False,
        expected="a non-empty string",
        item_expected="",
    ),
    "subject": Rule(
        types=("string",),
        required=True,
        min_length=1,
        enum=(),
        items="",
        stamp=False,
        expected="a non-empty string",
        item_expected="",
    ),
    "description": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="a string or null",
        item_expected="",
    ),
    "activeForm": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="a string or null",
        item_expected="",
    ),
    "status": Rule(
        types=("string",),
        required=False,
        min_length=0,
        enum=("pending", "in_progress", "blocked", "completed", "cancelled"),
        items="",
        stamp=False,
        expected="one of 'pending', 'in_progress', 'blocked', 'completed', 'cancelled'",
        item_expected="",
    ),
    "owner": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="a string or null",
        item_expected="",
    ),
    "created_at": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=True,
        expected="an ISO 8601 timestamp or null",
        item_expected="",
    ),
    "started_at": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=True,
        expected="an ISO 8601 timestamp or null",
        item_expected="",
    ),
    "completed_at": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=True,
        expected="an ISO 8601 timestamp or null",
        item_expected="",
    ),
    "updated_at": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=True,
        expected="an ISO 8601 timestamp or null",
        item_expected="",
    ),
    "updated_by": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="a string or null",
        item_expected="",
    ),
    "blocks": Rule(
        types=("array",),
        required=False,
        min_length=0,
        enum=(),
        items="string",
        stamp=False,
        expected="a list of task ids",
        item_expected="a string",
    ),
    "blockedBy": Rule(
        types=("array",),
        required=False,
        min_length=0,
        enum=(),
        items="string",
        stamp=False,
        expected="a list of task ids",
        item_expected="a string",
    ),
    "blocked_reason": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="a string or null",
        item_expected="",
    ),
    "parent": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="a string or null",
        item_expected="",
    ),
    "type": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="a string or null",
        item_expected="",
    ),
    "metadata": Rule(
        types=("object",),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="an object",
        item_expected="",
    ),
    "context": Rule(
        types=("object",),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=False,
        expected="an object",
        item_expected="",
    ),
}

DOCUMENT: dict[str, Rule] = {
    "last_updated": Rule(
        types=("string", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="",
        stamp=True,
        expected="an ISO 8601 timestamp or null",
        item_expected="",
    ),
    "tasks": Rule(
        types=("array",),
        required=True,
        min_length=0,
        enum=(),
        items="object",
        stamp=False,
        expected="a list of objects",
        item_expected="an object",
    ),
    "conflicts": Rule(
        types=("array", "null"),
        required=False,
        min_length=0,
        enum=(),
        items="object",
        stamp=False,
        expected="a list of objects or null",
        item_expected="an object",
    ),
}
