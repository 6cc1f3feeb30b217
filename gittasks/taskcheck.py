"""The schema's check on the write path, without pydantic: the same rules as `schema.TaskModel` and
`schema.TaskFileModel` (`tests/test_taskcheck.py` checks that both accept and refuse the same tasks, field by field),
written out so that a change pays for no pydantic import (about 150 ms, most of a hook's time).

pydantic stays the schema's statement: `doctor` and `validate` run it and report every problem; this module reports
the first one, in the same form. Pure: documents in, DocumentError out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
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


# a task this version's schema refuses that is already committed (from a newer gittasks, or a hand edit): kept as it
# is, the changes of other tasks go on, and a change of that task itself is refused with this reason
KEPT = (
    "gittasks keeps such a task as it is (a newer gittasks or a hand edit wrote it) and changes or removes no such "
    "task: change it with the gittasks that wrote it, or fix it by hand"
)


def kept_error(where: str, path: str, message: str) -> DocumentError:
    return DocumentError(f"{where}: field '{path or '(the task)'}': {message}; {KEPT}")


def refuse_kept(task: Any) -> None:
    """Refuse a change of `task` when the schema refuses it as it is (a task kept as it is, see KEPT)."""
    found = task_problem(task)
    if found is not None:
        raise kept_error(f"task {task.get('id')!r}", *found)


def _where(name: str, index: int, task: Any) -> str:
    tid = task.get("id") if isinstance(task, dict) else None
    return f"{name}: tasks[{index}]" + (f" (id {tid!r})" if tid else "")


def check_document(
    doc: Document,
    name: str,
    *,
    before: Document | None = None,
    archived: Callable[[], Collection[str]] | None = None,
    rewrite: document.Rewrite | None = None,
) -> None:
    """The schema's check of a whole task list, then the relations (`model.check_relations`); DocumentError with
    one line naming the file, the task and the field (as `schema.validate_full` does).

    With `before` (the list the change started from), only the tasks the change added or changed are checked
    (`model.changed_tasks`): a task the schema refuses that the change left as it was passes (see KEPT), one it
    changed or removed is refused with that reason. With `archived` (an edit made outside gittasks: the archived ids,
    asked for only when a link names a task the list lacks), the links of the tasks it changed must be what
    `validate` accepts (`model.link_problems`). With `rewrite` (`document.dumps_changed`), what changed is read
    from it instead of comparing `before`."""
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
    if rewrite is not None:
        changed, removed, earlier = rewrite.changed, rewrite.removed, rewrite.earlier
    else:
        changed, removed = model.changed_tasks(doc, before)
        earlier = model.task_index(before) if before is not None else {}
    for index, task in changed:
        found = task_problem(task)
        if found is not None:
            tid = task.get("id") if isinstance(task, dict) else None
            old = earlier.get(tid) if isinstance(tid, str) else None
            if old is not None and task_problem(old) is not None:
                raise kept_error(_where(name, index, task), *found)
            raise _refuse(_where(name, index, task), *found)
    for task in removed:
        found = task_problem(task)
        if found is not None:
            raise kept_error(f"{name}: task {task['id']!r} (removed)", *found)
    touched = {t["id"] for _, t in changed if isinstance(t, dict) and isinstance(t.get("id"), str)}
    model.check_relations(doc, name, only=touched if before is not None or rewrite is not None else None)
    if archived is not None:
        ids = {t["id"] for _, t in changed} | {t["id"] for t in removed}
        problems = model.link_problems(doc, name, only=ids)
        if problems:
            problems = model.link_problems(doc, name, archived(), only=ids)
        if problems:
            raise DocumentError(f"{problems[0]}; fix the file or restore it from git")


def file_problem(
    raw: bytes, name: str, base: bytes | None = None, archived: Callable[[], Collection[str]] | None = None
) -> str | None:
    """The first problem of a task file's bytes (the active list, an archive month, a work-item month), None when it
    can be committed. `base`: the file's committed bytes, whose tasks left as they were pass as they were (see
    `check_document`); `archived`: the archived ids, for the links of an edit made outside gittasks."""
    try:
        document.check_file(raw, name)
        if not name.endswith(".jsonl"):
            before = None
            if base is not None:
                with contextlib.suppress(DocumentError):
                    before = document.load_document(base, name)
            check_document(document.load_document(raw, name), name, before=before, archived=archived)
            return None
        if "/work-items/" in "/" + name.replace("\\", "/"):
            return None  # each line an object: check_file checked it
        earlier: dict[str, Any] = {}
        if base is not None:
            with contextlib.suppress(DocumentError):
                earlier = {t["id"]: t for t in document.read_task_lines(base, name)}
        for number, task in enumerate(document.read_lines(raw, name), start=1):
            if earlier.get(task["id"]) == task:
                continue
            found = task_problem(task)
            if found is not None:
                return f"{name}:{number}: field '{found[0]}': {found[1]}"
    except DocumentError as exc:
        return str(exc)
    return None
