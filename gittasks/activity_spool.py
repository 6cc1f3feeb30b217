"""The activity spool: the capture hook's time stamps, kept in a small file per session under the git dir, and read
back when a change folds them into the tasks it touches (`activity.fold`).

Recording costs an append, never a commit: a hook call of a session that has worked on a task appends its time (a
number of milliseconds on a line); a capture that changed a task's status appends the task and the status (a JSON
line). Nothing else is kept: no tool names, no text. The spool is this clone's (every worktree shares it); what it
says reaches other machines in the tasks, folded on the next commit of a task, at the session's end and at its
completion. A file untouched for `KEEP_FOR` is removed at a session's end.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from gittasks import activity, model
from gittasks.activity import Event
from gittasks.document import Document
from gittasks.workspace import Workspace

FOLDER = "gittasks-activity"
KEEP_FOR = timedelta(days=14)
_SAFE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def folder(ws: Workspace) -> Path:
    return ws.repo.common_dir / FOLDER


def session_name(session: str) -> str:
    """The name a session's file (and its entry in the tasks) goes by: the session id when it is a plain name (Claude
    Code's are UUIDs), else a digest of it."""
    if _SAFE.fullmatch(session) and not session.startswith("."):
        return session
    import hashlib  # (only an odd session id pays for it)

    return "s-" + hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _file(ws: Workspace, session: str) -> Path:
    return folder(ws) / f"{session_name(session)}.jsonl"


def _ms(at: datetime | None) -> int:
    return int(at.timestamp() * 1000) if at is not None else time.time_ns() // 1_000_000


def _append(path: Path, data: bytes, create: bool) -> None:
    """One write with O_APPEND (whole, whatever other hooks of the session append meanwhile); a failure is ignored:
    active time is a figure offered, never a reason for a hook to fail."""
    flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0) | getattr(os, "O_BINARY", 0)
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o644)
    except OSError:
        return
    try:
        os.write(fd, data)
    except OSError:
        pass
    finally:
        os.close(fd)


def ping(ws: Workspace, session: str, at: datetime | None = None) -> None:
    """A hook call of `session`: its time, appended once the session has worked on a task (its file exists)."""
    _append(_file(ws, session), b"%d\n" % _ms(at), create=False)


def record(ws: Workspace, session: str, states: Sequence[tuple[str, str]], at: datetime | None = None) -> None:
    """The statuses `session`'s own task tools gave tasks ((task id, status), in order), appended."""
    if not states:
        return
    stamp = _ms(at)
    data = b"".join(orjson.dumps({"t": stamp, "task": tid, "status": status}) + b"\n" for tid, status in states)
    _append(_file(ws, session), data, create=True)


def _event(line: bytes) -> Event | None:
    line = line.strip()
    if line.isdigit():
        return Event(_moment(int(line)))
    try:
        value: Any = orjson.loads(line)
    except ValueError:
        return None  # (a line cut short by a crash)
    if not isinstance(value, dict):
        return None
    stamp, tid, status = value.get("t"), value.get("task"), value.get("status")
    if not isinstance(stamp, int) or not isinstance(tid, str) or not isinstance(status, str):
        return None
    return Event(_moment(stamp), tid, status)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(min(ms, 253_402_300_799_000) / 1000, UTC)


def _read(path: Path, tasks: Sequence[str] | None = None) -> list[Event]:
    """A session's events; with `tasks`, none unless its file names one of them (a look at the bytes before any
    parse: a change reads only the sessions that worked on what it touched)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    if tasks is not None and not any(b'"task":' + orjson.dumps(tid) in raw for tid in tasks):
        return []
    return [e for e in map(_event, raw.splitlines()) if e is not None]


def sessions(ws: Workspace, tasks: Sequence[str] | None = None) -> dict[str, list[Event]]:
    """The sessions' events in this clone's spool, by the session's name (with `tasks`: those that worked on one)."""
    try:
        names = sorted(os.listdir(folder(ws)))
    except OSError:
        return {}
    found = {name[: -len(".jsonl")]: _read(folder(ws) / name, tasks) for name in names if name.endswith(".jsonl")}
    return {name: events for name, events in found.items() if events}


def session(ws: Workspace, session_id: str) -> list[Event]:
    """One session's events."""
    return _read(_file(ws, session_id))


def fold(ws: Workspace, doc: Document, change: model.Change) -> None:
    """(In a change) the active time of this clone's sessions folded into the tasks the change touched: they are
    committed with it, so the figures travel with the task."""
    if not change.touched:
        return
    found = sessions(ws, change.touched)
    if found:
        keyed = {activity.entry_key(ws.machine, name): events for name, events in found.items()}
        activity.fold(model.task_index(doc), change.touched, keyed)


def prune(ws: Workspace, now: datetime | None = None) -> None:
    """Remove the files of sessions untouched for KEEP_FOR: their time was folded at their end, or at the latest by
    a change of their tasks."""
    cutoff = ((now or datetime.now(UTC)) - KEEP_FOR).timestamp()
    try:
        entries = list(os.scandir(folder(ws)))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.endswith(".jsonl") and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            continue
