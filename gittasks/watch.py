"""`gittasks watch`: sync this clone round after round and say what other machines changed.

Each round is a whole `sync.sync` (fetch, merge, move the task branch and write the work-tree files, push what this
clone has; every network step outside the repository lock, all of them within `gittasks.syncTimeout`). The commits
that round brought in (from the tip seen after the last round to the tip now) are read back as one `Change` per task
they touched, leaving out this machine's own commits and sync's merge commits. Rounds come every `interval` seconds,
less often when nothing happens for a while or the remote cannot be reached; a change on either side brings the
interval back. No printing here: the command line prints what `watch` yields.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import orjson

from gittasks import render, rules, status_log, sync, trailers
from gittasks.errors import GittasksError
from gittasks.git import GitError, Repo
from gittasks.trailers import one_line
from gittasks.workspace import Workspace

INTERVAL = 10.0  # seconds between rounds by default: a change reaches a watching clone within about that
IDLE_ROUNDS = 6  # rounds without any change before the interval grows (twice as long, then four times)
MAX_IDLE_FACTOR = 4
OFFLINE_CAP = 30.0  # the longest wait between rounds while the remote cannot be reached (or the interval, if longer)
MAX_CHANGES = 20  # per round; the rest are counted in one `Notice("more")` (a long absence must not flood a reader)
PARENT_CHECK = 0.5  # seconds between two looks at whether the parent process is still there
SUBJECT_WIDTH = 60  # characters of a subject in a line (JSON gives it whole)
NOTE_WIDTH = 100

STATUS_VERBS = {
    rules.IN_PROGRESS: "started",
    rules.COMPLETED: "completed",
    rules.BLOCKED: "blocked",
    rules.CANCELLED: "cancelled",
    rules.PENDING: "set pending",
}


@dataclass(frozen=True)
class Change:
    """What another machine did to one task in one commit."""

    machine: str
    action: str  # created, started, completed, blocked, cancelled, reopened, set pending, updated, deleted, ...
    task: str
    subject: str
    note: str  # e.g. "blocker of n51eyy; subtask of 7hx2k1"; "" when there is nothing to say
    commit: str
    when: str | None

    def line(self) -> str:
        """`desktop completed 3abe0s "Deploy" (blocker of n51eyy)`, its texts cut short (not made safe for a
        terminal: the caller does that; `as_json` gives them whole)."""
        text = f'{_cut(self.machine, 40)} {self.action} {_cut(self.task, 40)} "{_cut(self.subject, SUBJECT_WIDTH)}"'
        return text + (f" ({_cut(self.note, NOTE_WIDTH)})" if self.note else "")

    def as_json(self) -> dict[str, Any]:
        return {"event": "change", **self.__dict__}


@dataclass(frozen=True)
class Notice:
    """Not a change: `offline` (the first round that could not sync, with why), `online` (the first that could
    again), `more` (how many changes of a round were left out after MAX_CHANGES), `message` (a notice of the sync,
    such as the merge driver registered again), `conflict` (a conflict the round's merge recorded: two machines set
    one field differently)."""

    kind: str
    text: str
    count: int = 0

    def line(self) -> str:
        return self.text

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"event": self.kind, "text": self.text}
        if self.kind == "more":
            found["count"] = self.count
        return found


Event = Change | Notice


class Stopped(BaseException):  # like KeyboardInterrupt: past every `except Exception` on its way out
    """SIGTERM or SIGINT arrived, or the parent process went away: the watch ends (cleanly, exit 0)."""


@dataclass
class Pacing:
    """How long to wait before the next round: `interval`; after IDLE_ROUNDS quiet rounds twice that, then up to
    MAX_IDLE_FACTOR times; after failed rounds twice as long each time, up to OFFLINE_CAP (or the interval)."""

    interval: float
    idle: int = 0
    failures: int = 0

    def wait(self) -> float:
        if self.failures:
            cap = max(OFFLINE_CAP, self.interval)
            return min(cap, self.interval * 2 ** min(self.failures, 16))
        if self.idle < IDLE_ROUNDS:
            return self.interval
        return self.interval * min(MAX_IDLE_FACTOR, 2 ** ((self.idle - IDLE_ROUNDS) // IDLE_ROUNDS + 1))


@dataclass
class Watch:
    """The state between rounds: the tip already reported, the pacing, whether the last round failed."""

    open_workspace: Callable[[], Workspace]
    interval: float = INTERVAL
    remote: str | None = None
    seen: str | None = None
    started: bool = False
    offline: bool = False
    pacing: Pacing = field(init=False)

    def __post_init__(self) -> None:
        self.pacing = Pacing(self.interval)

    def round(self) -> tuple[list[Event], str | None]:
        """One sync and what it brought in; the second item is why the sync failed (None when it did not). A
        failed sync may still have merged what it fetched (a refused push): that is reported as well."""
        ws = self.open_workspace()  # afresh each round: settings and the repository's caches as they are now
        machine = ws.machine
        if not self.started:
            self.seen = _tip(ws)
            self.started = True
        before = _tip(ws)
        moved_here = before != self.seen  # a change here (or another process's sync) since the last round
        failed: str | None = None
        why = ""  # the reason alone, without sync's advice to run it again (watch does)
        offline = False
        pushed = False
        recorded: list[dict[str, Any]] = []
        try:
            synced = sync.sync(ws, self.remote)
            pushed, recorded = synced.pushed, synced.conflicts
        except sync.SyncFailed as exc:
            failed, offline, why = str(exc), exc.kind == "offline", exc.reason
        except GittasksError as exc:
            failed = str(exc)
        notes: list[Event] = [Notice("message", line) for line in ws.messages]  # e.g. a driver registered
        ws.messages.clear()
        ws.invalidate()
        after = _tip(ws)
        changes: list[Change] = []
        if after is not None and after != self.seen:
            if self.seen is not None:  # (None: the first list this clone takes; its whole history is no news)
                changes = incoming_changes(ws.repo, self.seen, after, machine, before)
            self.seen = after
        events: list[Event] = [*notes, *changes[:MAX_CHANGES]]
        events += [Notice("conflict", f"conflict recorded: {render.conflict_line(r)}") for r in recorded]
        if len(changes) > MAX_CHANGES:
            more = len(changes) - MAX_CHANGES
            text = f"and {more} more changes by other machines (`gittasks log --limit {len(changes)}`)"
            events.append(Notice("more", text, more))
        if failed is not None:
            self.pacing.failures += 1
            if not self.offline:
                self.offline = True
                said = "offline" if offline else "not synced"
                events.append(Notice("offline", f"{said}: {one_line(why or failed, 200)}; trying again, less often"))
        else:
            self.pacing.failures = 0
            if self.offline:
                self.offline = False
                events.append(Notice("online", "back online: synced again"))
        self.pacing.idle = 0 if changes or pushed or moved_here else self.pacing.idle + 1
        return events, failed

    def rounds(self, *, once: bool = False, sleep: Callable[[float], None] = time.sleep) -> Iterator[Event]:
        """Every event, round after round, waiting between rounds as `Pacing` says; `once`: one round, and
        GittasksError (after its events) when it could not sync."""
        while True:
            events, failed = self.round()
            if once:
                yield from (e for e in events if not (isinstance(e, Notice) and e.kind == "offline"))
                if failed is not None:
                    raise GittasksError(failed)  # (said once, as the command's error)
                return
            yield from events
            sleep(self.pacing.wait())


def _tip(ws: Workspace) -> str | None:
    """The commit the task list is at: the task branch, or HEAD in the inline layout."""
    return ws.repo.head() if ws.inline else ws.task_branch_tip()


# -- what came in -------------------------------------------------------------------------------------------------


def incoming_changes(repo: Repo, old: str, new: str, machine: str, local: str | None = None) -> list[Change]:
    """One Change per task touched by each commit in `old..new` (oldest first) that changed the active list and was
    made on another machine than `machine`; merges (sync's) are left out, their sides' commits carry the changes.
    A commit without gittasks trailers (plain git) counts as its author's, unless `local` (the tip before this
    round's sync) already held it: then it was made here."""
    fmt = trailers.RECORD_SEP + trailers.LOG_FORMAT
    try:
        out = repo.log_blobs(f"{old}..{new}", fmt, rules.ACTIVE_PATH)
    except GitError:
        return []  # (`old` gone: a history rewritten under this clone) nothing to compare with
    made = [c for c in status_log.blob_commits(out) if len(c[0]["parents"]) < 2]  # (not a merge)
    commits = [c for c in made if _foreign(repo, c[0], machine, local)]
    if not commits:
        return []
    commits.reverse()  # oldest first, as they happened
    blobs = list(dict.fromkeys(b for _, one, two in commits for b in (one, two) if b is not None))
    *texts, now = repo.blobs([*blobs, f"{new}:{rules.ACTIVE_PATH}"])  # one git process for every version
    versions = {blob: _tasks(raw) for blob, raw in zip(blobs, texts, strict=True)}
    latest = _tasks(now)  # the list as it is now: which open tasks still wait for a task
    found: list[Change] = []
    for commit, one, two in commits:
        before = versions.get(one, {}) if one else {}
        after = versions.get(two, {}) if two else {}
        for task_id, action in _actions(commit, before, after):
            task = after.get(task_id) or before.get(task_id) or {}
            found.append(
                Change(
                    machine=commit["machine"] or commit["author"] or "unknown",
                    action=action,
                    task=task_id,
                    subject=str(task.get("subject") or ""),
                    note=_note(task_id, action, task, latest),
                    commit=commit["commit"],
                    when=commit["when"],
                )
            )
    return found


def _foreign(repo: Repo, commit: dict[str, Any], machine: str, local: str | None) -> bool:
    if commit["machine"]:
        return bool(commit["machine"] != machine)
    if commit["action"]:
        return True  # trailers without a machine: not this gittasks' commit
    return not (local and repo.is_ancestor(commit["commit"], local))


def _tasks(raw: bytes | None) -> dict[str, dict[str, Any]]:
    """{id: task} of one version of the active list; an unreadable version holds none."""
    if raw is None:
        return {}
    try:
        listed = orjson.loads(raw).get("tasks")
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    if not isinstance(listed, list):
        return {}
    return {t["id"]: t for t in listed if isinstance(t, dict) and isinstance(t.get("id"), str)}


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keep = [key for key in {*old, *new} if key not in rules.BOOKKEEPING_FIELDS]
    return all(old.get(key) == new.get(key) for key in keep)


def _actions(
    commit: dict[str, Any], before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    """(task id, what happened to it) for the tasks one commit changed. A commit names its tasks in its trailers,
    the first the one it is about; the others (linked: a blocker's list of what it blocks, a parent completed with
    its last subtask) are reported only when their status moved. A hand edit or a commit naming many is compared
    whole."""
    few = 0 < len(commit["tasks"]) <= status_log.FEW_TASKS
    named: list[str] | None = commit["tasks"] if commit["action"] and few else None
    ids = named if named is not None else sorted({*before, *after}, key=str)
    found: list[tuple[str, str]] = []
    for task_id in dict.fromkeys(ids):
        old, new = before.get(task_id), after.get(task_id)
        if (old is None and new is None) or (old is not None and new is not None and _same(old, new)):
            continue
        action = _verb(commit["action"], old, new)
        if named is not None and task_id != named[0] and action == "updated":
            continue
        found.append((task_id, action))
    return found


def _verb(action: str | None, old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    if old is None:
        return "restored" if action == "restore" else "created"
    if new is None:
        return "archived" if action == "archive" else "deleted"
    was, now = old.get("status"), new.get("status")
    if was == now:
        return "updated"
    if was in rules.TERMINAL and now in rules.OPEN:
        return "reopened"
    return STATUS_VERBS.get(str(now), "updated")


def _note(task_id: str, action: str, task: dict[str, Any], latest: dict[str, dict[str, Any]]) -> str:
    """What a reader needs besides the subject: why it is blocked, which open tasks wait for it, its parent."""
    parts: list[str] = []
    if action == "blocked" and task.get("blocked_reason"):
        parts.append(f"reason: {task['blocked_reason']}")
    if action not in ("deleted", "archived"):
        current = latest.get(task_id, task)
        listed = _ids(current.get("blocks"))
        waiting = [
            str(other["id"])
            for other in latest.values()
            if other.get("status") in rules.OPEN and (task_id in _ids(other.get("blockedBy")) or other["id"] in listed)
        ]
        if waiting:
            more = f" +{len(waiting) - 3}" if len(waiting) > 3 else ""
            parts.append(f"blocker of {', '.join(waiting[:3])}{more}")
        parent = current.get("parent")
        if isinstance(parent, str) and parent:
            parts.append(f"subtask of {parent}")
    return "; ".join(parts)


def _cut(text: str, width: int) -> str:
    """`text` cut to `width` characters (line breaks and control characters are the printer's sanitiser's to
    show: `render.safe`)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _ids(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# -- ending ---------------------------------------------------------------------------------------------------------


STARTED_BY = os.getppid()  # noted as early as this process can (the command imports this module as it starts)


@contextlib.contextmanager
def ending_cleanly(parent: int = STARTED_BY) -> Iterator[None]:
    """While the body runs: SIGTERM and SIGINT raise `Stopped` once (a second one while it unwinds is ignored), so
    that a sync's git steps are ended by the code that started them (`git.Repo._run_bounded`, `subprocess.run`) and
    the lock is released; and a thread raises the same when the parent process goes away (POSIX: the parent's id
    changes, to 1 or to a subreaper), so a watch started by a session that ended does not run on alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        raise Stopped(signal.Signals(signum).name)

    names = ["SIGINT", "SIGTERM"]
    previous = {}
    for name in names:
        number = getattr(signal, name, None)
        if number is not None:
            with contextlib.suppress(ValueError, OSError):
                previous[number] = signal.signal(number, stop)
    if os.name == "posix":
        threading.Thread(target=_watch_parent, args=(parent, stopping), daemon=True).start()
    try:
        yield
    finally:
        stopping.set()  # (the guard ends; a signal from now on is ignored until the handlers are put back)
        for number, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(number, handler)


def _watch_parent(parent: int, stopping: threading.Event) -> None:
    """Send this process SIGTERM when its parent is gone; a signal, not a flag, so a wait on git is cut short."""
    while not stopping.wait(PARENT_CHECK):
        if os.getppid() != parent:
            with contextlib.suppress(OSError):
                os.kill(os.getpid(), signal.SIGTERM)
            return
