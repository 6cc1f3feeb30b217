"""`gittasks board`: the tasks, their dependency graph, who did what and the open conflicts as one HTML page.

Pure: the tasks (active and archived), the conflict records and the status log in, the page's data and its HTML out.
The graph is laid out in layers by grandalf (a Sugiyama layout: blockers above what they block, crossings reduced)
and the page is rendered by jinja2 with autoescape on, so every text from the task files reaches the page as text.
Both are imported here only, and this module only by the board command.
"""

from __future__ import annotations

import itertools
import shlex
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from gittasks import render, rules

COLUMNS: tuple[tuple[str, str], ...] = (
    (rules.PENDING, "Pending"),
    (rules.IN_PROGRESS, "In progress"),
    (rules.BLOCKED, "Blocked"),
    (rules.COMPLETED, "Completed"),
    (rules.CANCELLED, "Cancelled"),
)
FILTERS: tuple[tuple[str, str], ...] = (
    ("client", "Client"),
    ("project", "Project"),
    ("owner", "Owner"),
    ("type", "Type"),
    ("machine", "Machine"),
)
TIMELINE_LIMIT = 60  # entries shown per machine and per agent (the newest); the page says how many more there were
NODE_W, NODE_H, GAP_X, GAP_Y, ROW_WIDTH = 170, 44, 24, 60, 1400


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
    age: str
    conflicts: int
    archived: bool
    blocked_reason: str = ""
    progress: tuple[int, int] | None = None  # (completed, counted) subtasks of a parent
    on_chain: bool = False

    @property
    def search(self) -> str:
        return " ".join((self.id, self.subject, self.owner, self.client, self.project, self.type, self.machine)).lower()

    @property
    def percent(self) -> int:
        done, total = self.progress or (0, 0)
        return round(100 * done / total) if total else 0


@dataclass
class Node:
    card: Card
    x: float
    y: float


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)  # {"from", "to", "points": [(x, y)...], "chain"}
    width: float = 0
    height: float = 0
    chain: list[str] = field(default_factory=list)  # the longest chain of open work, blockers first


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


@dataclass
class Board:
    title: str
    generated: str
    columns: list[tuple[str, str, list[Card]]]
    archived: list[Card]
    graph: Graph
    conflicts: list[Conflict]
    machines: list[Lane]
    agents: list[Lane]
    options: dict[str, list[str]]
    counts: dict[str, int]
    standing: str = ""  # where this clone stands with its remote (`render.sync_standing`)


def _text(value: Any) -> str:
    return render.safe(value) if value is not None else ""


def _meta(task: dict[str, Any], key: str) -> str:
    metadata = task.get("metadata")
    return _text(metadata.get(key)) if isinstance(metadata, dict) else ""


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
        age=render.humanize_age(task.get("updated_at"), now) if task.get("updated_at") else "",
        conflicts=conflicts,
        archived=archived,
        blocked_reason=_text(task.get("blocked_reason")),
    )


def longest_open_chain(tasks: Sequence[dict[str, Any]]) -> list[str]:
    """The longest chain of open tasks, each blocked by the one before (blockers first); [] when none waits on
    another. One pass in topological order (tasks in a cycle, which the write path refuses, are left out)."""
    open_ids = {t["id"] for t in tasks if t.get("status", rules.PENDING) in rules.OPEN}
    after: dict[str, list[str]] = defaultdict(list)
    waiting: dict[str, int] = dict.fromkeys(open_ids, 0)
    for task in tasks:
        if task["id"] not in open_ids:
            continue
        for blocker in dict.fromkeys(task.get("blockedBy") or []):
            if blocker in open_ids and blocker != task["id"]:
                after[blocker].append(task["id"])
                waiting[task["id"]] += 1
    queue = deque(sorted(i for i, n in waiting.items() if n == 0))
    length = dict.fromkeys(open_ids, 1)
    before: dict[str, str] = {}
    best: str | None = None
    while queue:
        node = queue.popleft()
        if best is None or length[node] > length[best]:
            best = node
        for nxt in after[node]:
            if length[node] + 1 > length[nxt]:
                length[nxt], before[nxt] = length[node] + 1, node
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                queue.append(nxt)
    if best is None or length[best] < 2:
        return []
    chain = [best]
    while chain[-1] in before:
        chain.append(before[chain[-1]])
    return chain[::-1]


