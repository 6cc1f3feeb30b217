"""`gittasks mcp`: an MCP server on stdio whose tools mirror Claude Code's native task tools, backed by git.

The tools take the native tools' argument names (`taskId`, `subject`, `description`, `activeForm`, `status`,
`owner`, `metadata`, `addBlocks`, `addBlockedBy`, ...) and answer with tasks exactly as the task file stores them.
Every change is one transaction of the library and so one commit, as from the CLI; a refused request (unknown id,
illegal transition, invalid file) comes back as a tool error (`isError`) and changes nothing.

This is the only module that imports the `mcp` SDK (slow to import): the CLI imports it only inside `gittasks mcp`.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, TextContent, ToolAnnotations

from gittasks import document, operations, rules, sync
from gittasks.errors import GittasksError
from gittasks.workspace import Outcome, Workspace

SERVER_NAME = "gittasks"
STOP_WAIT = 10.0  # seconds a signal waits for a call in flight before the server ends
DELETED = "deleted"
UPDATE_STATUSES: tuple[str, ...] = (*rules.STATUSES, DELETED)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
CHANGES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
UPDATES = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)

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

    Calls are serialised: the library's repository lock excludes other processes, not other threads of this one,
    and the SDK runs each synchronous tool in a worker thread.
    """

    def __init__(self, repo: Path | None = None) -> None:
        self.start = (repo or Path.cwd()).resolve()
        self.lock = threading.Lock()
        self.notes: list[str] = []

    def workspace(self) -> Workspace:
        # A fresh workspace per call: each call runs the preflight (an edit made meanwhile is committed first).
        return Workspace.open(self.start)

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
            add_blocks=list(add_blocks),
            add_blocked_by=list(add_blocked_by),
            status=status,
            reason=blocked_reason,
            reopen=reopen,
            walk=not reopen,
        )
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
        ws = self.workspace()
        info = sync.status(ws)
        self._finish(ws)
        return info


def _result(value: Any, notes: list[str]) -> CallToolResult:
    """The value as JSON text (what the model reads), the same as structured content, and notes as plain lines."""
    content: list[ContentBlock] = [TextContent(type="text", text=document.dump_json(value).decode("utf-8"))]
    content += [TextContent(type="text", text=f"gittasks: {note}") for note in notes]
    structured = value if isinstance(value, dict) else {"result": value}
    return CallToolResult(content=content, structured_content=structured)


def _version() -> str:
    try:
        return importlib.metadata.version("gittasks")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


