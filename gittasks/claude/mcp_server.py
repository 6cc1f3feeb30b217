"""`gittasks mcp`: an MCP server on stdio whose tools mirror Claude Code's native task tools, backed by git.

The tools take the native tools' argument names (`taskId`, `subject`, `description`, `activeForm`, `status`,
`owner`, `metadata`, `addBlocks`, `addBlockedBy`, ...) and answer with tasks exactly as the task file stores them.
Every change is one transaction of the library and so one commit, as from the CLI; a refused request (unknown id,
illegal transition, invalid file, an argument the tool does not take) comes back as a tool error (`isError`) and
changes nothing.

The protocol (JSON-RPC 2.0, one message a line on stdin and stdout: `initialize`, `ping`, `tools/list`,
`tools/call`) is written here rather than taken from the MCP SDK: importing the SDK takes longer than Claude Code's
start-up probe waits; this server answers `initialize` after gittasks' own start-up. The SDK's client is what the
tests talk to it with.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from gittasks import claim, document, operations, rules, sync
from gittasks.errors import GittasksError, UnknownId, explain
from gittasks.version import installed_version
from gittasks.workspace import Outcome, Workspace

SERVER_NAME = "gittasks"
STOP_WAIT = 10.0  # seconds a signal waits for a call in flight before the server ends
DELETED = "deleted"
UPDATE_STATUSES: tuple[str, ...] = (*rules.STATUSES, DELETED)
DEFAULT_PROTOCOL = "2025-06-18"
_PROTOCOL = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
READ_ONLY = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False}
CHANGES = {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False}
UPDATES = {"readOnlyHint": False, "destructiveHint": True, "openWorldHint": False}
NETWORK = {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": True}

INSTRUCTIONS = (
    "The project's task list, kept in git (.claude/active-tasks.json) and merged across machines. The tools mirror "
    "TaskCreate, TaskUpdate, TaskList and TaskGet; every change is one git commit. A status change that needs a step "
    "in between (pending -> completed) is made through it; completed or cancelled tasks are reopened only with "
    "reopen=true."
)


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
    def create_task(
        self,
        subject: str,
        description: str | None = None,
        active_form: str | None = None,
        owner: str | None = None,
        metadata: dict[str, Any] | None = None,
        add_blocks: Iterable[str] = (),
        add_blocked_by: Iterable[str] = (),
        parent: str | None = None,
        task_type: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        ws = self.workspace()
        outcome = operations.create(
            ws,
            subject=subject,
            description=description,
            active_form=active_form,
            owner=owner,
            blocked_by=add_blocked_by,
            blocks=add_blocks,
            parent=parent,
            task_type=task_type,
            metadata=metadata,
            context=context,
        )
        self._finish(ws, outcome)
        return document.canonical_task(outcome.value)

    def update_task(
        self,
        given: str,
        *,
        subject: str | None = None,
        description: str | None = None,
        active_form: str | None = None,
        owner: str | None = None,
        status: str | None = None,
        blocked_reason: str | None = None,
        metadata: dict[str, Any] | None = None,
        add_blocks: Iterable[str] = (),
        add_blocked_by: Iterable[str] = (),
        reopen: bool = False,
        parent: str | None = None,
        task_type: str | None = None,
        context: dict[str, Any] | None = None,
        outcome: str | None = None,
        minutes: int | None = None,
        force: bool = False,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if status is not None and status not in UPDATE_STATUSES:
            raise GittasksError(f"unknown status {status!r}; use one of: {', '.join(UPDATE_STATUSES)}")
        ws = self.workspace()
        if status == DELETED:
            removed = operations.delete(ws, given)
            self._finish(ws, removed)
            self.notes.append(f"deleted {removed.value['id']}")
            return document.canonical_task(removed.value)
        if status is not None and reopen is False and status == rules.BLOCKED and not (blocked_reason or "").strip():
            raise GittasksError("status 'blocked' needs a blockedReason saying why")
        edit = operations.Edit(
            subject=subject,
            description=description,
            active_form=active_form,
            owner=owner,
            task_type=task_type,
            parent=operations.KEEP if parent is None else parent,
            metadata=dict(metadata or {}),
            context=dict(context or {}),
            outcome=outcome,
            minutes=minutes,
            force=force,
            add_blocks=list(add_blocks),
            add_blocked_by=list(add_blocked_by),
            status=status,
            reason=blocked_reason,
            reopen=reopen,
            walk=not reopen,
        )
        if result is not None:  # an agent's result: its status decides, unless the call gives one
            edit = operations.result_edit(result, edit, status_from_result=status is None)
        if status == rules.IN_PROGRESS and not reopen:  # a start: claimed on the remote when one is set
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
    def _check_reopen(ws: Workspace, given: str, edit: operations.Edit) -> None:
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
    def list_tasks(self, status: str | list[str] | None = None) -> list[dict[str, Any]]:
        wanted = rules.status_filter([status] if isinstance(status, str) else status or [])
        ws = self.workspace()
        tasks = [t for t in ws.tasks() if wanted(t)]
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


def _create(tools: TaskTools, a: dict[str, Any]) -> Any:
    return tools.create_task(
        a["subject"], description=a.get("description"), active_form=a.get("activeForm"), owner=a.get("owner"),
        metadata=a.get("metadata"), add_blocks=a.get("addBlocks") or (), add_blocked_by=a.get("addBlockedBy") or (),
        parent=a.get("parent"), task_type=a.get("type"), context=a.get("context"),
    )  # fmt: skip


def _update(tools: TaskTools, a: dict[str, Any]) -> Any:
    return tools.update_task(
        _task_id(a), subject=a.get("subject"),
        description=a.get("description"), active_form=a.get("activeForm"), owner=a.get("owner"),
        status=a.get("status"), blocked_reason=a.get("blockedReason"), metadata=a.get("metadata"),
        add_blocks=a.get("addBlocks") or (), add_blocked_by=a.get("addBlockedBy") or (), reopen=bool(a.get("reopen")),
        parent=a.get("parent"), task_type=a.get("type"), context=a.get("context"), outcome=a.get("outcome"),
        minutes=a.get("minutes"), force=bool(a.get("force")), result=a.get("result"),
    )  # fmt: skip


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
        lambda t, a: t.list_tasks(a.get("status")),
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


def _version() -> str:
    return installed_version() or "0+unknown"  # "0+unknown": run from a source tree that is not installed


def _content(value: Any, notes: list[str], error: bool = False) -> dict[str, Any]:
    """A tool result: the value as JSON text (what the model reads) and as structured content, notes as lines."""
    if error:
        return {"content": [{"type": "text", "text": str(value)}], "isError": True}
    blocks: list[dict[str, Any]] = [{"type": "text", "text": document.dump_json(value).decode("utf-8")}]
    blocks += [{"type": "text", "text": f"gittasks: {note}"} for note in notes]
    return {"content": blocks, "structuredContent": value if isinstance(value, dict) else {"result": value},
            "isError": False}  # fmt: skip


class Server:
    """The protocol: one line in, at most one line out (`answer`); one JSON-RPC message in, at most one out
    (`handle`). Nothing a client sends ends it: every line gets the answer JSON-RPC 2.0 gives it."""

    def __init__(self, tools: TaskTools) -> None:
        self.tools = tools
        self.by_name = {tool.name: tool for tool in TOOLS}

    def call(self, name: Any, arguments: Any) -> dict[str, Any]:
        tool = self.by_name.get(name) if isinstance(name, str) else None
        if tool is None:
            return _content(f"Unknown tool {_shown(name)}; the tools are: {', '.join(self.by_name)}", [], error=True)
        with self.tools.lock:
            self.tools.notes = []
            try:
                value = tool.run(self.tools, tool.checked(arguments))
            except (GittasksError, OSError) as exc:  # a refusal, a file the system refused: a tool error
                return _content(explain(exc)[0], [], error=True)
            finally:
                self.tools.done()
            return _content(value, self.tools.notes)

    def answer(self, line: bytes) -> bytes | None:
        """The answer to one line of stdin (without its newline), or None when it gets none (a blank line, a
        notification, a response, a batch of those)."""
        if not line.strip(_JSON_SPACE):
            return None
        try:
            message = parse_message(line)
        except (ValueError, RecursionError) as exc:  # (RecursionError: never with the depth check; a last guard)
            return _encode(_error(None, PARSE_ERROR, _one_line(f"not valid JSON ({exc})")))
        if not isinstance(message, list):
            single = self.handle(message)
            return None if single is None else _encode(single)
        if not message:
            return _encode(_error(None, INVALID_REQUEST, "an empty batch"))
        answers = [a for a in map(self.handle, message) if a is not None]
        return b"[" + b",".join(map(_encode, answers)) + b"]" if answers else None

    def handle(self, message: Any) -> dict[str, Any] | None:
        """The answer to one parsed message (an element of a batch, say), or None for a notification or a
        response."""
        if not isinstance(message, dict):
            return _error(None, INVALID_REQUEST, "a message must be a JSON object")
        ident = message.get("id")
        reply_to = ident if _is_id(ident) else None  # an id that cannot be echoed is answered as null
        if "method" not in message and ("result" in message or "error" in message):
            # A response: this server sends no requests, so there is nothing to match it to; a malformed one is
            # answered, a valid one never (answering responses could loop between two peers).
            well_formed = message.get("jsonrpc") == "2.0" and "id" in message and _is_id(ident)
            if well_formed and ("result" in message) != ("error" in message):
                return None
            return _error(reply_to, INVALID_REQUEST, "not a valid JSON-RPC 2.0 response")
        if message.get("jsonrpc") != "2.0":
            return _error(reply_to, INVALID_REQUEST, 'not a JSON-RPC 2.0 message (jsonrpc must be "2.0")')
        method = message.get("method")
        if not isinstance(method, str):
            return _error(reply_to, INVALID_REQUEST, "a request needs a method, a string")
        if "id" in message and not _is_id(ident):
            return _error(None, INVALID_REQUEST, "the id must be a string, a number or null")
        params = message.get("params", {})
        if not isinstance(params, dict | list):
            return _error(reply_to, INVALID_REQUEST, "params must be an object or an array")
        if "id" not in message:
            return None  # a notification (initialized, cancelled): never answered
        try:
            return self._dispatch(ident, method, params)
        except Exception as exc:  # a bug or a value nothing foresaw: this request fails, the server goes on
            print(f"gittasks mcp: internal error: {_one_line(repr(exc))}", file=sys.stderr, flush=True)
            return _error(ident, INTERNAL_ERROR, _one_line(f"internal error: {exc}"))

    def _dispatch(self, ident: Any, method: str, params: dict[str, Any] | list[Any]) -> dict[str, Any]:
        if method not in METHODS:
            return _error(ident, METHOD_NOT_FOUND, f"method not found: {_shown(method)}")
        if not isinstance(params, dict):
            return _error(ident, INVALID_PARAMS, f"{method} takes its params by name (an object)")
        unfit = _unfit(params, 2)
        if unfit is not None:
            return _error(ident, INVALID_PARAMS, f"params hold {unfit}")
        result: dict[str, Any]
        if method == "initialize":
            asked = params.get("protocolVersion")
            version = asked if isinstance(asked, str) and _PROTOCOL.fullmatch(asked) else DEFAULT_PROTOCOL
            info = {"name": SERVER_NAME, "version": _version()}
            result = {"protocolVersion": version, "capabilities": {"tools": {"listChanged": False}},
                      "serverInfo": info, "instructions": INSTRUCTIONS}  # fmt: skip
        elif method == "ping":
            result = {}
        elif method == "tools/list":
            result = {"tools": [tool.listing() for tool in TOOLS]}
        else:
            if not isinstance(params.get("name"), str):
                return _error(ident, INVALID_PARAMS, "tools/call needs the tool's name, a string")
            result = self.call(params["name"], params.get("arguments"))
        return {"jsonrpc": "2.0", "id": ident, "result": result}


METHODS = ("initialize", "ping", "tools/list", "tools/call")
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
MAX_LINE = 8 << 20  # bytes in one message; a longer line is skipped without being kept and answered as invalid
# What params may hold: the task file's rules (document.py), so that what a call takes the file can keep. Nesting
# counts the message as level 1; its arguments sit at level 3 as a task does in the file, metadata at 4 in both.
MAX_DEPTH = document.MAX_DEPTH
MAX_INT = document.MAX_INT
ID_INTS = (-(2**63), 2**64 - 1)  # what orjson writes: an integer id in this range is echoed exactly
_PARSE_DEPTH = 200  # up to this deep, json's reader (recursive, exact integers) parses; deeper, orjson's (no
# recursion, refuses beyond 1024 levels), so that a deep request is still answered with its id
_JSON_SPACE = b" \t\r\n"
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_NUMBER = re.compile(rb"\d{19}")
_BIG_INT = f"an integer beyond +-{MAX_INT} (what JavaScript and Go read exactly)"


class _Unfit:
    """Where the JSON text holds a value gittasks cannot keep (an integer beyond 64 bits, a number beyond a float):
    parsing goes on, so that the request is refused with its id rather than as unreadable."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _int(text: str) -> Any:
    if len(text) <= 21:  # a sign and 20 digits at most (JSON has no leading zeros); longer is out of range anyway
        value = int(text)
        if ID_INTS[0] <= value <= ID_INTS[1]:
            return value
    return _Unfit(_BIG_INT)