class _View:
    """What grandalf needs of a vertex's drawing (its size), and where it puts the vertex."""

    w, h = NODE_W, NODE_H
    xy: tuple[float, float] = (0.0, 0.0)


class _EdgeView:
    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def layout(cards: dict[str, Card], edges: list[tuple[str, str]], chain: list[str]) -> Graph:
    """The graph of `edges` (blocker, blocked) laid out in layers by grandalf's Sugiyama layout, one connected part
    at a time, the parts packed in rows."""
    from grandalf.graphs import Edge, Vertex
    from grandalf.graphs import Graph as GGraph
    from grandalf.layouts import SugiyamaLayout

    graph = Graph(chain=chain)
    if not edges:
        return graph
    names = sorted({n for e in edges for n in e}, key=lambda i: (cards[i].status, i))
    vertices = {name: Vertex(name) for name in names}
    for vertex in vertices.values():
        vertex.view = _View()
    gedges = []
    for blocker, blocked in edges:
        edge = Edge(vertices[blocker], vertices[blocked])
        edge.view = _EdgeView()
        gedges.append((blocker, blocked, edge))
    # the connected parts found here in linear time: grandalf's own search over one big graph is quadratic
    root = {name: name for name in names}

    def find(name: str) -> str:
        while root[name] != name:
            root[name] = root[root[name]]
            name = root[name]
        return name

    for blocker, blocked in edges:
        root[find(blocker)] = find(blocked)
    members: dict[str, list[str]] = defaultdict(list)
    for name in names:
        members[find(name)].append(name)
    inside: dict[str, list[Any]] = defaultdict(list)
    for blocker, _, edge in gedges:
        inside[find(blocker)].append(edge)
    parts = [GGraph([vertices[n] for n in group], inside[key]).C[0] for key, group in members.items()]
    x0 = y0 = row_height = 0.0
    offsets: dict[str, tuple[float, float]] = {}
    for part in sorted(parts, key=lambda c: -c.order()):
        sugiyama = SugiyamaLayout(part)
        sugiyama.init_all()
        sugiyama.draw(N=1)  # one pass of crossing reduction: enough for task graphs, linear in their size
        xs = [v.view.xy[0] for v in part.sV]
        ys = [v.view.xy[1] for v in part.sV]
        left, top = min(xs) - NODE_W / 2, min(ys) - NODE_H / 2
        width, height = max(xs) - min(xs) + NODE_W, max(ys) - min(ys) + NODE_H
        if x0 > 0 and x0 + width > ROW_WIDTH:
            x0, y0, row_height = 0.0, y0 + row_height + GAP_Y, 0.0
        for vertex in part.sV:
            offsets[vertex.data] = (x0 - left, y0 - top)
        x0 += width + GAP_X
        row_height = max(row_height, height)
        graph.width = max(graph.width, x0)
    graph.height = y0 + row_height
    on_chain = set(itertools.pairwise(chain))
    for name, vertex in vertices.items():
        dx, dy = offsets[name]
        graph.nodes.append(Node(cards[name], vertex.view.xy[0] + dx - NODE_W / 2, vertex.view.xy[1] + dy - NODE_H / 2))
    for blocker, blocked, edge in gedges:
        dx, dy = offsets[blocker]
        points = list(edge.view.points or [vertices[blocker].view.xy, vertices[blocked].view.xy])
        # from the blocker's bottom to the blocked task's top, so the arrowhead shows
        points[0] = (vertices[blocker].view.xy[0], vertices[blocker].view.xy[1] + NODE_H / 2)
        points[-1] = (vertices[blocked].view.xy[0], vertices[blocked].view.xy[1] - NODE_H / 2)
        graph.edges.append(
            {
                "from": blocker,
                "to": blocked,
                "points": " ".join(f"{x + dx:.0f},{y + dy:.0f}" for x, y in points),
                "chain": (blocker, blocked) in on_chain,
            }
        )
    return graph


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
    parts = [
        f"{name} {_text(change.get('from')) or '-'} → {_text(change.get('to')) or '-'}"
        for name, change in (entry.get("changes") or {}).items()
    ]
    return ", ".join(parts)


