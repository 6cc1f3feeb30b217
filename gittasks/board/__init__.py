"""`gittasks board`: the tasks, their dependency graph, who did what and the open conflicts as one HTML page.

Pure: the tasks (active and archived), the conflict records and the status log in, the page's data and its HTML out.
The graph is laid out by `board.graph` (grandalf) and the page is rendered by jinja2 with autoescape on. The tasks
reach the page as one JSON document inside a `<script type="application/json">` (every `<`, `>` and `&` escaped, so
no task text can end it) that the page's script reads and draws with text nodes only: a page of 5,000 tasks draws
the cards a column shows, not all of them. Both libraries are imported in this package only, and this package only
by the board command.
"""

from __future__ import annotations

import heapq
import json
import shlex
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson

from gittasks import handover, render, rules
from gittasks.board.graph import Graph, layout, longest_open_chain

COLUMNS: tuple[tuple[str, str], ...] = (
    (rules.PENDING, "Pending"),
    (rules.IN_PROGRESS, "In progress"),
    (rules.BLOCKED, "Blocked"),
    (rules.COMPLETED, "Completed"),
    (rules.CANCELLED, "Cancelled"),
)
COLLAPSED = (rules.COMPLETED, rules.CANCELLED)  # ended work: a column head with its count until opened
PAGE = 50  # cards a column draws at first, and again at each "show more"
FILTERS: tuple[tuple[str, str], ...] = (
    ("client", "Client"),
    ("project", "Project"),
    ("owner", "Owner"),
    ("type", "Type"),
    ("machine", "Machine"),
)
TIMELINE_LIMIT = 60  # entries shown per machine and per agent (the newest); the page says how many more there were
# the lane of the code commits naming tasks, after the machines' (a code commit has a branch and an author, no machine)
CODE_LANE = "Code commits"
HISTORY_LIMIT = 100  # entries of a task's own history in its panel (the newest); the panel says how many more


@dataclass
class Card:
    id: str
    subject: str
    status: str
    owner: str
    client: str
    project: str
    type: str
    machine: str
    updated: str  # the stamp of the last change (UTC, as the file holds it); the page shows it in local time
    age: str
    conflicts: int
    archived: bool
    blocked_reason: str = ""
    progress: tuple[int, int] | None = None  # (completed, counted) subtasks of a parent
    on_chain: bool = False
    priority: str = ""
    due: str = ""

    def data(self) -> dict[str, Any]:
        """What a card shows, as the page's script reads it."""
        return {
            "id": self.id,
            "subject": self.subject,
            "status": self.status,
            "owner": self.owner,
            "client": self.client,
            "project": self.project,
            "type": self.type,
            "machine": self.machine,
            "updated": self.updated,
            "age": self.age,
            "conflicts": self.conflicts,
            "archived": self.archived,
            "reason": self.blocked_reason,
            "progress": list(self.progress) if self.progress else None,
            "chain": self.on_chain,
            "priority": self.priority,
            "due": self.due,
        }


@dataclass
class Conflict:
    task: str
    subject: str
    field: str
    kind: str
    values: list[tuple[str, str]]  # (value, machine)
    kept: str
    commands: list[str]


@dataclass
class Lane:
    name: str
    entries: list[dict[str, str]]
    more: int
    code: bool = False  # the code commits' lane (`CODE_LANE`), not a machine's


@dataclass
class Board:
    title: str
    generated: str  # the stamp the page was made at (UTC); shown in local time
    graph: Graph
    conflicts: list[Conflict]
    machines: list[Lane]
    agents: list[Lane]
    options: dict[str, list[str]]
    counts: dict[str, int]
    data: dict[str, Any]  # the page's script's document: the tasks (cards and panels), the columns, the graph
    standing: str = ""  # where this clone stands with its remote (`render.sync_standing`)


def _text(value: Any) -> str:
    if isinstance(value, str) and value.isprintable():  # (nothing `render.safe` changes: most text, at C speed)
        return value
    return render.safe(value) if value is not None else ""


def _meta(task: dict[str, Any], key: str) -> str:
    metadata = task.get("metadata")
    return _text(metadata.get(key)) if isinstance(metadata, dict) else ""


def _stamp(value: Any) -> str:
    """A stamp as UTC with a `Z` (a commit's date comes with an offset), or the text as it is when it is none."""
    if not isinstance(value, str) or value.endswith("Z"):
        return _text(value) if isinstance(value, str) else ""
    moment = rules.parse_stamp(value)
    return rules.format_stamp(moment) if moment is not None else _text(value)


