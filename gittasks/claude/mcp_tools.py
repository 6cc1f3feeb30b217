"""The MCP tools of `gittasks mcp`: their schemas, their arguments checked, and their calls into the library.

The tools take the native tools' argument names (`taskId`, `subject`, `description`, `activeForm`, `status`,
`owner`, `metadata`, `addBlocks`, `addBlockedBy`, ...) and answer with tasks exactly as the task file stores them.
Every change is one transaction of the library (`operations`) and so one commit, as from the CLI; a refused request
(unknown id, illegal transition, invalid file, an argument the tool does not take) is a GittasksError, which the
server answers as a tool error, and changes nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gittasks import claim, document, edits, operations, rules, sync
from gittasks.edits import Edit
from gittasks.errors import GittasksError, UnknownId
from gittasks.model import NewTask
from gittasks.query import ListQuery
from gittasks.workspace import Outcome, Workspace

DELETED = "deleted"
UPDATE_STATUSES: tuple[str, ...] = (*rules.STATUSES, DELETED)
READ_ONLY = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False}
CHANGES = {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False}
UPDATES = {"readOnlyHint": False, "destructiveHint": True, "openWorldHint": False}
NETWORK = {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": True}


def _pick_id(*aliases: str | None) -> str:
    """The id given as `taskId`, `task_id` or `id` (the native tools' spellings); refuses none or two different."""
    given = [v for v in aliases if v is not None]
    if not given:
        raise GittasksError("give the task's id as taskId")
    if len(set(given)) > 1:
        raise GittasksError(f"taskId, task_id and id name different tasks ({', '.join(map(repr, given))}); give one")
    if not given[0].strip():
        raise GittasksError("the task id is empty")
    return given[0]


class TaskTools:
    """The tools' work, free of MCP: plain values in, task dicts out, GittasksError for a refused request.

    Calls run one at a time (`lock` is held by each; a signal waits for it before the process ends).
    """

    def __init__(self, repo: Path | None = None) -> None:
        self.start = (repo or Path.cwd()).resolve()
        self.lock = threading.Lock()
        self.notes: list[str] = []
        self.opened: list[Workspace] = []  # this call's: a background sync for what it committed (`done`)

    def workspace(self) -> Workspace:
        # A fresh workspace per call: each call runs the preflight (an edit made meanwhile is committed first).
        ws = Workspace.open(self.start)
        ws.via = "mcp"
        self.opened.append(ws)
        return ws

    def done(self) -> None:
        """The end of a call: start the background sync of what it committed (`autosync.after`)."""
        if any(ws.to_push for ws in self.opened):
            from gittasks import autosync

            for ws in self.opened:
                autosync.after(ws)
        self.opened.clear()

    def _finish(self, ws: Workspace, outcome: Outcome | None = None) -> None:
        self.notes += [*ws.messages, *(outcome.notes if outcome else [])]
        ws.messages.clear()

    # -- changes ---------------------------------------------------------------------------------------------------
    def create_task(self, new: NewTask) -> dict[str, Any]:
        ws = self.workspace()
        outcome = operations.create(ws, new)
        self._finish(ws, outcome)
        return document.canonical_task(outcome.value)

    def delete_task(self, given: str) -> dict[str, Any]:
        ws = self.workspace()
        removed = operations.delete(ws, given)
        self._finish(ws, removed)
        self.notes.append(f"deleted {removed.value['id']}")
        return document.canonical_task(removed.value)

    def update_task(self, given: str, edit: Edit, *, start: bool = False) -> dict[str, Any]:
        """`edit` applied to task `given`; a `start` is claimed on the remote when one is set."""
        ws = self.workspace()
        if start:
            with contextlib.suppress(UnknownId):  # a task made on another machine: the claim's fetch brings it
                self._check_reopen(ws, given, edit)
            done = claim.start(ws, given, edit, force_hint="force=true")
        else:
            self._check_reopen(ws, given, edit)
            done = operations.update(ws, given, edit)
        self._finish(ws, done)
        if done.commit is None:
            self.notes.append("nothing to change")
        return document.canonical_task(done.value)

    def archive(self, older_than: str | None = None) -> list[dict[str, Any]]:
        ws = self.workspace()
        done = operations.archive_ended(ws, rules.parse_duration(older_than) if older_than else None)
        self._finish(ws, done)
        return [document.canonical_task(t) for t in done.value]

    def sync(self) -> dict[str, Any]:
        ws = self.workspace()
        try:
            result = sync.sync(ws, None)
        except sync.SyncFailed as exc:
            self._finish(ws)
            raise GittasksError(str(exc)) from None
        self._finish(ws)
        return result.as_json()

    @staticmethod
    def _check_reopen(ws: Workspace, given: str, edit: Edit) -> None:
        """Leaving a completed or cancelled task takes an explicit reopen=true here (the native tools' way)."""
        if edit.reopen or edit.status is None:
            return
        task = ws.get(given)
        old = task.get("status", rules.PENDING)
        if old in rules.TERMINAL and edit.status != old:
            raise GittasksError(
                f"task {task['id']!r} is {old}; to reopen it, give reopen=true with status pending or in_progress"
            )

    # -- reads -----------------------------------------------------------------------------------------------------
    def list_tasks(self, query: ListQuery) -> list[dict[str, Any]]:
        query.check()
        ws = self.workspace()
        tasks, _ = query.select(ws.tasks())
        self._finish(ws)
        return tasks

    def get_task(self, given: str) -> dict[str, Any]:
        ws = self.workspace()
        task, archived = operations.find_task(ws, given)
        if archived:
            self.notes.append("archived")
        self._finish(ws)
        return document.canonical_task(task)

    def ready(self) -> list[dict[str, Any]]:
        ws = self.workspace()
        tasks = ws.ready()
        self._finish(ws)
        return tasks

    def history(self, given: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        ws = self.workspace()
        entries = operations.task_history(ws, given, limit)
        self._finish(ws)
        return entries

    def sync_status(self) -> dict[str, Any]:
        from gittasks import autosync

        ws = self.workspace()
        info = autosync.status(ws)
        self._finish(ws)
        return info


# -- the tools: arguments, schema, dispatch ------------------------------------------------------------------------

_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "object": {"type": "object", "additionalProperties": True},
    "ids": {"type": "array", "items": {"type": "string"}},
    "statuses": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
}


_WORDS = {"string": "a string", "integer": "an integer", "boolean": "true or false", "object": "an object",
          "ids": "a list of task ids (strings)", "statuses": "a status or a list of statuses"}  # fmt: skip


def _is(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "ids":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


@dataclass(frozen=True)
class Tool:
    """One tool: its name, what the model is told, its arguments (name -> kind) and what runs it."""

    name: str
    description: str
    annotations: dict[str, bool]
    arguments: dict[str, str]
    run: Callable[[TaskTools, dict[str, Any]], Any]
    required: tuple[str, ...] = ()

    def listing(self) -> dict[str, Any]:
        schema = {"type": "object", "properties": {k: dict(_SCHEMAS[v]) for k, v in self.arguments.items()}}
        if self.required:
            schema["required"] = list(self.required)
        return {"name": self.name, "description": self.description, "inputSchema": schema,
                "annotations": self.annotations}  # fmt: skip

    def checked(self, arguments: Any) -> dict[str, Any]:
        """The arguments, or GittasksError naming what is wrong (an unknown name, a missing one, a wrong type)."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise GittasksError(f"{self.name}: the arguments are not an object")
        unknown = sorted(set(arguments) - set(self.arguments))
        if unknown:
            raise GittasksError(
                f"{self.name} takes no argument {', '.join(map(repr, unknown))}; it takes: {', '.join(self.arguments)}"
            )
        for name in self.required:
            if arguments.get(name) is None:
                raise GittasksError(f"{self.name} needs {name!r}")
        for name, value in arguments.items():
            if value is not None and not _is(self.arguments[name], value):
                raise GittasksError(f"{self.name}: {name!r} must be {_WORDS[self.arguments[name]]}")
        return arguments


_ID = {"taskId": "string", "task_id": "string", "id": "string"}
_FIELDS = {"subject": "string", "description": "string", "activeForm": "string", "owner": "string",
           "metadata": "object", "addBlocks": "ids", "addBlockedBy": "ids", "parent": "string", "type": "string",
           "context": "object"}  # fmt: skip


def _task_id(a: dict[str, Any]) -> str:
    """The task a call names, by whichever of the id's spellings it used."""
    return _pick_id(a.get("taskId"), a.get("task_id"), a.get("id"))


# the library's name of an argument where the native tools' differs (`NewTask`'s and `Edit`'s fields)
_NAMES = {"activeForm": "active_form", "type": "task_type", "blockedReason": "reason"}
_NEW_NAMES = {**_NAMES, "addBlocks": "blocks", "addBlockedBy": "blocked_by"}
_EDIT_NAMES = {**_NAMES, "addBlocks": "add_blocks", "addBlockedBy": "add_blocked_by"}


def _given(a: dict[str, Any], names: dict[str, str], leave: tuple[str, ...] = ()) -> dict[str, Any]:
    """The arguments given a value (but those in `leave`), by the library's names."""
    return {names.get(k, k): v for k, v in a.items() if v is not None and k not in leave}


def _statuses(given: str | list[str] | None) -> tuple[str, ...]:
    return (given,) if isinstance(given, str) else tuple(given or ())


def _create(tools: TaskTools, a: dict[str, Any]) -> Any:
    return tools.create_task(NewTask(**_given(a, _NEW_NAMES)))


def _update(tools: TaskTools, a: dict[str, Any]) -> Any:
    given, status, reopen = _task_id(a), a.get("status"), bool(a.get("reopen"))
    if status is not None and status not in UPDATE_STATUSES:
        raise GittasksError(f"unknown status {status!r}; use one of: {', '.join(UPDATE_STATUSES)}")
    if status == DELETED:
        return tools.delete_task(given)
    if status == rules.BLOCKED and not reopen and not (a.get("blockedReason") or "").strip():
        raise GittasksError("status 'blocked' needs a blockedReason saying why")
    edit = edits.edit_of(walk=not reopen, **_given(a, _EDIT_NAMES, leave=(*_ID, "result")))
    if a.get("result") is not None:  # an agent's result: its status decides, unless the call gives one
        edit = edits.result_edit(a["result"], edit, status_from_result=status is None)
    return tools.update_task(given, edit, start=status == rules.IN_PROGRESS and not reopen)


def _log(tools: TaskTools, a: dict[str, Any]) -> Any:
    named = any(a.get(k) is not None for k in _ID)
    return tools.history(_task_id(a) if named else None, a.get("limit"))


TOOLS: tuple[Tool, ...] = (
    Tool(
        "task_create",
        "Create a pending task (like TaskCreate); returns it as stored. One git commit. subject: imperative title "
        '("Design auth schema"); activeForm: present-continuous label shown while in progress ("Designing auth '
        'schema"); metadata: free-form object (client, project, complexity, ...); addBlockedBy: ids of tasks this one '
        "waits for; addBlocks: ids of tasks that wait for this one; parent: the id of the task this is a subtask of; "
        "type: implementation, research, review, ...; context: the rich context (user_request, requirements, "
        "files_modified, ...).",
        CHANGES,
        _FIELDS,
        _create,
        required=("subject",),
    ),
    Tool(
        "task_update",
        "Change a task (like TaskUpdate); returns it as stored. One git commit, none when nothing changes. taskId (or "
        "task_id / id): the task's id or a unique prefix. status: pending, in_progress, completed, blocked (needs "
        "blockedReason), cancelled, or deleted (removes the task). A change that needs a step in between is made "
        "through it in the same commit (pending -> completed goes through in_progress); one with no legal path "
        "(in_progress -> pending) is refused. A completed or cancelled task is reopened only with reopen=true (status "
        "pending, the default, or in_progress). metadata and context: keys merged one by one, a null value removes "
        "the key. addBlockedBy / addBlocks: dependencies to add (kept symmetric). outcome, minutes: what was done and "
        "the billable minutes, recorded when the task is completed (a client task with minutes gets a work item). "
        "result: an agent's result object ({status, outcome, files_created, files_modified, ...}) taken into the task: "
        "status success completes it, partial keeps it in progress, failed blocks it (with its blocker, reason or "
        "error), unless the call gives a status; lists are appended to the context's, other keys set in it. A task "
        "whose blockers are not all completed is not started (nor completed) unless force=true. With a remote, status "
        "in_progress claims the task there: refused while another machine has it in progress (force=true takes it "
        "over).",
        UPDATES,
        {
            **_ID,
            **_FIELDS,
            "status": "string",
            "blockedReason": "string",
            "reopen": "boolean",
            "outcome": "string",
            "minutes": "integer",
            "force": "boolean",
            "result": "object",
        },
        _update,
    ),
    Tool(
        "task_list",
        "The active tasks as stored (like TaskList), optionally only those with the given status(es).",
        READ_ONLY,
        {"status": "statuses"},
        lambda t, a: t.list_tasks(ListQuery(_statuses(a.get("status")))),
    ),
    Tool(
        "task_get",
        "One task as stored (like TaskGet), by id or unique prefix; archived tasks are found too.",
        READ_ONLY,
        _ID,
        lambda t, a: t.get_task(_task_id(a)),
    ),
    Tool(
        "task_ready",
        "Pending tasks whose blockers are all completed: what can be started now.",
        READ_ONLY,
        {},
        lambda t, a: t.ready(),
    ),
    Tool(
        "task_log",
        "History from git, newest first: commit, when, machine, action, task, subject and the fields changed "
        "({field: {from, to}}). With taskId, that task's whole history; without, the last `limit` (default 20).",
        READ_ONLY,
        {**_ID, "limit": "integer"},
        _log,
    ),
    Tool(
        "task_archive",
        "Move completed and cancelled tasks to the archive (one git commit); olderThan (30m, 12h, "
        "7d, 2w): only those that ended longer ago. Returns the archived tasks.",
        UPDATES,
        {"olderThan": "string"},
        lambda t, a: t.archive(a.get("olderThan")),
    ),
    Tool(
        "task_sync",
        "Sync the task list with the remote (fetch, merge field by field, push the task branch alone), "
        "with a bounded wait: what came in, what went out, the conflicts recorded.",
        NETWORK,
        {},
        lambda t, a: t.sync(),
    ),
    Tool(
        "sync_status",
        "This clone against its remote as of the last fetch: machine, remote, branch, commits "
        "ahead/behind, last sync, open conflicts and the number of tasks. Never touches the network (run "
        "`gittasks sync` for that).",
        READ_ONLY,
        {},
        lambda t, a: t.sync_status(),
    ),
)
