"""Rules shared by the model, the merge and the renderers.

Pure data and tiny functions only: this module is imported on the merge driver's path, so it must never import
pydantic, typer, git libraries or anything slow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from gittasks.errors import GittasksError

ACTIVE_PATH = ".claude/active-tasks.json"
TASKS_DIR = ".claude/tasks"
ARCHIVE_DIR = ".claude/tasks/archive"
WORK_ITEMS_DIR = ".claude/tasks/work-items"

PENDING = "pending"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
BLOCKED = "blocked"
CANCELLED = "cancelled"

STATUSES: tuple[str, ...] = (PENDING, IN_PROGRESS, BLOCKED, COMPLETED, CANCELLED)
TERMINAL: frozenset[str] = frozenset({COMPLETED, CANCELLED})
OPEN: frozenset[str] = frozenset({PENDING, IN_PROGRESS, BLOCKED})

# Legal transitions outside an explicit reopen (docs/task-format.md, "State machine").
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({IN_PROGRESS, CANCELLED, BLOCKED}),
    IN_PROGRESS: frozenset({COMPLETED, BLOCKED, CANCELLED}),
    BLOCKED: frozenset({IN_PROGRESS, CANCELLED}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
}
# What an explicit reopen may lead to from a terminal status.
REOPEN_TARGETS: frozenset[str] = frozenset({PENDING, IN_PROGRESS})

# The join order used when two machines set a task's status to different values.
STATUS_RANK: dict[str, int] = {PENDING: 0, IN_PROGRESS: 1, BLOCKED: 1, COMPLETED: 2, CANCELLED: 2}

TASK_TYPES: tuple[str, ...] = (
    "implementation",
    "research",
    "review",
    "testing",
    "deployment",
    "documentation",
    "bugfix",
    "analysis",
)

# Fields that hold lists of task ids: merged as sets, stored sorted.
ID_LIST_FIELDS: tuple[str, ...] = ("blocks", "blockedBy")
# Fields that hold a single task id.
ID_FIELDS: tuple[str, ...] = ("parent",)
# lists of records that merge as sets (each side's additions kept): the native ids that map to a task
RECORD_LIST_FIELDS: tuple[str, ...] = ("native",)
# lists inside a task's metadata or context merge as ordered sets; the objects of these lists are told apart by keys
LIST_ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "assigned_agents": ("agent", "started"),
    "blockers_encountered": ("reason", "at"),
    "notes": ("at", "machine"),  # `gittasks note`: context.notes, each machine's notes kept
}
# Bookkeeping never conflicts: the later stamp wins and `updated_by` follows it.
BOOKKEEPING_FIELDS: tuple[str, ...] = ("updated_at", "updated_by")

# A stamp further in the future than this is clamped when used for ordering.
FUTURE_SLACK = timedelta(hours=24)
# No task list of an assistant predates this: a stamp before it comes from a reset clock or a hand edit (`doctor`).
PAST_LIMIT = datetime(2000, 1, 1, tzinfo=UTC)
# The stamps of a task.
STAMP_FIELDS: tuple[str, ...] = ("created_at", "started_at", "completed_at", "updated_at")


def is_legal_transition(old: str, new: str, *, reopen: bool = False) -> bool:
    """True when a task may move from `old` to `new` (an explicit reopen is needed to leave a terminal status)."""
    if old in TERMINAL:
        return reopen and new in REOPEN_TARGETS
    return new in TRANSITIONS.get(old, frozenset())


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_stamp(moment: datetime) -> str:
    """ISO 8601 UTC to the millisecond with a `Z` (always the same width, so stamps written here sort as text)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_stamp(value: object) -> datetime | None:
    """Parse an ISO 8601 stamp (a `Z`, an offset, or none meaning UTC; also `YYYY-MM-DD HH:MM:SS`); None if not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # a legal stamp whose UTC moment falls before year 1 or after 9999: the edge of time
        edge = datetime.min if moment.year < 5000 else datetime.max
        return edge.replace(tzinfo=UTC)


def ordering_stamp(value: object, now: datetime | None = None) -> str:
    """A sortable form of a stamp for deciding which edit is later.

    Missing or unparseable stamps sort first (empty string). A stamp further than FUTURE_SLACK ahead of `now` comes
    from a machine whose clock is wrong: it is clamped to the bottom too, so that machine does not win every later
    conflict (its values are still kept in the conflict record, and `doctor` reports the stamp).
    """
    moment = parse_stamp(value)
    if moment is None:
        return ""
    if now is not None and moment > now + FUTURE_SLACK:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def next_stamp(previous: object, now: datetime) -> str:
    """The stamp for a change: now, or just after `previous` when that is not earlier (same millisecond, skew).

    A previous stamp far in the future (a machine with a wrong clock) is not followed: it is clamped instead.
    """
    moment = now.replace(microsecond=now.microsecond // 1000 * 1000)
    prev = parse_stamp(previous)
    if prev is not None and moment <= prev <= now + FUTURE_SLACK:
        moment = prev + timedelta(milliseconds=1)
    return format_stamp(moment)


def open_blockers(task: dict[str, object], by_id: dict[str, dict[str, object]]) -> list[str]:
    """The blockers of `task` that are not completed (a blocker not in the list is archived: it counts as done)."""
    blockers = task.get("blockedBy") or []
    assert isinstance(blockers, list)
    return [b for b in blockers if isinstance(b, str) and b in by_id and by_id[b].get("status") != COMPLETED]


def open_parents(tasks: Iterable[Mapping[str, object]]) -> set[str]:
    """The ids of tasks that have a subtask still open (a parent is done when its subtasks are)."""
    return {str(t["parent"]) for t in tasks if isinstance(t.get("parent"), str) and t.get("status", PENDING) in OPEN}


def is_ready(
    task: dict[str, object], by_id: dict[str, dict[str, object]], parents_waiting: Collection[str] = ()
) -> bool:
    """A pending task whose blockers are all completed and that is not a parent with open subtasks
    (`parents_waiting`: `open_parents` of the list)."""
    if task.get("status", PENDING) != PENDING or task.get("id") in parents_waiting:
        return False
    return not open_blockers(task, by_id)


def archive_path(task: dict[str, object]) -> str:
    """The archive file of an ended task: the month of its `completed_at` (else of its last change)."""
    moment = parse_stamp(task.get("completed_at")) or parse_stamp(task.get("updated_at"))
    month = moment.strftime("%Y-%m") if moment else "undated"
    return f"{ARCHIVE_DIR}/{month}.jsonl"


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """A duration such as 30m, 12h, 7d or 2w (settings and `archive --older-than`)."""
    match = _DURATION.match(text)
    if match is None:
        raise GittasksError(f"duration {text!r} not understood; write e.g. 30m, 12h, 7d or 2w")
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:  # past what a date can hold: a typo, never a span anyone means
        raise GittasksError(f"duration {text!r} is longer than any calendar; write e.g. 30m, 12h, 7d or 2w") from None


def is_held_up(task: dict[str, object], by_id: dict[str, dict[str, object]]) -> bool:
    """Blocked work: a task with the status blocked, or an open task whose blockers are not all completed."""
    status = task.get("status", PENDING)
    if status == BLOCKED:
        return True
    return status in OPEN and isinstance(task.get("blockedBy"), list) and bool(open_blockers(task, by_id))


def _metadata_value(task: Mapping[str, object], key: str) -> object:
    metadata = task.get("metadata")
    return metadata.get(key) if isinstance(metadata, dict) else None


def task_filter(
    active: Iterable[Mapping[str, object]],
    *,
    statuses: Iterable[str] = (),
    client: str | None = None,
    project: str | None = None,
    owner: str | None = None,
    task_type: str | None = None,
    parent: str | None = None,
    ready: bool = False,
    blocked: bool = False,
) -> Callable[[Mapping[str, object]], bool]:
    """Which tasks `list` shows: every condition given holds (none given: every task). `statuses` as
    `status_filter`; `client`, `project` (`metadata.client`, `metadata.project`), `owner` and `task_type` (refused
    when not a known type) equal to the value given; `parent` the direct subtasks of that id; `ready` as `ready`
    (`is_ready`) and `blocked` held up (`is_held_up`), both judged against the `active` list."""
    if task_type is not None and task_type not in TASK_TYPES:
        raise GittasksError(f"unknown type {task_type!r}; use one of: {', '.join(TASK_TYPES)}")
    checks: list[Callable[[Mapping[str, object]], bool]] = []
    if statuses := frozenset(statuses):
        checks.append(status_filter(statuses))
    in_metadata = {k: v for k, v in (("client", client), ("project", project)) if v is not None}
    if in_metadata:
        checks.append(lambda task: all(_metadata_value(task, k) == v for k, v in in_metadata.items()))
    in_task = {k: v for k, v in (("owner", owner), ("type", task_type), ("parent", parent)) if v is not None}
    if in_task:
        checks.append(lambda task: all(task.get(k) == v for k, v in in_task.items()))
    if ready or blocked:
        by_id = {str(t.get("id")): dict(t) for t in active}
        if ready:
            waiting = open_parents(by_id.values())
            checks.append(lambda task: is_ready(dict(task), by_id, waiting))
        if blocked:
            checks.append(lambda task: is_held_up(dict(task), by_id))
    return lambda task: all(check(task) for check in checks)


# `list --sort`: the orders a listing takes (the default is the file's own: by creation); with status, work under way
# comes first
LIST_SORTS: tuple[str, ...] = ("status", "updated", "id", "priority", "due")  # the last two: `schedule.order_key`
LIST_STATUS_ORDER: tuple[str, ...] = (IN_PROGRESS, BLOCKED, PENDING, COMPLETED, CANCELLED)


def check_sort(name: str | None) -> str | None:
    if name is not None and name not in LIST_SORTS:
        raise GittasksError(f"unknown sort {name!r}; use one of: {', '.join(LIST_SORTS)}")
    return name


def status_filter(wanted: Iterable[str]) -> Callable[[Mapping[str, object]], bool]:
    """Which tasks have one of the `wanted` statuses (all tasks when none is wanted); an unknown status is refused."""
    chosen = frozenset(wanted)
    for value in sorted(chosen):
        if value not in STATUSES:
            raise GittasksError(f"unknown status {value!r}; use one of: {', '.join(STATUSES)}")
    if not chosen:
        return lambda task: True
    return lambda task: task.get("status") in chosen
