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


def work_item(task: Task, machine: str, now: datetime) -> dict[str, Any] | None:
    """The billable record of a completed client task (metadata.client and context.billable_minutes), else None."""
    metadata = document.as_object(task.get("metadata"))
    context = document.as_object(task.get("context"))
    client = metadata.get("client")
    minutes = context.get("billable_minutes")
    if not client or not isinstance(minutes, int | float) or isinstance(minutes, bool):
        return None
    problem = task.get("subject", "")
    if task.get("description"):
        problem += ": " + str(task["description"]).strip().splitlines()[0]
    return {
        "id": f"wi-{task['id']}",
        "task": task["id"],
        "category": task.get("type") or "implementation",
        "problem": problem,
        "solution": context.get("outcome"),
        "billable_minutes": minutes,
        "client": client,
        "project": metadata.get("project"),
        "machine": machine,
        "time": task.get("completed_at") or rules.format_stamp(now),
    }


def path_for(item: dict[str, Any]) -> str:
    """The month's file a work item goes to (by its `time`)."""
    moment = rules.parse_stamp(item.get("time")) or rules.utc_now()
    return f"{rules.WORK_ITEMS_DIR}/{moment.strftime('%Y-%m')}.jsonl"


def with_items(items: Iterable[dict[str, Any]], read: Callable[[str], bytes | None]) -> dict[str, bytes]:
    """The work-item files with `items` added (an item with the same id is replaced); `read(path)` gives a file's
    current bytes (None: no such file). Lines are sorted by their bytes, as the merge writes them."""
    files: dict[str, bytes] = {}
    for item in items:
        rel = path_for(item)
        raw = files.get(rel) or read(rel) or b""
        records = [r for r in document.read_lines(raw, rel) if r.get("id") != item["id"]] + [item]
        files[rel] = b"".join(sorted(document.dump_line(r) for r in records))
    return files
