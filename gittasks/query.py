"""Which tasks a listing shows and in what order: `ListQuery`, the filters of `list` and the MCP `task_list`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gittasks import document, rules
from gittasks.document import Task


@dataclass(frozen=True)
class ListQuery:
    """Every condition given holds (`rules.task_filter`: none given, every task); `sort` as `list --sort`
    (`rules.LIST_SORTS`; None: the list's own order). `parent` is a task id, read by the caller (it may name an
    archived task)."""

    statuses: tuple[str, ...] = ()
    client: str | None = None
    project: str | None = None
    owner: str | None = None
    task_type: str | None = None
    parent: str | None = None
    ready: bool = False
    blocked: bool = False
    sort: str | None = None

    @property
    def narrows(self) -> bool:
        """Whether any condition leaves tasks out (the order aside)."""
        given = (self.client, self.project, self.owner, self.task_type, self.parent)
        return bool(self.statuses) or self.ready or self.blocked or any(v is not None for v in given)

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
        tasks = document.listing_order((t for t in active if wanted(t)), self.sort)
        rest = (t for t in archived if wanted(t))
        return tasks, rest if self.sort is None else document.listing_order(rest, self.sort)
