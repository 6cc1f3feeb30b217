"""Recover (a session's summary): what a new assistant session should know, the incomplete tasks as facts, in
dependency order. Pure. Not to be confused with `repair` (a line merge's damage fixed) or `restore` (a task brought
back out of the archive)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gittasks import document, render, rules

MAX_CHARS = 10_000
DEFAULT_STALE = timedelta(hours=24)
JSON_FIELDS = ("id", "subject", "description", "activeForm", "status", "owner", "machine", "updated_at", "blockedBy",
               "blocked_reason")  # fmt: skip


def dependency_order(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open tasks with blockers before the tasks they block; otherwise in the list's stable order."""
    ordered_input = sorted(tasks, key=document.task_order_key)
    ids = {t["id"] for t in ordered_input}
    waiting = {t["id"]: {b for b in t.get("blockedBy") or [] if b in ids} for t in ordered_input}
    out: list[dict[str, Any]] = []
    done: set[str] = set()
    while len(out) < len(ordered_input):
        progressed = False
        for task in ordered_input:
            tid = task["id"]
            if tid not in done and waiting[tid] <= done:
                out.append(task)
                done.add(tid)
                progressed = True
        if not progressed:  # a cycle in a hand-written file: list the rest as they come
            out += [t for t in ordered_input if t["id"] not in done]
            break
    return out


def open_tasks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return dependency_order([t for t in doc["tasks"] if t.get("status", rules.PENDING) in rules.OPEN])


def is_stale(task: dict[str, Any], now: datetime, stale_after: timedelta) -> bool:
    moment = rules.parse_stamp(task.get("updated_at"))
    return task.get("status") == rules.IN_PROGRESS and moment is not None and now - moment > stale_after


CONTINUE = (
    "To go on with one of these tasks in this session, call TaskCreate with its subject and metadata "
    '{"gittasks_id": "ID"} (the gittasks MCP tools take the id directly): it continues that task, no second one is '
    "made. Change tasks through the task tools, the gittasks MCP tools or the gittasks command line; never edit "
    ".claude/active-tasks.json itself."
)


def _conflict_kinds(doc: dict[str, Any]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for record in doc.get("conflicts") or []:
        if isinstance(record, dict) and isinstance(record.get("task"), str):
            kinds.setdefault(record["task"], []).append(str(record.get("kind", "field")))
    return kinds


def as_json(doc: dict[str, Any], now: datetime, stale_after: timedelta = DEFAULT_STALE) -> list[dict[str, Any]]:
    """The open tasks as facts, each with how a new session continues it (`continue`: the TaskCreate metadata)."""
    kinds = _conflict_kinds(doc)
    out = []
    for task in open_tasks(doc):
        item = {key: task.get(key) for key in JSON_FIELDS}
        item["machine"] = task.get("updated_by")
        item["blockedBy"] = list(task.get("blockedBy") or [])
        item["stale"] = is_stale(task, now, stale_after)
        item["conflicts"] = sorted(set(kinds.get(task["id"], [])))
        item["continue"] = {"tool": "TaskCreate", "metadata": {"gittasks_id": task["id"]}}
        out.append(item)
    return out


def as_text(
    doc: dict[str, Any], machine: str, now: datetime, stale_after: timedelta = DEFAULT_STALE, limit: int = MAX_CHARS
) -> str:
    tasks = open_tasks(doc)
    by_id = {t["id"]: t for t in doc["tasks"]}
    if not tasks:
        return "gittasks: no incomplete tasks in this repository's task list."
    counts = {
        s: sum(1 for t in tasks if t.get("status") == s) for s in (rules.IN_PROGRESS, rules.BLOCKED, rules.PENDING)
    }
    head = (
        f"gittasks: {render.plural(len(tasks), 'incomplete task')} in .claude/active-tasks.json "
        f"({counts[rules.IN_PROGRESS]} in progress, {counts[rules.BLOCKED]} blocked, {counts[rules.PENDING]} pending), "
        f"blockers listed first. This machine: {render.safe(machine)}."
    )
    lines = [head]
    used = len(head) + 1 + len(CONTINUE) + 1
    kinds = _conflict_kinds(doc)
    for shown, task in enumerate(tasks):
        line = _task_line(task, by_id, machine, now, stale_after, kinds.get(task["id"], []))
        tail = f"... and {render.plural(len(tasks) - shown, 'more incomplete task')} (see `gittasks list`)"
        if used + len(line) + 1 + len(tail) + 1 > limit:
            lines.append(tail)
            break
        lines.append(line)
        used += len(line) + 1
    lines.append(CONTINUE)
    return "\n".join(lines)


def _task_line(
    task: dict[str, Any],
    by_id: dict[str, dict[str, Any]],
    machine: str,
    now: datetime,
    stale_after: timedelta,
    conflicts: list[str],
) -> str:
    status = task.get("status", rules.PENDING)
    parts = [f"- [{render.safe(task['id'])}] {render.safe(task.get('subject'))}: {render.safe(status)}"]
    if task.get("owner"):
        parts.append(f"owner {render.safe(task['owner'])}")
    who = task.get("updated_by")
    if who:
        age = render.humanize_age(task.get("updated_at"), now)
        where = f"last changed on {render.safe(who)} {age}"
        if status == rules.IN_PROGRESS and who != machine:
            where = f"in progress on another machine ({render.safe(who)}), last changed {age}"
        parts.append(where)
    if is_stale(task, now, stale_after):
        parts.append("no change for a long time: possibly abandoned by a session that ended")
    blockers = [
        b for b in task.get("blockedBy") or [] if by_id.get(b, {}).get("status", rules.COMPLETED) != rules.COMPLETED
    ]
    if blockers:
        names = ", ".join(f"{render.safe(b)} ({render.safe(by_id[b].get('subject'))})" for b in blockers)
        parts.append(f"waits for {names}")
    if status == rules.BLOCKED:
        parts.append(f"blocked: {render.safe(task.get('blocked_reason') or 'no reason given')}")
    if "resumed" in conflicts:
        parts.append(
            "taken up by sessions on two machines at once: agree which one goes on (`gittasks conflicts`, then "
            f"`gittasks resolve {render.safe(task['id'])} native --keep`)"
        )
    elif conflicts:
        parts.append("has recorded merge conflicts (`gittasks conflicts`)")
    return "; ".join(parts)
