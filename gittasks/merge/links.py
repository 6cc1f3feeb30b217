"""Links between tasks after a merge: `blocks`/`blockedBy` made symmetric again, and the dependency or parent
cycles that the two sides closed together (each acyclic alone) broken and recorded. Internal to the merge package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gittasks import document, rules
from gittasks.merge.values import MISSING, Side, canonical_bytes, id_order, same, stamp_order

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which the merge driver does not need
if TYPE_CHECKING:
    from typing import Any


def restore_symmetry(
    tasks: list[dict[str, Any]], fresh: set[int], candidates: list[int] | None = None
) -> dict[str, int]:
    """If X blocks Y then Y is blockedBy X and the other way round, between tasks present in the list (in place).

    `fresh` holds the positions of task dicts this merge made itself; any other dict is copied before it is changed.
    `candidates`, when given, lists in increasing order the positions of every task that may have a non-empty
    `blocks` or `blockedBy` (the others are skipped). Returns the position of each id in the list.
    """
    position = {task["id"]: i for i, task in enumerate(tasks)}
    missing: list[tuple[int, str, str]] = []  # (position of the task to change, field, id to add)
    for task in tasks if candidates is None else [tasks[i] for i in candidates]:
        blocks, blocked_by = task.get("blocks"), task.get("blockedBy")
        if not blocks and not blocked_by:  # most tasks: nothing to look at
            continue
        for other_key, refs in (("blockedBy", blocks), ("blocks", blocked_by)):
            if not refs or type(refs) is not list:
                continue
            for ref in refs:
                if type(ref) is not str:
                    continue
                j = position.get(ref)
                if j is None:
                    continue
                back = tasks[j].get(other_key)
                if type(back) is list and task["id"] in back:
                    continue
                missing.append((j, other_key, task["id"]))
    for j, key, ref in missing:
        task = tasks[j]
        if j not in fresh:
            task = tasks[j] = dict(task)
            fresh.add(j)
        current = task.get(key)
        if current is None:
            current = []
        elif type(current) is not list or not all(type(v) is str for v in current):
            continue  # not a list of ids: left as it is
        if ref not in current:
            task[key] = sorted({*current, ref}, key=id_order)
    return position


class Graph:
    """The merged tasks seen as a graph (X -> Y when X is blockedBy Y; X -> P when P is X's parent), for cycles."""

    def __init__(self, tasks: list[dict[str, Any]], position: dict[str, int], fresh: set[int]) -> None:
        self.tasks = tasks
        self.position = position
        self.fresh = fresh

    def task(self, task_id: str) -> dict[str, Any]:
        return self.tasks[self.position[task_id]]

    def writable(self, task_id: str) -> dict[str, Any]:
        j = self.position[task_id]
        if j not in self.fresh:
            self.tasks[j] = dict(self.tasks[j])
            self.fresh.add(j)
        return self.tasks[j]

    def refs(self, task_id: str, key: str) -> list[str]:
        """The ids in a task's id list that are tasks of the result."""
        refs = self.task(task_id).get(key)
        if type(refs) is not list:
            return []
        return [r for r in refs if type(r) is str and r in self.position]

    def parent(self, task_id: str) -> str | None:
        parent = self.task(task_id).get("parent")
        return parent if type(parent) is str and parent in self.position else None

    def drop_dependency(self, blocked: str, blocker: str) -> None:
        for task_id, key, ref in ((blocked, "blockedBy", blocker), (blocker, "blocks", blocked)):
            refs = self.task(task_id).get(key)
            if type(refs) is list and ref in refs:
                self.writable(task_id)[key] = [r for r in refs if r != ref]


def _has_edge(tasks: dict[str, dict[str, Any]], blocked: str, blocker: str) -> bool:
    """Whether one side's tasks say that `blocked` is blockedBy `blocker` (from either end)."""
    task = tasks.get(blocked)
    if task is not None:
        refs = task.get("blockedBy")
        if type(refs) is list and blocker in refs:
            return True
    task = tasks.get(blocker)
    if task is not None:
        refs = task.get("blocks")
        if type(refs) is list and blocked in refs:
            return True
    return False


def links_differ(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two versions of a task differ in `blocks`, `blockedBy` or `parent` (cheap: on the hot path)."""
    return (
        a.get("blockedBy") != b.get("blockedBy")
        or a.get("blocks") != b.get("blocks")
        or a.get("parent") != b.get("parent")
    )


def _differs(omap: dict[str, Any], tmap: dict[str, Any], task_id: str, keys: tuple[str, ...]) -> bool:
    o, t = omap.get(task_id) or {}, tmap.get(task_id) or {}
    return any(not same(o.get(key, MISSING), t.get(key, MISSING)) for key in keys)


def _side_task(
    task_id: str, omap: dict[str, Any], tmap: dict[str, Any], o_has: bool, t_has: bool, now: datetime
) -> dict[str, Any]:
    """The version of a task from the side that has what is being looked at (both or neither: the later one)."""
    o, t = omap.get(task_id) or {}, tmap.get(task_id) or {}
    if o_has != t_has:
        return o if o_has else t
    o_rank = (stamp_order(o.get("updated_at"), now), canonical_bytes(o))
    t_rank = (stamp_order(t.get("updated_at"), now), canonical_bytes(t))
    return o if o_rank > t_rank else t


@dataclass
class Sides:
    """What breaking a cycle looks at: both sides' tasks by id, the merge's moment, and where records go."""

    ours: dict[str, dict[str, Any]]
    theirs: dict[str, dict[str, Any]]
    now: datetime
    conflicts: list[dict[str, Any]]


def break_cycles(graph: Graph, linked: set[str], sides: Sides) -> None:
    """Break the dependency cycles, then the parent loops, that the two sides closed together."""
    _break_dependency_cycles(graph, linked, sides.ours, sides.theirs, sides.now, sides.conflicts)
    _break_parent_cycles(graph, linked, sides)


def _break_dependency_cycles(
    graph: Graph,
    linked: set[str],
    omap: dict[str, dict[str, Any]],
    tmap: dict[str, dict[str, Any]],
    now: datetime,
    conflicts: list[dict[str, Any]],
) -> None:
    """Drop the dependencies that close a cycle that neither side had (each side acyclic, their union not).

    The dependencies both sides have are kept; those only one side has are added back oldest first (by the
    `updated_at` of the blocked task on that side), and one that would close a cycle is dropped and recorded, unless
    its side already had that cycle (a hand-edited file: not the merge's doing).
    """
    candidates: set[tuple[str, str]] = set()
    for task_id in linked:
        # Only a task whose lists differ between the sides can hold a dependency that one side lacks.
        if task_id in graph.position and _differs(omap, tmap, task_id, rules.ID_LIST_FIELDS):
            candidates.update((task_id, blocker) for blocker in graph.refs(task_id, "blockedBy"))
            candidates.update((blocked, task_id) for blocked in graph.refs(task_id, "blocks"))
    pending = {e for e in candidates if not (_has_edge(omap, *e) and _has_edge(tmap, *e))}
    if not pending:
        return

    def added_by(edge: tuple[str, str]) -> dict[str, Any]:
        return _side_task(edge[0], omap, tmap, _has_edge(omap, *edge), _has_edge(tmap, *edge), now)

    def order(edge: tuple[str, str]) -> tuple[Any, ...]:
        return stamp_order(added_by(edge).get("updated_at"), now), id_order(edge[0]), id_order(edge[1])

    def reaches(start: str, goal: str) -> bool:
        stack, seen = [start], {start}
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for nxt in graph.refs(node, "blockedBy"):
                if nxt not in seen and (node, nxt) not in pending:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def side_reaches(tasks: dict[str, dict[str, Any]], start: str, goal: str) -> bool:
        stack, seen = [start], {start}
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            refs = (tasks.get(node) or {}).get("blockedBy")
            for nxt in refs if type(refs) is list else ():
                if type(nxt) is str and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    for edge in sorted(pending, key=order):
        pending.discard(edge)
        blocked, blocker = edge
        if reaches(blocker, blocked) and not any(
            _has_edge(side, blocked, blocker) and side_reaches(side, blocker, blocked) for side in (omap, tmap)
        ):  # a cycle that one side already had is left as it is
            graph.drop_dependency(blocked, blocker)
            side = added_by(edge)
            entry = Side(side.get("updated_at", MISSING), side.get("updated_by", MISSING), now).entry(blocker)
            conflicts.append(document.conflict_record(blocked, "blockedBy", "cycle", [entry]))


def _break_parent_cycles(graph: Graph, linked: set[str], sides: Sides) -> None:
    """A `parent` chain that the merge closed into a loop: the latest one-sided parent change in it is undone."""
    omap, tmap, now, conflicts = sides.ours, sides.theirs, sides.now, sides.conflicts
    # A loop the merge made has a task whose parent differs between the sides.
    for start in sorted((t for t in linked if _differs(omap, tmap, t, rules.ID_FIELDS)), key=id_order):
        while start in graph.position:
            chain: list[str] = []
            node: str | None = start
            while node is not None and node not in chain:
                chain.append(node)
                node = graph.parent(node)
            if node is None:
                break
            loop = chain[chain.index(node) :]
            changed = [
                m
                for m in loop
                if not same(omap.get(m, {}).get("parent", MISSING), tmap.get(m, {}).get("parent", MISSING))
            ]
            if not changed or any(
                all(same((side.get(m) or {}).get("parent", MISSING), graph.task(m).get("parent")) for m in loop)
                for side in (omap, tmap)
            ):
                break  # a loop that one side already had: not the merge's doing

            def changed_by(task_id: str) -> dict[str, Any]:
                kept = graph.task(task_id).get("parent")
                o_has = same(omap.get(task_id, {}).get("parent", MISSING), kept)
                t_has = same(tmap.get(task_id, {}).get("parent", MISSING), kept)
                return _side_task(task_id, omap, tmap, o_has, t_has, now)

            def order(task_id: str) -> tuple[Any, ...]:
                return stamp_order(changed_by(task_id).get("updated_at"), now), id_order(task_id)

            undo = max(changed, key=order)
            kept = graph.task(undo).get("parent")
            side = changed_by(undo)
            entry = Side(side.get("updated_at", MISSING), side.get("updated_by", MISSING), now).entry(kept)
            graph.writable(undo)["parent"] = None
            conflicts.append(document.conflict_record(undo, "parent", "cycle", [entry]))