def card(task: dict[str, Any], now: datetime, conflicts: int, archived: bool) -> Card:
    return Card(
        id=_text(task.get("id")),
        subject=_text(task.get("subject")),
        status=str(task.get("status") or rules.PENDING),
        owner=_text(task.get("owner")),
        client=_meta(task, "client"),
        project=_meta(task, "project"),
        type=_text(task.get("type")),
        machine=_text(task.get("updated_by")),
        updated=_stamp(task.get("updated_at")),
        age=render.humanize_age(task.get("updated_at"), now) if task.get("updated_at") else "",
        conflicts=conflicts,
        archived=archived,
        blocked_reason=_text(task.get("blocked_reason")),
        priority=_meta(task, "priority"),
        due=_meta(task, "due"),
    )


def _resolve_commands(record: dict[str, Any]) -> list[str]:
    task, name = shlex.quote(_text(record.get("task"))), shlex.quote(_text(record.get("field")))
    if record.get("field") == "status":
        return [f"gittasks resolve {task} status --keep"]
    commands = [f"gittasks resolve {task} {name} --keep"]
    seen = []
    for value in record.get("values") or []:
        if isinstance(value, dict) and value.get("value") is not None and value.get("value") != record.get("kept"):
            shown = render.json_text(value.get("value"))
            if shown not in seen:
                seen.append(shown)
                commands.append(f"gittasks resolve {task} {name} --value {shlex.quote(shown)}")
    return commands


def conflict(record: Any, subjects: dict[str, str]) -> Conflict:
    record = record if isinstance(record, dict) else {"task": "?", "field": render.safe(record)}
    values = [
        (render.json_text(v.get("value")), _text(v.get("machine")))
        for v in record.get("values") or []
        if isinstance(v, dict)
    ]
    task = _text(record.get("task"))
    return Conflict(
        task=task,
        subject=subjects.get(task, ""),
        field=_text(record.get("field")),
        kind=_text(record.get("kind") or "field"),
        values=values,
        kept=render.json_text(record.get("kept")),
        commands=_resolve_commands(record),
    )


def _describe(entry: dict[str, Any]) -> str:
    if entry.get("kind") == "added":
        return "added"
    if entry.get("kind") == "removed":
        return "left the active list"
    if not entry.get("changes") and entry.get("action") in ("create", "capture-taskcreate"):
        return "linked to a new task"  # (another task's creation named it: a blocker or a parent it took)
    parts = [
        f"{name} {_text(change.get('from')) or '-'} → {_text(change.get('to')) or '-'}"
        for name, change in (entry.get("changes") or {}).items()
    ]
    return ", ".join(parts)


def _item(entry: dict[str, Any], subjects: dict[str, str]) -> dict[str, str]:
    task = str(entry.get("task"))
    return {
        "when": _stamp(entry.get("when")),
        "action": _text(entry.get("action")),
        "task": _text(task),
        "subject": subjects.get(task, ""),
        "what": _describe(entry),
        "machine": _text(entry.get("machine")),
        "commit": _text(entry.get("commit"))[:10],
    }


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _moment(item: Mapping[str, str]) -> datetime:
    return rules.parse_stamp(item["when"]) or _EARLIEST


def _commit_moment(item: Mapping[str, str]) -> datetime:
    """A code commit's place among the changes: its date is to the second, so it goes after the changes made in
    that second (the start of the task it names, most often)."""
    moment = _moment(item)
    return moment.replace(microsecond=999_999) if moment.microsecond == 0 else moment


def code_items(commits: Mapping[str, Iterable[Mapping[str, str]]], subjects: dict[str, str]) -> list[dict[str, str]]:
    """The code commits naming tasks ({task id: [commit]}, `task_data`'s) as timeline entries, oldest first: one
    per commit and task it names, with its branch and author (and no machine)."""
    made = [
        {
            "when": _stamp(commit.get("when")),
            "action": handover.CODE_COMMIT,
            "task": _text(task),
            "subject": subjects.get(task, ""),
            "what": _text(commit.get("subject")),
            "machine": "",
            "commit": _text(commit.get("commit"))[:10],
            "branch": _text(commit.get("branch")),
            "author": _text(commit.get("author")),
        }
        for task, listed in commits.items()
        for commit in listed
    ]
    return sorted(made, key=_commit_moment)


