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


def _child_map(tasks: list[dict[str, Any]]) -> dict[str | None, list[dict[str, Any]]]:
    """Each task under its parent's id, in list order; a task whose parent is not in the list (archived, unknown)
    under None, with the top-level tasks."""
    ids = {t["id"] for t in tasks}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for task in tasks:
        parent = task.get("parent")
        key = parent if isinstance(parent, str) and parent in ids and parent != task["id"] else None
        children.setdefault(key, []).append(task)
    return children


def tree_order(tasks: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Tasks with their depth: each subtask right after its parent."""
    children = _child_map(tasks)
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
    status = json_text(task.get("status", rules.PENDING))
    owner = f" ({json_text(task['owner'])})" if task.get("owner") else ""
    flag = "  [conflict]" if conflicted else ""
    return f"{safe(task['id'])}  {status:<11}  {safe(task.get('subject'))}{owner}{flag}"


def _status(task: dict[str, Any]) -> str:
    status = task.get("status", rules.PENDING)
    return status if isinstance(status, str) else "?"


def _mark(task: dict[str, Any]) -> str:
    return MARKS.get(_status(task), "?")


def checklist_line(task: dict[str, Any], conflicted: bool = False) -> str:
    status = _status(task)
    subject = safe(task.get("subject"))
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
    return f"- [{_mark(task)}] {subject}{tail}" + (CONFLICT_FLAG if conflicted else "")


# -- the detailed checklist ----------------------------------------------------------------------------------------

CONFLICT_FLAG = "  ⚠ conflict"
STATUS_WORDS = {
    rules.PENDING: "Not Started",
    rules.IN_PROGRESS: "In Progress",
    rules.BLOCKED: "Blocked",
    rules.COMPLETED: "Completed",
    rules.CANCELLED: "Cancelled",
}
# the detailed view's sections in order, and the statuses each holds (blocked work is pending work, as in the seed;
# a status gittasks does not know goes to Pending too, so that nothing is left out)
SECTIONS: tuple[tuple[str, frozenset[str]], ...] = (
    ("Completed", frozenset({rules.COMPLETED})),
    ("In Progress", frozenset({rules.IN_PROGRESS})),
    ("Pending", frozenset({rules.PENDING, rules.BLOCKED})),
    ("Cancelled", frozenset({rules.CANCELLED})),
)


def _section(task: dict[str, Any]) -> str:
    status = _status(task)
    return next((name for name, statuses in SECTIONS if status in statuses), "Pending")


def minutes_text(seconds: float) -> str:
    """A duration in whole minutes (rounded down): `<1 min`, `5 min`, `1 h 5 min`, `2 h`."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "<1 min"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def work_seconds(task: dict[str, Any]) -> float | None:
    """How long an ended task took: `started_at` (else `created_at`) to `completed_at`; None when unknown."""
    ended = rules.parse_stamp(task.get("completed_at"))
    began = rules.parse_stamp(task.get("started_at")) or rules.parse_stamp(task.get("created_at"))
    if ended is None or began is None or ended < began:
        return None
    return (ended - began).total_seconds()


def overall_status(tasks: list[dict[str, Any]], own_status: str | None = None) -> str:
    """The state of a group of tasks (a parent's subtasks): a word and how many are complete. Cancelled tasks are
    not to-do: they are left out of the count and named after it. `own_status` (a parent's status) stands in for a
    parent with no subtasks."""
    if not tasks:
        if own_status is None:
            return "No tasks"
        return f"{STATUS_WORDS.get(own_status, 'Not Started')} (no subtasks)"
    counted = [t for t in tasks if _status(t) != rules.CANCELLED]
    cancelled = len(tasks) - len(counted)
    done = sum(1 for t in counted if _status(t) == rules.COMPLETED)
    statuses = {_status(t) for t in counted}
    if not counted:
        word = "Cancelled"
    elif done == len(counted):
        word = "Completed"
    elif rules.IN_PROGRESS in statuses:
        word = "In Progress"
    elif rules.BLOCKED in statuses:
        word = "Blocked"
    elif not done:
        word = "Not Started"
    else:
        word = "In Progress"
    count = f"{done} of {len(counted)} complete"
    if cancelled:
        count += f", {cancelled} cancelled not counted"
    return f"{word} ({count})"


def _text_list(value: Any) -> list[str]:
    """A context list (files) as safe texts: a list's items, a lone text as one item."""
    if isinstance(value, str):
        return [safe(value)] if value else []
    if isinstance(value, list):
        return [json_text(v) for v in value if v not in (None, "")]
    return [] if value is None else [json_text(value)]


def _assignee(task: dict[str, Any], context: dict[str, Any]) -> str | None:
    if task.get("owner"):
        return json_text(task["owner"])
    agents = context.get("assigned_agents")
    if isinstance(agents, list):
        for entry in reversed(agents):
            if isinstance(entry, dict) and entry.get("agent") and "completed" not in entry:
                return json_text(entry["agent"])
    return None


def _blocked_reason(task: dict[str, Any], context: dict[str, Any]) -> str:
    if task.get("blocked_reason"):
        return json_text(task["blocked_reason"])
    found = context.get("blockers_encountered")
    if isinstance(found, list):
        for entry in reversed(found):
            if isinstance(entry, dict) and entry.get("reason") and "resolved" not in entry:
                return json_text(entry["reason"])
    return "no reason given"


class _Detailed:
    """The detailed checklist of one document: blocks of a heading, the overall status and the sections."""

    def __init__(self, doc: dict[str, Any], now: datetime) -> None:
        self.tasks: list[dict[str, Any]] = doc.get("tasks", [])
        self.by_id = {t["id"]: t for t in self.tasks}
        self.children = _child_map(self.tasks)
        self.conflicted = conflicted_ids(doc)
        self.now = now

    def bullets(self, task: dict[str, Any]) -> list[str]:
        status = _status(task)
        context: dict[str, Any] = task["context"] if isinstance(task.get("context"), dict) else {}
        out = []
        if status in rules.TERMINAL and context.get("outcome") not in (None, ""):
            out.append(f"Outcome: {json_text(context['outcome'])}")
        if status in rules.OPEN:
            if (who := _assignee(task, context)) is not None:
                out.append(f"Assigned to: {who}")
            if status == rules.IN_PROGRESS and rules.parse_stamp(task.get("started_at")) is not None:
                out.append(f"Started: {humanize_age(task.get('started_at'), self.now)}")
            if status == rules.BLOCKED:
                out.append(f"Blocked: {_blocked_reason(task, context)}")
            blockers: list[Any] = task["blockedBy"] if isinstance(task.get("blockedBy"), list) else []
            waiting = [
                self.by_id[b] for b in blockers
                if isinstance(b, str) and b in self.by_id and _status(self.by_id[b]) != rules.COMPLETED
            ]  # fmt: skip
            if waiting:
                names = (f"{safe(t.get('subject'))} ({safe(t['id'])})" for t in waiting)
                out.append(f"Waiting for: {', '.join(names)}")
        files = _text_list(context.get("files_modified")) + _text_list(context.get("files_created"))
        files = list(dict.fromkeys(files))
        if files:
            out.append(f"Files: {', '.join(files)}")
        return out

    def item(self, task: dict[str, Any], depth: int, seen: set[str], descend: bool = True) -> list[str]:
        """One task with its bullets, and its own subtasks nested under it (each with its own mark)."""
        seen.add(task["id"])
        indent = "  " * depth
        line = f"{indent}- [{_mark(task)}] {safe(task.get('subject'))}"
        if _status(task) == rules.COMPLETED and (seconds := work_seconds(task)) is not None:
            line += f" ({minutes_text(seconds)})"
        if task["id"] in self.conflicted:
            line += CONFLICT_FLAG
        lines = [line] + [f"{indent}  - {b}" for b in self.bullets(task)]
        for child in self.children.get(task["id"], []) if descend else []:
            if child["id"] not in seen:
                lines += self.item(child, depth + 1, seen)
        return lines

    def block(
        self, heading: str, members: list[dict[str, Any]], parent: dict[str, Any] | None, descend: bool = True
    ) -> list[str]:
        """A heading, the overall status of `members` (the subtasks of `parent`, which never shows among them) and
        a section per status that has any."""
        own_status = None if parent is None else _status(parent)
        lines = [heading, f"Overall Status: {overall_status(members, own_status)}"]
        seen = {m["id"] for m in members} | ({parent["id"]} if parent is not None else set())
        for name, _ in SECTIONS:
            chosen = [t for t in members if _section(t) == name]
            if chosen:
                lines += ["", f"### {name}"]
                for task in chosen:
                    lines += self.item(task, 0, seen, descend)
        return lines

    def parent_block(self, parent: dict[str, Any]) -> list[str]:
        heading = f"## Task: {safe(parent.get('subject'))}" + (CONFLICT_FLAG if parent["id"] in self.conflicted else "")
        members = [t for t in self.children.get(parent["id"], []) if t["id"] != parent["id"]]
        return self.block(heading, members, parent)

    def everything(self) -> list[str]:
        """A block per top-level task with subtasks, then the other top-level tasks in one block (and any task of a
        parent cycle, flat), so that every task is shown."""
        if not self.tasks:
            return ["No tasks"]
        top = self.children.get(None, [])
        reached: set[str] = set()
        stack = [t["id"] for t in top]
        while stack:
            task_id = stack.pop()
            if task_id not in reached:
                reached.add(task_id)
                stack += [c["id"] for c in self.children.get(task_id, [])]
        lines: list[str] = []
        for task in top:
            if self.children.get(task["id"]):
                lines += [*([""] if lines else []), *self.parent_block(task)]
        others = [t for t in top if not self.children.get(t["id"])]
        unreached = [t for t in self.tasks if t["id"] not in reached]
        if others or unreached:
            heading = "## Other tasks" if lines else "## Tasks"
            lines += [*([""] if lines else []), *self.block(heading, others + unreached, None, descend=False)]
        return lines


def checklist(
    doc: dict[str, Any], *, detailed: bool = False, parent: str | None = None, now: datetime | None = None
) -> str:
    """The progress checklist: every task in tree order, or with `parent` (a task id in `doc`) that task's subtasks
    under a heading naming it. `detailed`: the seed's view, an overall status and sections by status with
    durations, outcomes, files, who works on what, blockers and what each task waits for (without `parent`: a block
    per top-level task with subtasks, then the other tasks)."""
    tasks = doc.get("tasks", [])
    now = now or rules.utc_now()
    view = _Detailed(doc, now)
    if detailed:
        return "\n".join(view.parent_block(view.by_id[parent]) if parent is not None else view.everything())
    conflicted = view.conflicted
    if parent is None:
        return "\n".join("  " * d + checklist_line(t, t["id"] in conflicted) for d, t in tree_order(tasks))
    top = view.by_id[parent]
    lines = [f"## Task: {safe(top.get('subject'))}" + (CONFLICT_FLAG if parent in conflicted else "")]
    seen = {parent}

    def walk(task_id: str, depth: int) -> None:
        for child in view.children.get(task_id, []):
            if child["id"] not in seen:
                seen.add(child["id"])
                lines.append("  " * depth + checklist_line(child, child["id"] in conflicted))
                walk(child["id"], depth + 1)

    walk(parent, 0)
    if len(lines) == 1:
        lines.append("(no subtasks)")
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
        text = ", ".join(json_text(v) for v in value) if isinstance(value, list) else json_text(value)
        lines.append(f"{key + ':':<16}{text}")
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