def timelines(entries: Iterable[dict[str, Any]], subjects: dict[str, str]) -> tuple[list[Lane], list[Lane]]:
    """Per machine and per agent (the task's owner at that change), the newest changes first."""
    machines: dict[str, list[dict[str, str]]] = defaultdict(list)
    agents: dict[str, list[dict[str, str]]] = defaultdict(list)
    owner: dict[str, str] = {}
    for entry in entries:  # oldest first
        task = str(entry.get("task"))
        changes = entry.get("changes") or {}
        if "owner" in changes:
            owner[task] = _text(changes["owner"].get("to"))
        item = {
            "when": _text(entry.get("when")),
            "action": _text(entry.get("action")),
            "task": _text(task),
            "subject": subjects.get(task, ""),
            "what": _describe(entry),
            "machine": _text(entry.get("machine")),
        }
        machines[_text(entry.get("machine")) or "-"].append(item)
        if owner.get(task):
            agents[owner[task]].append(item)

    def lanes(groups: dict[str, list[dict[str, str]]]) -> list[Lane]:
        return [
            Lane(name, items[::-1][:TIMELINE_LIMIT], max(0, len(items) - TIMELINE_LIMIT))
            for name, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]

    return lanes(machines), lanes(agents)


def build(
    active: list[dict[str, Any]],
    archived: list[dict[str, Any]],
    records: list[Any],
    entries: Iterable[dict[str, Any]],
    now: datetime,
    title: str = "gittasks board",
    standing: str = "",
) -> Board:
    """The page's data: cards per status column, the archived ones, the graph, conflicts, timelines, filters."""
    per_task: dict[str, int] = defaultdict(int)
    for record in records:
        if isinstance(record, dict):
            per_task[str(record.get("task"))] += 1
    cards = {str(t["id"]): card(t, now, per_task.get(str(t["id"]), 0), False) for t in active}
    old = {str(t["id"]): card(t, now, per_task.get(str(t["id"]), 0), True) for t in archived if t["id"] not in cards}
    everything = [*active, *archived]
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
    machines, agents = timelines(entries, subjects)
    columns = [(status, label, [c for c in cards.values() if c.status == status]) for status, label in COLUMNS]
    every = [*cards.values(), *old.values()]
    options = {key: sorted({getattr(c, key) for c in every if getattr(c, key)}, key=str.lower) for key, _ in FILTERS}
    open_count = sum(1 for c in cards.values() if c.status in rules.OPEN)
    return Board(
        title=title,
        generated=now.strftime("%Y-%m-%d %H:%M UTC"),
        columns=columns,
        archived=sorted(old.values(), key=lambda c: c.id),
        graph=graph,
        conflicts=[conflict(r, subjects) for r in records],
        machines=machines,
        agents=agents,
        options=options,
        counts={"tasks": len(cards), "archived": len(old), "open": open_count, "edges": len(edges)},
        standing=standing,
    )


def html(board: Board, *, live: bool = False, version: str = "") -> str:
    """The page: one self-contained HTML file (style and script inline, no network); `live` adds the script that
    reloads the page when the server says the task branch moved."""
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    source = resources.files("gittasks").joinpath("board.html.j2").read_text(encoding="utf-8")
    return env.from_string(source).render(b=board, filters=FILTERS, live=live, version=version)
