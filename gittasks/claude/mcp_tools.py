"""The MCP tools of `gittasks mcp`: their schemas, their arguments checked, and their calls into the library.

The tools take the native tools' argument names (`taskId`, `subject`, `description`, `activeForm`, `status`,
`owner`, `metadata`, `addBlocks`, `addBlockedBy`, ...) and answer with tasks exactly as the task file stores them,
but for listings: a page of compact tasks (`mcp_listing`), so that a reply stays within what a client takes.
Every change is one transaction of the library (`operations`) and so one commit, as from the CLI; a refused request
(unknown id, illegal transition, invalid file, an argument the tool does not take) is a GittasksError, which the
server answers as a tool error, and changes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gittasks import (
    activity_spool,
    claim,
    document,
    edits,
    next_read,
    next_work,
    operations,
    rules,
    schema_table,
    sync,
    task_commits,
)
from gittasks.claude import mcp_listing
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
        # the Claude Code session this server works for (its environment names it): its active time is measured
        self.session = os.environ.get(activity_spool.SESSION_VARIABLE) or None

    def workspace(self) -> Workspace:
        # A fresh workspace per call: each call runs the preflight (an edit made meanwhile is committed first).
        ws = Workspace.open(self.start)
        ws.via = "mcp"
        self.opened.append(ws)
        if self.session is not None:  # a moment of the session's work, as a capture hook's call is
            activity_spool.ping(ws, self.session)
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
        self._record(ws, removed.value["id"], DELETED)
        self._finish(ws, removed)
        self.notes.append(f"deleted {removed.value['id']}")
        return document.canonical_task(removed.value)

    def update_task(self, given: str, edit: Edit, *, start: bool = False) -> dict[str, Any]:
        """`edit` applied to task `given`; a `start` is claimed on the remote when one is set."""
        edit = dataclasses.replace(edit, force_hint="force=true")  # (a refusal names this door's argument)
        ws = self.workspace()
        if start:
            with contextlib.suppress(UnknownId):  # a task made on another machine: the claim's fetch brings it
                self._check_reopen(ws, given, edit)
            done = claim.start(ws, given, edit, force_hint="force=true")
        else:
            self._check_reopen(ws, given, edit)
            done = operations.update(ws, given, edit)
        if edit.status is not None:
            self._record(ws, done.value["id"], done.value.get("status", rules.PENDING))
        self._finish(ws, done)
        if done.commit is None:
            self.notes.append("nothing to change")
        return document.canonical_task(done.value)

    def _record(self, ws: Workspace, task_id: str, status: str) -> None:
        """The status this session gave a task, in its active-time file (as its capture hook records one)."""
        if self.session is not None:
            activity_spool.record(ws, self.session, [(task_id, status)])

    def archive(self, older_than: str | None = None) -> list[dict[str, Any]]:
        ws = self.workspace()
        done = operations.archive_ended(ws, rules.parse_duration(older_than) if older_than else None)
        self._finish(ws, done)
        shown, left = mcp_listing.bounded([mcp_listing.compact(t) for t in done.value])
        if left:
            self.notes.append(f"archived {len(done.value)} tasks; {left} more not shown here (`gittasks list --all`)")
        return shown

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
    def list_tasks(self, query: ListQuery, page: mcp_listing.Page, parent: str | None = None) -> dict[str, Any]:
        """A page of the active tasks `query` selects; `parent`: the subtasks of this task (an id or a prefix, an
        archived task's too, as `list --parent`)."""
        query.check()
        ws = self.workspace()
        if parent is not None:
            query = dataclasses.replace(query, parent=operations.find_task(ws, parent)[0]["id"])
        tasks, _ = query.select(ws.tasks())
        listed, cut = mcp_listing.page(tasks, page)
        if cut:
            self.notes.append(f"{len(listed['tasks'])} tasks fill this page; nextCursor gives the rest")
        self._finish(ws)
        return listed

    def get_task(self, given: str) -> dict[str, Any]:
        ws = self.workspace()
        task, archived = operations.find_task(ws, given)
        if archived:
            self.notes.append("archived")
        self._finish(ws)
        return document.canonical_task(task)

    def next_work(self, limit: int | None = None) -> dict[str, Any]:
        """`gittasks next --json`: what to take up next, in order, each with its reason (`next_work`)."""
        ws = self.workspace()
        advice = next_work.limited(next_read.advice(ws), limit or next_work.LIMIT)
        self._finish(ws)
        return advice

    def history(self, given: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        ws = self.workspace()
        found = operations.task_history(ws, given, limit)
        if given is not None:  # a task's code commits among its changes, as `log ID` shows them
            found, _cut = task_commits.log_with_commits(ws, given, found, limit, None)
        entries, left = mcp_listing.bounded(found)
        self._finish(ws)
        if left:
            self.notes.append(f"{left} earlier entries not shown here; `gittasks log` has them all")
        return entries

    def sync_status(self) -> dict[str, Any]:
        from gittasks import autosync

        ws = self.workspace()
        info = autosync.status(ws)
        self._finish(ws)
        return info


# -- the tools: arguments, schema, dispatch ------------------------------------------------------------------------
# Each argument is declared once (`Arg`): the input schema a client shows the model and the check of a call's
# arguments are both made from that declaration. The statuses are the task file's schema's (`schema_table`,
# generated from the pydantic model in schema.py), the types `rules.TASK_TYPES`.

STATUSES: tuple[str, ...] = schema_table.TASK["status"].enum

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
class Arg:
    """One argument: its kind (a key of `_WORDS`), what the model is told, the values it may take (`enum`; for
    `statuses` each status) and an integer's bounds."""

    kind: str
    description: str
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def schema(self) -> dict[str, Any]:
        """Its JSON Schema, as `tools/list` gives it."""
        one: dict[str, Any] = {"type": "string", "enum": list(self.enum)} if self.enum else {"type": "string"}
        out: dict[str, Any]
        if self.kind == "ids":
            out = {"type": "array", "items": {"type": "string"}}
        elif self.kind == "statuses":
            out = {"anyOf": [one, {"type": "array", "items": one}]}
        elif self.kind == "string":
            out = one
        else:
            out = {"type": self.kind}
        bounds = {"minimum": self.minimum, "maximum": self.maximum}
        return {**out, **{k: v for k, v in bounds.items() if v is not None}, "description": self.description}

    def check(self, tool: str, name: str, value: Any) -> None:
        """GittasksError naming what is wrong with `value` (None, not given, is always right)."""
        if value is None:
            return
        if not _is(self.kind, value):
            raise GittasksError(f"{tool}: {name!r} must be {_WORDS[self.kind]}")
        for one in [value] if isinstance(value, str) else value if self.kind == "statuses" else []:
            if self.enum and one not in self.enum:
                raise GittasksError(f"unknown {name} {one!r}; use one of: {', '.join(self.enum)}")
        if self.minimum is not None and value < self.minimum:
            raise GittasksError(f"{tool}: {name} must be {self.minimum} or more")
        if self.maximum is not None and value > self.maximum:
            raise GittasksError(f"{tool}: {name} must be {self.maximum} or less")


@dataclass(frozen=True)
class Tool:
    """One tool: its name, what the model is told, its arguments and what runs it."""

    name: str
    description: str
    annotations: dict[str, bool]
    arguments: dict[str, Arg]
    run: Callable[[TaskTools, dict[str, Any]], Any]
    required: tuple[str, ...] = ()

    def listing(self) -> dict[str, Any]:
        properties = {name: arg.schema() for name, arg in self.arguments.items()}
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if self.required:
            schema["required"] = list(self.required)
        return {"name": self.name, "description": self.description, "inputSchema": schema,
                "annotations": self.annotations}  # fmt: skip

    def checked(self, arguments: Any) -> dict[str, Any]:
        """The arguments, or GittasksError naming what is wrong (an unknown name, a missing one, a wrong type or
        value)."""
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
            self.arguments[name].check(self.name, name, value)
        return arguments


_ID = {
    "taskId": Arg("string", "The task's id, or a unique prefix of it."),
    "task_id": Arg("string", "Another spelling of taskId."),
    "id": Arg("string", "Another spelling of taskId."),
}
_FIELDS = {
    "subject": Arg("string", "Imperative title, e.g. 'Design auth schema'."),
    "description": Arg("string", "What is to be done, in detail."),
    "activeForm": Arg("string", "Present-continuous label shown while in progress, e.g. 'Designing auth schema'."),
    "owner": Arg("string", "Who works on it: an agent's or a person's name."),
    "metadata": Arg(
        "object",
        "Free-form keys (complexity, category, estimated_minutes, ...); numbers as JSON numbers. On task_update the "
        "keys are merged one by one and a null value removes a key.",
    ),
    "addBlockedBy": Arg("ids", "Ids of tasks this one waits for (their blocks lists gain this one)."),
    "addBlocks": Arg("ids", "Ids of tasks that wait for this one."),
    "parent": Arg("string", 'Id of the task this one is a subtask of; on task_update "" makes it a top-level task.'),
    "type": Arg("string", "The kind of work.", rules.TASK_TYPES),
    "context": Arg(
        "object",
        "The rich context: user_request, requirements, constraints, files_modified, ...; on task_update merged key "
        "by key, a null value removing one.",
    ),
    "client": Arg(
        "string",
        'The client billed (metadata.client); a subtask takes its parent\'s unless given. On task_update "" '
        "removes it.",
    ),
    "project": Arg("string", 'The project (metadata.project); on task_update "" removes it.'),
}
_UPDATE_ONLY = {
    "status": Arg(
        "string",
        "The new status; deleted removes the task. A step in between is taken in the same commit (pending -> "
        "completed goes through in_progress); blocked needs blockedReason.",
        (*STATUSES, DELETED),
    ),
    "blockedReason": Arg("string", "Why the task is blocked (with status blocked)."),
    "reopen": Arg("boolean", "Reopen a completed or cancelled task (status pending, the default, or in_progress)."),
    "outcome": Arg("string", "What was done, recorded as context.outcome when the task is completed."),
    "minutes": Arg(
        "integer",
        "Billable minutes, recorded at once as context.billable_minutes (replacing what was there); a task with "
        "minutes gets a work item when it is completed (under its client, or (no client)).",
        minimum=0,
    ),
    "force": Arg(
        "boolean",
        "Go on although the task waits for blockers not completed, or (completing a parent) has subtasks still "
        "open, or another machine has it in progress (takes it over).",
    ),
    "result": Arg(
        "object",
        "An agent's result ({status: success|partial|failed, outcome, files_created, files_modified, "
        "billable_minutes, ...}) taken into the task; its status decides unless the call gives one.",
    ),
}
_PAGE = {
    "limit": Arg(
        "integer",
        f"At most this many tasks (default {mcp_listing.DEFAULT_LIMIT}); a page also stops before about "
        f"{mcp_listing.PAGE_BYTES} characters. nextCursor is in the reply when more remain.",
        minimum=1,
        maximum=mcp_listing.MAX_LIMIT,
    ),
    "cursor": Arg("string", "The nextCursor of the previous reply, as it came: the page after it."),
    "full": Arg(
        "boolean",
        "Each task in full as stored (description, metadata, context, stamps) instead of id, subject, status, "
        "owner, parent and blockedBy.",
    ),
}
_FILTERS = {
    "client": Arg("string", "Only the tasks of this client (metadata.client)."),
    "project": Arg("string", "Only the tasks of this project (metadata.project)."),
    "owner": Arg("string", "Only the tasks with this owner."),
    "parent": Arg("string", "Only the direct subtasks of this task (an id or a unique prefix)."),
    "type": Arg("string", "Only the tasks of this type.", rules.TASK_TYPES),
    "search": Arg("string", "Only the tasks whose subject, description or id holds this text, case aside."),
}
_LIST = {
    "status": Arg(
        "statuses",
        "Only the tasks with this status, or with one of these (open work: pending, in_progress, blocked).",
        STATUSES,
    ),
    **_FILTERS,
    "open": Arg("boolean", "Only the open tasks: not completed or cancelled."),
    "ready": Arg("boolean", "Only the tasks ready to start: pending, every blocker completed, no open subtask."),
    "blocked": Arg("boolean", "Only the blocked tasks and those waiting for a blocker."),
    **_PAGE,
}


def _task_id(a: dict[str, Any]) -> str:
    """The task a call names, by whichever of the id's spellings it used."""
    return _pick_id(a.get("taskId"), a.get("task_id"), a.get("id"))


# the library's name of an argument where the native tools' differs (`NewTask`'s and `Edit`'s fields)
_NAMES = {"activeForm": "active_form", "type": "task_type", "blockedReason": "reason"}
_NEW_NAMES = {**_NAMES, "addBlocks": "blocks", "addBlockedBy": "blocked_by"}
_EDIT_NAMES = {**_NAMES, "addBlocks": "add_blocks", "addBlockedBy": "add_blocked_by"}
_BILLING = ("client", "project")  # arguments kept in the task's metadata, as the CLI's --client and --project


def _given(a: dict[str, Any], names: dict[str, str], leave: tuple[str, ...] = ()) -> dict[str, Any]:
    """The arguments given a value (but those in `leave`), by the library's names."""
    return {names.get(k, k): v for k, v in a.items() if v is not None and k not in leave}


def _statuses(given: str | list[str] | None) -> tuple[str, ...]:
    return (given,) if isinstance(given, str) else tuple(given or ())


def _create(tools: TaskTools, a: dict[str, Any]) -> Any:
    metadata = dict(a.get("metadata") or {})
    metadata.update(edits.billing(a.get("client"), a.get("project")))
    fields = _given(a, _NEW_NAMES, leave=(*_BILLING, "metadata"))  # minutes: context.billable_minutes, as the CLI
    return tools.create_task(NewTask(**fields, metadata=metadata))


def _update(tools: TaskTools, a: dict[str, Any]) -> Any:
    given, status, reopen = _task_id(a), a.get("status"), bool(a.get("reopen"))
    if status == DELETED:
        return tools.delete_task(given)
    if status == rules.BLOCKED and not reopen and not (a.get("blockedReason") or "").strip():
        raise GittasksError("status 'blocked' needs a blockedReason saying why")
    billing = edits.billing(a.get("client"), a.get("project"), update=True)
    if billing:
        a = {**a, "metadata": {**(a.get("metadata") or {}), **billing}}
    edit = edits.edit_of(walk=not reopen, **_given(a, _EDIT_NAMES, leave=(*_ID, *_BILLING, "result")))
    if a.get("result") is not None:  # an agent's result: its status decides, unless the call gives one
        edit = edits.result_edit(a["result"], edit, status_from_result=status is None)
    return tools.update_task(given, edit, start=status == rules.IN_PROGRESS and not reopen)


def _list(tools: TaskTools, a: dict[str, Any], *, ready: bool = False) -> Any:
    query = ListQuery(_statuses(a.get("status")), a.get("client"), a.get("project"), a.get("owner"), a.get("type"),
                      ready=ready or bool(a.get("ready")), blocked=bool(a.get("blocked")),
                      open_only=bool(a.get("open")), search=a.get("search"))  # fmt: skip
    page = mcp_listing.Page(a.get("limit") or mcp_listing.DEFAULT_LIMIT, a.get("cursor"), bool(a.get("full")))
    return tools.list_tasks(query, page, parent=a.get("parent"))


def _log(tools: TaskTools, a: dict[str, Any]) -> Any:
    named = any(a.get(k) is not None for k in _ID)
    return tools.history(_task_id(a) if named else None, a.get("limit"))


TOOLS: tuple[Tool, ...] = (
    Tool(
        "task_create",
        "Create a pending task (like TaskCreate); returns it as stored. One git commit. Give addBlockedBy for the "
        "tasks it waits for, parent to make it a subtask, client/project/minutes for billing.",
        CHANGES,
        {
            **_FIELDS,
            "minutes": Arg(
                "integer",
                "Billable minutes (context.billable_minutes, as `create --minutes`), billed (a work item) when the "
                "task is completed.",
                minimum=0,
            ),
        },
        _create,
        required=("subject",),
    ),
    Tool(
        "task_update",
        "Change a task (like TaskUpdate); returns it as stored. One git commit, none when nothing changes. Start "
        "it (status in_progress: claimed on the remote when one is set), complete it (status completed, with "
        "outcome and minutes), block it (status blocked with blockedReason), cancel or delete it, or change its "
        "fields. A change with no legal path (in_progress -> pending) is refused; a completed or cancelled task is "
        "reopened only with reopen=true. A task waiting for blockers not completed, or a parent with open "
        "subtasks, is refused unless force=true.",
        UPDATES,
        {**_ID, **_FIELDS, **_UPDATE_ONLY},
        _update,
    ),
    Tool(
        "task_list",
        "The active tasks, filtered, a page at a time (oldest first): {tasks, total, nextCursor}. Each task is "
        "compact (id, subject, status, owner, parent, blockedBy) unless full=true; task_get gives one in full. "
        "Pass nextCursor back as cursor for the next page.",
        READ_ONLY,
        _LIST,
        _list,
    ),
    Tool(
        "task_get",
        "One task in full as stored (like TaskGet), by id or unique prefix; archived tasks are found too.",
        READ_ONLY,
        _ID,
        lambda t, a: t.get_task(_task_id(a)),
    ),
    Tool(
        "task_ready",
        "What can be started now: pending tasks whose blockers are all completed (as task_list with ready=true), "
        "a page at a time.",
        READ_ONLY,
        {**_FILTERS, **_PAGE},
        lambda t, a: _list(t, a, ready=True),
    ),
    Tool(
        "task_next",
        "What to take up next, in order, each with a one-line reason: stale work in progress on this machine to "
        "resume first, then the ready tasks, the work that most others wait on first (the longest chain of open "
        "work it heads, in time at each type's median cycle time when known; then how many tasks wait on it). "
        "Tasks in progress on other machines are left out and counted. {tasks, counts, signals, order, more}.",
        READ_ONLY,
        {
            "limit": Arg(
                "integer",
                f"At most this many tasks (default {next_work.LIMIT}); more says how many are left.",
                minimum=1,
            )
        },
        lambda t, a: t.next_work(a.get("limit")),
    ),
    Tool(
        "task_log",
        "History from git, newest first: commit, when, machine, action, task, subject and the fields changed "
        "({field: {from, to}}).",
        READ_ONLY,
        {
            **_ID,
            "limit": Arg(
                "integer", "At most this many entries (default: 20; a task's: all, up to one reply's size).", minimum=1
            ),
        },
        _log,
    ),
    Tool(
        "task_archive",
        "Move completed and cancelled tasks to the archive (one git commit). Returns the archived tasks, compact.",
        UPDATES,
        {"olderThan": Arg("string", "Only those that ended longer ago than this: 30m, 12h, 7d or 2w.")},
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
        "ahead/behind, last sync, open conflicts and the number of tasks. Never touches the network (task_sync "
        "does).",
        READ_ONLY,
        {},
        lambda t, a: t.sync_status(),
    ),
)
