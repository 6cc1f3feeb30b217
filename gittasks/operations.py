"""The task operations every front end calls (the CLI, the capture hook, the MCP server).

Each public function is one transaction and one commit. `change` is the one way a front end changes tasks: the
transaction (`Workspace.change`), then what the settings ask after each change (`gittasks.autoarchive`).
`apply_edit` is the pure core that several of them (and the capture hook, which makes several changes in one
commit) share. Also here: moving ended tasks to the archive and back (`archive`, `restore`), and
finding a task that may be archived (`find_task`, `history_id`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from gittasks import archive, document, history, ids, model, rules, stats, taskcheck, taskset, work_report
from gittasks.document import Document
from gittasks.errors import GittasksError, UnknownId
from gittasks.workspace import Outcome, Workspace

T = TypeVar("T")

# the action recorded in the commit when a change is a status change alone
STATUS_ACTIONS = {
    rules.IN_PROGRESS: "start",
    rules.COMPLETED: "complete",
    rules.BLOCKED: "block",
    rules.CANCELLED: "cancel",
    rules.PENDING: "update",
}
KEEP = object()  # "leave this field as it is" where None is a value (parent)
INHERITED_METADATA = ("client", "project")  # what a subtask takes from its parent unless given


@dataclass
class Edit:
    """What an update changes; None (or an empty list) leaves a field as it is."""

    subject: str | None = None
    description: str | None = None
    active_form: str | None = None
    owner: str | None = None
    task_type: str | None = None
    parent: Any = KEEP  # an id (or prefix), "" or None to clear
    metadata: dict[str, Any] = field(default_factory=dict)  # a None value removes the key
    context: dict[str, Any] = field(default_factory=dict)  # the same, for the task's context
    context_paths: dict[str, Any] = field(default_factory=dict)  # dotted paths into the context; None removes
    context_lists: dict[str, list[str]] = field(default_factory=dict)  # appended to the context's lists
    add_blocked_by: list[str] = field(default_factory=list)
    remove_blocked_by: list[str] = field(default_factory=list)
    add_blocks: list[str] = field(default_factory=list)
    remove_blocks: list[str] = field(default_factory=list)
    status: str | None = None
    reason: str | None = None
    reopen: bool = False
    walk: bool = False  # take the legal path to `status` (pending -> in_progress -> completed), as native tools do
    implicit_reopen: bool = False  # leaving completed/cancelled counts as a reopen (the capture hook)
    force: bool = False  # start (or complete) a task whose blockers are not all completed
    warn_blockers: bool = False  # the capture hook: the assistant's tool did it already, so warn instead of refusing
    outcome: str | None = None
    minutes: int | None = None


# what an agent's result object says of its work: the status a task takes ("blocked" when the agent could not finish)
RESULT_STATUSES = {
    "success": rules.COMPLETED, "succeeded": rules.COMPLETED, "completed": rules.COMPLETED, "complete": rules.COMPLETED,
    "done": rules.COMPLETED, "ok": rules.COMPLETED, "partial": rules.IN_PROGRESS, "in_progress": rules.IN_PROGRESS,
    "failed": rules.BLOCKED, "failure": rules.BLOCKED, "error": rules.BLOCKED, "blocked": rules.BLOCKED,
}  # fmt: skip
RESULT_REASONS = ("blocker", "reason", "error", "outcome")  # where a failed result says why, first found wins


def result_edit(result: Any, edit: Edit | None = None, *, status_from_result: bool = True) -> Edit:
    """`edit` (default: complete the task) with an agent's result object taken in, as the seed's orchestrator
    records it: `status` sets the task's status (success/completed/done: completed; partial: in_progress;
    failed/error/blocked: blocked, with the `blocker`, `reason` or `error` as the reason); `outcome` becomes
    context.outcome; `billable_minutes` the billable minutes; `files_created`, `files_modified` and the other
    lists of `model.CONTEXT_LISTS` are appended to the context's own; every other key is set in the context.
    What `edit` gives itself (an --outcome, --minutes) wins over the result; without `status_from_result` (the
    capture hook: the assistant's tool has set the status already) the status stays the edit's."""
    edit = edit or Edit(status=rules.COMPLETED, walk=True)
    if not isinstance(result, dict):
        raise GittasksError('the result is not a JSON object; give {"status": ..., "outcome": ..., ...}')
    given = result.get("status", "success")
    status = RESULT_STATUSES.get(given.strip().lower()) if isinstance(given, str) else None
    if status is None:
        raise GittasksError(f"the result's status {given!r} is not one of: {', '.join(RESULT_STATUSES)}")
    if not status_from_result:
        status = edit.status
    paths: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    outcome, minutes, reason = edit.outcome, edit.minutes, edit.reason
    for key, value in result.items():
        if key == "status" or value is None:
            continue
        if key in model.CONTEXT_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise GittasksError(f"the result's {key!r} is not a list of strings")
            lists[key] = value
        elif key == "outcome" and isinstance(value, str):
            outcome = outcome if outcome is not None else value
        elif key == "billable_minutes":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise GittasksError("the result's 'billable_minutes' is not a whole number of minutes, zero or more")
            minutes = minutes if minutes is not None else value
        else:
            paths[key] = value
    if status == rules.BLOCKED and reason is None:
        found = [result[k] for k in RESULT_REASONS if isinstance(result.get(k), str) and result[k].strip()]
        reason = found[0] if found else f"the agent reported {given}"
    if status != rules.COMPLETED:  # set_status records these only when the work is completed
        paths.update({k: v for k, v in (("outcome", outcome), ("billable_minutes", minutes)) if v is not None})
    return dataclasses.replace(
        edit,
        status=status,
        walk=edit.walk or status_from_result,
        reason=reason if status == rules.BLOCKED else edit.reason,
        outcome=outcome if status == rules.COMPLETED else None,
        minutes=minutes if status == rules.COMPLETED else None,
        context_paths={**edit.context_paths, **paths},
        context_lists={**lists, **{k: [*lists.get(k, []), *v] for k, v in edit.context_lists.items()}},
    )


def from_metadata(edit: Edit) -> Edit:
    """`edit` with what its metadata carries for the context taken out of the metadata and into the task: a
    `context` object (its keys set one by one, a null removes) and an agent's `result` object (`result_edit`, the
    status left as the edit has it). The capture hook's way in: the native tools carry nothing but metadata."""
    metadata = dict(edit.metadata)
    context, result = metadata.pop("context", None), metadata.pop("result", None)
    if context is not None and not isinstance(context, dict):
        raise GittasksError("metadata.context is not an object")
    edit = dataclasses.replace(edit, metadata=metadata, context={**edit.context, **(context or {})})
    return edit if result is None else result_edit(result, edit, status_from_result=False)


