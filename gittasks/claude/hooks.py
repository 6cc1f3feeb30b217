"""What Claude Code's hooks run: capture the native task tools into gittasks, and the session-start summary.

`capture` turns one PostToolUse payload into one gittasks change (one local commit, never the network).
`session_start` syncs when a remote is set (bounded: the session does not wait long) and returns the recovery
summary. Both are called by the CLI, which turns any error into one line on stderr and exit 0 so the session goes on.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from gittasks import document, model, operations, recover, rules, sync
from gittasks.document import Document
from gittasks.errors import GittasksError
from gittasks.workspace import Outcome, Workspace

TODO_PREFIX = "todo:"
SESSION_SYNC_TIMEOUT = 8.0  # seconds the session-start hook waits for its sync


def workspace_for(payload: dict[str, Any], default: Path | None = None) -> Workspace:
    """The workspace a hook payload is about: its `cwd` (the session's folder), else `default`."""
    cwd = payload.get("cwd")
    return Workspace.open(Path(cwd) if isinstance(cwd, str) and cwd else default)


def stale_after(ws: Workspace) -> timedelta:
    """When an open task counts as stale in the recovery summary (`gittasks.staleAfter`, 24h by default)."""
    setting = ws.setting("staleAfter")
    try:
        return rules.parse_duration(setting) if setting else recover.DEFAULT_STALE
    except GittasksError:  # a bad setting must not break recovery
        return recover.DEFAULT_STALE


def session_start(ws: Workspace) -> str:
    """The SessionStart hook: a quick sync of the task commits when a remote is set (in a process of its own, ended
    after SESSION_SYNC_TIMEOUT), then the recovery summary for the new session."""
    if ws.repo.remotes() and not sync.run_in_subprocess(ws.repo.root, SESSION_SYNC_TIMEOUT, tasks_only=True):
        ws.messages.append("the start-of-session sync took too long; showing the local list")
    doc = ws.load()
    return recover.as_text(doc, ws.machine, rules.utc_now(), stale_after(ws))


def _get(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    return None


def _native_ref(machine: str, session: str, native_id: str) -> dict[str, str]:
    return {"machine": machine, "session": session, "id": native_id}


def find_native(doc: Document, native_id: str, machine: str, session: str) -> str | None:
    """The gittasks id of a native task: same session first, then the newest on this machine, then a gittasks id."""
    same_session = None
    newest: tuple[str, str] | None = None
    for task in doc["tasks"]:
        for ref in task.get("native") or []:
            if not isinstance(ref, dict) or str(ref.get("id")) != native_id:
                continue
            if ref.get("machine") == machine and ref.get("session") == session:
                same_session = task["id"]
            elif ref.get("machine") == machine:
                stamp = str(task.get("updated_at") or "")
                if newest is None or stamp > newest[0]:
                    newest = (stamp, task["id"])
    if same_session is not None:
        return same_session
    if newest is not None:
        return newest[1]
    if any(t["id"] == native_id for t in doc["tasks"]):
        return native_id
    return None


def _edit_from(data: dict[str, Any]) -> operations.Edit:
    """A native TaskUpdate's (or TodoWrite item's) input as an edit; both spellings of keys are read."""

    def text(*names: str) -> str | None:
        value = _get(data, *names)
        return value if isinstance(value, str) else None

    status = data.get("status")
    reason = _get(data, "blockedReason", "blocked_reason", "reason")
    return operations.Edit(
        subject=text("subject"),
        description=text("description"),
        active_form=text("activeForm", "active_form"),
        owner=text("owner"),
        metadata=document.as_object(data.get("metadata")),
        add_blocked_by=[str(x) for x in _get(data, "addBlockedBy", "add_blocked_by") or []],
        add_blocks=[str(x) for x in _get(data, "addBlocks", "add_blocks") or []],
        status=status if isinstance(status, str) else None,
        reason=reason if isinstance(reason, str) else None,
        walk=True,
        implicit_reopen=True,
    )


def capture(ws: Workspace, payload: dict[str, Any]) -> Outcome:
    tool = payload.get("tool_name")
    session = str(payload.get("session_id") or "unknown-session")
    tool_input = document.as_object(payload.get("tool_input"))
    response = payload.get("tool_response")
    machine = ws.machine
    ws.network_allowed = False  # the capture hook commits locally and never touches the network

    def run(doc: Document, change: model.Change) -> Any:
        def resolve(native: str) -> str:
            found = find_native(doc, native, machine, session)
            if found is None:
                raise GittasksError(f"no gittasks task for native id {native!r}")
            return found

        if tool == "TaskCreate":
            native_id = None
            if isinstance(response, dict):
                task_part = document.as_object(response.get("task")) or response
                native_id = _get(task_part, "id", "taskId", "task_id")
            subject = _get(tool_input, "subject") or "(untitled task)"
            task = model.create_task(
                doc,
                change,
                subject=str(subject),
                description=_get(tool_input, "description"),
                active_form=_get(tool_input, "activeForm", "active_form"),
                owner=_get(tool_input, "owner"),
                metadata=tool_input.get("metadata") if isinstance(tool_input.get("metadata"), dict) else None,
                extra={"native": [_native_ref(machine, session, str(native_id))]} if native_id is not None else None,
            )
            return task
        if tool == "TaskUpdate":
            native = _get(tool_input, "taskId", "task_id", "id")
            if native is None:
                raise GittasksError("TaskUpdate without a task id")
            tid = resolve(str(native))
            if tool_input.get("status") == "deleted":
                return model.delete_task(doc, tid, change)
            operations.apply_edit(doc, tid, _edit_from(tool_input), change, resolve)
            return model.task_index(doc)[tid]
        if tool == "TodoWrite":
            todos = tool_input.get("todos")
            if not isinstance(todos, list):
                raise GittasksError("TodoWrite without a todos list")
            return reconcile_todos(doc, todos, change, machine, session)
        raise GittasksError(f"not a task tool: {tool!r}")

    return operations.change(ws, f"capture-{str(tool).lower()}", run)


def reconcile_todos(
    doc: Document, todos: list[Any], change: model.Change, machine: str, session: str
) -> list[dict[str, Any]]:
    """TodoWrite sends the whole list: items have no ids, so they are keyed by their content."""
    out = []
    for item in todos:
        if not isinstance(item, dict):
            continue
        content = _get(item, "content", "subject")
        if not isinstance(content, str) or not content.strip():
            continue
        key = TODO_PREFIX + content
        tid = find_native(doc, key, machine, session)
        if tid is None:
            tid = next(
                (t["id"] for t in doc["tasks"] if t.get("subject") == content and t.get("status") in rules.OPEN), None
            )
        if tid is None:
            task = model.create_task(
                doc,
                change,
                subject=content,
                active_form=_get(item, "activeForm", "active_form"),
                extra={"native": [_native_ref(machine, session, key)]},
            )
            tid = task["id"]
        data = {"activeForm": _get(item, "activeForm", "active_form"), "status": item.get("status")}
        operations.apply_edit(doc, tid, _edit_from(data), change, lambda x: x)
        out.append(model.task_index(doc)[tid])
    return out
