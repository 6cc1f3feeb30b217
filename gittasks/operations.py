"""The task operations every front end calls (the CLI, the capture hook, the MCP server): a thin facade.

Each public function is one transaction and one commit. `change` is the one way a front end changes tasks: the
transaction (`Workspace.change`), then what the settings ask after each change (`gittasks.autoarchive`). The
rules of an edit live in the core (`edits`): `create`, `update` and `delete` hand the transaction the core's
`Editor`, and `with_editor` hands it to a caller that makes several edits in one commit (the capture hook). Also
here: moving ended tasks to the archive and back (`archive_ended`, `restore`), finding a task that may be archived
(`find_task`, `history_id`), the history and the stats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from gittasks import (
    activity,
    activity_spool,
    archive,
    document,
    history,
    journal,
    model,
    recover,
    rules,
    stats,
    status_log,
    taskset,
    work_items,
    work_report,
)
from gittasks.document import Document
from gittasks.edits import Edit, Editor
from gittasks.errors import GittasksError, UnknownId
from gittasks.journal import JournalQuery
from gittasks.model import NewTask
from gittasks.workspace import Outcome, Workspace

T = TypeVar("T")


def with_editor(
    ws: Workspace,
    action: str,
    run: Callable[[Editor], T],
    ids: Callable[[Document], Callable[[str], str]] | None = None,
) -> Outcome:
    """`run(editor)` as one transaction and one commit (`change`): the core's editor of the list, whose edits hold
    the rules. `ids` reads the ids a caller gives, for a document (default: ids and unique prefixes of its tasks);
    the archive's size reaches the editor for the ids of new tasks. The tasks the change touched take in the active
    time this clone's sessions measured (`activity_spool.fold`), and those it completed say what they bill
    (`work_items.completion_notes`)."""

    def apply(doc: Document, done: model.Change) -> T:
        resolve = ids(doc) if ids is not None else None
        was = {t["id"]: t.get("status") for t in doc["tasks"]}
        value = run(Editor(doc, done, resolve, lambda: archive.estimated_count(ws.repo.root)))
        activity_spool.fold(ws, doc, done)
        done.notes += work_items.completion_notes(model.task_index(doc), done.touched, was)
        return value

    return change(ws, action, apply)


def create(ws: Workspace, new: NewTask) -> Outcome:
    """Add a pending task (ids of other tasks may be unique prefixes); the Outcome's value is the task."""
    return with_editor(ws, "create", lambda editor: editor.create(new))


def update(ws: Workspace, given: str, edit: Edit) -> Outcome:
    """Apply `edit` to one task (one commit, none when nothing changed); the Outcome's value is the task. The
    commit's action says what the edit did to the task's status (`edits.status_action`)."""
    return with_editor(ws, "update", lambda editor: editor.update(ws.resolve(given, editor.doc, changing=True), edit))


def fold_activity(ws: Workspace, session: str) -> Outcome:
    """A session's end: the active time it measured folded into the tasks it worked on (one commit, none when no
    figure changed), and the spool's old files removed."""
    events = activity_spool.session(ws, session)
    worked = sorted({e.task for e in events if e.task is not None})
    outcome = Outcome(None)
    if worked:

        def apply(doc: Document, done: model.Change) -> None:
            index = model.task_index(doc)
            key = activity.entry_key(ws.machine, activity_spool.session_name(session))
            for tid in activity.fold(index, worked, {key: events}):
                done.stamp(index[tid])

        outcome = change(ws, "update", apply)
    activity_spool.prune(ws)
    return outcome


def delete(ws: Workspace, given: str) -> Outcome:
    """Remove a task and its dependency links; the Outcome's value is the removed task."""
    return with_editor(ws, "delete", lambda editor: editor.delete(ws.resolve(given, editor.doc, changing=True)))


