"""Settling recorded merge conflicts (`gittasks resolve`): keep the merged value or set another, one commit."""

from __future__ import annotations

import json
from typing import Any

from gittasks import ids, model, operations
from gittasks.errors import GittasksError, UnknownId
from gittasks.workspace import Outcome, Workspace


def set_path(task: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    target = task
    for part in parts[:-1]:
        nxt = target.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            target[part] = nxt
        target = nxt
    target[parts[-1]] = value


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def resolve(ws: Workspace, given: str, field_name: str, *, value: str | None) -> Outcome:
    """Settle the conflict of `field_name`: keep the value the merge kept (`value` None), or set `value`."""

    def run(doc: dict[str, Any], change: model.Change) -> dict[str, Any]:
        active = [t["id"] for t in doc["tasks"]]
        records = [r for r in doc.get("conflicts") or [] if isinstance(r, dict)]
        recorded = {str(r.get("task")) for r in records}
        try:
            task_id = ids.resolve_id(active, given, changing=True)
        except UnknownId:  # a task no longer active (deleted, archived) may still have a record
            task_id = ids.resolve_id(recorded, given, changing=True)
        mine = [r for r in records if r.get("task") == task_id and r.get("field") == field_name]
        if not mine:
            fields = sorted({str(r.get("field")) for r in records if r.get("task") == task_id})
            hint = f"its recorded conflicts: {', '.join(fields)}" if fields else "it has no recorded conflict"
            raise GittasksError(f"no conflict recorded for {field_name!r} of task {task_id!r}; {hint}")
        doc["conflicts"] = [r for r in doc.get("conflicts") or [] if r not in mine]
        task = model.task_index(doc).get(task_id)
        if task is not None and value is not None:
            if field_name == "status":
                raise GittasksError("settle a status conflict with the status commands (start, done, reopen ...)")
            set_path(task, field_name, parse_value(value))
        if task is not None:
            change.stamp(task)
        elif task_id not in change.touched:
            change.touched.append(task_id)
        return task or {"id": task_id}

    return operations.change(ws, "resolve", run)
