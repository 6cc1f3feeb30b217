"""Active time: how long the assistant worked on each task, from the hooks' time stamps, by machine and session.
Pure: a session's events in, each task's figure out, and the figures folded into the tasks.

A session's events are what its hooks saw: the time of a hook call (a tool used), the start and the end of each of
its turns (a prompt and the end of the answer to it), and the status a task took when the session's own task tools
changed it. Time counts for the tasks the session had in progress then (shared equally when it had several):
inside a turn, every moment of it, however long the session went without a hook call (a build, a test run, Bash,
Read or MCP work that no hook sees); between turns, and in a session recorded without turn marks, only the gaps of
at most `IDLE_CUTOFF` between two events (a longer one is a break, a session left open). A task that ended stops
counting at its `completed_at`, whoever ended it. Only times and counts are kept, never what the tools did.

The figures live in the task's `metadata.gittasks_activity`, one entry per machine and session, so the field-level
merge joins the entries of two machines without a conflict; `active_minutes` is their sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gittasks import document, rules
from gittasks.document import Task

IDLE_CUTOFF = timedelta(minutes=15)  # a longer gap between two events of a session outside a turn is not work
TURN_START = "turn-start"  # a prompt was submitted (Claude Code's UserPromptSubmit)
TURN_END = "turn-end"  # the answer to it ended (Claude Code's Stop)
KEY = "gittasks_activity"  # metadata: {"MACHINE/SESSION": {"seconds", "events", "from", "to"}}


@dataclass(frozen=True)
class Event:
    """One thing a session's hooks saw: a time; when its task tool changed a task, the task and its status; when a
    turn started or ended, which (`turn`: TURN_START or TURN_END)."""

    at: datetime
    task: str | None = None
    status: str | None = None
    turn: str | None = None


def entry_key(machine: str, session: str) -> str:
    return f"{machine}/{session}"


def turns(ordered: Sequence[Event]) -> list[int | None]:
    """The turn each of a session's events (in time order) falls in, by number; None between turns. A turn runs from
    its start mark to its end mark; one whose end never came (the session was killed) ends at its last event, before
    the next start. Events before an end mark with no start before them are a turn whose start was not recorded (the
    session's file began within it, or a Stop hook kept the answer going): it begins with the first of them."""
    ahead: list[str | None] = [None] * len(ordered)  # the next mark after each event
    mark: str | None = None
    for i in range(len(ordered) - 1, -1, -1):
        ahead[i] = mark
        mark = ordered[i].turn or mark
    found: list[int | None] = []
    current: int | None = None
    count = 0
    for i, event in enumerate(ordered):
        if event.turn == TURN_START or (current is None and (event.turn == TURN_END or ahead[i] == TURN_END)):
            count += 1
            current = count
        found.append(current)
        if event.turn == TURN_END:
            current = None
    return found


def figures(events: Iterable[Event], ends: Mapping[str, datetime]) -> dict[str, dict[str, Any]]:
    """Each task's active time in one session, {task id: {"seconds", "events", "from", "to"}}: the gaps between the
    session's events while it had the task in progress that are inside one turn (`turns`) or at most IDLE_CUTOFF
    long, a gap shared equally by the tasks in progress then, none counted after the task's end in `ends` (its
    completed_at). `events` counts the session's events while it had the task in progress; `from` and `to` bound
    the time counted."""
    ordered = sorted(events, key=lambda e: e.at)  # (stable: the states of one moment keep their order)
    turn = turns(ordered)
    working: dict[str, None] = {}  # the tasks in progress, in the order they started
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for i, event in enumerate(ordered):
        if event.task is not None:
            if event.status == rules.IN_PROGRESS:
                working[event.task] = None
            else:
                working.pop(event.task, None)
        now = [t for t in working if t not in ends or ends[t] > event.at]
        for tid in now:
            counts[tid] = counts.get(tid, 0) + 1
            first.setdefault(tid, event.at)
            last[tid] = max(last.get(tid, event.at), event.at)
        if not now or i + 1 == len(ordered):
            continue
        following = ordered[i + 1].at
        within = turn[i] is not None and turn[i] == turn[i + 1]
        if following - event.at > IDLE_CUTOFF and not within:
            continue
        for tid in now:
            until = min(following, ends.get(tid, following))
            seconds[tid] = seconds.get(tid, 0.0) + (until - event.at).total_seconds() / len(now)
            last[tid] = max(last[tid], until)
    return {
        tid: {
            "seconds": round(seconds.get(tid, 0.0)),
            "events": counts[tid],
            "from": rules.format_stamp(first[tid]),
            "to": rules.format_stamp(last[tid]),
        }
        for tid in counts
    }


def ends_of(index: Mapping[str, Task]) -> dict[str, datetime]:
    """When each ended task ended (its completed_at), by id: its active time stops there."""
    out: dict[str, datetime] = {}
    for tid, task in index.items():
        if task.get("status") in rules.TERMINAL:
            ended = rules.parse_stamp(task.get("completed_at"))
            if ended is not None:
                out[tid] = ended
    return out


def _events(entry: Any) -> int:
    value = entry.get("events") if isinstance(entry, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def fold(index: Mapping[str, Task], ids: Iterable[str], sessions: Mapping[str, Sequence[Event]]) -> list[str]:
    """The active time of `sessions` ({entry key: events}) set in the tasks `ids` of `index` (in place), each session
    under its own key of `metadata.gittasks_activity`; the ids whose figures changed. A task's entry never goes back
    to fewer events (its session's spool was pruned, or began again on a resumed session); a session that spent no
    measurable time on a task adds none."""
    wanted = [tid for tid in dict.fromkeys(ids) if tid in index]
    if not wanted or not sessions:
        return []
    ends = ends_of(index)
    changed: list[str] = []
    for key in sorted(sessions):
        events = sessions[key]
        if not any(e.task in wanted for e in events if e.task is not None):
            continue
        found = figures(events, ends)
        for tid in wanted:
            if tid not in found:
                continue
            task = index[tid]
            metadata = document.as_object(task.get("metadata"))
            entries = document.as_object(metadata.get(KEY))
            old, new = entries.get(key), found[tid]
            if old is None and not new["seconds"]:
                continue  # (a session with no measurable time on the task adds no entry)
            same = isinstance(old, dict) and old.get("seconds") == new["seconds"]
            if _events(old) > new["events"] or (_events(old) == new["events"] and same):
                continue  # (the same figure, its bounds moved by the moments a commit takes: no change)
            task["metadata"] = {**metadata, KEY: {**entries, key: found[tid]}}
            if tid not in changed:
                changed.append(tid)
    return changed


def counted(task: Task) -> dict[str, float]:
    """The seconds of each of a task's session entries that holds a figure, by its key (`entry_key`)."""
    entries = document.as_object(document.as_object(task.get("metadata")).get(KEY))
    return {
        key: s
        for key, entry in entries.items()
        if isinstance(entry, dict)
        and isinstance(s := entry.get("seconds"), int | float)
        and not isinstance(s, bool)
        and s >= 0
    }


def machine_of(key: str) -> str:
    """The machine of an entry's key (`entry_key`: MACHINE/SESSION; a machine's name may hold a slash)."""
    return key.rsplit("/", 1)[0]


def active_minutes(task: Task) -> int | None:
    """A task's active minutes: the seconds of all its sessions' entries, rounded to the minute; None when no
    session has worked on it."""
    seconds = counted(task)
    return round(sum(seconds.values()) / 60) if seconds else None