def timelines(
    entries: Sequence[dict[str, Any]],
    subjects: dict[str, str],
    items: Sequence[dict[str, str]] | None = None,
    commits: Mapping[str, Iterable[Mapping[str, str]]] | None = None,
) -> tuple[list[Lane], list[Lane]]:
    """Per machine and per agent (the task's owner at that change), the newest changes first. `items`: the
    entries' `_item`s, when made already. `commits`: the code commits naming tasks (`code_items`): in the lane of
    the task's owner at the commit's time, and all of them in the code lane after the machines' (`CODE_LANE`)."""
    machines: dict[str, list[dict[str, str]]] = defaultdict(list)
    agents: dict[str, list[dict[str, str]]] = defaultdict(list)
    owner: dict[str, str] = {}
    made = items if items is not None else [_item(entry, subjects) for entry in entries]
    code = code_items(commits or {}, subjects)
    changes_of: Iterable[tuple[dict[str, Any] | None, dict[str, str]]] = zip(entries, made, strict=True)
    if code:  # each commit where its time falls among the changes (their order kept: a skewed clock moves nothing)
        changes_of = heapq.merge(
            changes_of,
            ((None, item) for item in code),
            key=lambda pair: _moment(pair[1]) if pair[0] is not None else _commit_moment(pair[1]),
        )
    for entry, item in changes_of:  # oldest first
        if entry is None:  # a code commit: no machine, and it changes no owner
            task = item["task"]
        else:
            task = str(entry.get("task"))
            changes = entry.get("changes") or {}
            if "owner" in changes:
                owner[task] = _text(changes["owner"].get("to"))
            machines[_text(entry.get("machine")) or "-"].append(item)
        if owner.get(task):
            agents[owner[task]].append(item)

    def lanes(groups: dict[str, list[dict[str, str]]]) -> list[Lane]:
        return [
            Lane(name, items[::-1][:TIMELINE_LIMIT], max(0, len(items) - TIMELINE_LIMIT))
            for name, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]

    code_lane = [Lane(CODE_LANE, code[::-1][:TIMELINE_LIMIT], max(0, len(code) - TIMELINE_LIMIT), code=True)]
    return lanes(machines) + (code_lane if code else []), lanes(agents)


def histories(
    entries: Sequence[dict[str, Any]], items: Sequence[dict[str, str]] | None = None
) -> dict[str, tuple[list[dict[str, str]], int]]:
    """Each task's own history from the status log, newest first: ({when, machine, action, what, commit} of the
    newest HISTORY_LIMIT, how many earlier ones there were)."""
    per_task: dict[str, list[dict[str, str]]] = defaultdict(list)
    made = items if items is not None else [_item(entry, {}) for entry in entries]
    for entry, item in zip(entries, made, strict=True):  # oldest first
        per_task[str(entry.get("task"))].append({k: item[k] for k in ("when", "machine", "action", "what", "commit")})
    return {task: (items[::-1][:HISTORY_LIMIT], max(0, len(items) - HISTORY_LIMIT)) for task, items in per_task.items()}


def _pairs(value: Any) -> list[list[str]]:
    """A task's `context` or `metadata` as [key, value as text] rows (a value that is not text shown as JSON)."""
    if not isinstance(value, dict):
        return []
    return [[_text(key), render.safe(v, multiline=True) if isinstance(v, str) else render.json_text(v)]
            for key, v in value.items()]  # fmt: skip


def _ids(value: Any) -> list[str]:
    return [_text(i) for i in dict.fromkeys(value) if isinstance(i, str)] if isinstance(value, list) else []


def task_data(
    task: dict[str, Any],
    shown: Card,
    relations: Mapping[str, Any],
    history: tuple[list[dict[str, str]], int],
    commits: list[dict[str, str]],
) -> dict[str, Any]:
    """A task as the page's script reads it: its card's fields, then its panel's (description, context, metadata,
    when it was created, started, completed, its parent, subtasks, blockers, what it blocks, its own history and
    its code commits). `relations` holds {"subtasks": {id: [ids]}, "blocks": {id: [ids]}}."""
    task_id = shown.id
    data = shown.data()
    parent = task.get("parent")
    blocks = dict.fromkeys([*_ids(task.get("blocks")), *relations["blocks"].get(task_id, [])])
    data.update(
        {
            "description": render.safe(task.get("description"), multiline=True) if task.get("description") else "",
            "activeForm": _text(task.get("activeForm")),
            "created": _stamp(task.get("created_at")),
            "started": _stamp(task.get("started_at")),
            "completed": _stamp(task.get("completed_at")),
            "parent": _text(parent) if isinstance(parent, str) else "",
            "subtasks": relations["subtasks"].get(task_id, []),
            "blockedBy": [i for i in _ids(task.get("blockedBy")) if i != task_id],
            "blocks": [i for i in blocks if i != task_id],
            "context": _pairs(task.get("context")),
            "metadata": _pairs(task.get("metadata")),
            "history": history[0],
            "historyMore": history[1],
            # the code commits that name the task (a `Task:` trailer on the code branch): {commit, subject, when,
            # author} each, newest first; [] until they are collected
            "commits": commits,
        }
    )
    return data


