"""Work items: the billable record of a completed client task, and the monthly JSONL files that hold them.

Pure: a task in, a record out; records and the files' current bytes in, the files' new bytes out. The write
transaction (`Workspace.change`) commits them with the change that completed the task; `reconcile` keeps them
agreeing with their tasks after a change or a merge (a task no longer completed voids its item, never drops it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from gittasks import document, rules
from gittasks.document import Task


def billable_minutes(task: Task) -> int | float | None:
    """A task's billable minutes: `context.billable_minutes`, else `metadata.billable_minutes`, else a top-level
    `billable_minutes` (the seed's place); None when none is a number."""
    for value in (
        document.as_object(task.get("context")).get("billable_minutes"),
        document.as_object(task.get("metadata")).get("billable_minutes"),
        task.get("billable_minutes"),
    ):
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def work_item(task: Task, machine: str, now: datetime) -> dict[str, Any] | None:
    """The billable record of a completed client task (a `metadata.client` and billable minutes), with the seed's
    keys (`category`, `problem`, `solution`, `billable_minutes`, `linked_task_id`) and client, project, machine,
    date; None for any other task. The category is `metadata.category`, else the task's type."""
    metadata = document.as_object(task.get("metadata"))
    context = document.as_object(task.get("context"))
    client = metadata.get("client")
    minutes = billable_minutes(task)
    if not client or minutes is None:
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


BILLED_KEYS = ("billable_minutes", "client", "project")  # what an item must agree with its task on
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
    """`item` billing what its task bills now (its own id, machine and time kept), no longer void."""
    out = {k: v for k, v in item.items() if k not in ("void", "void_reason", "voided_at")}
    out.update({k: expected[k] for k in BILLED_KEYS})
    return out


def reconcile(
    files: Mapping[str, bytes], tasks: Mapping[str, Task], only: Collection[str] | None = None
) -> dict[str, bytes]:
    """The work-item files (`files`: every one there is, {path: bytes}) that must change to agree with `tasks`
    ({id: task}, all tasks active and archived): an item whose task is no longer completed and billable (reopened,
    cancelled by a merge, deleted) is marked void with the reason, not dropped; a void item whose task is billable
    again, or one whose minutes, client or project differ from its task's, follows the task; a completed billable
    task with no item gets one; of two live items of one task (completed on two machines in different months) the
    earlier bills and the other is void. `only`: look at these task ids alone. Depends on nothing but its input, so
    two machines reconciling the same merge write the same bytes."""
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
        if not places:
            path = path_for(expected)
            records.setdefault(path, []).append(expected)
            changed.add(path)
            continue
        live = [(p, i) for p, i in places if not records[p][i].get("void")] or places[-1:]
        path, i = live[0]
        put(path, i, _agreeing(records[path][i], expected))
        for other, j in live[1:]:
            put(other, j, {**records[other][j], "void": True, "void_reason": f"billed already in {path}",
                           "voided_at": task.get("updated_at") if task else None})  # fmt: skip
    return {path: document.dump_records(records[path]) for path in sorted(changed)}


def is_billed(item: dict[str, Any]) -> bool:
    """An item counted in the bill: not void."""
    return not item.get("void")