def _float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Unfit("a number too large for a float")


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN and Infinity; JSON has neither


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def depth(outside_strings: bytes) -> int:
    """How deep the brackets of a JSON text with its strings taken out nest, found without parsing and so without
    recursion; only an estimate for a text that is not JSON."""
    shape = outside_strings.translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_STEP.__getitem__, shape)), default=0)


def parse_message(line: bytes) -> Any:
    """One line as JSON, strictly (UTF-8, no NaN or Infinity); ValueError if it is not. Values gittasks cannot keep
    come back as `_Unfit`; strings may hold lone surrogates (`\\ud800` is valid JSON): `_unfit` finds both."""
    text = line.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if line.count(b"[") + line.count(b"{") > _PARSE_DEPTH:
        bare = _STRING.sub(b"", line)
        if depth(bare) > _PARSE_DEPTH:
            if _LONG_NUMBER.search(bare):  # orjson reads an integer past 64 bits as a float: it would pass unseen
                raise ValueError(f"nested deeper than {_PARSE_DEPTH} levels, with a number of 19 digits or more")
            return orjson.loads(line)
    return _DECODER.decode(text)


def _clean(text: str) -> bool:
    """A string that can be written as UTF-8 (no lone surrogate)."""
    return text.isascii() or _SURROGATE.search(text) is None


