"""A task's fields set to given values, one field at a time: the step under `edit` (a task's JSON edited by hand)
and `undo` (the inverse of a change). A dependency link is changed through the model's link operations, so that
the other task's side follows and no cycle is made; every other field is set as given. What a change did to a list
that the merge keeps as a set (`context.notes`) is told item by item (`ListChange`), so that `undo` takes back its
own items alone. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gittasks import model, rules
from gittasks.document import MISSING, Document, Task
from gittasks.errors import GittasksError
from gittasks.merge import values

# what a change stamps by itself: never edited, never taken back
IGNORED = frozenset({*rules.BOOKKEEPING_FIELDS})


def value_bytes(value: Any) -> bytes:
    """A value's JSON as it compares (sorted keys; `true`, `1` and `1.0` differ); b"" for an absent one."""
    return b"" if value is MISSING else orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def same(one: Any, other: Any) -> bool:
    return value_bytes(one) == value_bytes(other)


def at_path(task: Task | None, path: str) -> Any:
    """The value at `path` (a field, or `field.key` inside an object field), MISSING when absent."""
    if task is None:
        return MISSING
    head, _, key = path.partition(".")
    value = task.get(head, MISSING)
    if not key:
        return value
    return value.get(key, MISSING) if isinstance(value, dict) else MISSING


def changed_paths(old: Task | None, new: Task | None) -> list[str]:
    """What differs between two versions of a task, as paths: a field, or `field.key` for a key of an object both
    versions hold (`metadata.priority`), so that changes of two keys of one object are told apart. The bookkeeping
    stamps are left out."""
    before, after = old or {}, new or {}
    paths: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key in IGNORED or same(before.get(key, MISSING), after.get(key, MISSING)):
            continue
        one, other = before.get(key), after.get(key)
        if isinstance(one, dict) and isinstance(other, dict):
            paths += [
                f"{key}.{k}"
                for k in sorted(set(one) | set(other))
                if not same(one.get(k, MISSING), other.get(k, MISSING))
            ]
        else:
            paths.append(key)
    return paths


@dataclass(frozen=True)
class ListChange:
    """What a change did to a list inside a task's object field (`context.notes`), which the merge keeps as an
    ordered set (each machine's additions and removals kept): the items it added and those it removed, each by what
    tells it apart (`_identity`: a note by its `at` and `machine`). Taking it back touches these items alone,
    whatever other items came since."""

    keys: tuple[str, ...]  # what tells the list's objects apart (`rules.LIST_ITEM_KEYS`)
    added: dict[bytes, Any]
    removed: dict[bytes, Any]

    def holds(self, now: Any) -> bool:
        """Does `now` still hold what the change did: each item it added, as it added it, and none it removed?"""
        items = values.by_identity([] if now is MISSING or now is None else now, self.keys)
        if items is None:
            return False
        return all(same(items.get(k, MISSING), v) for k, v in self.added.items()) and not self.removed.keys() & items

    def taken_back(self, now: Any, before: Any) -> Any:
        """`now` (as `holds` found it) without the items the change added and with those it removed, at the end;
        `before` (the value before the change: absent, null) when nothing is left and that was no list."""
        kept = {k: v for k, v in (values.by_identity(now, self.keys) or {}).items() if k not in self.added}
        items = [*kept.values(), *(v for k, v in self.removed.items() if k not in kept)]
        return items if items or isinstance(before, list) else before


def list_change(path: str, old: Any, new: Any) -> ListChange | None:
    """The change of the list at `path` (`field.key`, inside an object field) from `old` to `new` as a `ListChange`;
    None when it is no such list (a field of its own, a value that is no list, items that cannot be told apart) or
    when only the order of its items changed."""
    if "." not in path or not (old is MISSING or old is None or isinstance(old, list)):
        return None
    keys = rules.LIST_ITEM_KEYS.get(path.rsplit(".", 1)[-1], ())
    before, after = (
        values.by_identity([] if old is MISSING or old is None else old, keys),
        values.by_identity(new, keys),
    )
    if before is None or after is None or before.keys() == after.keys():
        return None
    return ListChange(keys, {k: v for k, v in after.items() if k not in before},
                      {k: v for k, v in before.items() if k not in after})  # fmt: skip


def with_path(task: Task, path: str, value: Any) -> tuple[str, Any]:
    """(field, the field's new value) that sets `path` of `task` to `value` (MISSING: removed)."""
    head, _, key = path.partition(".")
    if not key:
        return head, value
    current = task.get(head)
    inner = dict(current) if isinstance(current, dict) else {}
    if value is MISSING:
        inner.pop(key, None)
    else:
        inner[key] = value
    return head, inner


def set_fields(doc: Document, task_id: str, values: dict[str, Any], change: model.Change) -> Task:
    """Set fields of task `task_id` to `values` (MISSING: the field removed). `blockedBy` and `blocks` go through
    `model.add_dependency` and `remove_dependency` (the other task's side follows; a cycle, a self-link or an
    unknown id is refused); the task is stamped when anything changed."""
    index = model.task_index(doc)
    task = index[task_id]
    for key in rules.ID_LIST_FIELDS:
        if key in values:
            _relink(doc, task_id, key, values[key], change)
    changed = False
    for key, value in values.items():
        if key == "id" and value != task_id:
            raise GittasksError(f"task {task_id!r}: the id cannot be changed; create a new task instead")
        if key in IGNORED or same(task.get(key, MISSING), value):
            continue
        if value is MISSING:
            task.pop(key, None)
        else:
            task[key] = value
        changed = True
    if changed:
        change.stamp(task)
    return task


def _relink(doc: Document, task_id: str, key: str, wanted: Any, change: model.Change) -> None:
    """The links of `key` (blockedBy or blocks) made what `wanted` lists, each side kept (a value that is no list of
    ids is left to the field's own check)."""
    if (
        wanted is not MISSING
        and wanted is not None
        and not (isinstance(wanted, list) and all(isinstance(v, str) for v in wanted))
    ):
        return
    current = model.task_index(doc)[task_id].get(key)
    have = [v for v in current if isinstance(v, str)] if isinstance(current, list) else []
    want = [] if wanted is MISSING or wanted is None else list(wanted)
    for other in [v for v in have if v not in want]:
        blocker, blocked = (other, task_id) if key == "blockedBy" else (task_id, other)
        model.remove_dependency(doc, blocker, blocked, change)
    for other in [v for v in want if v not in have]:
        blocker, blocked = (other, task_id) if key == "blockedBy" else (task_id, other)
        model.add_dependency(doc, blocker, blocked, change)