def status_path(old: str, new: str, *, implicit_reopen: bool = False) -> list[tuple[str, bool]] | None:
    """The legal steps (status, is a reopen) from `old` to `new`: the shortest, passing only through in_progress.

    [] when already there; None when there is no such path (in_progress -> pending, or leaving an ended task
    without a reopen).
    """
    if old == new:
        return []
    if old in rules.TERMINAL:
        if not implicit_reopen:
            return None
        if new in rules.REOPEN_TARGETS:
            return [(new, True)]
        return [(rules.IN_PROGRESS, True), (new, False)]
    if rules.is_legal_transition(old, new):
        return [(new, False)]
    if rules.is_legal_transition(old, rules.IN_PROGRESS) and rules.is_legal_transition(rules.IN_PROGRESS, new):
        return [(rules.IN_PROGRESS, False), (new, False)]
    return None


def apply_edit(doc: Document, tid: str, edit: Edit, change: model.Change, resolve: Callable[[str], str]) -> None:
    """Apply `edit` to task `tid`; `resolve` turns the ids the caller gave (prefixes, native ids) into task ids. A task
    the schema refuses as it is (from a newer gittasks, a hand edit) is refused with the reason (`taskcheck.KEPT`)."""
    taskcheck.refuse_kept(model.task_index(doc)[tid])
    if edit.task_type is not None and edit.task_type not in rules.TASK_TYPES:
        raise GittasksError(f"unknown type {edit.task_type!r}; use one of: {', '.join(rules.TASK_TYPES)}")
    fields: dict[str, Any] = {
        key: value
        for key, value in (
            ("subject", edit.subject),
            ("description", edit.description),
            ("activeForm", edit.active_form),
            ("owner", edit.owner),
            ("type", edit.task_type),
        )
        if value is not None
    }
    if edit.parent is not KEEP:
        parent = resolve(edit.parent) if edit.parent else None
        if parent == tid:
            raise GittasksError("a task cannot be its own parent")
        fields["parent"] = parent
    if fields:
        model.set_fields(doc, tid, fields, change)
    if edit.metadata:
        model.set_keys(doc, tid, edit.metadata, change)
    if edit.context:
        model.set_keys(doc, tid, edit.context, change, "context")
    if edit.context_paths or edit.context_lists:
        model.set_context(doc, tid, edit.context_paths, edit.context_lists, change)
    for other in edit.add_blocked_by:
        model.add_dependency(doc, resolve(other), tid, change)
    for other in edit.remove_blocked_by:
        model.remove_dependency(doc, resolve(other), tid, change)
    for other in edit.add_blocks:
        model.add_dependency(doc, tid, resolve(other), change)
    for other in edit.remove_blocks:
        model.remove_dependency(doc, tid, resolve(other), change)
    _apply_status(doc, tid, edit, change)
    if edit.parent is not KEEP:
        model.check_relations(doc, rules.ACTIVE_PATH)