class StrictServer(MCPServer):
    """The SDK's server, refusing argument names a tool does not take (a misspelt `addBlockedby` would otherwise be
    dropped without a word)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is not None and isinstance(arguments, dict):
            known = set((tool.parameters or {}).get("properties") or {})
            unknown = sorted(set(arguments) - known)
            if unknown:
                raise ToolError(
                    f"{name} takes no argument {', '.join(map(repr, unknown))}; it takes: {', '.join(sorted(known))}"
                )
        return await super().call_tool(name, arguments, context)


def build_server(repo: Path | None = None, tools: TaskTools | None = None) -> MCPServer:
    """The MCP server for the git repository containing `repo` (default: the current folder at build time)."""
    tools = tools or TaskTools(repo)
    server = StrictServer(SERVER_NAME, version=_version(), instructions=INSTRUCTIONS, log_level="WARNING")

    def call(work: Callable[[], Any]) -> CallToolResult:
        with tools.lock:
            tools.notes = []
            try:
                value = work()
            except GittasksError as exc:
                raise ToolError(str(exc)) from exc
            except OSError as exc:
                raise ToolError(f"{exc.strerror or exc}: {exc.filename or ''}; nothing was changed") from exc
            return _result(value, tools.notes)

    @server.tool(annotations=CHANGES)
    def task_create(
        subject: str,
        description: str | None = None,
        activeForm: str | None = None,
        owner: str | None = None,
        metadata: dict[str, Any] | None = None,
        addBlocks: list[str] | None = None,
        addBlockedBy: list[str] | None = None,
        parent: str | None = None,
        type: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> CallToolResult:
        """Create a pending task (like TaskCreate); returns it as stored. One git commit.

        subject: imperative title ("Design auth schema"); activeForm: present-continuous label shown while in
        progress ("Designing auth schema"); metadata: free-form object (client, project, complexity, ...);
        addBlockedBy: ids of tasks this one waits for; addBlocks: ids of tasks that wait for this one; parent: the
        id of the task this is a subtask of; type: implementation, research, review, ...; context: the rich context
        (user_request, requirements, files_modified, ...).
        """
        return call(
            lambda: tools.create_task(
                subject,
                description=description,
                active_form=activeForm,
                owner=owner,
                metadata=metadata,
                add_blocks=addBlocks or (),
                add_blocked_by=addBlockedBy or (),
                parent=parent,
                task_type=type,
                context=context,
            )
        )

    @server.tool(annotations=UPDATES)
    def task_update(
        taskId: str | None = None,
        task_id: str | None = None,
        id: str | None = None,  # alias of taskId
        subject: str | None = None,
        description: str | None = None,
        activeForm: str | None = None,
        owner: str | None = None,
        status: str | None = None,
        blockedReason: str | None = None,
        metadata: dict[str, Any] | None = None,
        addBlocks: list[str] | None = None,
        addBlockedBy: list[str] | None = None,
        reopen: bool = False,
        parent: str | None = None,
        type: str | None = None,
        context: dict[str, Any] | None = None,
        outcome: str | None = None,
        minutes: int | None = None,
    ) -> CallToolResult:
        """Change a task (like TaskUpdate); returns it as stored. One git commit, none when nothing changes.

        taskId (or task_id / id): the task's id or a unique prefix. status: pending, in_progress, completed, blocked
        (needs blockedReason), cancelled, or deleted (removes the task). A change that needs a step in between is made
        through it in the same commit (pending -> completed goes through in_progress); one with no legal path
        (in_progress -> pending) is refused. A completed or cancelled task is reopened only with reopen=true (status
        pending, the default, or in_progress). metadata: keys merged one by one, a null value removes the key.
        addBlockedBy / addBlocks: dependencies to add (kept symmetric). parent, type: as in task_create; context:
        keys merged one by one like metadata. outcome, minutes: what was done and the billable minutes, recorded
        when the task is completed (a client task with minutes also gets a work item).
        """
        return call(
            lambda: tools.update_task(
                _pick_id(taskId, task_id, id),
                subject=subject,
                description=description,
                active_form=activeForm,
                owner=owner,
                status=status,
                blocked_reason=blockedReason,
                metadata=metadata,
                add_blocks=addBlocks or (),
                add_blocked_by=addBlockedBy or (),
                reopen=reopen,
                parent=parent,
                task_type=type,
                context=context,
                outcome=outcome,
                minutes=minutes,
            )
        )

    @server.tool(annotations=READ_ONLY)
    def task_list(status: str | list[str] | None = None) -> CallToolResult:
        """The active tasks as stored (like TaskList), optionally only those with the given status(es)."""
        return call(lambda: tools.list_tasks(status))

    @server.tool(annotations=READ_ONLY)
    def task_get(taskId: str | None = None, task_id: str | None = None, id: str | None = None) -> CallToolResult:
        """One task as stored (like TaskGet), by id or unique prefix; archived tasks are found too."""
        return call(lambda: tools.get_task(_pick_id(taskId, task_id, id)))

    @server.tool(annotations=READ_ONLY)
    def task_ready() -> CallToolResult:
        """Pending tasks whose blockers are all completed: what can be started now."""
        return call(tools.ready)

    @server.tool(annotations=READ_ONLY)
    def task_log(
        taskId: str | None = None,
        task_id: str | None = None,
        id: str | None = None,
        limit: int | None = None,
    ) -> CallToolResult:
        """History from git, newest first: commit, when, machine, action, task, subject and the fields changed
        ({field: {from, to}}). With taskId, that task's whole history; without, the last `limit` (default 20)."""
        named = taskId is not None or task_id is not None or id is not None
        return call(lambda: tools.history(_pick_id(taskId, task_id, id) if named else None, limit))

    @server.tool(annotations=UPDATES)
    def task_archive(olderThan: str | None = None) -> CallToolResult:
        """Move completed and cancelled tasks to the archive (one git commit); olderThan (30m, 12h, 7d, 2w): only
        those that ended longer ago. Returns the archived tasks."""
        return call(lambda: tools.archive(olderThan))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True))
    def task_sync() -> CallToolResult:
        """Sync the task list with the remote (fetch, merge field by field, push the task branch alone), with a
        bounded wait: what came in, what went out, the conflicts recorded."""
        return call(tools.sync)

    @server.tool(annotations=READ_ONLY)
    def sync_status() -> CallToolResult:
        """This clone against its remote as of the last fetch: machine, remote, branch, commits ahead/behind, last
        sync, open conflicts and the number of tasks. Never touches the network (run `gittasks sync` for that)."""
        return call(tools.sync_status)

    return server


def serve(repo: Path | None = None) -> None:
    """Run the server on stdio until the client closes stdin, or SIGINT/SIGTERM ends it (even where the parent
    started it with SIGINT ignored)."""
    tools = TaskTools(repo)

    def stop(signum: int, _frame: object) -> None:
        # The SDK reads stdin in a worker thread that no exception reaches, so the process ends here; a call in
        # flight is let finish first (its commit is atomic in any case).
        tools.lock.acquire(timeout=STOP_WAIT)
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    with contextlib.suppress(ValueError, OSError, AttributeError):  # SIGTERM: not everywhere
        signal.signal(signal.SIGTERM, stop)
    build_server(repo, tools).run("stdio")
