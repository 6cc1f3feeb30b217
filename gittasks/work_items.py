"""Work items: the billable record of a completed client task, and the monthly JSONL files that hold them.

Pure: a task in, a record out; records and the files' current bytes in, the files' new bytes out. The write
transaction (`Workspace.change`) commits them with the change that completed the task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
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
