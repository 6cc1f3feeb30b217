"""Which tasks a listing shows and in what order: `ListQuery`, the filters of `list` and the MCP `task_list`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from gittasks import document, rules
from gittasks.document import Task


@dataclass(frozen=True)
class ListQuery:
    """Every condition given holds (`rules.task_filter`: none given, every task); `sort` as `list --sort`
    (`rules.LIST_SORTS`; None: the list's own order). `parent` is a task id, read by the caller (it may name an
    archived task). `open_only`: only tasks not ended (`rules.OPEN`: not completed or cancelled); "active" is
    where a task is kept (the active list, not the archive), whatever its status."""

    statuses: tuple[str, ...] = ()
    client: str | None = None
    project: str | None = None
    owner: str | None = None
    task_type: str | None = None
    parent: str | None = None
    ready: bool = False
    blocked: bool = False
    sort: str | None = None
    open_only: bool = False
    search: str | None = None  # `list --search`: in the subject, the description or the id, case aside
    overdue_on: str | None = None  # `list --overdue`: open tasks due before this day (YYYY-MM-DD, the caller's today)

    @property
    def narrows(self) -> bool:
        """Whether any condition leaves tasks out (the order aside)."""
        given = (self.client, self.project, self.owner, self.task_type, self.parent)
        narrowed = bool(self.statuses) or self.ready or self.blocked or self.open_only
        narrowed = narrowed or any(v is not None for v in given)
        return narrowed or self.search is not None or self.overdue_on is not None

    def check(self) -> None:
        """Refuse an unknown status, type or order before any work is done."""
        rules.check_sort(self.sort)
        rules.task_filter((), statuses=self.statuses, task_type=self.task_type)

    def select(self, active: list[Task], archived: Iterable[Task] = ()) -> tuple[list[Task], Iterable[Task]]:
        """The `active` tasks that match, in order, and those of `archived` (read lazily, unless sorted); `ready`
        and `blocked` are judged against `active`."""
        wanted = rules.task_filter(
            active, statuses=self.statuses, client=self.client, project=self.project, owner=self.owner,
            task_type=self.task_type, parent=self.parent, ready=self.ready, blocked=self.blocked,
        )  # fmt: skip
        if self.open_only:
            wanted = _and(wanted, _is_open)
        if self.search is not None or self.overdue_on is not None:
            wanted = _and(wanted, _habits(self.search, self.overdue_on))
        tasks = document.listing_order((t for t in active if wanted(t)), self.sort)
        rest = (t for t in archived if wanted(t))
        return tasks, rest if self.sort is None else document.listing_order(rest, self.sort)


def _is_open(task: Mapping[str, object]) -> bool:
    """Not ended: pending, in progress or blocked (`list --open`)."""
    return task.get("status", rules.PENDING) in rules.OPEN


def _and(
    wanted: Callable[[Mapping[str, object]], bool], also: Callable[[Mapping[str, object]], bool]
) -> Callable[[Mapping[str, object]], bool]:
    return lambda task: wanted(task) and also(task)


def _habits(search: str | None, overdue_on: str | None) -> Callable[[Mapping[str, object]], bool]:
    """`list --search TEXT` (the subject, the description or the id holds TEXT, case aside) and `list --overdue`
    (`schedule.is_overdue`)."""
    from gittasks import schedule  # (only these filters need it)

    needle = search.casefold() if search is not None else None

    def check(task: Mapping[str, object]) -> bool:
        if overdue_on is not None and not schedule.is_overdue(task, overdue_on):
            return False
        if needle is None:
            return True
        texts = (task.get("subject"), task.get("description"), task.get("id"))
        return any(isinstance(text, str) and needle in text.casefold() for text in texts)

    return check