def note(ws: Workspace, given: str, text: str) -> Outcome:
    """Add a timestamped note (with this machine's name) to one task (`notes.add`); the Outcome's value is the
    task."""
    from gittasks import notes

    def apply(doc: Document, done: model.Change) -> dict[str, Any]:
        tid = ws.resolve(given, doc, changing=True)
        notes.add(doc, tid, text, done)
        return model.task_index(doc)[tid]

    return change(ws, "note", apply)


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


def journal_page(
    ws: Workspace, query: JournalQuery, given: str | None = None, limit: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """`log`: without filters `history_page`; with them the journal of all tasks (`history.journal`, the last
    `limit` (default LOG_LIMIT) entries `query` keeps), and the limit that left older ones out (None when none
    was). Filters with a task id are refused: a task's history is whole."""
    if not query.narrows:
        return history_page(ws, given, limit)
    if given is not None:
        raise GittasksError(
            f"the journal's filters take no task id: `gittasks log {given}` is that task's whole history"
        )
    if limit is not None and limit < 1:
        raise GittasksError("limit must be 1 or more")
    ws.preflight()  # an edit made outside gittasks is committed first: the journal has it
    rev = ws.history_rev()
    wanted = limit if limit is not None else LOG_LIMIT
    entries = history.journal(ws.repo, rev, query, wanted + 1, _current(ws)) if rev else []
    return (entries[:wanted], wanted) if len(entries) > wanted else (entries, None)


def _current(ws: Workspace) -> Callable[[str], dict[str, Any] | None]:
    """A task as it is now by its id: in the active list, else in the archive (each read once, when first asked)."""
    active: dict[str, dict[str, Any]] = {}
    archived: dict[str, dict[str, Any]] = {}
    read: set[str] = set()

    def find(task_id: str) -> dict[str, Any] | None:
        if "active" not in read:
            read.add("active")
            active.update((t["id"], t) for t in ws.tasks())
        if task_id in active:
            return active[task_id]
        if "archive" not in read:
            read.add("archive")
            for task in archive.iter_archived(ws.repo.root):
                archived.setdefault(task["id"], task)
        return archived.get(task_id)

    return find


def stale_after(ws: Workspace) -> timedelta:
    """When a task in progress counts as stale (`gittasks.staleAfter`, 24h by default): the recovery summary marks
    it, `next` offers it to resume."""
    setting = ws.setting("staleAfter")
    try:
        return rules.parse_duration(setting) if setting else recover.DEFAULT_STALE
    except GittasksError:  # a bad setting must not break recovery
        return recover.DEFAULT_STALE


def task_stats(ws: Workspace, since: str | None = None, client: str | None = None) -> dict[str, Any]:
    """`gittasks stats`: the active and archived tasks and the whole status history of the task branch, read in one
    `git log` (`status_log`), given to `stats.build`. `since`: as `log --since` takes it (a date, 7d, ...)."""
    moment = journal.parse_moment(since, "--since", rules.utc_now())
    rev = ws.history_rev()
    entries = status_log.status_log(ws.repo, rev) if rev else []
    return stats.build(list(every_task(ws)), entries, now=rules.utc_now(), since=moment, client=client)


def every_task(ws: Workspace) -> Iterator[dict[str, Any]]:
    """The active tasks, then the archived ones (streamed)."""
    yield from ws.tasks()
    yield from archive.iter_archived(ws.repo.root)


def report(
    ws: Workspace, *, client: str | None, project: str | None, since: str | None, until: str | None, by: str
) -> dict[str, Any]:
    """`gittasks report`: the work of the active and archived tasks per period, client and project."""
    start, end = work_report.period(since, until, rules.utc_now())
    return work_report.build(every_task(ws), client=client, project=project, since=start, until=end, by=by)


def invoice(
    ws: Workspace, *, client: str | None, project: str | None, since: str | None, until: str | None
) -> dict[str, Any]:
    """`gittasks report --items`: the work items, each with its task's active minutes."""
    start, end = work_report.period(since, until, rules.utc_now())
    known = {t["id"]: t for t in every_task(ws)}
    return work_report.invoice(
        ws.work_item_files(), tasks=known, client=client, project=project, since=start, until=end
    )
