"""Text views of tasks: list lines, one task in full, the progress checklist. Pure: strings in, strings out.

Everything that came from users passes through `safe()`, so no escape sequence or control character reaches the
terminal (the stored text is untouched).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from gittasks import activity, rules

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
MARKS = {
    rules.COMPLETED: "✓",
    rules.IN_PROGRESS: "→",
    rules.PENDING: " ",
    rules.BLOCKED: "!",
    rules.CANCELLED: "✗",
}


def safe(value: Any, *, multiline: bool = False, colours: bool = False) -> str:
    """Text fit for a terminal: control characters shown as escapes; newlines kept only when `multiline`; with
    `colours`, the colour sequences (SGR: ESC [ digits m) gittasks' own output adds are kept, nothing else."""
    text = "" if value is None else str(value)
    if colours:
        parts = _COLOUR.split(text)
        found = _COLOUR.findall(text)
        return "".join(safe(p, multiline=multiline) + (found[i] if i < len(found) else "") for i, p in enumerate(parts))
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


def plural(count: int, word: str) -> str:
    """`1 task`, `2 tasks`: a count and its noun (a noun whose plural adds an s)."""
    return f"{count} {word}{'' if count == 1 else 's'}"


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


def nothing_ready(tasks: list[dict[str, Any]], shown: int = 5) -> str:
    """Why `ready` lists nothing: no task is pending, or what the pending tasks wait for (blockers not completed,
    subtasks still open), the first `shown` of them named."""
    pending = [t for t in tasks if t.get("status", rules.PENDING) == rules.PENDING]
    if not pending:
        counts = [f"{n} {s.replace('_', ' ')}" for s in (rules.IN_PROGRESS, rules.BLOCKED)
                  if (n := sum(1 for t in tasks if t.get("status") == s))]  # fmt: skip
        return "nothing is ready: no task is pending" + (f" ({', '.join(counts)})" if counts else "")
    by_id = {t["id"]: t for t in tasks}
    parents = rules.open_parents(tasks)
    waits = []
    for task in pending[:shown]:
        blockers = rules.open_blockers(task, by_id)
        waited = ", ".join(f"{safe(b)} ({safe(by_id[b].get('subject'))})" for b in blockers) or "its open subtasks"
        if blockers or task["id"] in parents:
            waits.append(f"{safe(task['id'])} ({safe(task.get('subject'))}) for {waited}")
    more = f"; {len(pending) - shown} more" if len(pending) > shown else ""
    every = "the one pending task waits" if len(pending) == 1 else f"all {len(pending)} pending tasks wait"
    return f"nothing is ready: {every}: {'; '.join(waits)}{more}"


# -- the list table: one task a line, in columns ---------------------------------------------------------------

LIST_HEADINGS = {"id": "ID", "status": "STATUS", "client": "CLIENT", "blockers": "BLOCKED BY", "subject": "SUBJECT"}
Paint = Callable[[str, str], str]  # text and a style (a status, or a name of `cli.output.STYLES`) -> what to print


def plain(text: str, style: str) -> str:
    return text


def list_row(
    task: dict[str, Any], by_id: dict[str, dict[str, Any]], *, conflicted: bool = False, archived: bool = False
) -> dict[str, str]:
    """One task's cells in the list table: id, status, client, the blockers not yet completed (of an open task),
    the subject with the owner, and the flags (conflict, archived)."""
    status = _status(task)
    metadata = task["metadata"] if isinstance(task.get("metadata"), dict) else {}
    waiting = status in rules.OPEN and isinstance(task.get("blockedBy"), list)
    owner = f" ({json_text(task['owner'])})" if task.get("owner") else ""
    return {
        "id": safe(task.get("id")),
        "status": safe(status),
        "client": json_text(metadata["client"]) if metadata.get("client") not in (None, "") else "",
        "blockers": ", ".join(safe(b) for b in rules.open_blockers(task, by_id)) if waiting else "",
        "subject": f"{safe(task.get('subject'))}{owner}",
        "flags": " ".join(f for f, on in (("[conflict]", conflicted), ("(archived)", archived)) if on),
    }


class ListTable:
    """The list's columns sized to the rows known at first (the active tasks); later rows (the archive, streamed)
    take the same widths. The client and blockers columns show only when a row fills them (`client`: always)."""

    def __init__(self, rows: list[dict[str, str]], *, client: bool = False, paint: Paint = plain) -> None:
        self.columns = ["id", "status"]
        self.columns += [c for c in ("client", "blockers") if (c == "client" and client) or any(r[c] for r in rows)]
        self.widths = {c: max([len(LIST_HEADINGS[c]), *(len(r[c]) for r in rows)]) for c in self.columns}
        self.paint = paint

    def header(self) -> str:
        names = [LIST_HEADINGS[c].ljust(self.widths[c]) for c in self.columns]
        return self.paint("  ".join([*names, LIST_HEADINGS["subject"]]), "heading")

    def line(self, row: dict[str, str]) -> str:
        cells = []
        for column in self.columns:
            text = (row[column] or "-").ljust(self.widths[column])
            style = {"id": "id", "status": row["status"]}.get(column)
            cells.append(self.paint(text, style) if style else text)
        cells.append(row["subject"])
        if row["flags"]:
            cells.append(self.paint(row["flags"], "conflict" if "[conflict]" in row["flags"] else "dim"))
        return "  ".join(cells)


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


# the checklist's marks in the colour of their status (`paint`'s styles)
_MARK_STYLES = {f"- [{MARKS[s]}]": s for s in (rules.COMPLETED, rules.IN_PROGRESS, rules.BLOCKED, rules.CANCELLED)}


def painted_checklist(text: str, paint: Paint = plain) -> str:
    """`checklist`'s text with its headings and each item's line styled through `paint`, the one styling of every
    view (the text already safe: only `paint` adds sequences)."""
    lines = []
    for line in text.split("\n"):
        if line.startswith(("## ", "### ", "Overall Status")):
            style: str | None = "heading"
        else:
            style = next((s for mark, s in _MARK_STYLES.items() if line.lstrip().startswith(mark)), None)
        lines.append(paint(line, style) if style else line)
    return "\n".join(lines)


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


def active_time(task: dict[str, Any]) -> str | None:
    """A task's active time from the capture hooks (`activity.active_minutes`) on one line, with the sessions and
    machines it came from: `37 min (2 sessions, 2 machines)`; None when no session has worked on it."""
    minutes = activity.active_minutes(task)
    if minutes is None:
        return None
    entries = activity.counted(task)
    machines = {activity.machine_of(key) for key in entries}
    return f"{minutes_text(minutes * 60)} ({plural(len(entries), 'session')}, {plural(len(machines), 'machine')})"


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


def _open_entry(context: dict[str, Any], key: str, value: str, closed: str) -> str | None:
    """The `value` of the newest entry of the context list `key` not yet `closed` (model.track_work's records), as
    text; None when there is none."""
    entries = context.get(key)
    for entry in reversed(entries) if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get(value) and closed not in entry:
            return json_text(entry[value])
    return None


def _assignee(task: dict[str, Any], context: dict[str, Any]) -> str | None:
    if task.get("owner"):
        return json_text(task["owner"])
    return _open_entry(context, "assigned_agents", "agent", "completed")


def _blocked_reason(task: dict[str, Any], context: dict[str, Any]) -> str:
    if task.get("blocked_reason"):
        return json_text(task["blocked_reason"])
    return _open_entry(context, "blockers_encountered", "reason", "resolved") or "no reason given"


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
    from gittasks import notes  # (`show` alone reads them)

    noted = notes.of(task)
    active = active_time(task)
    if active is not None:  # (the sessions' figures on one line; `show --json` keeps them as they are)
        lines.append(f"{'active:':<16}{active}")
    for key in ("metadata", "context"):
        value = task.get(key)
        if isinstance(value, dict) and key == "context" and noted is not None:
            value = {k: v for k, v in value.items() if k != notes.KEY}
        if isinstance(value, dict) and key == "metadata" and active is not None:
            value = {k: v for k, v in value.items() if k != activity.KEY}
        if isinstance(value, dict) and value:
            lines.append(f"{key}:")
            lines += [f"  {safe(k)}: {json_text(v)}" for k, v in sorted(value.items())]
    if noted:
        lines.append("notes:")
        lines += [f"  {safe(n.get('at'))} {safe(n.get('machine'))}: {safe(n.get('text'))}" for n in noted]
    known = set(order) | {"metadata", "context", "description"}
    for key in sorted(k for k in task if k not in known):
        lines.append(f"{safe(key) + ':':<16}{json_text(task[key])}")
    if task.get("description"):
        lines += ["", safe(task["description"], multiline=True)]
    for record in conflicts or []:
        lines.append(f"conflict on {conflict_line(record, with_task=False)}")
    return "\n".join(lines)


def sync_standing(info: dict[str, Any], *, brief: bool = False) -> str | None:
    """Where this clone stands with its remote, in one line (from `autosync.standing`): the changes waiting to be
    pushed, why the last background push failed, since when the list was last in step. `brief` (the session-start
    summary): None when nothing waits and nothing failed."""
    remote = info.get("remote")
    if remote is None:
        return None
    ahead, error = info.get("ahead") or 0, info.get("push_error")
    if brief and not ahead and not error:
        return None
    parts = []
    if ahead:
        waiting = f"{plural(ahead, 'change')} {'waits' if ahead == 1 else 'wait'} to be pushed to {remote}"
        if info.get("autosync_running"):
            waiting += " (the background sync is on it)"
        elif not info.get("autosync"):
            waiting += " (autosync is off: run `gittasks sync`)"
        parts.append(waiting)
    if error:
        since = info.get("failing_since")
        parts.append(
            f"the background push failed ({info.get('push_error_kind') or 'error'}"
            + (f", since {since}" if since else "")
            + f"): {_brief(error, 300)}"
        )
    last = info.get("last_sync")
    parts.append(f"last in step with {remote} at {last}" if last else f"never in step with {remote} yet")
    return safe("; ".join(parts))


def conflict_line(record: Any, *, with_task: bool = True) -> str:
    """One conflict record on one line: task, field and kind, the values seen (machine), the value kept."""
    if not isinstance(record, dict):
        return safe(record)
    values = ", ".join(
        f"{_brief(v.get('value'))} ({safe(v.get('machine'))})" for v in record.get("values", []) if isinstance(v, dict)
    )
    task = f"{safe(record.get('task'))} " if with_task else ""
    kind = safe(record.get("kind", "field"))
    return f"{task}{safe(record.get('field'))} [{kind}]: {values}; kept {_brief(record.get('kept')) or '(none)'}"


def _brief(value: Any, limit: int = 80) -> str:
    """A value of a conflict record on a line: as JSON (never a Python repr), a long one cut (`show` has it all)."""
    text = json_text(value) if value is not None else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_value(value: Any) -> str:
    """One side of a change in `log` (`from -> to`): "(none)" for no value, `""` for the empty text, other text as
    it is, anything else as JSON; made safe."""
    if value is None:
        return "(none)"
    return '""' if value == "" else json_text(value)


def log_lines(entry: dict[str, Any], paint: Paint = plain) -> list[str]:
    """One entry of `log`: the commit, when, machine, action and task, then a line per field changed; `paint`
    colours the commit, the action and the task (styles "commit", "action", "id")."""
    lines = [
        f"{paint(safe(entry['commit'][:10]), 'commit')}  {safe(entry['when'])}  {safe(entry['machine'])}  "
        f"{paint(safe(entry['action']), 'action')}  {paint(safe(entry['task']), 'id')} {safe(entry['subject'])}"
    ]
    for name, change in entry["changes"].items():
        if name == "*":
            lines.append("    created" if change["from"] is None else "    removed")
        else:
            lines.append(f"    {safe(name)}: {change_value(change['from'])} -> {change_value(change['to'])}")
    return lines
