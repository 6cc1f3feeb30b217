"""What to work on next (`gittasks next`, MCP `task_next`, the end of the session-start summary): the tasks to take
up, in order, each with the reason it has its place, and which signals the order used.

Pure: the active list, which machine holds each task in progress (`claim.holder`, read by the caller), the
cycle-time figures of `stats.cycle_time` and the moment in; one dict out, and its texts.

**The order** (`ORDER`, stated once for the output and the docs):

1. *resume*: tasks in progress on this machine with no change for longer than `stale_after` (a session that ended
   left them), before anything new;
2. then the *ready* tasks: pending, every blocker completed, no open subtask (`rules.is_ready`).

Within each group, by: the longest chain of open work the task heads (the task and what waits on it, transitively),
counted only when something waits on it: in estimated minutes when completed tasks give cycle times (each task at
its type's median cycle time, else at the median of all types), else in tasks; then that chain's length in tasks;
then how many open tasks wait on it, transitively; then the oldest created first; then the id (natural order).

"Waits on" is the dependency graph of the open tasks: `blockedBy` and `blocks` (either side names the link), and a
parent waits on each of its subtasks. Tasks in a dependency cycle (a hand-written file; the write path refuses one)
count as one step holding all of them; they are never ready, and are reported. Tasks in progress on another machine,
and those in progress here that changed recently (a session works on them), are left out and counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from gittasks import document, recover, render, rules
from gittasks.errors import GittasksError

ORDER = (
    "resume first (in progress here, no change for longer than the stale time), then ready tasks; each group by "
    "the longest chain of open work the task heads (estimated time at each type's median cycle time when known, "
    "else tasks; then in tasks), then the open tasks waiting on it, then the oldest, then the id"
)
RESUME, READY = "resume", "ready"
LIMIT = 10  # tasks `next` and `task_next` give unless asked for more
CHAIN_IDS = 10  # the first ids of a chain given in the JSON (its length is always whole)
SUBJECT_CHARS = 80  # a subject in a text line, cut beyond
NO_TYPE = "-"  # stats' name of "no type"


def build(
    tasks: Sequence[dict[str, Any]],
    *,
    machine: str,
    holders: Mapping[str, str],
    now: datetime,
    stale_after: timedelta = recover.DEFAULT_STALE,
    cycle_time: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The advice for `machine`: every task to take up in `ORDER` (the caller cuts), with the counts of what was
    left out. `holders`: the machine holding each task in progress; `cycle_time`: `stats.cycle_time`'s figures."""
    by_id = {str(t.get("id")): t for t in tasks}
    open_ids = [i for i, t in by_id.items() if t.get("status", rules.PENDING) in rules.OPEN]
    estimate, timed = _estimator(cycle_time)
    graph = Graph(by_id, open_ids, estimate if timed else (lambda task: 1.0))
    waiting_parents = rules.open_parents(tasks)
    picked: list[tuple[str, str]] = []  # (kind, id)
    elsewhere: dict[str, int] = {}
    here_active = 0
    for tid in open_ids:
        task = by_id[tid]
        status = task.get("status", rules.PENDING)
        if status == rules.IN_PROGRESS:
            holder = holders.get(tid, str(task.get("updated_by") or ""))
            if holder != machine:
                elsewhere[holder] = elsewhere.get(holder, 0) + 1
            elif recover.is_stale(task, now, stale_after):
                picked.append((RESUME, tid))
            else:
                here_active += 1
        elif rules.is_ready(task, by_id, waiting_parents):
            picked.append((READY, tid))
    longest = graph.longest()
    entries = [_entry(kind, by_id[tid], graph, longest, timed, estimate, now) for kind, tid in picked]
    entries.sort(key=lambda e: _order_key(e, by_id[e["id"]]))
    for entry in entries:
        entry.pop("_weight")
    completed = int((cycle_time or {}).get("all", {}).get("tasks") or 0)
    return {
        "order": ORDER,
        "signals": _signals(entries, timed, completed, stale_after),
        "tasks": entries,
        "counts": {
            "resume": sum(e["kind"] == RESUME for e in entries),
            "ready": sum(e["kind"] == READY for e in entries),
            "in_progress_elsewhere": sum(elsewhere.values()),
            "in_progress_here": here_active,
            "open": len(open_ids),
        },
        "elsewhere": dict(sorted(elsewhere.items())),
        "cycles": graph.cycles(),
    }


