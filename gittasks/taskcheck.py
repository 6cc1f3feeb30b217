"""The schema's check on the write path, without pydantic: the same rules as `schema.TaskModel` and
`schema.TaskFileModel` (`tests/test_taskcheck.py` checks that both accept and refuse the same tasks, field by field),
written out so that a change pays for no pydantic import (about 150 ms, most of a hook's time).

pydantic stays the schema's statement: `doctor` and `validate` run it and report every problem; this module reports
the first one, in the same form. Pure: documents in, DocumentError out.
"""

from __future__ import annotations

from typing import Any

from gittasks import document, model, rules
from gittasks.document import Document, DocumentError

# (field, kind) in the order of schema.TaskModel, so that the first problem named is the one pydantic names first
TASK_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "name"),
    ("subject", "name"),
    ("description", "text"),
    ("activeForm", "text"),
    ("status", "status"),
    ("owner", "text"),
    ("created_at", "stamp"),
    ("started_at", "stamp"),
    ("completed_at", "stamp"),
    ("updated_at", "stamp"),
    ("updated_by", "text"),
    ("blocks", "ids"),
    ("blockedBy", "ids"),
    ("blocked_reason", "text"),
    ("parent", "text"),
    ("type", "text"),
    ("metadata", "object"),
    ("context", "object"),
)
_STRING = "Input should be a valid string"
_STATUS = "Input should be " + ", ".join(f"'{s}'" for s in rules.STATUSES[:-1]) + f" or '{rules.STATUSES[-1]}'"


def _problem(kind: str, value: Any) -> tuple[str, str] | None:
    """(path suffix, message) of what is wrong with a field's value, None when it is right."""
    if kind == "name":
        if not isinstance(value, str):
            return "", _STRING
        return ("", "String should have at least 1 character") if not value else None
    if value is None and kind in ("text", "stamp"):
        return None
    if kind in ("text", "stamp"):
        if not isinstance(value, str):
            return "", _STRING
        if kind == "stamp" and rules.parse_stamp(value) is None:
            return "", "Value error, not an ISO 8601 timestamp"
        return None
    if kind == "status":
        if value not in rules.STATUSES or not isinstance(value, str):
            return "", "Input should be " + ", ".join(
                f"'{s}'" for s in rules.STATUSES[:-1]
            ) + f" or '{rules.STATUSES[-1]}'"
        return None
    if kind == "ids":
        if not isinstance(value, list):
            return "", "Input should be a valid list"
        for index, item in enumerate(value):
            if not isinstance(item, str):
                return f".{index}", _STRING
        return None
    if not isinstance(value, dict):  # object
        return "", "Input should be a valid dictionary"
    return None


def task_problem(task: Any) -> tuple[str, str] | None:
    """(field path, message) of the first thing the schema refuses in `task`, None when it accepts it."""
    if not isinstance(task, dict):
        return "", "Input should be a valid dictionary or instance of TaskModel"
    for name, kind in TASK_FIELDS:
        if name not in task:
            if kind == "name":
                return name, "Field required"
            continue
        found = _problem(kind, task[name])
        if found is not None:
            return name + found[0], found[1]
    return None


def _refuse(where: str, path: str, message: str) -> DocumentError:
    return DocumentError(f"{where}: field '{path or '(the task)'}': {message}; fix the file or restore it from git")


def check_document(doc: Document, name: str) -> None:
    """The schema's check of a whole task list, then the relations (`model.check_relations`); DocumentError with
    one line naming the file, the task and the field (as `schema.validate_full` does)."""
    last = doc.get("last_updated")
    if last is not None and (not isinstance(last, str) or rules.parse_stamp(last) is None):
        message = _STRING if not isinstance(last, str) else "Value error, not an ISO 8601 timestamp"
        raise _refuse(name, "last_updated", message)
    conflicts = doc.get("conflicts")
    if conflicts is not None:
        if not isinstance(conflicts, list):
            raise _refuse(name, "conflicts", "Input should be a valid list")
        for index, record in enumerate(conflicts):
            if not isinstance(record, dict):
                raise _refuse(name, f"conflicts.{index}", "Input should be a valid dictionary")
    for index, task in enumerate(doc["tasks"]):
        found = task_problem(task)
        if found is not None:
            tid = task.get("id") if isinstance(task, dict) else None
            where = f"{name}: tasks[{index}]" + (f" (id {tid!r})" if tid else "")
            raise _refuse(where, *found)
    model.check_relations(doc, name)


def file_problem(raw: bytes, name: str) -> str | None:
    """The first problem of a task file's bytes (the active list, an archive month, a work-item month), None when it
    can be committed."""
    try:
        if not name.endswith(".jsonl"):
            check_document(document.load_document(raw, name), name)
            return None
        lines = document.read_lines(raw, name)
        if "/work-items/" in "/" + name.replace("\\", "/"):
            return None  # each line an object: read_lines checked it
        for number, task in enumerate(lines, start=1):
            document.check_task(task, f"{name}:{number}")
            found = task_problem(task)
            if found is not None:
                return f"{name}:{number}: field '{found[0]}': {found[1]}"
    except DocumentError as exc:
        return str(exc)
    return None
