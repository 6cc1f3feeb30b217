"""What Claude Code's hooks run: capture the native task tools into gittasks, and the session-start summary.

`capture` turns one PostToolUse payload into one gittasks change (one local commit; the background sync carries
it): a task tool's call the client reports as done, or an assistant's direct write of a task file. `session_start`
syncs when a remote is set (bounded: the session does not wait long) and returns the recovery summary;
`session_end` starts the background sync of what the session left. Both are called by
`claude/hook_main.py`, which turns a refusal into one line on stderr so that the session goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from gittasks import (
    activity_spool,
    autosync,
    claim,
    document,
    edits,
    ids,
    model,
    next_read,
    next_work,
    operations,
    recover,
    render,
    rules,
    sync,
    taskbranch,
)
from gittasks.document import Document
from gittasks.edits import Edit, Editor
from gittasks.errors import GittasksError, UnknownId
from gittasks.model import NewTask
from gittasks.workspace import Outcome, Workspace

TODO_PREFIX = "todo:"
NATIVE = "native"  # the task field that maps native ids: [{"machine", "session", "id", "list"?}]
LINK_KEY = "gittasks_id"  # TaskCreate metadata naming the gittasks task a new session continues
TASK_TOOLS = ("TaskCreate", "TaskUpdate", "TodoWrite")
WRITE_TOOLS = ("Write", "Edit", "MultiEdit")  # the assistant's own file writes: a task file's is committed at once
SHARED_LIST_VARIABLE = "CLAUDE_CODE_TASK_LIST_ID"  # sessions that share one native task list
PROJECT_VARIABLE = activity_spool.PROJECT_VARIABLE  # the folder Claude Code was started in (`hook ping` too)


class NotRecorded(GittasksError):
    """A payload the capture records nothing for (the client reports a failure, or the input is unusable)."""


class RefusedWrite(GittasksError):
    """The assistant wrote a task file that is not valid: not committed; exit 2 shows the model the reason."""

    exit_code = 2


def written_task_file(ws: Workspace, payload: dict[str, Any]) -> str | None:
    """The task file (its path in the repository) that a Write/Edit/MultiEdit payload wrote, None for any other."""
    tool_input = payload.get("tool_input")
    path = tool_input.get("file_path") if isinstance(tool_input, dict) else None
    if not isinstance(path, str) or not path:
        return None
    cwd = payload.get("cwd")
    target = Path(path) if Path(path).is_absolute() else Path(cwd if isinstance(cwd, str) else ws.repo.root) / path
    try:
        rel = target.resolve().relative_to(ws.repo.root.resolve()).as_posix()
    except (OSError, ValueError):
        return None
    return rel if taskbranch.is_task_path(rel) else None


def capture_write(ws: Workspace, payload: dict[str, Any]) -> Outcome:
    """A Write/Edit/MultiEdit of a task file, committed at once as an edit made outside gittasks (each changed task
    stamped); an invalid file is not committed (RefusedWrite). Any other file: nothing to do."""
    rel = written_task_file(ws, payload)
    if rel is None or failure(payload.get("tool_response")) is not None:
        return Outcome(None)
    try:
        ws.preflight()
    except GittasksError as exc:
        raise RefusedWrite(f"{rel} was not committed: {exc}") from None
    # minutes written as text were taken as numbers ("45"); what is no number stays as written, and the preflight's
    # taking in said so (`outside_edits.take_in`, in ws.messages)
    return Outcome(None)


SESSION_SYNC_TIMEOUT = 8.0  # seconds the session-start hook waits for its sync
# Claude Code puts a SessionStart hook's output longer than 10,000 characters (JavaScript's string length: UTF-16
# units) in a file and shows the model a 2 KB preview: the whole summary stays below it, a margin left
CONTEXT_LIMIT = 10_000 - 100
NEXT_BUDGET = 1_500  # of it, the `next` section that ends the summary


class NotSetUp(GittasksError):
    """The repository a hook serves keeps no gittasks list: a hook never sets one up as a side effect."""


def workspace_for(payload: dict[str, Any], given: Path | None = None) -> Workspace:
    """The repository a hook serves, as its user expects: the one `--repo` names; else the project Claude Code was
    started in (`CLAUDE_PROJECT_DIR`); else the session's folder (the payload's `cwd`). A checkout the session only
    went into (a vendored repository, a submodule, a sibling project) is not it. Refused (NotSetUp) when that
    repository keeps no gittasks list."""
    cwd = payload.get("cwd")
    if given is not None:
        ws = Workspace.open(given)
    else:
        ws = _open_first([f for f in (os.environ.get(PROJECT_VARIABLE), cwd) if isinstance(f, str) and f])
    if not ws.set_up():
        raise NotSetUp(
            f"gittasks is not set up in {render.safe(str(ws.repo.root))}, so nothing was recorded; run `gittasks init` "
            "there to keep its tasks"
        )
    return ws


def _open_first(folders: list[str]) -> Workspace:
    """The first of `folders` inside a git work tree; the last one's refusal when none is (no folder: the current
    one)."""
    for folder in folders[:-1]:
        with contextlib.suppress(GittasksError):
            return Workspace.open(Path(folder))
    return Workspace.open(Path(folders[-1]) if folders else None)


def stale_after(ws: Workspace) -> timedelta:
    """When an open task counts as stale in the recovery summary (`operations.stale_after`)."""
    return operations.stale_after(ws)


def session_start(ws: Workspace) -> str:
    """The SessionStart hook: a quick sync of the task commits when a remote is set (in a process of its own, ended
    with all it started after SESSION_SYNC_TIMEOUT), then the recovery summary for the new session. It begins with
    why the sync did not happen when it did not, and says what waits to be pushed; the background sync started here
    keeps the work tree following the other machines during the session."""
    why = sync.run_in_subprocess(ws.repo.root, SESSION_SYNC_TIMEOUT, tasks_only=True) if ws.repo.remotes() else None
    # the background sync then pulls while the session works, even one that only reads (and, when this sync did
    # not get through, sends what an earlier session left once the remote answers)
    autosync.request(ws, session=True)
    doc = ws.load()
    now, stale = rules.utc_now(), stale_after(ws)
    head = [f"gittasks: {render.safe(why)}; this list may be out of date."] if why is not None else []
    standing = render.sync_standing(autosync.standing(ws), brief=True)
    if standing is not None:
        head.append(f"gittasks: {standing}")
    advice = next_work.brief(next_read.advice(ws, doc, now), NEXT_BUDGET)  # it ends the summary: what to take up

    def summary(room: int) -> str:
        return recover.as_text(doc, ws.machine, now, stale, limit=room)

    return next_work.compose(head, summary, advice, CONTEXT_LIMIT)


def session_end(ws: Workspace, session: str | None = None) -> None:
    """The SessionEnd hook: commit an edit of the task files still pending and the active time `session` measured
    (`operations.fold_activity`, a local commit), then make sure the session's changes are on their way: a
    background sync, detached (Claude Code ends what a SessionEnd hook waits on within moments, so this hook waits
    for no network step)."""
    ws.preflight()
    if session:
        try:
            operations.fold_activity(ws, session)
        except GittasksError as exc:  # the sync below still goes; the time stays in the spool for the next change
            ws.messages.append(f"the session's active time was not recorded: {exc}")
    ws.to_push = False  # (the request below covers what the preflight committed)
    autosync.request(ws, last=True)


def _get(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    return None


@dataclass
class Session:
    """Where a native id is valid: one session on one machine, or a list shared by sessions on that machine."""

    machine: str
    session: str
    shared_list: str | None = None

    def ref(self, native_id: str) -> dict[str, str]:
        ref = {"machine": self.machine, "session": self.session, "id": native_id}
        if self.shared_list:
            ref["list"] = self.shared_list
        return ref

    def names(self, ref: Any, native_id: str) -> bool:
        """Does the native ref `ref` stand for `native_id` here?"""
        if not isinstance(ref, dict) or str(ref.get("id")) != native_id or ref.get("machine") != self.machine:
            return False
        if self.shared_list and ref.get("list") == self.shared_list:
            return True
        return ref.get("session") == self.session

    def has_native(self, task: dict[str, Any]) -> bool:
        refs = task.get(NATIVE)
        return isinstance(refs, list) and any(
            isinstance(r, dict) and r.get("machine") == self.machine and r.get("session") == self.session for r in refs
        )


def find_native(doc: Document, native_id: str, where: Session) -> str | None:
    """The gittasks id of the task this session (or its shared list) knows as `native_id`; None when it has none.

    Native ids restart at 1 in every session: an id from another session, or a gittasks id given as a native id,
    names no task here."""
    for task in doc["tasks"]:
        if any(where.names(ref, native_id) for ref in task.get(NATIVE) or []):
            return str(task["id"])
    return None


def failure(response: Any) -> str | None:
    """Why the client says the tool call failed (`success: false` or an `error`), None when it did not."""
    if not isinstance(response, dict):
        return None
    error = response.get("error")
    if response.get("success") is False or (error not in (None, "", False)):
        return str(error) if error not in (None, "", False) else "no reason given"
    return None


def _id_list(data: dict[str, Any], *names: str) -> list[str]:
    value = _get(data, *names)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise NotRecorded(f"{names[0]} is not a list of task ids; nothing recorded")
    return [str(v) for v in value]


def _edit_from(data: dict[str, Any]) -> Edit:
    """A native TaskUpdate's (or TodoWrite item's) input as an edit; both spellings of keys are read."""

    def text(*names: str) -> str | None:
        value = _get(data, *names)
        return value if isinstance(value, str) else None

    status = data.get("status")
    reason = _get(data, "blockedReason", "blocked_reason", "reason")
    edit = Edit(
        subject=text("subject"),
        description=text("description"),
        active_form=text("activeForm", "active_form"),
        owner=text("owner"),
        metadata=document.as_object(data.get("metadata")),
        add_blocked_by=_id_list(data, "addBlockedBy", "add_blocked_by"),
        add_blocks=_id_list(data, "addBlocks", "add_blocks"),
        status=status if isinstance(status, str) else None,
        reason=reason if isinstance(reason, str) else None,
        walk=True,
        implicit_reopen=True,
        warn_blockers=True,
    )
    return edits.from_metadata(edit)


def _continued(doc: Document, metadata: dict[str, Any], subject: str, where: Session) -> dict[str, Any] | None:
    """The open task a TaskCreate continues: the one its metadata names (`gittasks_id`), else the only open task
    with the same subject that this session has no native id for yet."""
    named = metadata.get(LINK_KEY)
    if isinstance(named, str) and named.strip():
        try:
            task_id = ids.resolve_id([t["id"] for t in doc["tasks"]], named.strip())
        except UnknownId:
            return None
        return model.task_index(doc)[task_id]
    same = _unlinked_open(doc, subject, where)
    return same[0] if len(same) == 1 else None


def _unlinked_open(doc: Document, subject: str, where: Session) -> list[dict[str, Any]]:
    """The open tasks with this subject that the session has no native id for yet (what it may be taking up)."""
    return [
        t
        for t in doc["tasks"]
        if t.get("subject") == subject and t.get("status") in rules.OPEN and not where.has_native(t)
    ]


def _link(task: dict[str, Any], where: Session, native_id: str) -> None:
    """Map `native_id` of this session (or shared list) to `task`, in place of any older mapping of that id."""
    refs = [r for r in task.get(NATIVE) or [] if not where.names(r, native_id)]
    task[NATIVE] = [*refs, where.ref(native_id)]


def _capture_create(editor: Editor, tool_input: dict[str, Any], response: Any, where: Session) -> dict[str, Any]:
    doc, change = editor.doc, editor.change
    answer = document.as_object(document.as_object(response).get("task")) or document.as_object(response)
    subject = _get(answer, "subject") if isinstance(_get(answer, "subject"), str) else _get(tool_input, "subject")
    if not isinstance(subject, str) or not subject.strip():
        raise NotRecorded("TaskCreate without a subject; nothing recorded")
    description = _get(answer, "description")
    if not isinstance(description, str):
        description = _get(tool_input, "description")
    native_id = _get(answer, "id", "taskId", "task_id")
    metadata = dict(document.as_object(tool_input.get("metadata")))
    task = _continued(doc, metadata, subject, where)
    if task is not None:  # a new session continues a task: no second task, the native id maps to it
        if native_id is not None:
            _link(task, where, str(native_id))
            change.stamp(task)
        change.notes.append(f"continues task {task['id']} ({task.get('subject', '')}); no new task")
        change.action = "continue"
        return task
    metadata.pop(LINK_KEY, None)
    active_form = _get(tool_input, "activeForm", "active_form")
    owner = _get(tool_input, "owner")
    rich = edits.from_metadata(Edit(metadata=metadata))
    change.action = "create"
    new = NewTask(
        subject=subject,
        description=description if isinstance(description, str) else None,
        active_form=active_form if isinstance(active_form, str) else None,
        owner=owner if isinstance(owner, str) else None,
        metadata=rich.metadata,
        extra={NATIVE: [where.ref(str(native_id))]} if native_id is not None else {},
    )
    created = editor.create(new)
    rich = dataclasses.replace(rich, metadata={})
    if rich != Edit():  # context or an agent's result given in the metadata
        editor.apply(created["id"], rich)
    return created


def capture(ws: Workspace, payload: dict[str, Any]) -> Outcome:
    """Record one PostToolUse payload of a task tool as one change; refuses (NotRecorded, nothing written) a call
    the client reports as failed, a native id this session never made, and input of the wrong shape. Every call is
    a moment of the session's activity (`activity_spool.ping`: its time, nothing else, no commit)."""
    tool = payload.get("tool_name")
    activity_spool.ping(ws, str(payload.get("session_id") or "unknown-session"))
    if tool in WRITE_TOOLS:
        return capture_write(ws, payload)
    if tool not in TASK_TOOLS:
        raise NotRecorded(f"not a task tool: {tool!r}")
    tool_input = payload.get("tool_input")
    if not isinstance(tool_input, dict):
        raise NotRecorded(f"the {tool} payload has no tool_input object; nothing recorded")
    response = payload.get("tool_response")
    reason = failure(response)
    if reason is not None:
        raise NotRecorded(f"Claude Code reports the {tool} as failed ({reason}); nothing recorded")
    where = Session(ws.machine, str(payload.get("session_id") or "unknown-session"),
                    os.environ.get(SHARED_LIST_VARIABLE) or None)  # fmt: skip
    ws.via = "claude-hook"
    held: list[str] = []  # what the model is told: a task it started is held by another machine or session

    def natives(doc: Document) -> Callable[[str], str]:
        def resolve(native: str) -> str:
            found = find_native(doc, native, where)
            if found is None:
                raise NotRecorded(f"no task of this session has the native id {native!r}; nothing recorded")
            return found

        return resolve

    def run(editor: Editor) -> Any:
        change = editor.change
        if tool == "TaskCreate":
            return _capture_create(editor, tool_input, response, where)
        if tool == "TaskUpdate":
            native = _get(tool_input, "taskId", "task_id", "id")
            if not isinstance(native, str | int) or isinstance(native, bool):
                raise NotRecorded("TaskUpdate without a task id; nothing recorded")
            tid = editor.id_of(str(native))
            if tool_input.get("status") == "deleted":
                change.action = "delete"
                return editor.delete(tid)
            before = editor.task(tid)
            was = before.get("status", rules.PENDING)
            edit = _edit_from(tool_input)
            me = claim.Claimant(ws.machine, None, where.session)
            other = claim.held_elsewhere(before, me) if edit.status == rules.IN_PROGRESS else None
            task = editor.update(tid, edit)
            if task.get("status") == rules.IN_PROGRESS and other is not None:
                held.append(held_message(task, other, me))  # the native tool did it already: the model is told
            elif task.get("status") == rules.IN_PROGRESS and was != rules.IN_PROGRESS:
                claim.mark(task, me, change)  # this session's start, recorded as a claim that sync carries
            return task
        todos = tool_input.get("todos")
        if not isinstance(todos, list):
            raise NotRecorded("TodoWrite without a todos list; nothing recorded")
        old = document.as_object(response).get("oldTodos")
        change.action = "todowrite"
        return reconcile_todos(editor, todos, where, old if isinstance(old, list) else None)

    states: list[tuple[str, str]] = []  # the statuses this session's tool gave tasks: its active time's spans

    def recorded(editor: Editor) -> Any:
        editor.lenient = True  # the assistant's tool did it already: minutes that are no number are kept, and said
        was = {t["id"]: t.get("status", rules.PENDING) for t in editor.doc["tasks"]}
        value = run(editor)
        states[:] = _states(editor, was, where)
        return value

    outcome = operations.with_editor(ws, "update", recorded, natives)
    activity_spool.record(ws, where.session, states)
    return Captured(outcome.commit, outcome.touched, outcome.notes, outcome.value, context=held)


