"""A page of the MCP `task_list` (and `task_ready`): what a model is given of each task, how many at once, and the
cursor to the next page.

A reply is read by a model whose client caps a tool's result (Claude Code: 25,000 tokens by default, a warning from
10,000): a page holds at most `limit` tasks and stops before its tasks pass `PAGE_BYTES` of JSON, so that even a
page of full tasks stays near 10,000 tokens. The cursor names the last task given by its place in the list's order
(`document.task_order_key`: created, then id), not by a count, so a task created, deleted or archived between two
pages neither repeats nor skips another: every task there throughout is given exactly once.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from dataclasses import dataclass
from typing import Any

import orjson

from gittasks import document, rules
from gittasks.document import Task
from gittasks.errors import GittasksError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PAGE_BYTES = 24_000  # of the tasks' JSON in one reply: about 8,000 tokens, well under what a client takes
COMPACT = ("id", "subject", "status", "owner", "parent", "blockedBy")  # what a model needs to pick its next task
_MAX_CURSOR = 1024  # characters; a longer one is none this server gave


@dataclass(frozen=True)
class Page:
    """What part of a listing to give: at most `limit` tasks after the cursor `cursor` (None: from the first), each
    in full or compact."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    full: bool = False


def compact(task: Task) -> dict[str, Any]:
    """A task as a listing shows it: id, subject and status always; owner, parent and blockedBy when set."""
    out: dict[str, Any] = {"id": task.get("id"), "subject": task.get("subject"),
                           "status": task.get("status", rules.PENDING)}  # fmt: skip
    out.update((k, task[k]) for k in COMPACT[3:] if task.get(k) not in (None, "", []))
    return out


def _cursor(task: Task) -> str:
    created = task.get("created_at")
    raw = orjson.dumps([created if isinstance(created, str) else "", str(task.get("id"))])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _position(cursor: str) -> tuple[Any, ...]:
    """The order key of the task a cursor names; GittasksError when it is none this server gave."""
    refused = GittasksError(
        f"cursor {cursor[:40]!r} is not one task_list gave; pass nextCursor as it came, or leave cursor out to start "
        "from the first task"
    )
    if len(cursor) > _MAX_CURSOR or not cursor.isascii():
        raise refused
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):  # (orjson.JSONDecodeError is a ValueError)
        raise refused from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise refused
    return document.task_order_key({"created_at": value[0], "id": value[1]})


def page(tasks: list[Task], page: Page) -> tuple[dict[str, Any], bool]:
    """The page of `tasks` (those a query selected) that `page` asks for: `{"tasks": [...], "total": N}` with
    `nextCursor` when more remain; and whether the page stopped short of `limit` to stay within `PAGE_BYTES`."""
    ordered = sorted(tasks, key=document.task_order_key)  # (the list's own order already; said here, relied on)
    start = 0
    if page.cursor is not None:
        start = bisect.bisect_right(ordered, _position(page.cursor), key=document.task_order_key)
    items: list[dict[str, Any]] = []
    used = 0
    for task in ordered[start : start + page.limit]:
        item = document.canonical_task(task) if page.full else compact(task)
        size = len(orjson.dumps(item)) + 1
        if items and used + size > PAGE_BYTES:
            break
        items.append(item)
        used += size
    out: dict[str, Any] = {"tasks": items, "total": len(ordered)}
    end = start + len(items)
    if end < len(ordered):
        out["nextCursor"] = _cursor(ordered[end - 1])
    return out, end < len(ordered) and len(items) < page.limit


def bounded(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The first of `items` that fit one reply (at most `MAX_LIMIT` of them and `PAGE_BYTES` of their JSON), and how
    many were left out: a reply past the client's limit reaches the model only as a short preview."""
    kept: list[dict[str, Any]] = []
    used = 0
    for item in items[:MAX_LIMIT]:
        size = len(orjson.dumps(item)) + 1
        if kept and used + size > PAGE_BYTES:
            break
        kept.append(item)
        used += size
    return kept, len(items) - len(kept)
