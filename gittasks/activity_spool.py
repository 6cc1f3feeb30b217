"""The activity spool: the hooks' time stamps, kept in a small file per session under the git dir, and read back
when a change folds them into the tasks it touches (`activity.fold`).

Recording costs an append, never a commit: a hook call of a session that has worked on a task appends its time (a
number of milliseconds on a line); the start and the end of each of its turns append the time and the mark
(`MS turn-start`, `MS turn-end`: `hook ping`, on UserPromptSubmit and Stop); a task status the session gave (its
capture hook, or its MCP tools, which Claude Code tells the session's id) appends the task and the status (a JSON
line). Nothing else is kept: no tool names, no text. The spool is this clone's (every worktree shares it); what it
says reaches other machines in the tasks, folded on the next commit of a task, at the session's end and at its
completion. A file untouched for `KEEP_FOR` is removed at a session's end.

`hook ping` runs on every prompt: this module loads nothing heavy itself (no orjson, no task model); what reads the
files and folds them imports those when it runs.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gittasks import gitfiles

if TYPE_CHECKING:
    from gittasks import model
    from gittasks.activity import Event
    from gittasks.document import Document
    from gittasks.workspace import Workspace

FOLDER = "gittasks-activity"
KEEP_FOR = timedelta(days=14)
_SAFE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
SESSION_VARIABLE = "CLAUDE_CODE_SESSION_ID"  # the session's id, in the environment of what Claude Code starts
PROJECT_VARIABLE = "CLAUDE_PROJECT_DIR"  # the folder Claude Code was started in, set for every hook
START_WORD, END_WORD = b"turn-start", b"turn-end"  # a turn's marks in the file, after its time
TURN_MARKS = {"UserPromptSubmit": START_WORD, "Stop": END_WORD}  # `hook ping`'s mark for a hook event (else none)


def folder(ws: Workspace) -> Path:
    return _folder_in(ws.repo.common_dir)


def _folder_in(common_dir: Path) -> Path:
    return common_dir / FOLDER


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


def hook_ping(stdin: TextIO | None, given: Path | None = None) -> None:
    """`gittasks hook ping`: the payload of a Claude Code hook on `stdin` (UserPromptSubmit: a turn's start; Stop: its
    end; any other event: a moment of work), its time and mark appended to the session's file once the session has
    worked on a task (the file exists). The repository is the one `given` names, else the project Claude Code was
    started in, else the payload's `cwd` (as `claude.hooks.workspace_for` picks it). No git, no lock, no task file:
    one append. It never raises: a bad payload, no repository or a failed write records nothing."""
    try:
        raw = stdin.buffer.read() if stdin is not None and not stdin.isatty() else b""
        payload = json.loads(raw) if raw.strip() else None
        if not isinstance(payload, dict) or not isinstance(session := payload.get("session_id"), str) or not session:
            return
        places = [given] if given is not None else [os.environ.get(PROJECT_VARIABLE), payload.get("cwd")]
        for place in places:
            found = gitfiles.locate(Path(place).resolve()) if isinstance(place, str | Path) and place else None
            if found is not None:
                mark = TURN_MARKS.get(str(payload.get("hook_event_name")))
                line = b"%d %s\n" % (_ms(None), mark) if mark is not None else b"%d\n" % _ms(None)
                _append(_folder_in(found[2]) / f"{session_name(session)}.jsonl", line, create=False)
                return
    except Exception:  # (what the session sees of it is nothing: its time is a figure offered, never a failure)
        return


def record(ws: Workspace, session: str, states: Sequence[tuple[str, str]], at: datetime | None = None) -> None:
    """The statuses `session`'s own task tools gave tasks ((task id, status), in order), appended."""
    if not states:
        return
    import orjson  # (not on `hook ping`'s path)

    stamp = _ms(at)
    data = b"".join(orjson.dumps({"t": stamp, "task": tid, "status": status}) + b"\n" for tid, status in states)
    _append(_file(ws, session), data, create=True)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(min(ms, 253_402_300_799_000) / 1000, UTC)


def _read(path: Path, tasks: Sequence[str] | None = None) -> list[Event]:
    """A session's events; with `tasks`, none unless its file names one of them (a look at the bytes before any
    parse: a change reads only the sessions that worked on what it touched)."""
    import orjson

    from gittasks.activity import TURN_END, TURN_START, Event

    try:
        raw = path.read_bytes()
    except OSError:
        return []
    if tasks is not None and not any(b'"task":' + orjson.dumps(tid) in raw for tid in tasks):
        return []
    marks = {b"": None, START_WORD: TURN_START, END_WORD: TURN_END}
    events: list[Event] = []
    for line in raw.splitlines():
        stamp, _, word = line.strip().partition(b" ")
        if stamp.isdigit() and word in marks:  # a hook call's time, or a turn's mark
            events.append(Event(_moment(int(stamp)), turn=marks[word]))
            continue
        try:
            value: Any = orjson.loads(line)
        except ValueError:
            continue  # (a line cut short by a crash)
        if not isinstance(value, dict):
            continue
        at, tid, status = value.get("t"), value.get("task"), value.get("status")
        if isinstance(at, int) and isinstance(tid, str) and isinstance(status, str):
            events.append(Event(_moment(at), tid, status))
    return events


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
    from gittasks import activity, model

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
