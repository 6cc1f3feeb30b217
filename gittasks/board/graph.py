"""The board's dependency graph: the longest chain of open work, and the graph laid out in layers by grandalf (a
Sugiyama layout: blockers above what they block, crossings reduced), each node's subject wrapped to its width.

Pure: tasks and their cards in, positions out. grandalf is imported here only, when a graph is laid out.
"""

from __future__ import annotations

import itertools
import textwrap
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gittasks import rules

NODE_W, NODE_H, GAP_X, GAP_Y, ROW_WIDTH = 200, 58, 24, 60, 1600
LABEL_CHARS, LABEL_LINES = 32, 2  # a graph node's subject, wrapped; the whole subject is the node's hover title


class Shown(Protocol):
    """What the graph reads of a task's card."""

    id: str
    subject: str
    status: str


@dataclass
class Node:
    id: str
    x: float
    y: float
    lines: list[str] = field(default_factory=list)  # the subject wrapped to the node's width


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)  # {"from", "to", "points": "x,y x,y...", "chain"}
    width: float = 0
    height: float = 0
    chain: list[str] = field(default_factory=list)  # the longest chain of open work, blockers first

    def data(self) -> dict[str, Any]:
        return {
            "nodes": [{"id": n.id, "x": round(n.x), "y": round(n.y), "lines": n.lines} for n in self.nodes],
            "edges": self.edges,
            "width": round(self.width),
            "height": round(self.height),
            "node": [NODE_W, NODE_H],
            "chain": self.chain,
        }


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


def wrap_label(text: str, width: int = LABEL_CHARS, lines: int = LABEL_LINES) -> list[str]:
    """A node's subject in at most `lines` lines of about `width` characters, broken between words where it can;
    what does not fit ends in an ellipsis (the node's hover title holds the whole subject)."""
    wrapped = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(wrapped) <= lines:
        return wrapped
    kept = wrapped[:lines]
    kept[-1] = kept[-1][: width - 1].rstrip() + "…"
    return kept


class _View:
    """What grandalf needs of a vertex's drawing (its size), and where it puts the vertex."""

    w, h = NODE_W, NODE_H
    xy: tuple[float, float] = (0.0, 0.0)


class _EdgeView:
    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def _parts(names: list[str], edges: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The connected parts of the graph, found in linear time (grandalf's own search over one big graph is
    quadratic): each part's members by a root name."""
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
    return members


def layout(cards: Mapping[str, Shown], edges: list[tuple[str, str]], chain: list[str]) -> Graph:
    """The graph of `edges` (blocker, blocked) between the tasks of `cards` (by their ids in the task file) laid out
    in layers by grandalf's Sugiyama layout, one connected part at a time, the parts packed in rows; the nodes and
    edges name the tasks by their cards' ids."""
    from grandalf.graphs import Edge, Vertex
    from grandalf.graphs import Graph as GGraph
    from grandalf.layouts import SugiyamaLayout

    graph = Graph(chain=[cards[i].id for i in chain])
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
    members = _parts(names, edges)
    part_of = {name: key for key, group in members.items() for name in group}
    inside: dict[str, list[Any]] = defaultdict(list)
    for blocker, _, edge in gedges:
        inside[part_of[blocker]].append(edge)
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
        x, y = vertex.view.xy[0] + dx - NODE_W / 2, vertex.view.xy[1] + dy - NODE_H / 2
        graph.nodes.append(Node(cards[name].id, x, y, wrap_label(cards[name].subject)))
    for blocker, blocked, edge in gedges:
        dx, dy = offsets[blocker]
        points = list(edge.view.points or [vertices[blocker].view.xy, vertices[blocked].view.xy])
        # from the blocker's bottom to the blocked task's top, so the arrowhead shows
        points[0] = (vertices[blocker].view.xy[0], vertices[blocker].view.xy[1] + NODE_H / 2)
        points[-1] = (vertices[blocked].view.xy[0], vertices[blocked].view.xy[1] - NODE_H / 2)
        graph.edges.append(
            {
                "from": cards[blocker].id,
                "to": cards[blocked].id,
                "points": " ".join(f"{x + dx:.0f},{y + dy:.0f}" for x, y in points),
                "chain": (blocker, blocked) in on_chain,
            }
        )
    return graph