def _estimator(cycle_time: Mapping[str, Any] | None) -> tuple[Callable[[dict[str, Any]], float], bool]:
    """A task's estimated minutes (its type's median cycle time, else all types'), and whether there are any."""
    figures = cycle_time or {}
    by_type = {
        str(row.get("type")): float(row["median_minutes"])
        for row in figures.get("by_type") or []
        if isinstance(row.get("median_minutes"), int | float)
    }
    overall = (figures.get("all") or {}).get("median_minutes")
    fallback = float(overall) if isinstance(overall, int | float) else None

    def estimate(task: dict[str, Any]) -> float:
        kind = task.get("type")
        found = by_type.get(NO_TYPE if kind is None or kind == "" else str(kind), fallback)
        return found if found is not None else 0.0

    return estimate, fallback is not None


class Graph:
    """The open tasks and who waits on whom, condensed to its strongly connected components (a cycle is one step):
    for each task, the open tasks waiting on it (transitively) and the longest chain it heads."""

    def __init__(self, by_id: Mapping[str, dict[str, Any]], open_ids: Sequence[str], weight: Callable[..., float]):
        nodes = sorted(open_ids, key=document.cached_natural_key)
        members = set(nodes)
        after: dict[str, set[str]] = {n: set() for n in nodes}  # blocker -> the tasks waiting on it
        for tid in nodes:
            task = by_id[tid]
            for blocker in _ids(task.get("blockedBy")):
                if blocker in members and blocker != tid:
                    after[blocker].add(tid)
            for waiting in _ids(task.get("blocks")):
                if waiting in members and waiting != tid:
                    after[tid].add(waiting)
            parent = task.get("parent")
            if isinstance(parent, str) and parent in members and parent != tid:
                after[tid].add(parent)
        self.after = {n: sorted(s, key=document.cached_natural_key) for n, s in after.items()}
        self.components = _components(nodes, self.after)  # sinks first
        self.component_of = {n: i for i, comp in enumerate(self.components) for n in comp}
        bit = {n: 1 << i for i, n in enumerate(nodes)}
        self.reach: list[int] = []  # the tasks each component and those waiting on it hold, as bits
        self.weight: list[float] = []  # the chain it heads: its own weight and the heaviest chain after it
        self.length: list[int] = []  # that chain's tasks
        self.next: list[int | None] = []
        for index, comp in enumerate(self.components):
            reach = 0
            for n in comp:
                reach |= bit[n]
            best: int | None = None
            for later in sorted({self.component_of[w] for n in comp for w in self.after[n]} - {index}):
                reach |= self.reach[later]
                if best is None or (self.weight[later], self.length[later]) > (self.weight[best], self.length[best]):
                    best = later
            own = sum(weight(by_id[n]) for n in comp)
            self.reach.append(reach)
            self.weight.append(own + (self.weight[best] if best is not None else 0.0))
            self.length.append(len(comp) + (self.length[best] if best is not None else 0))
            self.next.append(best)

    def waiting(self, tid: str) -> int:
        """How many open tasks wait on `tid`, transitively (itself aside)."""
        return self.reach[self.component_of[tid]].bit_count() - 1

    def chain(self, tid: str) -> tuple[list[str], float, int]:
        """The longest chain `tid` heads: its first ids (CHAIN_IDS), its weight and its length in tasks."""
        index: int | None = self.component_of[tid]
        ids: list[str] = []
        first = index
        while index is not None and len(ids) < CHAIN_IDS:
            comp = self.components[index]
            ids += [tid] if index == first else comp
            index = self.next[index]
        start = self.component_of[tid]
        return ids[:CHAIN_IDS], self.weight[start], self.length[start]

    def longest(self) -> float:
        """The weight of the longest chain of open work (0 when no task waits on another)."""
        return max((w for w, n in zip(self.weight, self.length, strict=True) if n > 1), default=0.0)

    def cycles(self) -> list[list[str]]:
        """The tasks of each dependency cycle (ids in natural order), cycles by their first id."""
        found = [comp for comp in self.components if len(comp) > 1]
        return sorted(found, key=lambda comp: document.cached_natural_key(comp[0]))


