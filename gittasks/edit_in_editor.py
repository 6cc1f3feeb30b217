"""`gittasks edit ID`: the task's JSON opened in the user's editor and, once saved, checked and committed.

The editor is `$VISUAL`, else `$EDITOR`, else `vi`, its command line split as a shell would (`shlex`); it edits a
temporary file holding the task alone. No lock is held while it runs: when it is done, the fields the user changed
are set on the task as it is then (`fieldwise.set_fields`, a status through the edit engine's legal path), in one
transaction and one commit, and only if no other change set those fields meanwhile. What is saved passes the checks
of a direct write of the file (the JSON rules, the schema, the relations) or nothing is changed, in one line.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gittasks import document, edits, fieldwise, jsonvalue, model, operations, rules, taskcheck, work_items
from gittasks.document import Document, Task
from gittasks.errors import GittasksError
from gittasks.workspace import Outcome, Workspace

# the fields that follow the status: the edit engine sets them when the status changes
STATUS_FIELDS = ("status", "started_at", "completed_at", "blocked_reason")


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The editor's command line: `$VISUAL`, else `$EDITOR` (split as a shell would), else `vi`."""
    env = os.environ if environ is None else environ
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if not value:
            continue
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise GittasksError(f"${name} {value!r} is not a command line ({exc}); nothing was changed") from None
        if words:
            return words
    return ["vi"]


def run_editor(path: Path) -> None:
    """Open `path` in the editor, on this terminal, and wait for it."""
    command = editor_command()
    try:
        code = subprocess.run([*command, str(path)], check=False).returncode
    except OSError as exc:
        raise GittasksError(
            f"cannot run the editor {command[0]!r} ({exc.strerror or exc}); set VISUAL or EDITOR; nothing was changed"
        ) from None
    if code != 0:
        raise GittasksError(f"the editor {command[0]!r} exited with {code}; nothing was changed")


def edit(ws: Workspace, given: str, editor: Callable[[Path], None] = run_editor) -> Outcome:
    """Edit task `given` (an id or a unique prefix) in the editor; one commit, or none when nothing changed (the
    Outcome's notes say so). The Outcome's value is the task."""
    task = ws.get(given)
    tid = str(task["id"])
    shown = document.dump_json(document.canonical_task(task))
    with tempfile.TemporaryDirectory(prefix="gittasks-edit-") as folder:
        path = Path(folder) / "task.json"
        path.write_bytes(shown)
        editor(path)
        try:
            saved = path.read_bytes()
        except OSError as exc:
            raise GittasksError(f"the edited file is gone ({exc.strerror or exc}); nothing was changed") from None
    try:
        edited = read_edit(saved, tid)
        paths = [p for p in fieldwise.changed_paths(task, edited) if p.partition(".")[0] != "id"]
        if not paths:
            return Outcome(None, [], ["nothing changed"], task)
        return operations.change(ws, "edit", lambda doc, change: apply(doc, tid, task, edited, change))
    except GittasksError as exc:
        if saved == shown:
            raise
        kept = GittasksError(f"{exc}; {_keep(ws, tid, saved)}")
        kept.exit_code = exc.exit_code
        raise kept from None


def _keep(ws: Workspace, tid: str, saved: bytes) -> str:
    """What the user typed, kept in the git dir when its edit is refused (as git keeps COMMIT_EDITMSG): where."""
    path = ws.repo.git_dir / f"gittasks-edit-{tid}.json"
    try:
        path.write_bytes(saved)
    except OSError:
        return "your edit could not be kept"
    return f"your edit is kept in {path}"


def read_edit(saved: bytes, tid: str) -> Task:
    """The task the user saved, refused in one line when a direct write of it would be: not JSON by the file's rules,
    not a task object, another id, a field the schema refuses."""
    try:
        edited = jsonvalue.loads(saved.removeprefix(b"\xef\xbb\xbf"), "the edited task")  # (an editor's BOM)
    except jsonvalue.DocumentError as exc:
        raise GittasksError(f"{exc}; nothing was changed") from None
    if not isinstance(edited, dict):
        raise GittasksError("the edited task is not a JSON object; nothing was changed")
    if edited.get("id") != tid:
        raise GittasksError(f"the id cannot be changed (it was {tid!r}); nothing was changed")
    found = taskcheck.task_problem(edited)
    if found is not None:
        raise GittasksError(f"the edited task: {document.field_message(*found)}; nothing was changed")
    for name in ("metadata", "context"):  # minutes as every door takes them: "45" is 45, "soon" is refused
        values = edited.get(name)
        if isinstance(values, dict):
            edited[name], problems = work_items.with_numbers(values, name)
            if problems:
                raise GittasksError(f"the edited task: {problems[0]}; give a number, e.g. 45; nothing was changed")
    return edited


def apply(doc: Document, tid: str, shown: Task, edited: Task, change: model.Change) -> Task:
    """Set on task `tid` of `doc` the fields `edited` changed from `shown` (what the editor was given), refused when
    another change set one of them meanwhile; a new status goes the legal path through the edit engine (blockers
    checked, stamps and work items as for `update`)."""
    index = model.task_index(doc)
    if tid not in index:
        raise GittasksError(f"task {tid!r} was deleted or archived while it was edited; nothing was changed")
    current = index[tid]
    paths = fieldwise.changed_paths(shown, edited)
    moved = [p for p in paths if not fieldwise.same(fieldwise.at_path(current, p), fieldwise.at_path(shown, p))]
    if moved:
        raise GittasksError(
            f"task {tid!r}: {', '.join(moved)} changed while it was edited (a sync or another command); nothing was "
            "changed: edit it again"
        )
    status = edited.get("status", rules.PENDING)
    status_changed = "status" in paths
    values: dict[str, Any] = {}
    for path in paths:
        head = path.partition(".")[0]
        if status_changed and head in STATUS_FIELDS:
            continue
        field, value = fieldwise.with_path({**current, **values}, path, fieldwise.at_path(edited, path))
        values[field] = value
    fieldwise.set_fields(doc, tid, values, change)
    if status_changed:
        reason = edited.get("blocked_reason") if isinstance(edited.get("blocked_reason"), str) else None
        status_edit = edits.Edit(status=status, reason=reason, walk=True, implicit_reopen=True)
        edits.apply_edit(doc, tid, status_edit, change, lambda given: given)
    return model.task_index(doc)[tid]
