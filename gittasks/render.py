"""Text views of tasks: list lines, one task in full, the progress checklist. Pure: strings in, strings out.

Everything that came from users passes through `safe()`, so no escape sequence or control character reaches the
terminal (the stored text is untouched).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from gittasks import rules

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
MARKS = {
    rules.COMPLETED: "✓",
    rules.IN_PROGRESS: "→",
    rules.PENDING: " ",
    rules.BLOCKED: "!",
    rules.CANCELLED: "✗",
}


def safe(value: Any, *, multiline: bool = False) -> str:
    """Text fit for a terminal: control characters shown as escapes; newlines kept only when `multiline`."""
    text = "" if value is None else str(value)
    if not multiline:
        text = text.replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def json_text(value: Any) -> str:
    """A value as the file holds it: text as it is, anything else as JSON (never a Python repr); made safe."""
    if isinstance(value, str):
        return safe(value)
    return safe(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8"))


def humanize_age(stamp: Any, now: datetime) -> str:
    moment = rules.parse_stamp(stamp)
    if moment is None:
        return "unknown"
    return humanize_seconds((now - moment).total_seconds()) + " ago"


def humanize_seconds(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def conflicted_ids(doc: dict[str, Any]) -> set[str]:
    return {str(r.get("task")) for r in doc.get("conflicts") or [] if isinstance(r, dict)}


def tree_order(tasks: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Tasks with their depth: each subtask right after its parent."""
    ids = {t["id"] for t in tasks}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for task in tasks:
        parent = task.get("parent")
        key = parent if isinstance(parent, str) and parent in ids and parent != task["id"] else None
        children.setdefault(key, []).append(task)
    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for task in children.get(parent, []):
            if task["id"] in seen:
                continue
            seen.add(task["id"])
            out.append((depth, task))
            walk(task["id"], depth + 1)

    walk(None, 0)
    out.extend((0, t) for t in tasks if t["id"] not in seen)  # parent cycles: show them flat
    return out


def list_line(task: dict[str, Any], conflicted: bool = False) -> str:
    status = task.get("status", rules.PENDING)
    owner = f" ({safe(task['owner'])})" if task.get("owner") else ""
    flag = "  [conflict]" if conflicted else ""
    return f"{safe(task['id'])}  {status:<11}  {safe(task.get('subject'))}{owner}{flag}"


def checklist_line(task: dict[str, Any], conflicted: bool = False) -> str:
    status = task.get("status", rules.PENDING)
    subject = safe(task.get("subject"))
    mark = MARKS.get(status, "?")
    if status == rules.COMPLETED:
        tail = " (completed)"
    elif status == rules.IN_PROGRESS:
        tail = f" (in progress - {safe(task['owner'])})" if task.get("owner") else " (in progress)"
    elif status == rules.BLOCKED:
        tail = f" (blocked: {safe(task.get('blocked_reason') or 'no reason given')})"
    elif status == rules.CANCELLED:
        tail = " (cancelled)"
    else:
        tail = ""
    return f"- [{mark}] {subject}{tail}" + ("  ⚠ conflict" if conflicted else "")


def overall_status(tasks: list[dict[str, Any]]) -> str:
    total = len(tasks)
    done = sum(1 for t in tasks if t.get("status") == rules.COMPLETED)
    if not total:
        return "No tasks"
    if all(t.get("status") in rules.TERMINAL for t in tasks):
        return f"Completed ({done} of {total} complete)"
    if all(t.get("status", rules.PENDING) == rules.PENDING for t in tasks):
        return f"Not Started (0 of {total} complete)"
    return f"In Progress ({done} of {total} complete)"


def checklist(doc: dict[str, Any], *, detailed: bool = False, now: datetime | None = None) -> str:
    tasks = doc.get("tasks", [])
    now = now or rules.utc_now()
    conflicted = conflicted_ids(doc)
    by_id = {t["id"]: t for t in tasks}
    lines: list[str] = []
    if detailed:
        lines += [f"Overall status: {overall_status(tasks)}", ""]
    for depth, task in tree_order(tasks):
        indent = "  " * depth
        lines.append(indent + checklist_line(task, task["id"] in conflicted))
        if not detailed:
            continue
        pad = indent + "    "
        status = task.get("status")
        started = rules.parse_stamp(task.get("started_at"))
        ended = rules.parse_stamp(task.get("completed_at"))
        if status in rules.TERMINAL and started and ended:
            lines.append(f"{pad}Duration: {humanize_seconds((ended - started).total_seconds())}")
        elif status in (rules.IN_PROGRESS, rules.BLOCKED) and started:
            lines.append(f"{pad}Started: {humanize_age(task.get('started_at'), now)}")
        if status == rules.BLOCKED:
            lines.append(f"{pad}Blocked by: {safe(task.get('blocked_reason') or 'no reason given')}")
        waiting = [
            b for b in task.get("blockedBy") or [] if by_id.get(b, {}).get("status", rules.COMPLETED) != rules.COMPLETED
        ]
        if waiting and status not in rules.TERMINAL:
            names = ", ".join(f"{safe(b)} {safe(by_id[b].get('subject'))}" for b in waiting)
            lines.append(f"{pad}Waiting for: {names}")
    return "\n".join(lines)


def task_detail(task: dict[str, Any], conflicts: list[dict[str, Any]] | None = None) -> str:
    order = [
        "id", "subject", "status", "owner", "type", "parent", "activeForm", "blocked_reason", "blockedBy", "blocks",
        "created_at", "started_at", "completed_at", "updated_at", "updated_by",
    ]  # fmt: skip
    lines = []
    for key in order:
        value = task.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{key + ':':<16}{safe(value)}")
    for key in ("metadata", "context"):
        value = task.get(key)
        if isinstance(value, dict) and value:
            lines.append(f"{key}:")
            lines += [f"  {safe(k)}: {json_text(v)}" for k, v in sorted(value.items())]
    known = set(order) | {"metadata", "context", "description"}
    for key in sorted(k for k in task if k not in known):
        lines.append(f"{safe(key) + ':':<16}{json_text(task[key])}")
    if task.get("description"):
        lines += ["", safe(task["description"], multiline=True)]
    for record in conflicts or []:
        lines.append(f"conflict on {conflict_line(record, with_task=False)}")
    return "\n".join(lines)


def conflict_line(record: Any, *, with_task: bool = True) -> str:
    """One conflict record on one line: task, field and kind, the values seen (machine), the value kept."""
    if not isinstance(record, dict):
        return safe(record)
    values = ", ".join(
        f"{safe(v.get('value'))} ({safe(v.get('machine'))})" for v in record.get("values", []) if isinstance(v, dict)
    )
    task = f"{safe(record.get('task'))} " if with_task else ""
    return (
        f"{task}{safe(record.get('field'))} [{record.get('kind', 'field')}]: {values}; kept {safe(record.get('kept'))}"
    )
