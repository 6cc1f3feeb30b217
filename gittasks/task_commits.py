"""The code commits that name tasks (`Task: ID` trailers, written by the `link-commits` hook or by hand), read back:
for `log ID`, `show ID`, the Markdown export and the board's card panel.

One `git log` finds them for any number of tasks (`commits_for`): every local branch and remote-tracking branch
but the task branch, so a commit made on another machine shows once it is pushed and fetched here. A trailer names
a task by its whole id, the id in another case, or a unique prefix of at least `ids.MIN_CHANGE_PREFIX` characters
(as a change names one). gittasks' own commits of the task files (inline layout: on the code branch too) carry an
`Action:` trailer and are left out. The plain-git way stays `git log --all --grep "Task: ID"`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from gittasks import archive, gitfiles, handover, ids, operations, rules, trailers
from gittasks.errors import GittasksError, UnknownId
from gittasks.workspace import Workspace

SKEW = timedelta(days=1)  # commits are looked for from a day before the tasks' creation (clocks that are off)


def commits_for(
    ws: Workspace, task_ids: list[str], tasks: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """{task id: [code commit]} for the tasks `task_ids` (whole ids), newest first, in one `git log`; each commit
    {commit, branch (a ref that contains it), when (UTC), author, subject, tasks (the ids it names)}. `tasks`: the
    tasks as the caller has read them (the board: the active and archived ones of the task branch's tip), whose
    creation bounds the search; by default the active list."""
    wanted = list(dict.fromkeys(task_ids))
    found: dict[str, list[dict[str, Any]]] = {task_id: [] for task_id in wanted}
    if not wanted:
        return found
    known = {str(t["id"]): t for t in (ws.tasks() if tasks is None else tasks)}
    since = _since([known.get(task_id) for task_id in wanted])
    if since is not None and _branches_written_before(ws, since):
        return found  # no branch moved since the tasks were made: no commit can name them (no git process)
    moment = rules.parse_stamp(since)
    after = rules.format_stamp(moment - SKEW) if moment is not None else None  # (a commit date from an odd clock)
    out = ws.repo.code_log(trailers.RECORD_SEP + trailers.CODE_LOG_FORMAT, trailers.CODE_GREP, ws.branch, after)
    resolve = _Resolver(ws, wanted, list(known))
    for commit in trailers.parse_code_log(out):
        named = [task_id for task_id in dict.fromkeys(resolve(given) for given in commit["names"]) if task_id]
        entry = {
            "commit": commit["commit"],
            "branch": commit["ref"],
            "when": commit["when"],
            "author": commit["author"],
            "subject": commit["subject"],
            "tasks": named,
        }
        for task_id in named:
            if task_id in found:
                found[task_id].append(entry)
    return found


def _since(tasks: list[Mapping[str, Any] | None]) -> str | None:
    """The earliest creation of the tasks; None when a task's creation is not known (a task not read, a deleted
    task, a hand-written one without `created_at`)."""
    moments = [rules.parse_stamp(task.get("created_at")) if task else None for task in tasks]
    if not moments or any(moment is None for moment in moments):
        return None
    return rules.format_stamp(min(m for m in moments if m is not None))


def _branches_written_before(ws: Workspace, since: str) -> bool:
    """Were every local and remote-tracking branch (the task branch aside) and a detached HEAD last written before
    `since`, as the mtimes of git's ref files say (`gitfiles.branches_last_written`)? A branch tip written before a
    task existed cannot reach a commit that names it, so `show` needs no git process while nothing moved. False
    when unsure (the reftable format, a file that cannot be read): the caller asks git. (A task stamped by a machine
    whose clock runs ahead can hide a commit made here within that lead, until a branch moves again.)"""
    moment = rules.parse_stamp(since)
    if moment is None:
        return False
    written = gitfiles.branches_last_written(ws.repo.git_dir, ws.repo.common_dir, ws.branch)
    return written is not None and written < moment.timestamp() * 1e9


class _Resolver:
    """A trailer's value to the task id it names (None when none or several): the wanted ids first; a prefix is
    looked up among every task's id (the archive read once, only when a prefix needs it)."""

    def __init__(self, ws: Workspace, wanted: list[str], active: list[str]) -> None:
        self.ws = ws
        self.wanted = dict.fromkeys(wanted)  # (the board asks for thousands: looked up, in order)
        self.active = active
        self.pool: list[str] | None = None
        self.seen: dict[str, str | None] = {}

    def __call__(self, given: str) -> str | None:
        if given not in self.seen:
            self.seen[given] = self._resolve(given)
        return self.seen[given]

    def _resolve(self, given: str) -> str | None:
        if given in self.wanted:
            return given
        if self.pool is None:
            archived = [str(t["id"]) for t in archive.iter_archived(self.ws.repo.root)]
            self.pool = list(dict.fromkeys([*self.active, *archived, *self.wanted]))
        try:
            return ids.resolve_id(self.pool, given, changing=True)
        except GittasksError:
            return None


def naming(ws: Workspace, task_id: str) -> list[dict[str, Any]]:
    """The code commits naming one task (`commits_for`). When there are none and sync does not bring the remote's
    code branches (`gittasks.fetchCode` off in a clone with a remote), `ws.messages` gains how to see the commits
    other machines pushed: found nothing may only mean not fetched."""
    found = commits_for(ws, [task_id])[task_id]
    if not found and not ws.fetches_code and ws.remote_task_branch() is not None:
        ws.messages.append(
            "code commits other machines pushed show after `git fetch`; `git config gittasks.fetchCode true` "
            "has sync fetch them"
        )
    return found


def log_with_commits(
    ws: Workspace, given: str, entries: list[dict[str, Any]], limit: int | None, cut: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """`log ID`'s entries with the task's code commits among them (newest first, as `handover.merge_timeline`
    places them), cut to `limit`; and the limit that left entries out (None when nothing was left out)."""
    task_id = operations.history_id(ws, given)
    commits = [handover.commit_entry(task_id, c) for c in naming(ws, task_id)]
    merged = handover.merge_timeline(entries, commits)
    if limit is not None and len(merged) > limit:
        return merged[:limit], limit
    return merged, cut


def export(ws: Workspace, given: list[str]) -> str:
    """The Markdown summary of each task `given` (an active or archived task's id or prefix, a deleted task's id),
    one after the other."""
    parts = []
    for one in given:
        try:
            task, _archived = operations.find_task(ws, one)
            entries = operations.task_history(ws, str(task["id"]))
        except UnknownId:
            entries = operations.task_history(ws, one)  # a deleted task: its history, or UnknownId
            task = {"id": one, "subject": entries[0]["subject"] if entries else "", "status": "deleted"}
        task_id = str(task["id"])
        parts.append(handover.markdown(task, entries, naming(ws, task_id)))
    return "\n".join(parts)
