"""The journal: `gittasks log` without a task id, narrowed to a machine, an owner, a client, a project, a type,
actions and a span of time. Pure: the query (`JournalQuery`), its parsing from the command line's words, and whether
one record passes; reading the history is `history.journal`.

A record (one per commit and task it changed, newest first), as `log` gives it:

    commit   the commit's full hash
    when     the change's stamp: the `Timestamp:` trailer, else the commit's author date
    machine  the `Machine:` trailer, else the task's `updated_by`, else the commit's author
    action   the `Action:` trailer (create, start, complete, ...); `edit-by-hand` for a commit without one
    task     the task's id
    subject  the task's subject (after the change; before it for a deletion)
    changes  {field: {"from", "to"}} (dotted paths inside objects; "*" for a task that came or went)

Which version of the task each filter reads (`matches`):

- machine, action, since, until: the commit's own (its trailers);
- client, project, type: the task as it is now (the active list, else the archive), so that a client set or
  corrected later counts for the task's whole history, as `report` bills it; a task deleted since: as it was then;
- owner: as it was at the commit (after the change; before it for a deletion): who held the task when it changed.

`since` is inclusive, `until` exclusive (as `report`'s); both take a date (YYYY-MM-DD, midnight UTC), a stamp, or a
time ago (`7d`, `12h`, `3 days ago`, `today`, `yesterday`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gittasks import rules
from gittasks.errors import GittasksError

HAND_EDIT = "edit-by-hand"  # `log`'s action for a commit without an Action trailer
# the actions gittasks' commits record (the `Action:` trailer): statuses as `edits.status_action` names them, the
# other commands', the capture's, and sync's
ACTIONS: tuple[str, ...] = (
    "create", "update", "start", "complete", "block", "cancel", "reopen", "delete", "note", "continue", "take-over",
    "todowrite", "archive", "restore", "sync", "resolve", "external-edit", "reconcile", "repair", "migrate", "init",
    "edit", "undo", HAND_EDIT,
)  # fmt: skip
# words a person may write for an action
ACTION_WORDS = {
    "created": "create", "updated": "update", "started": "start", "completed": "complete", "done": "complete",
    "blocked": "block", "cancelled": "cancel", "canceled": "cancel", "reopened": "reopen", "deleted": "delete",
    "noted": "note", "continued": "continue", "took-over": "take-over", "archived": "archive", "restored": "restore",
    "synced": "sync", "resolved": "resolve",
    "edited": "edit", "undone": "undo", "hand-edit": HAND_EDIT, "by-hand": HAND_EDIT,
}  # fmt: skip
# older spellings of an action in the history (captures before they read like the CLI)
RECORDED_AS = {"create": ("capture-taskcreate",), "todowrite": ("capture-todowrite",)}
_AGO = re.compile(r"^(\d+)\s*([a-z]+)(?:\s+ago)?$")
_UNIT_WORDS = {
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
}  # fmt: skip


def parse_moment(text: str | None, option: str, now: datetime) -> datetime | None:
    """A moment as `--since`/`--until` take it: a date or stamp (`rules.parse_stamp`), a time ago as a duration
    (`rules.parse_duration`'s 30m, 12h, 7d, 2w; also `3 days ago`), `today` or `yesterday` (midnight UTC)."""
    if text is None:
        return None
    given = " ".join(text.strip().lower().split())
    if given in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=given == "yesterday")
    ago = _AGO.match(given)
    if ago is not None and ago.group(2) in _UNIT_WORDS:
        try:
            return now - rules.parse_duration(ago.group(1) + _UNIT_WORDS[ago.group(2)])
        except (GittasksError, OverflowError):  # before the year 1: no such moment
            raise GittasksError(f"{option} {text!r} is before any date; write e.g. 7d, 2w or YYYY-MM-DD") from None
    moment = rules.parse_stamp(text)
    if moment is None:
        raise GittasksError(
            f"{option} {text!r} is not a date; write YYYY-MM-DD, a stamp, a time ago (30m, 12h, 7d, 2w, '3 days "
            "ago'), today or yesterday"
        )
    return moment


def action_names(given: Iterable[str]) -> frozenset[str]:
    """The actions asked for (each may be a list with commas; `completed` reads as `complete`), with the older
    spellings that stand for them; an unknown one is refused with the list."""
    wanted: set[str] = set()
    for text in given:
        for word in (w.strip().lower() for w in text.split(",")):
            if not word:
                continue
            name = ACTION_WORDS.get(word, word)
            if name not in ACTIONS:
                raise GittasksError(f"unknown action {word!r}; use one of: {', '.join(ACTIONS)}")
            wanted |= {name, *RECORDED_AS.get(name, ())}
    return frozenset(wanted)


@dataclass(frozen=True)
class JournalQuery:
    """What the journal keeps: every condition given holds (none given: every record)."""

    machine: str | None = None
    owner: str | None = None
    client: str | None = None
    project: str | None = None
    task_type: str | None = None
    actions: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    @property
    def narrows(self) -> bool:
        given = (self.machine, self.owner, self.client, self.project, self.task_type, self.since, self.until)
        return bool(self.actions) or any(v is not None for v in given)

    @property
    def about_task(self) -> bool:
        """Whether a filter reads the task's fields (client, project or type: as the task is now)."""
        return any(v is not None for v in (self.client, self.project, self.task_type))

    def check(self) -> None:
        """Refuse an unknown type, or a span that holds no moment, before any work is done."""
        rules.task_filter((), task_type=self.task_type)
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise GittasksError("--since must be before --until (since is inclusive, until exclusive)")

    def by_commit(self, when: str | None, machine: str | None, action: str) -> bool:
        """Whether a commit may hold records this query keeps, from its trailers alone (a machine not known yet,
        a hand edit's, passes here and is checked on the record)."""
        if self.actions and action not in self.actions:
            return False
        if self.machine is not None and machine is not None and machine != self.machine:
            return False
        if self.since is None and self.until is None:
            return True
        moment = rules.parse_stamp(when)
        if moment is None:
            return False
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)

    def needs_then(self, now_task: Mapping[str, Any] | None) -> bool:
        """Whether deciding on a record needs the task's version at its commit (`matches`' `then_task`)."""
        return self.owner is not None or (self.about_task and now_task is None)

    def matches(
        self, record: Mapping[str, Any], now_task: Mapping[str, Any] | None, then_task: Mapping[str, Any] | None
    ) -> bool:
        """Whether the journal keeps `record`: its commit's fields, the task as it is now (`now_task`, None when it
        was deleted) and as it was at the commit (`then_task`; needed only when `needs_then`)."""
        if not self.by_commit(record.get("when"), record.get("machine"), str(record.get("action"))):
            return False
        if self.machine is not None and record.get("machine") != self.machine:
            return False
        if self.about_task:
            fields = now_task if now_task is not None else then_task
            kept = rules.task_filter((), client=self.client, project=self.project, task_type=self.task_type)
            if fields is None or not kept(fields):
                return False
        if self.owner is not None:
            return then_task is not None and then_task.get("owner") == self.owner
        return True


def query_of(
    *,
    machine: str | None = None,
    owner: str | None = None,
    client: str | None = None,
    project: str | None = None,
    task_type: str | None = None,
    actions: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    now: datetime,
) -> JournalQuery:
    """The query the command line's (or a tool's) words ask for, checked."""
    query = JournalQuery(
        machine=machine,
        owner=owner,
        client=client,
        project=project,
        task_type=task_type,
        actions=action_names(actions),
        since=parse_moment(since, "--since", now),
        until=parse_moment(until, "--until", now),
    )
    query.check()
    return query
