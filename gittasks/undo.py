"""`gittasks undo`: the last change this machine made, taken back by a new commit.

The change undone is the newest commit of the task history (not a merge) whose `Machine:` trailer names this
machine, leaving out what gittasks does by itself (init, sync, reconcile, repair, migrate). Its inverse is made
field by field (`fieldwise`): each field it changed goes back to its value before it, a task it created is deleted,
a task it deleted comes back; other tasks, and other fields of the same tasks, keep what happened since. It is one
transaction and one commit (`Action: undo`), checked as every change is.

A list inside a task's context or metadata that the merge keeps as a set (`context.notes`, `files_modified`) is
taken back item by item: a note undone is removed, whatever notes other machines added since.

Refused, in one line, with nothing changed: when a later change (of any machine, synced in or not) built on it (set
one of the same fields of the same task after it, changed or removed an item it added to such a list, or deleted,
archived or brought back one of its tasks); when it was an archive, a restore or a resolve (`restore`, `archive`
and `update` take those back); and when it was an undo: `undo` takes back one change, it never undoes an undo (two
undos would silently swap the same values back and forth).
"""

from __future__ import annotations

from typing import Any

from gittasks import document, fieldwise, history, model, operations, rules, trailers
from gittasks.document import MISSING, Document, DocumentError, Task
from gittasks.errors import GittasksError
from gittasks.workspace import Outcome, Workspace

ACTION = "undo"
# what gittasks commits by itself: never "the last change this machine made"
AUTOMATIC = frozenset({"init", "sync", "reconcile", "repair", "migrate"})
# changes whose own counterpart takes them back
ELSEWHERE = {
    "archive": "`gittasks restore ID` brings a task back",
    "restore": "`gittasks archive` moves it again",
    "resolve": "the conflict record it settled is gone; `gittasks update` sets the field again",
}
SEARCHED = 200  # commits of this machine looked at, newest first


def last_change(ws: Workspace) -> dict[str, Any] | None:
    """The newest commit of the task history that this machine made and that undo may take back (`trailers`'s
    parsed form), None when there is none."""
    rev = ws.history_rev()
    if rev is None:
        return None
    machine = ws.machine
    grep = ["--no-merges", "-F", f"--grep=Machine: {trailers.value(machine)}", "-n", str(SEARCHED)]
    out = ws.repo.log(rev, history.LOG_FORMAT, *grep, "--", rules.ACTIVE_PATH)
    for commit in trailers.parse_log(out):
        if commit["machine"] == machine and commit["action"] not in AUTOMATIC and commit["parents"]:
            return commit
    return None


def _tasks_at(ws: Workspace, revs: list[str]) -> list[dict[str, Task]]:
    """The active list's tasks at each of `revs` (by id; none where the list is absent or does not read)."""
    found = []
    for blob in ws.repo.blobs([f"{rev}:{rules.ACTIVE_PATH}" for rev in revs]):
        tasks: dict[str, Task] = {}
        if blob is not None:
            try:
                tasks = model.task_index(document.load_document(blob, rules.ACTIVE_PATH))
            except DocumentError:
                tasks = {}
        found.append(tasks)
    return found


