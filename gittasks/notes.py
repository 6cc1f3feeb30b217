"""Notes on a task (`gittasks note ID TEXT`): timestamped, with the machine that wrote them, kept in the task's
context as `context.notes`, a list of `{"at", "machine", "text"}`.

The context is the schema's free-form object, so every reader keeps the list as it is, and the merge takes it
as an ordered set whose items are told apart by `at` and `machine` (`rules.LIST_ITEM_KEYS`): two machines that
each add a note keep both, with no conflict, in the same order everywhere (the base's notes, then the new ones by
time). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from gittasks import document, model, rules, taskcheck
from gittasks.document import Document
from gittasks.errors import GittasksError

KEY = "notes"  # in the task's context


def add(doc: Document, task_id: str, text: str, change: model.Change) -> dict[str, Any]:
    """Append a note to task `task_id`, stamped with the change's moment (after the task's last note, so that
    each note of a task has its own stamp) and machine; the note."""
    if not text.strip():
        raise GittasksError("the note is empty; give the text to note")
    task = model.task_index(doc)[task_id]
    taskcheck.refuse_kept(task)
    context = document.as_object(task.get("context"))
    current = context.get(KEY)
    if current is not None and not isinstance(current, list):
        raise GittasksError(f"task {task_id!r}: context.{KEY} is not a list; fix it with `gittasks edit {task_id}`")
    earlier = [n["at"] for n in current or [] if isinstance(n, dict) and isinstance(n.get("at"), str)]
    note = {"at": rules.next_stamp(max(earlier, default=None), change.now), "machine": change.machine, "text": text}
    task["context"] = {**context, KEY: [*(current or []), note]}
    change.stamp(task)
    return note


def of(task: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The task's notes, in their order; None when its context holds no list of notes (nothing, or something
    else under the name, which is then shown as any other context key)."""
    context = task.get("context")
    listed = context.get(KEY) if isinstance(context, dict) else None
    if not isinstance(listed, list) or not all(isinstance(n, dict) for n in listed):
        return None
    return listed