def _is_id(value: Any) -> bool:
    """A request id JSON-RPC allows (string, number, null) that can be echoed as it came."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return ID_INTS[0] <= value <= ID_INTS[1]  # (always so for a parsed line; `handle` may be given any dict)
    return value is None or (isinstance(value, float) and math.isfinite(value))


def _unfit(value: dict[str, Any] | list[Any], level: int) -> str | None:
    """What in `value` (at nesting level `level` of its message) gittasks cannot take, or None; a loop, not
    recursion, since a value may nest up to 1024 levels here."""
    stack = [(value, level)]
    while stack:
        item, at = stack.pop()
        if at > MAX_DEPTH:
            return f"values nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict) and not all(map(_clean, item)):
            return _SURROGATE_TEXT
        for inner in item.values() if isinstance(item, dict) else item:
            if isinstance(inner, dict | list):
                stack.append((inner, at + 1))
            elif isinstance(inner, str):
                if not _clean(inner):
                    return _SURROGATE_TEXT
            elif isinstance(inner, int) and not -MAX_INT <= inner <= MAX_INT:
                return _BIG_INT
            elif isinstance(inner, _Unfit):
                return inner.why
    return None


_SURROGATE_TEXT = "a string with a lone surrogate (not Unicode)"


def _shown(value: Any) -> str:
    """A client's value quoted in an error: short, one line, always encodable (repr escapes surrogates)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _error(ident: Any, code: int, text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": text}}