def _check_blockers(doc: Document, tid: str, edit: Edit, change: model.Change) -> None:
    """Work on a task starts only when its blockers are completed: refused naming them, unless `force`; the capture
    hook (`warn_blockers`) records what already happened and warns."""
    index = model.task_index(doc)
    waiting = rules.open_blockers(index[tid], index)
    if not waiting or edit.force:
        return
    names = ", ".join(f"{b} ({index[b].get('subject', '')})" for b in waiting)
    if edit.warn_blockers:
        change.notes.append(f"task {tid} went on while it waits for {names}")
        return
    raise GittasksError(f"task {tid!r} waits for {names}; finish those first, or give --force")


def _apply_status(doc: Document, tid: str, edit: Edit, change: model.Change) -> None:
    old = model.task_index(doc)[tid].get("status", rules.PENDING)
    if edit.status in (rules.IN_PROGRESS, rules.COMPLETED) and old not in (rules.IN_PROGRESS, edit.status):
        _check_blockers(doc, tid, edit, change)
    if edit.reopen:
        target = edit.status or rules.PENDING
        if old not in rules.TERMINAL:
            raise GittasksError(f"task {tid!r} is {old}, not completed or cancelled; nothing to reopen")
        if target not in rules.REOPEN_TARGETS:
            raise GittasksError(f"a task is reopened as pending or in_progress, not {target}")
        model.set_status(doc, tid, target, change, reopen=True)
        return
    if edit.status is None:
        if edit.reason is not None:
            if old != rules.BLOCKED:
                raise GittasksError("a blocked reason goes with a blocked task: set the status to blocked")
            model.set_status(doc, tid, rules.BLOCKED, change, reason=edit.reason)
        return
    steps = status_path(old, edit.status, implicit_reopen=edit.implicit_reopen) if edit.walk else None
    if not steps:  # not walking, already there, or no legal path: the model decides (and names what is allowed)
        model.set_status(doc, tid, edit.status, change, reason=edit.reason, outcome=edit.outcome, minutes=edit.minutes)
        return
    for step, reopen in steps:
        reason = edit.reason if step == rules.BLOCKED else None
        if step == rules.BLOCKED and not (reason or "").strip():
            reason = "blocked (no reason given)"
        last = step == edit.status
        model.set_status(
            doc,
            tid,
            step,
            change,
            reason=reason,
            reopen=reopen,
            outcome=edit.outcome if last else None,
            minutes=edit.minutes if last else None,
        )


def _resolver(doc: Document) -> Callable[[str], str]:
    """Resolve an id or unique prefix among the tasks of `doc`, for a change (a link to a task changes it too)."""
    known = [t["id"] for t in doc["tasks"]]
    return lambda given: ids.resolve_id(known, given, changing=True)


