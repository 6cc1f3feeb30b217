"""Every change of a task's status and owner in the whole history, in one pass: what `stats`, the board's
timelines and each card's history read (`status_log`), and how `watch` reads a commit's blobs (`blob_commits`)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from gittasks import document, rules, tasktext, trailers
from gittasks.git import Repo

TRACKED_FIELDS = ("owner", "status")  # what `status_log` follows
FEW_TASKS = 20  # a commit that names more tasks has its versions compared whole (here and in `watch`)
_RAW = re.compile(r":\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) ")
_NO_BLOB = re.compile(r"0+")


class _NotCut(Exception):
    """A task that does not read as the canonical file writes it."""


Fields = dict[str, Any]  # a task's TRACKED_FIELDS in one version


def status_log(repo: Repo, rev: str, *, touched: bool = False) -> list[dict[str, Any]]:
    """Every change of a task's status and owner in the history of `rev` (and of the inline history it was migrated
    from), oldest first (parents before children, otherwise by commit date): one entry per (commit, task) with
    `kind` ("added": the task came into the active list, "removed": it left it, "changed") and `changes`
    ({field: {"from", "to"}} for TRACKED_FIELDS). `touched` (the board's per-task history): also a "changed" entry
    with no `changes` for each task a commit's trailers name whose tracked fields stayed (an edit of another field).

    Two git processes whatever the history's length: one `git log --raw` of the active task file gives each
    commit's trailers and the file's blob before and after; one `git cat-file --batch` streams each blob once, and
    only the tasks the commits' `Task:` trailers name are cut out of it (the file is canonical: one key per line).
    A commit without trailers (a hand edit), or naming many tasks, has its versions compared whole."""
    fmt = trailers.RECORD_SEP + trailers.LOG_FORMAT
    commits = blob_commits(repo.log_blobs(rev, fmt, rules.ACTIVE_PATH))
    root = commits[-1][0] if commits else None
    if root is not None and not root["parents"] and root["migrated_from"] and repo.rev(root["migrated_from"]):
        commits += blob_commits(repo.log_blobs(root["migrated_from"], fmt, rules.ACTIVE_PATH))
    wanted: dict[str, set[str] | None] = {}  # blob -> the ids to cut out of it (None: every task)
    for commit, old, new in commits:
        ids = _named(commit)
        for blob in (old, new):
            if blob is not None:
                known = wanted.get(blob, set())
                wanted[blob] = None if ids is None or known is None else known | ids
    cutter = _Cutter()
    versions = {blob: cutter.tracked(data, wanted[blob]) for blob, data in repo.stream_blobs(list(wanted))}
    entries: list[dict[str, Any]] = []
    for commit, old, new in reversed(commits):
        before = versions.get(old, {}) if old else {}
        after = versions.get(new, {}) if new else {}
        for task_id, (kind, changes) in _compare(before, after, _named(commit), touched).items():
            entries.append(
                {
                    "commit": commit["commit"],
                    "when": commit["when"],
                    "machine": commit["machine"] or commit["author"],
                    "action": commit["action"] or "edit-by-hand",
                    "task": task_id,
                    "kind": kind,
                    "changes": changes,
                }
            )
    return entries


def _named(commit: dict[str, Any]) -> set[str] | None:
    """The tasks a commit changed, as its trailers name them; None for a hand edit or a commit naming many."""
    return set(commit["tasks"]) if commit["action"] and len(commit["tasks"]) <= FEW_TASKS else None


def blob_commits(out: str) -> list[tuple[dict[str, Any], str | None, str | None]]:
    """(commit, blob before, blob after) for each commit `Repo.log_blobs` printed, newest first; merges and commits
    that did not change the file (no raw line) are left out."""
    commits: list[tuple[dict[str, Any], str | None, str | None]] = []
    for chunk in out.split(trailers.RECORD_SEP):
        header, _, rest = chunk.partition("\n")
        commit = trailers.parse_commit(header)
        raw = _RAW.search(rest)
        if commit is None or raw is None:
            continue
        old, new = (None if _NO_BLOB.fullmatch(sha) else sha for sha in raw.groups())
        commits.append((commit, old, new))
    return commits


class _Cutter:
    """Cuts the tracked fields of a few tasks out of versions of the canonical task file: the `"id"` line is found
    (near where the task was in the last version read: tasks keep their place), then the task's own `"owner"` and
    `"status"` lines, six spaces in, before the task's closing brace; a version that is not canonical, or a task
    that does not read so, has the whole file parsed."""

    def __init__(self) -> None:
        self.places: dict[str, int] = {}

    def tracked(self, blob: bytes | None, ids: set[str] | None) -> dict[str, Fields | None]:
        """{id: its TRACKED_FIELDS, None when the task is not in the file} of the tasks `ids` (None: every task)."""
        if blob is None:
            return {}
        if ids is not None and tasktext.laid_out(blob):
            try:
                return {task_id: self._cut(blob, task_id) for task_id in ids}
            except _NotCut:
                pass
        return _parse_tracked(blob, ids)

    def _cut(self, blob: bytes, task_id: str) -> Fields | None:
        at = tasktext.id_at(blob, task_id, self.places.get(task_id))
        if at < 0:
            return None
        self.places[task_id] = at
        end = tasktext.task_end(blob, at)
        if end < 0:
            raise _NotCut(task_id)
        fields: Fields = {}
        for key in TRACKED_FIELDS:
            value = tasktext.own_value(blob, key, at, end)
            if value is None:
                continue
            try:
                fields[key] = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise _NotCut(task_id) from None
        return fields


def _parse_tracked(blob: bytes, ids: set[str] | None) -> dict[str, Fields | None]:
    """`_Cutter.tracked` of a whole parsed file (an unreadable one holds no task)."""
    try:
        tasks = orjson.loads(blob).get("tasks")
    except (orjson.JSONDecodeError, AttributeError):
        tasks = None
    listed = tasks if isinstance(tasks, list) else []
    found = {t["id"]: t for t in listed if isinstance(t, dict) and isinstance(t.get("id"), str)}
    out: dict[str, Fields | None] = {
        task_id: {key: task[key] for key in TRACKED_FIELDS if key in task}
        for task_id, task in found.items()
        if ids is None or task_id in ids
    }
    out.update(dict.fromkeys((ids or set()) - set(found)))
    return out


def _compare(
    before: dict[str, Fields | None], after: dict[str, Fields | None], ids: set[str] | None, touched: bool = False
) -> dict[str, tuple[str, dict[str, dict[str, Any]]]]:
    """{id: (kind, {field: {"from", "to"}})} for the tasks `ids` (None: all) whose presence or tracked fields
    differ; with `touched`, every task of `ids` present on either side."""
    found: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {}
    for task_id in sorted(ids if ids is not None else set(before) | set(after), key=document.natural_key):
        old, new = before.get(task_id), after.get(task_id)
        if old is None and new is None:
            continue
        kind = "added" if old is None else "removed" if new is None else "changed"
        changes = {
            key: {"from": (old or {}).get(key), "to": (new or {}).get(key)}
            for key in TRACKED_FIELDS
            if key in (old or {}) or key in (new or {})
        }
        changes = {k: c for k, c in changes.items() if c["from"] != c["to"] or kind != "changed"}
        if changes or kind != "changed" or (touched and ids is not None):
            found[task_id] = (kind, changes)
    return found