def _encode(answer: dict[str, Any]) -> bytes:
    """An answer as one line of JSON (orjson: UTF-8, no NaN, no raw newline); one that cannot be written (a value
    out of orjson's range, nesting past its limit) becomes an internal error for the same id."""
    try:
        return orjson.dumps(answer)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        print(f"gittasks mcp: answer not written: {_one_line(str(exc))}", file=sys.stderr, flush=True)
        return orjson.dumps(_error(answer.get("id"), INTERNAL_ERROR, "the answer could not be written as JSON"))


def run(server: Server, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer each line of `stdin` until it closes (or stdout does: the client is gone)."""
    while line := stdin.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stdin.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass  # the rest of the line, read and dropped
            out: bytes | None = _encode(_error(None, INVALID_REQUEST, f"a message longer than {MAX_LINE} bytes"))
        else:
            out = server.answer(line.rstrip(b"\n"))
        if out is None:
            continue
        try:
            stdout.write(out + b"\n")
            stdout.flush()
        except (OSError, ValueError):  # the client closed its end: nobody is left to answer
            return


def serve(repo: Path | None = None) -> None:
    """Run the server on stdio until the client closes stdin, or SIGINT/SIGTERM ends it (even where the parent
    started it with SIGINT ignored; a call in flight finishes first, its commit is atomic in any case)."""
    gc.enable()  # (the command line turns the cycle collector off for its short runs; a server runs for hours)
    tools = TaskTools(repo)

    def stop(signum: int, _frame: object) -> None:
        tools.lock.acquire(timeout=STOP_WAIT)
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    with contextlib.suppress(ValueError, OSError, AttributeError):  # SIGTERM: not everywhere
        signal.signal(signal.SIGTERM, stop)
    run(Server(tools), sys.stdin.buffer, sys.stdout.buffer)