def _relations(tasks: Iterable[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """Each task's subtasks (by their `parent`) and the tasks it blocks (by their `blockedBy`)."""
    subtasks: dict[str, list[str]] = defaultdict(list)
    blocks: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        task_id = _text(task.get("id"))
        if isinstance(task.get("parent"), str):
            subtasks[_text(task["parent"])].append(task_id)
        for blocker in _ids(task.get("blockedBy")):
            blocks[blocker].append(task_id)
    return {"subtasks": subtasks, "blocks": blocks}


def build(
    active: list[dict[str, Any]],
    archived: list[dict[str, Any]],
    records: list[Any],
    entries: Iterable[dict[str, Any]],
    now: datetime,
    title: str = "gittasks board",
    standing: str = "",
    commits: Mapping[str, list[dict[str, str]]] | None = None,
) -> Board:
    """The page's data: the tasks (cards and panels), the graph, conflicts, timelines, filters. `commits`: each
    task's code commits by its id (see `task_data`), none when not given."""
    entries = list(entries)
    per_task: dict[str, int] = defaultdict(int)
    for record in records:
        if isinstance(record, dict):
            per_task[str(record.get("task"))] += 1
    cards = {str(t["id"]): card(t, now, per_task.get(str(t["id"]), 0), False) for t in active}
    old = {str(t["id"]): card(t, now, per_task.get(str(t["id"]), 0), True) for t in archived if t["id"] not in cards}
    kept = {str(t["id"]): t for t in active} | {str(t["id"]): t for t in archived if str(t["id"]) in old}
    everything = list(kept.values())  # each task once: the active one first, in the file's order
    counted: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for task in everything:
        parent = task.get("parent")
        if isinstance(parent, str) and task.get("status") != rules.CANCELLED:
            counted[parent][1] += 1
            counted[parent][0] += task.get("status") == rules.COMPLETED
    for task_id, (done, total) in counted.items():
        for group in (cards, old):
            if task_id in group:
                group[task_id].progress = (done, total)
    chain = longest_open_chain(active)
    for task_id in chain:
        cards[task_id].on_chain = True
    edges = [
        (str(b), str(t["id"]))
        for t in active
        for b in dict.fromkeys(t.get("blockedBy") or [])
        if b in cards and b != t["id"]
    ]
    graph = layout(cards, edges, chain)
    subjects = {i: c.subject for i, c in {**old, **cards}.items()}
    items = [_item(entry, subjects) for entry in entries]
    machines, agents = timelines(entries, subjects, items, commits or {})
    own = histories(entries, items)
    relations = _relations(everything)
    shown = {**old, **cards}
    code = commits or {}
    tasks = [
        task_data(t, shown[str(t["id"])], relations, own.get(str(t["id"]), ([], 0)), list(code.get(str(t["id"]), [])))
        for t in everything
    ]
    # the open columns in the file's order; ended work and the archive newest first
    ended = [d for d in tasks if d["archived"] or d["status"] in COLLAPSED]
    tasks = [d for d in tasks if not (d["archived"] or d["status"] in COLLAPSED)]
    tasks += sorted(ended, key=lambda d: str(d["updated"]), reverse=True)
    every = [*cards.values(), *old.values()]
    options = {key: sorted({getattr(c, key) for c in every if getattr(c, key)}, key=str.lower) for key, _ in FILTERS}
    open_count = sum(1 for c in cards.values() if c.status in rules.OPEN)
    generated = rules.format_stamp(now)
    data = {
        "generated": generated,
        "columns": [list(c) for c in COLUMNS],
        "collapsed": list(COLLAPSED),
        "page": PAGE,
        "open": sorted(rules.OPEN),
        "tasks": tasks,
        "graph": graph.data(),
    }
    return Board(
        title=title,
        generated=generated,
        graph=graph,
        conflicts=[conflict(r, subjects) for r in records],
        machines=machines,
        agents=agents,
        options=options,
        counts={"tasks": len(cards), "archived": len(old), "open": open_count, "edges": len(edges)},
        data=data,
        standing=standing,
    )


def script_json(value: Any) -> str:
    """`value` as JSON that can stand inside a `<script>` element: `<`, `>` and `&` escaped (JSON.parse reads them
    back), so no text in it can close the element or open a comment."""
    try:
        text = orjson.dumps(value).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):  # (text orjson will not encode: a lone surrogate)
        text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def html(board: Board, *, live: bool = False, version: str = "") -> str:
    """The page: one self-contained HTML file (style, script and data inline, no network); `live` adds the script
    that reloads the page when the server says the task branch moved."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    source = resources.files("gittasks").joinpath("board.html.j2").read_text(encoding="utf-8")
    return env.from_string(source).render(
        b=board, filters=FILTERS, live=live, version=version, data=Markup(script_json(board.data))
    )
