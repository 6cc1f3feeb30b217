"""Work items: the billable record of a completed client task, and the monthly JSONL files that hold them.

Pure: a task in, a record out; records and the files' current bytes in, the files' new bytes out. The write
transaction (`Workspace.change`) commits them with the change that completed the task; `reconcile` keeps them
agreeing with their tasks after a change or a merge (a task no longer completed voids its item, never drops it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from gittasks import activity, document, rules
from gittasks.document import Task

NO_CLIENT = "(no client)"  # where minutes billed on a task with no client show, in `report` and `report --items`

# -- minutes: what counts as a number of them ------------------------------------------------------------------------

NUMERIC_KEYS = ("billable_minutes", "estimated_minutes")  # keys of metadata and context that hold minutes
_NUMBER = re.compile(r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_LARGEST = 2**53  # (what a task file may hold)


def as_minutes(value: Any) -> int | float | None:
    """`value` as a number of minutes: a number, zero or more, or text that is one ("45", " 45.5 ", "45.0" is 45);
    None when it is no such number ("soon", "-5", true, a list)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if 0 <= value <= _LARGEST else None  # (NaN compares false: None)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip().lstrip("+")
        number: int | float = int(text) if text.isdigit() else float(text)
        if number > _LARGEST:
            return None
        return int(number) if isinstance(number, float) and number.is_integer() else number
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def with_numbers(values: dict[str, Any], name: str) -> tuple[dict[str, Any], list[str]]:
    """`values` (a task's `name` object, metadata or context, or an edit of it) with the minutes of NUMERIC_KEYS
    written as text taken as the number ("45" is 45), and a line for each value there that is no number of minutes
    (None, a removal, passes). The one rule every door follows: the CLI's --meta and --context, MCP, the capture
    hook, a direct write of the task file."""
    out, problems = values, []
    for key in NUMERIC_KEYS:
        value = values.get(key)
        if value is None:
            continue
        number = as_minutes(value)
        if number is None:
            problems.append(f"{name}.{key} {_shown(value)} is not a number of minutes (zero or more)")
        elif isinstance(value, str):
            out = {**out, key: number}
    return out, problems


def task_numbers(task: Task) -> list[str]:
    """A whole task's metadata and context with their minutes as numbers (in place: a direct write); what stays no
    number, one line each, named by the task."""
    problems: list[str] = []
    for name in ("metadata", "context"):
        values = task.get(name)
        if isinstance(values, dict):
            fixed, found = with_numbers(values, name)
            if fixed is not values:
                task[name] = fixed
            problems += [f"task {task.get('id')}: {p}; it counts as none until it is a number" for p in found]
    return problems


def billable_minutes(task: Task) -> int | float | None:
    """A task's billable minutes: `context.billable_minutes`, else `metadata.billable_minutes`, else a top-level
    `billable_minutes` (the seed's place); None when none is a number (text is taken by the doors as it comes in,
    `with_numbers`; text left in a file bills nothing, and `report` says so)."""
    for value in (
        document.as_object(task.get("context")).get("billable_minutes"),
        document.as_object(task.get("metadata")).get("billable_minutes"),
        task.get("billable_minutes"),
    ):
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def work_item(task: Task, machine: str, now: datetime) -> dict[str, Any] | None:
    """The billable record of a completed task with billable minutes, with the seed's keys (`category`, `problem`,
    `solution`, `billable_minutes`, `linked_task_id`) and client, project, machine, date; None for a task without
    minutes. The category is `metadata.category`, else the task's type. A task with no `metadata.client` bills too,
    its client null (NO_CLIENT in the reports), so that `report` and `report --items` count the same minutes."""
    metadata = document.as_object(task.get("metadata"))
    context = document.as_object(task.get("context"))
    client = metadata.get("client") or None
    minutes = billable_minutes(task)
    if minutes is None:
        return None
    problem = task.get("subject", "")
    if task.get("description"):
        problem += ": " + str(task["description"]).strip().splitlines()[0]
    time = task.get("completed_at") or rules.format_stamp(now)
    return {
        "id": f"wi-{task['id']}",
        "linked_task_id": task["id"],
        "category": metadata.get("category") or task.get("type") or "implementation",
        "problem": problem,
        "solution": context.get("outcome"),
        "billable_minutes": minutes,
        "client": client,
        "project": metadata.get("project"),
        "machine": machine,
        "date": str(time)[:10],
        "time": time,
    }


def path_for(item: dict[str, Any]) -> str:
    """The month's file a work item goes to (by its `time`)."""
    moment = rules.parse_stamp(item.get("time")) or rules.utc_now()
    return f"{rules.WORK_ITEMS_DIR}/{moment.strftime('%Y-%m')}.jsonl"


def with_items(items: Iterable[dict[str, Any]], read: Callable[[str], bytes | None]) -> dict[str, bytes]:
    """The work-item files with `items` added (an item with the same id is replaced); `read(path)` gives a file's
    current bytes (None: no such file). Written as the merge writes them (`document.dump_records`)."""
    files: dict[str, bytes] = {}
    for item in items:
        rel = path_for(item)
        raw = files.get(rel) or read(rel) or b""
        records = [r for r in document.read_lines(raw, rel) if r.get("id") != item["id"]] + [item]
        files[rel] = document.dump_records(records)
    return files