def _ids(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _components(nodes: list[str], after: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components without recursion (a chain of thousands must not overflow the
    stack), each sorted; a component comes after every component reachable from it (sinks first)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, at = work.pop()
            if at == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            nexts = after[node]
            while at < len(nexts):
                nxt = nexts[at]
                at += 1
                if nxt not in index:
                    work.append((node, at))
                    work.append((nxt, 0))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                if low[node] == index[node]:
                    comp: list[str] = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    out.append(sorted(comp, key=document.cached_natural_key))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
    return out


def _entry(
    kind: str,
    task: dict[str, Any],
    graph: Graph,
    longest: float,
    timed: bool,
    estimate: Callable[[dict[str, Any]], float],
    now: datetime,
) -> dict[str, Any]:
    tid = str(task["id"])
    ids, weight, length = graph.chain(tid)
    waiting = graph.waiting(tid)
    on_longest = length > 1 and math.isclose(weight, longest)
    return {
        "id": tid,
        "subject": task.get("subject", ""),
        "status": task.get("status", rules.PENDING),
        "type": task.get("type"),
        "kind": kind,
        "waiting": waiting,
        "chain": {
            "tasks": length,
            "minutes": round(weight, 1) if timed else None,
            "longest": on_longest,
            "ids": ids,
        },
        "estimate_minutes": round(estimate(task), 1) if timed else None,
        "reason": _reason(kind, task, waiting, length, weight, on_longest, timed, now),
        "_weight": (weight, length) if length > 1 else (0.0, 0),
    }


def _reason(
    kind: str, task: dict[str, Any], waiting: int, length: int, weight: float, longest: bool, timed: bool,
    now: datetime,
) -> str:  # fmt: skip
    parts = []
    if kind == RESUME:
        parts.append(f"resume: in progress here, last changed {render.humanize_age(task.get('updated_at'), now)}")
    parts.append(f"unblocks {render.plural(waiting, 'task')}" if waiting else "nothing waits on it")
    if length > 1:
        size = render.plural(length, "task") + (f", {_duration(weight)} at each type's median" if timed else "")
        parts.append(f"heads the longest open chain ({size})" if longest else f"heads a chain of {size}")
    elif kind == READY:
        parts.append(f"created {render.humanize_age(task.get('created_at'), now)}")
    return "; ".join(parts)


def _duration(minutes: float) -> str:
    return "~" + render.humanize_seconds(minutes * 60) if minutes >= 1 else "under a minute"


def _order_key(entry: dict[str, Any], task: dict[str, Any]) -> tuple[Any, ...]:
    created = rules.parse_stamp(task.get("created_at"))
    return (
        entry["kind"] != RESUME,
        -entry["_weight"][0],
        -entry["_weight"][1],
        -entry["waiting"],
        created is None,  # a task without a creation stamp after those with one
        created or rules.PAST_LIMIT,
        document.cached_natural_key(entry["id"]),
        entry["id"],
    )


def _signals(entries: list[dict[str, Any]], timed: bool, completed: int, stale_after: timedelta) -> list[str]:
    """What the order used, in its order: a signal is named when it set some task apart."""
    signals = []
    if any(e["kind"] == RESUME for e in entries):
        stale = render.humanize_seconds(stale_after.total_seconds())
        signals.append(f"stale work in progress here (no change for {stale})")
    if any(e["chain"]["tasks"] > 1 for e in entries):
        sample = render.plural(completed, "completed task")
        signals.append(
            f"critical path in estimated time (median cycle time per type, from {sample})"
            if timed
            else "critical path in tasks (no cycle times yet)"
        )
    if any(e["waiting"] for e in entries):
        signals.append("open tasks waiting on each, transitively")
    signals.append("age (oldest created first), then the id")
    return signals


def limited(data: dict[str, Any], limit: int | None = LIMIT) -> dict[str, Any]:
    """The advice with its first `limit` tasks (None: all) and how many more there are (`more`): `--json`'s."""
    if limit is not None and limit < 1:
        raise GittasksError("limit must be 1 or more")
    shown = data["tasks"] if limit is None else data["tasks"][:limit]
    return {**data, "tasks": shown, "more": len(data["tasks"]) - len(shown)}


# -- texts -----------------------------------------------------------------------------------------------------------


def units(text: str) -> int:
    """The length of `text` as Claude Code measures a hook's output (JavaScript's string length: UTF-16 units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def task_line(entry: dict[str, Any], number: int) -> str:
    subject = str(entry.get("subject") or "")
    if len(subject) > SUBJECT_CHARS:
        subject = subject[: SUBJECT_CHARS - 1] + "…"
    return f"{number}. [{render.safe(entry['id'])}] {render.safe(subject)}: {render.safe(entry['reason'])}"


def left_out(data: dict[str, Any]) -> str | None:
    """What the list leaves out, on one line; None when nothing."""
    counts = data["counts"]
    parts = []
    if counts["in_progress_elsewhere"]:
        machines = ", ".join(render.safe(m or "an unknown machine") for m in list(data["elsewhere"])[:3])
        more = len(data["elsewhere"]) - 3
        machines += f" and {more} more" if more > 0 else ""
        parts.append(f"{render.plural(counts['in_progress_elsewhere'], 'task')} in progress on other machines "
                     f"({machines})")  # fmt: skip
    if counts["in_progress_here"]:
        parts.append(f"{counts['in_progress_here']} in progress here, changed recently")
    if data["cycles"]:
        cycle = ", ".join(render.safe(i) for i in data["cycles"][0][:5])
        parts.append(
            f"{render.plural(len(data['cycles']), 'dependency cycle')} (e.g. {cycle}): never ready until one of its "
            "blockedBy links goes"
        )
    return "left out: " + "; ".join(parts) if parts else None


def as_lines(data: dict[str, Any]) -> list[str]:
    """`gittasks next` as text, from `limited`'s: the tasks, what is left out, what the order used."""
    lines = [task_line(entry, n) for n, entry in enumerate(data["tasks"], 1)]
    if data.get("more"):
        lines.append(f"... and {render.plural(data['more'], 'more task')} to take up (--limit N)")
    if not data["tasks"]:
        lines.append("nothing to take up now")
    gone = left_out(data)
    if gone is not None:
        lines.append(gone)
    lines.append("order by: " + "; ".join(data["signals"]))
    return lines


def brief(data: dict[str, Any], budget: int, most: int = 5) -> str:
    """The session-start section: a heading, at most `most` tasks, what is left out and the signals, within
    `budget` UTF-16 units (lines that do not fit are left out, the heading first kept)."""
    if not data["tasks"]:
        head = "gittasks next: nothing to take up now (no ready task, no stale work in progress here)."
    else:
        head = (
            f"gittasks next: what to take up, in order ({data['counts']['resume']} to resume, "
            f"{data['counts']['ready']} ready; `gittasks next` or the task_next tool for more):"
        )
    body = [task_line(entry, n) for n, entry in enumerate(data["tasks"][:most], 1)]
    tail = [line for line in (left_out(data), "order by: " + "; ".join(data["signals"])) if line is not None]
    lines = [head]
    used = units(head)
    for line in [*body, *tail]:
        cost = units(line) + 1
        if used + cost > budget:
            continue
        lines.append(line)
        used += cost
    return "\n".join(lines) if used <= budget else _cut(head, budget)


def _cut(text: str, budget: int) -> str:
    while units(text) > budget:
        text = text[: max(0, len(text) - max(1, units(text) - budget))]
    return text


def compose(head: Sequence[str], recovery: Callable[[int], str], tail: str, limit: int) -> str:
    """The session-start text: `head` lines, the recovery summary (`recovery(room)` gives it within `room`
    characters) and `tail`, within `limit` UTF-16 units: the summary gets what the others leave, and less again
    where its characters take two units each; whatever still overflows is cut at a line."""
    fixed = units("\n".join([*head, tail])) + 1
    room = max(0, limit - fixed)
    text = "\n".join([*head, recovery(room), tail])
    for _ in range(3):
        over = units(text) - limit
        if over <= 0:
            return text
        room = max(0, room - over)
        text = "\n".join([*head, recovery(room), tail])
    lines = text.split("\n")
    while lines and units("\n".join(lines)) > limit:
        lines.pop(-2 if len(lines) > 1 else -1)  # the summary's last lines first; the tail stays
    return "\n".join(lines)