def create(
    ws: Workspace,
    *,
    subject: str,
    description: str | None = None,
    active_form: str | None = None,
    owner: str | None = None,
    blocked_by: Iterable[str] = (),
    blocks: Iterable[str] = (),
    parent: str | None = None,
    task_type: str | None = None,
    metadata: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> Outcome:
    """Add a pending task (ids of other tasks may be unique prefixes); the Outcome's value is the task."""

    def run(doc: Document, change: model.Change) -> dict[str, Any]:
        resolve = _resolver(doc)
        parent_id = resolve(parent) if parent else None
        values = {k: v for k, v in (metadata or {}).items() if v is not None}
        if parent_id is not None:  # a subtask bills to its parent's client and project unless it says otherwise
            inherited = document.as_object(model.task_index(doc)[parent_id].get("metadata"))
            values = {**{k: inherited[k] for k in INHERITED_METADATA if k in inherited}, **values}
        return model.create_task(
            doc,
            change,
            archived_count=archive.estimated_count(ws.repo.root),
            subject=subject,
            description=description,
            active_form=active_form,
            owner=owner,
            blocked_by=[resolve(b) for b in blocked_by],
            blocks=[resolve(b) for b in blocks],
            parent=parent_id,
            task_type=task_type,
            metadata=values,
            extra={"context": {k: v for k, v in context.items() if v is not None}} if context else None,
        )

    return change(ws, "create", run)


def status_action(old: Any, new: Any) -> str:
    """What the commit calls a change of a task from status `old` to `new`: reopen, start, complete, block, cancel;
    update when the status stayed."""
    if old == new:
        return "update"
    if old in rules.TERMINAL and new in rules.OPEN:
        return "reopen"
    return STATUS_ACTIONS.get(new, "update")


def update(ws: Workspace, given: str, edit: Edit) -> Outcome:
    """Apply `edit` to one task (one commit, none when nothing changed); the Outcome's value is the task. The
    commit's action says what the edit did to the task's status (`status_action`)."""

    def run(doc: Document, change: model.Change) -> dict[str, Any]:
        tid = ws.resolve(given, doc, changing=True)
        was = model.task_index(doc)[tid].get("status", rules.PENDING)
        apply_edit(doc, tid, edit, change, _resolver(doc))
        task = model.task_index(doc)[tid]
        change.action = status_action(was, task.get("status", rules.PENDING))
        return task

    return change(ws, "update", run)


def delete(ws: Workspace, given: str) -> Outcome:
    """Remove a task and its dependency links; the Outcome's value is the removed task."""

    def run(doc: Document, done: model.Change) -> dict[str, Any]:
        tid = ws.resolve(given, doc, changing=True)
        taskcheck.refuse_kept(model.task_index(doc)[tid])
        return model.delete_task(doc, tid, done)

    return change(ws, "delete", run)


def change(ws: Workspace, action: str, apply: Callable[[Document, model.Change], T]) -> Outcome:
    """`apply(doc, change)` as one transaction and one commit (`Workspace.change`), then `gittasks.autoarchive` (a
    duration: archive tasks that ended longer ago, in a commit of its own). The background sync that carries the
    change to the remote is the front end's to start when it is done (`autosync.after`)."""
    outcome = ws.change(action, apply)
    if outcome.commit is not None:
        _follow_up(ws, outcome)
    return outcome


def _follow_up(ws: Workspace, outcome: Outcome) -> None:
    if not ws.repo.may_have("autoarchive"):
        return
    auto_archive = ws.setting("autoarchive")
    if auto_archive:
        try:
            done = archive_ended(ws, rules.parse_duration(auto_archive))
            if done.commit is not None:
                outcome.notes.append(f"archived {len(done.touched)} ended task(s) (gittasks.autoarchive)")
        except GittasksError as exc:
            outcome.notes.append(f"autoarchive skipped: {exc}")


# -- the archive ---------------------------------------------------------------------------------------------------


def find_task(ws: Workspace, given: str) -> tuple[dict[str, Any], bool]:
    """The task `given` names (an id or unique prefix) in the active list, else in the archive: (task, archived)."""
    try:
        return ws.get(given), False
    except UnknownId:
        found = archive.find_archived(ws.repo.root, given)
        if found is None:
            raise
        return found, True


def history_id(ws: Workspace, given: str) -> str:
    """The id whose history to show: an active or archived task's (prefixes allowed), else `given` as it is (a
    deleted task keeps its history)."""
    try:
        return str(find_task(ws, given)[0]["id"])
    except UnknownId:
        return given


def archive_ended(ws: Workspace, older_than: timedelta | None = None) -> Outcome:
    """Move ended tasks (all, or those ended longer ago than `older_than`) to the archive in one commit."""
    with ws.lock:
        doc = ws.load()
        now = rules.utc_now()
        moving = []
        for task in doc["tasks"]:
            if task.get("status") not in rules.TERMINAL:
                continue
            ended = rules.parse_stamp(task.get("completed_at")) or rules.parse_stamp(task.get("updated_at"))
            if older_than is not None and (ended is None or now - ended < older_than):
                continue
            moving.append(task)
        if not moving:
            return Outcome(None, [], ["nothing to archive"], [])
        moving_ids = {t["id"] for t in moving}
        by_file: dict[str, list[dict[str, Any]]] = {}
        for task in moving:
            by_file.setdefault(rules.archive_path(task), []).append(task)
        new_files: dict[str, bytes | None] = {}
        for rel, tasks in by_file.items():
            existing = ws.file_bytes(rel)
            kept = taskset.parse_archive(existing, rel) if existing else []
            kept = [t for t in kept if t["id"] not in moving_ids]
            new_files[rel] = taskset.archive_bytes(kept + tasks)
        ids = sorted(moving_ids, key=document.natural_key)
        remaining = {**doc, "tasks": [t for t in doc["tasks"] if t["id"] not in moving_ids]}
        model.finish(remaining, model.Change(ws.machine, now, touched=list(ids)))
        new_files[rules.ACTIVE_PATH] = document.dumps(remaining)
        subjects = {t["id"]: t.get("subject", "") for t in moving}
        commit = ws.commit_files("archive", ids, subjects, new_files)
        return Outcome(commit, ids, [], moving)


def restore(ws: Workspace, given: str) -> Outcome:
    """Restore (out of the archive): bring one archived task back to the active list, one commit. Not `recover`
    (a new session's summary) nor `repair` (a line merge's damage fixed)."""
    with ws.lock:
        doc = ws.load()
        if any(t["id"] == given for t in doc["tasks"]):
            raise GittasksError(f"task {given!r} is in the active list already")
        task = archive.find_archived(ws.repo.root, given, changing=True)
        if task is None:
            raise GittasksError(f"no archived task with id {given!r}; see `gittasks list --all`")
        rel = rules.archive_path(task)
        raw = ws.file_bytes(rel)
        if raw is None or not any(t["id"] == task["id"] for t in taskset.parse_archive(raw, rel)):
            rel, raw = _locate(ws.repo.root, task["id"])
        left = [t for t in taskset.parse_archive(raw, rel) if t["id"] != task["id"]]
        change = model.Change(ws.machine, rules.utc_now())
        restored = dict(task)
        change.stamp(restored)
        active = {**doc, "tasks": [*doc["tasks"], restored]}
        model.finish(active, change)
        new_files: dict[str, bytes | None] = {
            rules.ACTIVE_PATH: document.dumps(active),
            rel: taskset.archive_bytes(left) if left else None,
        }
        commit = ws.commit_files("restore", [task["id"]], {task["id"]: task.get("subject", "")}, new_files)
        return Outcome(commit, [task["id"]], [], restored)


def _locate(root: Path, task_id: str) -> tuple[str, bytes]:
    for path in archive.archive_files(root):
        rel = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        if any(t["id"] == task_id for t in taskset.parse_archive(raw, rel)):
            return rel, raw
    raise GittasksError(f"archived task {task_id!r} vanished while restoring it; run the command again")


# -- history -------------------------------------------------------------------------------------------------------

LOG_LIMIT = 20  # entries `log` shows without a task id and without --limit


def task_history(ws: Workspace, given: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The history from git, newest first: one task's whole history (an active or archived task's id or prefix, a
    deleted task's id), or the last `limit` (default LOG_LIMIT) entries of all tasks. An id that names no task of
    the three is refused (UnknownId)."""
    return history_page(ws, given, limit)[0]


def history_page(
    ws: Workspace, given: str | None = None, limit: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """`task_history`, and the limit that left older entries out (None when nothing was left out)."""
    if limit is not None and limit < 1:
        raise GittasksError("limit must be 1 or more")
    task_id = history_id(ws, given) if given is not None else None
    rev = ws.history_rev()
    wanted = limit if limit is not None else (None if task_id else LOG_LIMIT)
    entries = history.task_log(ws.repo, task_id, wanted + 1 if wanted else None, rev) if rev else []
    if given is not None and not entries:
        try:
            find_task(ws, given)  # an active or archived task with no history yet is no error
        except UnknownId:
            raise UnknownId(
                f"no task with id {given!r} is active, archived or in the history (a deleted task's history takes "
                "its whole id); see `gittasks list --all`"
            ) from None
    if wanted is not None and len(entries) > wanted:
        return entries[:wanted], wanted
    return entries, None


def task_stats(ws: Workspace, since: str | None = None, client: str | None = None) -> dict[str, Any]:
    """`gittasks stats`: the active and archived tasks and the whole status history of the task branch, read in one
    `git log` (`history.status_log`), given to `stats.build`. `since`: YYYY-MM-DD (or any stamp)."""
    moment = work_report.parse_date(since, "--since")
    rev = ws.history_rev()
    entries = history.status_log(ws.repo, rev) if rev else []
    tasks = [*ws.tasks(), *archive.iter_archived(ws.repo.root)]
    return stats.build(tasks, entries, now=rules.utc_now(), since=moment, client=client)
