"""The schema's check on the write path, without pydantic: it reads `schema_table`, the table generated from the
pydantic models (`schema.py`, the one statement of the schema), so that a change pays for no pydantic import.
`doctor` and `validate` run pydantic itself and report every problem; this module reports the first one, worded
the same way (`document.field_message`). Pure: documents in, DocumentError out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

from gittasks import document, model, rules
from gittasks.document import MISSING, Document, DocumentError
from gittasks.schema_table import DOCUMENT, TASK, Rule

# (field path, what the schema expects there, the value found: MISSING when absent)
Problem = tuple[str, str, Any]


def _value_problem(name: str, rule: Rule, value: Any) -> Problem | None:
    kind = document.json_type(value)
    if kind not in rule.types:
        return name, rule.expected, value
    if kind == "string" and (
        len(value) < rule.min_length
        or (rule.enum and value not in rule.enum)
        or (rule.stamp and rules.parse_stamp(value) is None)
    ):
        return name, rule.expected, value
    if kind == "array" and rule.items:
        for index, item in enumerate(value):
            if document.json_type(item) != rule.items:
                return f"{name}.{index}", rule.item_expected, item
    return None


def fields_problem(value: dict[str, Any], table: Mapping[str, Rule], skip: Collection[str] = ()) -> Problem | None:
    """The first field of `value` the table refuses, in the table's order (pydantic's), None when it accepts all."""
    for name, rule in table.items():
        if name in skip:
            continue
        if name not in value:
            if rule.required:
                return name, rule.expected, MISSING
            continue
        found = _value_problem(name, rule, value[name])
        if found is not None:
            return found
    return None


def task_problem(task: Any) -> Problem | None:
    """The first thing the schema refuses in `task`, None when it accepts it."""
    if not isinstance(task, dict):
        return "", "an object", task
    return fields_problem(task, TASK)


def head_problem(doc: Document) -> Problem | None:
    """The first thing the schema refuses in the list's own fields (the tasks are checked one by one)."""
    return fields_problem(doc, DOCUMENT, skip=("tasks",))


def refusal(where: str, problem: Problem) -> DocumentError:
    return DocumentError(f"{where}: {document.field_message(*problem)}; fix the file or restore it from git")


# a task this version's schema refuses that is already committed (from a newer gittasks, or a hand edit): kept as it
# is, the changes of other tasks go on, and a change of that task itself is refused with this reason
KEPT = (
    "gittasks keeps such a task as it is (a newer gittasks or a hand edit wrote it) and changes or removes no such "
    "task: change it with the gittasks that wrote it, or fix it by hand"
)


def kept_error(where: str, problem: Problem) -> DocumentError:
    return DocumentError(f"{where}: {document.field_message(*problem)}; {KEPT}")


def refuse_kept(task: Any) -> None:
    """Refuse a change of `task` when the schema refuses it as it is (a task kept as it is, see KEPT)."""
    found = task_problem(task)
    if found is not None:
        raise kept_error(f"task {task.get('id')!r}", found)


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
    task_problem: Callable[[Any], Problem | None] = task_problem,
    head_problem: Callable[[Document], Problem | None] = head_problem,
) -> None:
    """The schema's check of a whole task list, then the relations (`model.check_relations`); DocumentError with
    one line naming the file, the task and the field (as `schema.validate_full` does).

    With `before` (the list the change started from), only the tasks the change added or changed are checked
    (`model.changed_tasks`): a task the schema refuses that the change left as it was passes (see KEPT), one it
    changed or removed is refused with that reason. With `archived` (an edit made outside gittasks: the archived ids,
    asked for only when a link names a task the list lacks), the links of the tasks it changed must be what
    `validate` accepts (`model.link_problems`). With `rewrite` (`document.dumps_changed`), what changed is read
    from it instead of comparing `before`. `task_problem` and `head_problem` judge the fields: the table's by
    default, pydantic's in `schema.validate_full`."""
    found = head_problem(doc)
    if found is not None:
        raise refusal(name, found)
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
                raise kept_error(_where(name, index, task), found)
            raise refusal(_where(name, index, task), found)
    for task in removed:
        found = task_problem(task)
        if found is not None:
            raise kept_error(f"{name}: task {task['id']!r} (removed)", found)
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
                return f"{name}:{number}: {document.field_message(*found)}"
    except DocumentError as exc:
        return str(exc)
    return None
