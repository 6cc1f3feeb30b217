"""Settling recorded merge conflicts (`gittasks resolve`): keep the merged value, this machine's or the other
machine's, or set another; one field or every conflict of a task at once, in one commit."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from gittasks import document, ids, model, operations, rules
from gittasks.errors import GittasksError, UnknownId
from gittasks.workspace import Outcome, Workspace

KEEPS = ("kept", "ours", "theirs")  # what the merge kept, this machine's value, the other machine's
# the kinds of record that hold two values to choose from; the others (a rename, a link dropped to break a cycle, a
# task taken up on two machines, a task kept twice) say what the merge did, and settling them keeps it
CHOICES = frozenset({"field", "text", "status", "delete-edit"})


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


def resolve(
    ws: Workspace, given: str, field_name: str | None, *, value: str | None = None, keep: str = "kept"
) -> Outcome:
    """Settle the conflict of `field_name`, or every conflict of the task (`field_name` None: `resolve --all`): keep
    the value the merge kept (`keep` "kept"), this machine's ("ours") or the other machine's ("theirs") as the record
    has them, or set `value` (one field only). A status is set with the stamps that go with it, those of the side that
    recorded it (`model.set_status`, settling); the whole task (`task`, a delete against an edit) is kept, or deleted
    with the value `deleted`. Nothing changes when one record cannot be settled so."""
    if keep not in KEEPS:
        raise GittasksError(f"keep one of: {', '.join(KEEPS)}")
    if field_name is None and value is not None:
        raise GittasksError("a value settles one field: name the field, or settle them all with a side to keep")
    wanted = document.record_field(field_name) if field_name is not None else None

    def run(doc: dict[str, Any], change: model.Change) -> dict[str, Any]:
        active = [t["id"] for t in doc["tasks"]]
        records = [r for r in doc.get("conflicts") or [] if isinstance(r, dict)]
        recorded = {str(r.get("task")) for r in records}
        try:
            task_id = ids.resolve_id(active, given, changing=True)
        except UnknownId:  # a task no longer active (deleted, archived) may still have a record
            task_id = ids.resolve_id(recorded, given, changing=True)
        mine = [
            r
            for r in records
            if r.get("task") == task_id and (wanted is None or document.record_field(r.get("field")) == wanted)
        ]
        if not mine:
            fields = sorted({str(document.record_field(r.get("field"))) for r in records if r.get("task") == task_id})
            hint = f"its recorded conflicts: {', '.join(fields)}" if fields else "it has no recorded conflict"
            what = f"for {field_name!r} " if field_name is not None else ""
            raise GittasksError(f"no conflict recorded {what}of task {task_id!r}; {hint}")
        doc["conflicts"] = [r for r in doc.get("conflicts") or [] if r not in mine]
        task = model.task_index(doc).get(task_id)
        if task is not None and value is not None:
            assert wanted is not None  # (a value names its field: refused above otherwise)
            return _settle(doc, task, wanted, mine, parse_value(value), change, given_text=value)
        if task is not None and keep != "kept":
            chosen = [(r, _side(r, keep, change.machine)) for r in mine]
            for record, entry in sorted(chosen, key=lambda pair: _ORDER.get(_kind(pair[0]), 1)):
                if entry is None:
                    continue
                field = str(document.record_field(record.get("field")))
                settled = _settle(doc, task, field, [record], entry.get("value"), change)
                if settled is not task:  # the whole task deleted: its other records go with it
                    return settled
        if task is not None:
            change.stamp(task)
        elif task_id not in change.touched:
            change.touched.append(task_id)
        return task or {"id": task_id}

    return operations.change(ws, "resolve", run)


# whole-task records first (a delete ends the rest), then fields (a status's work item reads them), then the status
_ORDER = {"delete-edit": 0, "status": 2}


def _kind(record: dict[str, Any]) -> str:
    return str(record.get("kind") or "field")


def _side(record: dict[str, Any], keep: str, machine: str) -> dict[str, Any] | None:
    """The value a record holds from this machine (`keep` "ours") or from the other one ("theirs"); None for a record
    that says what the merge did (not a choice: it is kept). Refused when the record has not one value of each."""
    if _kind(record) not in CHOICES:
        return None
    entries = [v for v in record.get("values") or [] if isinstance(v, dict)]
    ours = [v for v in entries if v.get("machine") == machine]
    theirs = [v for v in entries if v.get("machine") != machine]
    if len(ours) != 1 or len(theirs) != 1:
        seen = ", ".join(str(v.get("machine") or "unknown") for v in entries) or "none"
        raise GittasksError(
            f"the conflict of {record.get('field')!r} of task {record.get('task')!r} has not one value from this "
            f"machine ({machine}) and one from another (its values come from: {seen}); settle it with --keep or "
            "--value"
        )
    return (ours if keep == "ours" else theirs)[0]


def _settle(
    doc: dict[str, Any],
    task: dict[str, Any],
    field: str,
    records: list[dict[str, Any]],
    value: Any,
    change: model.Change,
    *,
    given_text: str | None = None,
) -> dict[str, Any]:
    """Set `field` of `task` to `value` as a settled conflict; the task, or the deleted task."""
    if field == document.WHOLE_TASK:
        return _settle_whole_task(doc, task, records, given_text if given_text is not None else value, change)
    if field == "status":
        if value not in rules.STATUSES:
            raise GittasksError(f"unknown status {given_text or value!r}; use one of: {', '.join(rules.STATUSES)}")
        reason = (task.get("blocked_reason") or SETTLED_BLOCKED) if value == rules.BLOCKED else None
        model.set_status(doc, task["id"], value, _recorded_change(records, value, change), reason=reason, settle=True)
    else:
        set_path(task, field, value)
    change.stamp(task)
    return task


def _recorded_change(records: list[dict[str, Any]], status: Any, change: model.Change) -> model.Change:
    """The change a settled status is made with: the machine and moment of the side that recorded it (its stamps,
    `completed_at` or `started_at`, and its work item are those of that completion, not of the resolve); `change`
    itself when no side had it or its stamp is unknown or later than now. Shares `change`'s lists (touched, notes,
    work items)."""
    for record in records:
        for entry in record.get("values") or []:
            if not isinstance(entry, dict) or entry.get("value") != status:
                continue
            moment = rules.parse_stamp(entry.get("updated_at"))
            if moment is not None and moment <= change.now:
                return dataclasses.replace(change, machine=str(entry.get("machine") or change.machine), now=moment)
    return change


def _settle_whole_task(
    doc: dict[str, Any], task: dict[str, Any], records: list[dict[str, Any]], value: Any, change: model.Change
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
