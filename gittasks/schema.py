"""The schema of the task files (pydantic v2): the full check run before every write, by `doctor` and `validate`.

Only the write transaction, `doctor` and `validate` import this module: pydantic costs the read path (`list`,
`show`, ...) its start-up, and the merge driver never needs it. The pure rules over relations (self-links,
cycles, parent loops) are `model.check_relations`, which this check ends with.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any, Literal

# pydantic scans every installed package for plugins when a model is first built; gittasks uses none
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gittasks import document, model, rules, taskcheck
from gittasks.document import Document, DocumentError

Status = Literal["pending", "in_progress", "blocked", "completed", "cancelled"]


def _check_stamp(value: str | None) -> str | None:
    if value is not None and rules.parse_stamp(value) is None:
        raise ValueError("not an ISO 8601 timestamp")
    return value


class TaskModel(BaseModel):
    """One task, as in task-format.md. Unknown fields are allowed and kept."""

    model_config = ConfigDict(extra="allow", strict=True)

    id: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    description: str | None = None
    activeForm: str | None = None
    status: Status = "pending"
    owner: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None
    blocks: list[str] = Field(default_factory=list)
    blockedBy: list[str] = Field(default_factory=list)
    blocked_reason: str | None = None
    parent: str | None = None
    type: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)

    _stamps = field_validator("created_at", "started_at", "completed_at", "updated_at")(_check_stamp)


class TaskFileModel(BaseModel):
    """The whole `active-tasks.json`."""

    model_config = ConfigDict(extra="allow", strict=True)

    last_updated: str | None = None
    tasks: list[TaskModel]
    conflicts: list[dict[str, Any]] | None = None

    _stamp = field_validator("last_updated")(_check_stamp)


def _first_error(exc: ValidationError) -> tuple[list[Any], str]:
    err = exc.errors()[0]
    return list(err["loc"]), err["msg"]


def validate_full(doc: Document, name: str, *, before: Document | None = None) -> None:
    """The full schema check; DocumentError with one line naming the file, the task and the field. With `before`,
    only the tasks a change added or changed are checked, as `taskcheck.check_document` does (a task the schema
    refuses that the change left as it was passes; one it changed or removed is refused with the reason)."""
    changed, removed = model.changed_tasks(doc, before)
    earlier = model.task_index(before) if before is not None else {}
    try:
        TaskFileModel.model_validate({**doc, "tasks": [task for _, task in changed]})
    except ValidationError as exc:
        loc, message = _first_error(exc)
        where, kept = name, False
        if len(loc) >= 2 and loc[0] == "tasks" and isinstance(loc[1], int):
            index, task = changed[loc[1]]
            tid = task.get("id") if isinstance(task, dict) else None
            where += f": tasks[{index}]" + (f" (id {tid!r})" if tid else "")
            loc = loc[2:]
            kept = isinstance(tid, str) and tid in earlier and _refused(earlier[tid])
        path = ".".join(str(p) for p in loc) or "(the task)"
        if kept:
            raise taskcheck.kept_error(where, path, message) from None
        raise DocumentError(f"{where}: field '{path}': {message}; fix the file or restore it from git") from None
    for task in removed:
        try:
            TaskModel.model_validate(task)
        except ValidationError as exc:
            loc, message = _first_error(exc)
            where = f"{name}: task {task['id']!r} (removed)"
            raise taskcheck.kept_error(where, ".".join(str(p) for p in loc), message) from None
    model.check_relations(doc, name)


def _refused(task: Any) -> bool:
    try:
        TaskModel.model_validate(task)
    except ValidationError:
        return True
    return False


def problems(raw: bytes, name: str, *, known_elsewhere: Collection[str] = ()) -> list[str]:
    """Every problem of a task file, one line each (for `validate`); empty when the file is good. Each task the
    schema refuses has its line (such a task is kept as it is, see `taskcheck.KEPT`); a task that is also in the
    archive (`known_elsewhere`) is named too."""
    try:
        if name.endswith(".jsonl"):
            return _jsonl_problems(raw, name)
        doc = document.load_document(raw, name)
    except DocumentError as exc:
        return [str(exc)]
    found: list[str] = []
    try:
        validate_full({**doc, "tasks": []}, name)
    except DocumentError as exc:
        found.append(str(exc))
    for index, task in enumerate(doc["tasks"]):
        try:
            TaskModel.model_validate(task)
        except ValidationError as exc:
            loc, message = _first_error(exc)
            where = f"{name}: tasks[{index}] (id {task['id']!r})"
            found.append(str(taskcheck.kept_error(where, ".".join(str(p) for p in loc), message)))
    try:
        model.check_relations(doc, name)
    except DocumentError as exc:
        found.append(str(exc))
    found += model.link_problems(doc, name, known_elsewhere)
    for task in doc["tasks"]:
        if task["id"] in known_elsewhere:
            found.append(
                f"{name}: task {task['id']!r} is in the active list and in the archive too (a plain-git merge or a "
                "hand edit); the next gittasks command keeps the copy changed last"
            )
    return list(dict.fromkeys(found))


def _jsonl_problems(raw: bytes, name: str) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = document.parse_bytes(line, f"{name}:{number}")
        except DocumentError as exc:
            found.append(str(exc))
            continue
        if "/work-items/" in name.replace("\\", "/"):
            if not isinstance(value, dict):
                found.append(f"{name}:{number}: a work item must be a JSON object")
            continue
        try:
            document.check_task(value, f"{name}:{number}")
            TaskModel.model_validate(value)
        except DocumentError as exc:
            found.append(str(exc))
            continue
        except ValidationError as exc:
            err = exc.errors()[0]
            found.append(f"{name}:{number}: field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}")
            continue
        if value["id"] in seen:
            found.append(f"{name}:{number}: duplicate id {value['id']!r}")
        seen.add(value["id"])
    return found
