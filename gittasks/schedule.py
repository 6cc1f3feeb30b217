"""A task's priority and due date, kept in its metadata (`metadata.priority`, `metadata.due`): what the command
line accepts, the one form stored, and what `list --sort priority|due` and `list --overdue` read from them.

Priority is stored as a whole number from 0 (critical) to 4 (backlog), as beads numbers it; Taskwarrior's H, M and
L, the words and `P0`..`P4` are read into it. The due date is stored as a day, `YYYY-MM-DD`; `today`, `tomorrow`,
a weekday, `+3d` or `+2w` are read relative to the day the caller gives. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from gittasks import rules
from gittasks.errors import GittasksError

PRIORITY_KEY = "priority"
DUE_KEY = "due"
PRIORITY_NAMES: tuple[str, ...] = ("critical", "high", "medium", "low", "backlog")  # 0..4
_PRIORITY_WORDS: dict[str, int] = {
    **{name: rank for rank, name in enumerate(PRIORITY_NAMES)},
    **{str(rank): rank for rank in range(len(PRIORITY_NAMES))},
    **{f"p{rank}": rank for rank in range(len(PRIORITY_NAMES))},
    "h": 1, "m": 2, "l": 3,  # Taskwarrior
    "highest": 0, "urgent": 0, "med": 2, "normal": 2, "lowest": 4,
}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_priority(text: str) -> int:
    """The stored priority (0 critical .. 4 backlog) of what was given: 0-4, P0-P4, H/M/L or a word."""
    rank = _PRIORITY_WORDS.get(text.strip().lower())
    if rank is None:
        words = ", ".join(f"{rank} {name}" for rank, name in enumerate(PRIORITY_NAMES))
        raise GittasksError(f"priority {text!r} not understood; give 0-4 ({words}) or H, M, L")
    return rank


def priority_of(task: Mapping[str, object]) -> int | None:
    """A task's priority rank, None when it has none; a value written by hand (`--meta priority=high`) is read the
    way `parse_priority` reads it."""
    value = _metadata(task).get(PRIORITY_KEY)
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < len(PRIORITY_NAMES):
        return value
    if isinstance(value, str):
        return _PRIORITY_WORDS.get(value.strip().lower())
    return None


def parse_due(text: str, today: date) -> str:
    """The stored due day (`YYYY-MM-DD`) of what was given: a date (or a timestamp: its day), today, tomorrow,
    yesterday, a weekday (the next one after today), or +N days or weeks (`+3d`, `+2w`)."""
    given = text.strip().lower()
    if given in ("today", "tomorrow", "yesterday"):
        return (today + timedelta(days={"today": 0, "tomorrow": 1, "yesterday": -1}[given])).isoformat()
    if given in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(given) - today.weekday() - 1) % 7 + 1
        return (today + timedelta(days=ahead)).isoformat()
    if given.startswith("+"):
        try:
            span = rules.parse_duration(given[1:])
        except GittasksError:
            span = None
        if span is not None and span % timedelta(days=1) == timedelta(0):
            try:
                return (today + span).isoformat()
            except OverflowError:  # past the year 9999: refused below as not understood
                pass
    day = due_day(given)
    if day is None:
        raise GittasksError(
            f"due date {text!r} not understood; give YYYY-MM-DD, today, tomorrow, a weekday, +3d or +2w"
        )
    return day


def due_day(value: object) -> str | None:
    """The day (`YYYY-MM-DD`) a stored due value names, None when it names none."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    head = value[:10]
    try:
        return date.fromisoformat(head).isoformat() if value[10:11] in ("", "T", "t", " ") else None
    except ValueError:
        return None


def due_of(task: Mapping[str, object]) -> str | None:
    return due_day(_metadata(task).get(DUE_KEY))


def is_overdue(task: Mapping[str, object], today: str) -> bool:
    """Open, and due before `today` (`YYYY-MM-DD`): a task due today is not overdue yet."""
    due = due_of(task)
    return due is not None and due < today and task.get("status", rules.PENDING) in rules.OPEN


def with_schedule(metadata: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`metadata` (a task's, or an edit of it) with a priority and a due day given as text in their stored forms
    (`--meta priority=high` is 1, as `--priority high`; a due stamp is its day), and a line for each that names
    none (None, a removal, passes): the rule `--meta`, MCP and the capture hook follow, as `--priority`/`--due` do."""
    out, problems = metadata, []
    rank = metadata.get(PRIORITY_KEY)
    if rank is not None:
        if isinstance(rank, str) and rank.strip().lower() in _PRIORITY_WORDS:
            out = {**out, PRIORITY_KEY: _PRIORITY_WORDS[rank.strip().lower()]}
        elif isinstance(rank, bool) or not (isinstance(rank, int) and 0 <= rank < len(PRIORITY_NAMES)):
            words = ", ".join(f"{n} {name}" for n, name in enumerate(PRIORITY_NAMES))
            problems.append(f"metadata.priority {str(rank)[:40]!r} is no priority; give 0-4 ({words}) or H, M, L")
    due = metadata.get(DUE_KEY)
    if due is not None:
        day = due_day(due)
        if day is None:
            problems.append(f"metadata.due {str(due)[:40]!r} is no day; give YYYY-MM-DD (`--due` also takes +3d)")
        elif day != due:
            out = {**out, DUE_KEY: day}
    return out, problems


def order_key(sort: str) -> Callable[[Mapping[str, object]], tuple[int, object]]:
    """`list --sort priority` (the most urgent first) or `--sort due` (the earliest first); tasks without one last."""
    if sort == PRIORITY_KEY:
        return lambda task: (1, 0) if (rank := priority_of(task)) is None else (0, rank)
    return lambda task: (1, "") if (day := due_of(task)) is None else (0, day)


def _metadata(task: Mapping[str, object]) -> Mapping[str, object]:
    metadata = task.get("metadata")
    return metadata if isinstance(metadata, dict) else {}