def _states(editor: Editor, was: dict[str, Any], where: Session) -> list[tuple[str, str]]:
    """The tasks a capture moved, with their status now (a deleted one: "deleted"), and the tasks of this session in
    progress it touched (a session taking a task up); a new task left pending is no news."""
    index = model.task_index(editor.doc)
    states = []
    for tid in editor.change.touched:
        task = index.get(tid)
        status = task.get("status", rules.PENDING) if task is not None else "deleted"
        moved = was.get(tid) != status and (tid in was or status != rules.PENDING)
        if moved or (task is not None and status == rules.IN_PROGRESS and where.has_native(task)):
            states.append((tid, str(status)))
    return states


@dataclass
class Captured(Outcome):
    """A capture's outcome and what the model should be told about it (`context`: PostToolUse additionalContext)."""

    context: list[str] = dataclasses.field(default_factory=list)


def held_message(task: dict[str, Any], other: claim.Holder, me: claim.Claimant) -> str:
    """What the model is told when its own tool started a task that another machine or session holds."""
    tid = render.safe(task["id"])
    return (
        f"gittasks: task {tid} ({render.safe(task.get('subject', ''))}) is already in progress "
        f"{claim.describe(other, me)}: another agent holds it. Do not work on it in parallel: pick another task "
        f"(`gittasks ready`) or ask the user; `gittasks start {tid} --force` takes it over."
    )


