"""The archive: ended tasks moved out of the active list into `.claude/tasks/archive/YYYY-MM.jsonl`.

Active-list commands never read the archive; only `list --all`, `show`/`log` of an id not in the active list,
`restore` and `archive` itself do, and they read it a line at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from gittasks import document, rules, store, taskset
from gittasks.errors import GittasksError
from gittasks.workspace import Outcome, Workspace

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if match is None:
        raise GittasksError(f"duration {text!r} not understood; write e.g. 30m, 12h, 7d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def archive_files(root: Path) -> list[Path]:
    folder = root / rules.ARCHIVE_DIR
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def iter_archived(root: Path) -> Iterator[dict[str, Any]]:
    """Every archived task, a line at a time (newest month first)."""
    for path in reversed(archive_files(root)):
        rel = path.relative_to(root).as_posix()
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    task = document.parse_bytes(line, f"{rel}:{number}")
                    document.check_task(task, f"{rel}:{number}")
                    yield task


def estimated_count(root: Path) -> int:
    """About how many tasks the archive holds, from file sizes alone (for sizing new ids without reading it)."""
    return sum(p.stat().st_size for p in archive_files(root)) // 400


def find_archived(root: Path, given: str) -> dict[str, Any] | None:
    """The archived task with id `given` (or the unique archived id starting with it)."""
    exact = None
    prefixed: list[dict[str, Any]] = []
    for task in iter_archived(root):
        if task["id"] == given:
            exact = task
            break
        if task["id"].startswith(given):
            prefixed.append(task)
    if exact is not None:
        return exact
    if len(prefixed) > 1:
        shown = ", ".join(sorted(t["id"] for t in prefixed)[:10])
        raise GittasksError(f"id prefix {given!r} is ambiguous in the archive: {shown}; give more characters")
    return prefixed[0] if prefixed else None


def find_task(ws: Workspace, given: str) -> tuple[dict[str, Any], bool]:
    """The task `given` names (an id or unique prefix) in the active list, else in the archive: (task, archived)."""
    try:
        return ws.get(given), False
    except GittasksError as exc:
        if "ambiguous" in str(exc):
            raise
        found = find_archived(ws.repo.root, given)
        if found is None:
            raise
        return found, True


def history_id(ws: Workspace, given: str) -> str:
    """The id whose history to show: an active or archived task's (prefixes allowed), else `given` as it is (a
    deleted task keeps its history)."""
    try:
        return str(find_task(ws, given)[0]["id"])
    except GittasksError as exc:
        if "ambiguous" in str(exc):
            raise
        return given


def archive(ws: Workspace, older_than: timedelta | None = None) -> Outcome:
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
            existing = store.read_bytes(ws.repo.root / rel)
            kept = taskset.parse_archive(existing, rel) if existing else []
            kept = [t for t in kept if t["id"] not in moving_ids]
            new_files[rel] = taskset.archive_bytes(kept + tasks)
        from gittasks import model  # the schema: not on the read path that lists the archive

        ids = sorted(moving_ids, key=document.natural_key)
        remaining = {**doc, "tasks": [t for t in doc["tasks"] if t["id"] not in moving_ids]}
        model.finish(remaining, model.Change(ws.machine, now, touched=list(ids)))
        new_files[rules.ACTIVE_PATH] = document.dumps(remaining)
        subjects = {t["id"]: t.get("subject", "") for t in moving}
        commit = ws.commit_files("archive", ids, subjects, new_files)
        return Outcome(commit, ids, [], moving)


def restore(ws: Workspace, given: str) -> Outcome:
    """Bring one archived task back to the active list (one commit)."""
    with ws.lock:
        doc = ws.load()
        if any(t["id"] == given for t in doc["tasks"]):
            raise GittasksError(f"task {given!r} is in the active list already")
        task = find_archived(ws.repo.root, given)
        if task is None:
            raise GittasksError(f"no archived task with id {given!r}; see `gittasks list --all`")
        rel = rules.archive_path(task)
        path = ws.repo.root / rel
        raw = store.read_bytes(path)
        if raw is None or not any(t["id"] == task["id"] for t in taskset.parse_archive(raw, rel)):
            rel, raw = _locate(ws.repo.root, task["id"])
        left = [t for t in taskset.parse_archive(raw, rel) if t["id"] != task["id"]]
        from gittasks import model

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
    for path in archive_files(root):
        rel = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        if any(t["id"] == task_id for t in taskset.parse_archive(raw, rel)):
            return rel, raw
    raise GittasksError(f"archived task {task_id!r} vanished while restoring it; run the command again")