def undo(ws: Workspace) -> Outcome:
    """Take back this machine's last change (see the module's doc); the Outcome's value is the change undone
    (`trailers`'s parsed form of its commit)."""
    commit = last_change(ws)
    if commit is None:
        raise GittasksError(f"nothing to undo: this machine ({ws.machine}) made no change in the task history")
    sha, action = commit["commit"], commit["action"] or "edit"
    named = f"{sha[:8]} ({trailers.one_line(commit['subject'], 80)})"
    if action == ACTION:
        raise GittasksError(
            f"the last change of this machine is an undo, {named}; undo takes back one change and never an undo "
            "(make the change again instead)"
        )
    if action in ELSEWHERE:
        raise GittasksError(f"the last change of this machine is {named}, made by `{action}`; {ELSEWHERE[action]}")
    before, after = _tasks_at(ws, [commit["parents"][0], sha])
    ids = [tid for tid in dict.fromkeys(commit["tasks"]) if tid in before or tid in after]
    if not ids:
        raise GittasksError(f"nothing to undo in {named}: it changed no task of the active list")
    rev = ws.history_rev()
    later = history.field_times(ws.repo, rev, sha) if rev is not None else None

    def apply(doc: Document, change: model.Change) -> dict[str, Any]:
        current = model.task_index(doc)
        steps = [_inverse(tid, before.get(tid), after.get(tid), current.get(tid), named) for tid in ids]
        if later is not None:
            for tid, paths in steps:
                for path in paths:
                    stamp = later(tid, path)
                    if stamp is not None:
                        raise _built_on(named, tid, path, f"at {stamp}")
        for tid in ids:
            _take_back(doc, tid, before.get(tid), after.get(tid), change)
        if not change.touched:
            raise GittasksError(f"nothing to undo in {named}: its tasks are as they were before it")
        return commit

    return operations.change(ws, ACTION, apply)


def _built_on(named: str, tid: str, path: str, when: str) -> GittasksError:
    return GittasksError(
        f"cannot undo {named}: a later change built on it (task {tid!r}, {path}, {when}); nothing was changed"
    )


def _inverse(tid: str, old: Task | None, new: Task | None, now: Task | None, named: str) -> tuple[str, list[str]]:
    """(task id, the paths the change set whose later changes build on it) after checking that the task is still as
    the change left it at them; refused (`_built_on`) when not. A list that merges as a set (`context.notes`) is
    checked item by item (`fieldwise.list_change`): only the items the change added or removed count."""
    if new is None:  # the change deleted it
        if now is not None:
            raise _built_on(named, tid, "the task", "it is in the list again")
        return tid, []
    if now is None:
        raise _built_on(named, tid, "the task", "deleted or archived since")
    paths = fieldwise.changed_paths(old, new)
    if old is None:  # the change created it: every field it has now must be the created one
        paths = fieldwise.changed_paths({}, {**new, **{k: v for k, v in now.items() if k not in new}})
    whole = []
    for path in paths:
        listed = fieldwise.list_change(path, fieldwise.at_path(old, path), fieldwise.at_path(new, path))
        if listed is None:
            if not fieldwise.same(fieldwise.at_path(now, path), fieldwise.at_path(new, path)):
                raise _built_on(named, tid, path, "its value differs now")
            whole.append(path)
        elif not listed.holds(fieldwise.at_path(now, path)):  # (items other changes added since are theirs)
            raise _built_on(named, tid, path, "an item it added or removed differs now")
    return tid, whole


def _take_back(doc: Document, tid: str, old: Task | None, new: Task | None, change: model.Change) -> None:
    """Task `tid` as it was before the change, at the paths the change set."""
    index = model.task_index(doc)
    if old is None:  # created by the change: deleted
        if tid in index:
            model.delete_task(doc, tid, change)
        return
    if new is None:  # deleted by the change: back, its links restored through both sides
        if tid not in index:
            doc["tasks"].append({**old, "blocks": [], "blockedBy": []})
            index = model.task_index(doc)
        values = {key: old.get(key, MISSING) for key in rules.ID_LIST_FIELDS}
        fieldwise.set_fields(doc, tid, values, change)
        change.stamp(index[tid])
        return
    task = index[tid]
    restored: dict[str, Any] = {}
    for path in fieldwise.changed_paths(old, new):
        current, was = {**task, **restored}, fieldwise.at_path(old, path)
        listed = fieldwise.list_change(path, was, fieldwise.at_path(new, path))
        value = was if listed is None else listed.taken_back(fieldwise.at_path(current, path), was)
        field, value = fieldwise.with_path(current, path, value)
        restored[field] = value
    fieldwise.set_fields(doc, tid, restored, change)