def hook_output(outcome: Outcome) -> str | None:
    """The capture hook's JSON for Claude Code on stdout, None when there is nothing to tell the model: a PostToolUse
    hook's `hookSpecificOutput.additionalContext` reaches the model (plain stdout does not; `decision: block` would
    show the user a blocking error although nothing was blocked)."""
    context = outcome.context if isinstance(outcome, Captured) else []
    if not context:
        return None
    return json.dumps({"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "\n".join(context)}})


def _todo_content(item: Any) -> str | None:
    content = _get(item, "content", "subject") if isinstance(item, dict) else None
    return content if isinstance(content, str) and content.strip() else None


def reconcile_todos(
    editor: Editor, todos: list[Any], where: Session, old_todos: list[Any] | None = None
) -> list[dict[str, Any]]:
    """TodoWrite sends the session's whole list; items have no ids, so they are keyed by their content within the
    session. An item reworded in the same position whose status stayed or moved on (`_moves_on`) continues its task;
    an open item the session dropped is cancelled; a todo never reopens a task another session ended."""
    doc, change = editor.doc, editor.change
    out = []
    index = model.task_index(doc)
    mine = {  # content -> task id, for the todos this session has written before
        str(ref["id"])[len(TODO_PREFIX) :]: t["id"]
        for t in doc["tasks"]
        for ref in t.get(NATIVE) or []
        if where.names(ref, str(ref.get("id"))) and str(ref.get("id")).startswith(TODO_PREFIX)
    }
    new_contents = [_todo_content(item) for item in todos]
    kept: set[str] = set()
    for position, item in enumerate(todos):
        content = new_contents[position]
        if content is None:
            continue
        tid = mine.get(content)
        if tid is None and old_todos is not None and position < len(old_todos):
            previous = _todo_content(old_todos[position])
            if (
                previous is not None
                and previous not in new_contents
                and previous in mine
                and _moves_on(document.as_object(old_todos[position]).get("status"), item.get("status"))
            ):
                tid = mine[previous]  # reworded in place: the same task, under its new text
                _link(index[tid], where, TODO_PREFIX + content)
                editor.apply(tid, Edit(subject=content))
                kept.add(previous)
        if tid is None:
            taken_up = _unlinked_open(doc, content, where)
            if taken_up:
                tid = taken_up[0]["id"]
                _link(taken_up[0], where, TODO_PREFIX + content)
                change.stamp(taken_up[0])
        if tid is None:
            new = NewTask(content, active_form=_get(item, "activeForm", "active_form"),
                          extra={NATIVE: [where.ref(TODO_PREFIX + content)]})  # fmt: skip
            task = editor.create(new)
            tid = task["id"]
            index[tid] = task
        kept.add(content)
        data = {"activeForm": _get(item, "activeForm", "active_form"), "status": item.get("status")}
        out.append(editor.apply(tid, _edit_from(data)))
    listed = {t["id"] for t in out}
    cancelled: list[str] = []
    was_at = {_todo_content(item): n for n, item in reversed(list(enumerate(old_todos or [])))}
    for content, tid in sorted(mine.items(), key=lambda pair: was_at.get(pair[0], len(was_at))):  # as listed
        dropped = index.get(tid)
        if content in kept or tid in listed or dropped is None or dropped.get("status") not in rules.OPEN:
            continue
        editor.apply(tid, Edit(status=rules.CANCELLED))  # dropped from the session's list
        cancelled.append(f"{tid} ({_short(str(dropped.get('subject', '')))})")
    if cancelled:  # one line however many: a list cleared of 100 items is one event, not 100 warnings
        named = ", ".join(cancelled[:3]) + (f" and {len(cancelled) - 3} more" if len(cancelled) > 3 else "")
        what = f"{len(cancelled)} tasks" if len(cancelled) > 1 else "task"
        change.notes.append(f"cancelled {what} dropped from the session's todo list: {named}")
    return out


def _moves_on(old: Any, new: Any) -> bool:
    """A todo's status stayed or moved forward along a legal path (pending -> in_progress -> completed): an item
    reworded in place with it is the same work. One that went back, or came after a completed item, is a new item."""
    if old == new:
        return True
    return isinstance(old, str) and isinstance(new, str) and edits.status_path(old, new) is not None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