BILLED_KEYS = ("billable_minutes", "client", "project")  # what an item bills, as its task says it now
FOLLOWED_KEYS = (*BILLED_KEYS, "time", "date")  # and when: the task's completion
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def linked_task(item: dict[str, Any]) -> str | None:
    """The id of the task an item bills (`linked_task_id`; `task` in items written before the seed's keys)."""
    link = item.get("linked_task_id", item.get("task"))
    return link if isinstance(link, str) else None


def expected_item(task: Task | None) -> dict[str, Any] | None:
    """The item a task should have now: its work item when it is completed and billable, else None. Made from the
    task alone (the machine that last changed it, its completion time), so every machine makes the same one."""
    if task is None or task.get("status") != rules.COMPLETED:
        return None
    ended = rules.parse_stamp(task.get("completed_at")) or _EPOCH
    return work_item(task, str(task.get("updated_by") or ""), ended)


def _voided(item: dict[str, Any], task: Task | None) -> dict[str, Any]:
    if task is None:
        reason = f"task {linked_task(item)} was deleted"
    elif task.get("status") == rules.COMPLETED:
        reason = f"task {task['id']} is no longer billable"
    else:
        reason = f"task {task['id']} is {task.get('status', rules.PENDING)}"
    at = task.get("updated_at") if task is not None else None
    return {**item, "void": True, "void_reason": reason, "voided_at": at}


def _agreeing(item: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """`item` billing what its task bills now, at the time of its completion (its own id and machine kept), no
    longer void."""
    out = {k: v for k, v in item.items() if k not in ("void", "void_reason", "voided_at")}
    out.update({k: expected[k] for k in FOLLOWED_KEYS})
    return out


def reconcile(
    files: Mapping[str, bytes], tasks: Mapping[str, Task], only: Collection[str] | None = None
) -> dict[str, bytes]:
    """The work-item files (`files`: every one there is, {path: bytes}) that must change to agree with `tasks`
    ({id: task}, all tasks active and archived): an item whose task is no longer completed and billable (reopened,
    cancelled by a merge, deleted) is marked void with the reason, not dropped; a void item whose task is billable
    again, or one whose minutes, client, project or completion time differ from its task's, follows the task; a
    completed billable task with no item gets one. An item bills in the month file of its task's completion: of the
    items of one task (completed on two machines, or again in another month) the one there bills and the others are
    void; when none is there, a new one is written there. So the report of the tasks and the report of the items
    count the same minutes in the same periods. `only`: look at these task ids alone. Depends on nothing but its
    input, so two machines reconciling the same merge write the same bytes."""
    records = {path: document.read_lines(raw, path) for path, raw in files.items()}
    linked: dict[str, list[tuple[str, int]]] = {}
    for path in sorted(records):
        for i, item in enumerate(records[path]):
            link = linked_task(item)
            if link is not None and (only is None or link in only):
                linked.setdefault(link, []).append((path, i))
    wanted = set(linked) | {t for t in (tasks if only is None else only) if expected_item(tasks.get(t))}
    changed: set[str] = set()

    def put(path: str, i: int, new: dict[str, Any]) -> None:
        if new != records[path][i]:
            records[path][i] = new
            changed.add(path)

    for tid in sorted(wanted):
        task, expected = tasks.get(tid), expected_item(tasks.get(tid))
        places = linked.get(tid, [])
        if expected is None:
            for path, i in places:
                if not records[path][i].get("void"):
                    put(path, i, _voided(records[path][i], task))
            continue
        home = path_for(expected)
        live = [(p, i) for p, i in places if not records[p][i].get("void")]
        there = [(p, i) for p, i in live if p == home] or [(p, i) for p, i in places if p == home][-1:]
        if there:
            path, i = there[0]
            put(path, i, _agreeing(records[path][i], expected))
        else:
            path, i = home, len(records.setdefault(home, []))
            records[home].append(expected)
            changed.add(home)
        for other, j in live:
            if (other, j) != (path, i):
                put(other, j, {**records[other][j], "void": True, "void_reason": f"billed already in {path}",
                               "voided_at": task.get("updated_at") if task else None})  # fmt: skip
    return {path: document.dump_records(records[path]) for path in sorted(changed)}


def is_billed(item: dict[str, Any]) -> bool:
    """An item counted in the bill: not void."""
    return not item.get("void")


def completion_notes(index: Mapping[str, Task], ids: Iterable[str], was: Mapping[str, Any]) -> list[str]:
    """What `done` says of the tasks `ids` that a change completed (`was`: their statuses before it): minutes with
    no client to bill (billed under NO_CLIENT until the task has one), and the active minutes the session hooks
    measured, offered as the minutes to bill (never billed without being asked)."""
    notes: list[str] = []
    for tid in ids:
        task = index.get(tid)
        if task is None or task.get("status") != rules.COMPLETED or was.get(tid) == rules.COMPLETED:
            continue
        minutes, active = billable_minutes(task), activity.active_minutes(task)
        if minutes is None and active:
            notes.append(f"task {tid}: active {active} min in its sessions; bill it with "
                         f"`gittasks update {tid} --minutes {active}`")  # fmt: skip
        elif active is not None and minutes is not None and active != minutes:
            notes.append(f"task {tid}: {minutes} min billed, active {active} min in its sessions")
        if minutes and not document.as_object(task.get("metadata")).get("client"):
            notes.append(f"task {tid} bills {minutes} min but has no client: they show under {NO_CLIENT} in `report` "
                         f"and `report --items` until it has one (`gittasks update {tid} --client NAME`)")  # fmt: skip
    return notes
