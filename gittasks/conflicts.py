"""Settling recorded merge conflicts (`gittasks resolve`): keep the merged value or set another, one commit."""

from __future__ import annotations

from typing import Any

import orjson

from gittasks import document, ids, model, operations, rules
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
        return orjson.loads(text)
    except ValueError:
        return text


SETTLED_BLOCKED = "blocked (chosen when a status conflict was settled)"  # a blocked status settled without a reason


def resolve(ws: Workspace, given: str, field_name: str, *, value: str | None) -> Outcome:
    """Settle the conflict of `field_name`: keep the value the merge kept (`value` None), or set `value`. A status
    is set with the stamps that go with it (`model.set_status`, settling); the whole task (`task`, a delete against
    an edit) is kept with `--keep`, or deleted with the value `deleted`."""
    wanted = document.record_field(field_name)

    def run(doc: dict[str, Any], change: model.Change) -> dict[str, Any]:
        active = [t["id"] for t in doc["tasks"]]
        records = [r for r in doc.get("conflicts") or [] if isinstance(r, dict)]
        recorded = {str(r.get("task")) for r in records}
        try:
            task_id = ids.resolve_id(active, given, changing=True)
        except UnknownId:  # a task no longer active (deleted, archived) may still have a record
            task_id = ids.resolve_id(recorded, given, changing=True)
        mine = [r for r in records if r.get("task") == task_id and document.record_field(r.get("field")) == wanted]
        if not mine:
            fields = sorted({str(document.record_field(r.get("field"))) for r in records if r.get("task") == task_id})
            hint = f"its recorded conflicts: {', '.join(fields)}" if fields else "it has no recorded conflict"
            raise GittasksError(f"no conflict recorded for {field_name!r} of task {task_id!r}; {hint}")
        doc["conflicts"] = [r for r in doc.get("conflicts") or [] if r not in mine]
        task = model.task_index(doc).get(task_id)
        if task is not None and value is not None:
            if wanted == document.WHOLE_TASK:
                return _settle_whole_task(doc, task, mine, value, change)
            if wanted == "status":
                status = parse_value(value)
                if status not in rules.STATUSES:
                    raise GittasksError(f"unknown status {value!r}; use one of: {', '.join(rules.STATUSES)}")
                reason = (task.get("blocked_reason") or SETTLED_BLOCKED) if status == rules.BLOCKED else None
                model.set_status(doc, task_id, status, change, reason=reason, settle=True)
            else:
                set_path(task, field_name, parse_value(value))
        if task is not None:
            change.stamp(task)
        elif task_id not in change.touched:
            change.touched.append(task_id)
        return task or {"id": task_id}

    return operations.change(ws, "resolve", run)


def _settle_whole_task(
    doc: dict[str, Any], task: dict[str, Any], records: list[dict[str, Any]], value: str, change: model.Change
) -> dict[str, Any]:
    """A delete against an edit settled with a value: `deleted` deletes the task, `edited` keeps it."""
    if not all(r.get("kind") == "delete-edit" for r in records) or value not in ("deleted", "edited"):
        raise GittasksError(
            "settle a conflict about a whole task with --keep, or one of a delete and an edit with --value deleted "
            "(or edited)"
        )
    if value == "deleted":
        return model.delete_task(doc, task["id"], change)
    change.stamp(task)
    return task
