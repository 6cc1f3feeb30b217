"""Field-level three-way merge of task files (task-format.md, "Merge" and "Conflicts").

Pure: plain parsed JSON in, plain JSON out, no I/O. Used by `sync`, the git merge driver and the repair of a
line-merged file. Every decision is a function of the two sides' data only, never of which side is "ours", so the
canonical bytes of the result are the same whichever side git calls ours (it swaps them during a rebase).

Beyond task-format.md, two decisions of this module:
- dependencies (or parents) that each side added without a cycle but that close one together are a conflict: the
  later one-sided link is dropped and recorded (`kind: "cycle"`), because the rest of gittasks refuses cyclic files;
- work items (`.claude/tasks/work-items/*.jsonl`) are keyed by their `id`: one task completed on two machines is
  billed once (the earlier record is kept).

Imports only the standard library, orjson, `rules` and `document`; `merge3` is imported lazily by the text merge.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from gittasks import document, rules
from gittasks.document import DocumentError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which the merge driver does not need
if TYPE_CHECKING:
    from typing import Any


class _Missing:
    """A field that is absent: a value distinct from every JSON value, null included."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_SORT = orjson.OPT_SORT_KEYS
_STATUS_FOLLOWERS: tuple[str, ...] = ("started_at", "completed_at", "blocked_reason")
_SKIP_FIELDS: frozenset[str] = frozenset({"updated_at", "updated_by", "status", "id"})
_MARKER_LINE = re.compile(rb"^(<{7}|={7}|>{7}|\|{7})(?: |$)")


@dataclass
class MergeResult:
    document: dict[str, Any]
    """The merged document (plain JSON data); `document.dumps()` gives its canonical bytes."""
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """The conflict records this merge produced (also already in `document["conflicts"]`)."""
    renamed: list[tuple[str, str]] = field(default_factory=list)
    """(old id, new id) for each id that two different tasks were added under on the two sides."""


# ----------------------------------------------------------------------------------------------------------------------
# Small helpers


def _bytes(value: Any) -> bytes:
    """Canonical JSON bytes of a value (sorted keys); an absent value sorts before every JSON value."""
    if value is MISSING:
        return b""
    return orjson.dumps(value, option=_SORT)


def _plain(value: Any) -> Any:
    return None if value is MISSING else value


def _same(a: Any, b: Any) -> bool:
    """JSON equality: like == but `true`, `1` and `1.0` are three different values."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict or kind is list:  # == is fast but says True == 1 == 1.0 inside; the bytes tell them apart
        return bool(a == b) and _bytes(a) == _bytes(b)
    return bool(a == b)


@functools.lru_cache(maxsize=8192)
def _order_str(value: str, now: datetime) -> str:
    return rules.ordering_stamp(value, now)


def _order(value: Any, now: datetime) -> str:
    """`rules.ordering_stamp` (a far-future stamp clamped), memoised: the same stamps come up again and again."""
    return _order_str(value, now) if type(value) is str else ""


def _stamp_key(value: Any, now: datetime) -> tuple[str, bytes]:
    """Order of two stamps: the (clamped) moment, then the raw bytes so that the order is total."""
    return _order(value, now), _bytes(value)


class _Side:
    """What the side-independent rules need to know about one side's version of a task (or of the document)."""

    __slots__ = ("rank", "updated_at", "updated_by")

    def __init__(self, updated_at: Any, updated_by: Any, now: datetime) -> None:
        self.updated_at = updated_at
        self.updated_by = updated_by
        self.rank = (_order(updated_at, now), updated_by if type(updated_by) is str else "")

    def entry(self, value: Any) -> dict[str, Any]:
        return {"value": _plain(value), "machine": _plain(self.updated_by), "updated_at": _plain(self.updated_at)}


class _Context:
    """One merge of one task (or of the top-level keys): the two sides and the records produced."""

    __slots__ = ("conflicts", "ours", "task_id", "theirs")

    def __init__(self, task_id: str | None, ours: _Side, theirs: _Side, conflicts: list[dict[str, Any]]) -> None:
        self.task_id = task_id
        self.ours = ours
        self.theirs = theirs
        self.conflicts = conflicts

    def ours_wins(self, ov: Any, tv: Any) -> bool:
        """The generic rule: the later `updated_at`, then the larger machine name, then the larger value bytes."""
        return (self.ours.rank, _bytes(ov)) > (self.theirs.rank, _bytes(tv))

    def record(self, path: str, kind: str, bv: Any, ov: Any, tv: Any, kept: Any) -> None:
        values = sorted((self.ours.entry(ov), self.theirs.entry(tv)), key=document.conflict_key)
        self.conflicts.append(
            {
                "task": self.task_id,
                "field": path,
                "kind": kind,
                "base": _plain(bv),
                "values": values,
                "kept": _plain(kept),
            }
        )

    def conflict(self, path: str, kind: str, bv: Any, ov: Any, tv: Any) -> Any:
        kept = ov if self.ours_wins(ov, tv) else tv
        self.record(path, kind, bv, ov, tv, kept)
        return kept


# ----------------------------------------------------------------------------------------------------------------------
# Values


def _merge_text(base: str, ours: str, theirs: str) -> str | None:
    """A line-based three-way merge; None when the two sides' edits overlap."""
    import merge3  # lazily: only a text edited on both sides needs it

    # The two sides go in a fixed order, so the clean result cannot depend on which one is ours.
    first, second = (ours, theirs) if ours <= theirs else (theirs, ours)
    merger = merge3.Merge3(base.splitlines(True), first.splitlines(True), second.splitlines(True))
    out: list[str] = []
    for group in merger.merge_groups():
        if group[0] == "conflict":
            return None
        out.extend(group[1])
    return "".join(out)


def _id_order(task_id: str) -> tuple[Any, ...]:
    return document.cached_natural_key(task_id), task_id


def _id_set(value: Any) -> set[str] | None:
    if value is MISSING or value is None:
        return set()
    if type(value) is list and all(type(v) is str for v in value):
        return set(value)
    return None


def _merge_id_list(ctx: _Context, path: str, bv: Any, ov: Any, tv: Any) -> Any:
    """Both sides changed a list of ids: (base ∩ ours ∩ theirs) ∪ (ours − base) ∪ (theirs − base), sorted."""
    base, ours, theirs = _id_set(bv), _id_set(ov), _id_set(tv)
    if base is None or ours is None or theirs is None:  # not a list of ids: an ordinary value
        return ctx.conflict(path, "field", bv, ov, tv)
    merged = (base & ours & theirs) | (ours - base) | (theirs - base)
    return sorted(merged, key=_id_order)


def _merge_value(ctx: _Context, path: str, bv: Any, ov: Any, tv: Any, *, text: bool = False) -> Any:
    """Three-way merge of one value; MISSING means absent (and an absent result means: leave the key out)."""
    if _same(ov, tv):
        return ov
    if _same(ov, bv):
        return tv
    if _same(tv, bv):
        return ov
    # Changed on both sides to different values.
    if type(ov) is dict and type(tv) is dict:
        return _merge_dict(ctx, path, bv if type(bv) is dict else {}, ov, tv)
    if type(ov) is str and type(tv) is str:
        base_text = bv if type(bv) is str else ""
        if text or "\n" in ov or "\n" in tv or "\n" in base_text:
            merged = _merge_text(base_text, ov, tv)
            if merged is not None:
                return merged
            return ctx.conflict(path, "text", bv, ov, tv)
    return ctx.conflict(path, "field", bv, ov, tv)


def _merge_dict(ctx: _Context, path: str, base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Any:
    out: dict[str, Any] = {}
    for key in _keys(base, ours, theirs):
        value = _merge_value(
            ctx, f"{path}.{key}", base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING)
        )
        if value is not MISSING:
            out[key] = value
    return out


def _keys(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    keys = list(ours)
    keys.extend(k for k in theirs if k not in ours)
    keys.extend(k for k in base if k not in ours and k not in theirs)
    return keys


def _three_way_quiet(bv: Any, ov: Any, tv: Any) -> Any:
    """Three-way merge of a bookkeeping value: both changed differently keeps the larger bytes, with no record."""
    if _same(ov, tv) or _same(tv, bv):
        return ov
    if _same(ov, bv):
        return tv
    return ov if _bytes(ov) > _bytes(tv) else tv


def _later_stamp(bv: Any, ov: Any, tv: Any, now: datetime) -> bool:
    """True when ours' stamp is the one to keep (changed on ours only, or both changed and ours is later)."""
    if _same(tv, bv):
        return True
    if _same(ov, bv):
        return False
    return _stamp_key(ov, now) > _stamp_key(tv, now)


# ----------------------------------------------------------------------------------------------------------------------
# Tasks


def _status_winner(ctx: _Context, bs: Any, os_: Any, ts: Any) -> bool:
    """The status join (True: keep ours): an explicit reopen beats a terminal status, then the rank, then the rule."""
    rank = rules.STATUS_RANK
    if type(os_) is str and type(ts) is str and os_ in rank and ts in rank:
        base_terminal = type(bs) is str and bs in rules.TERMINAL
        reopen_o = base_terminal and os_ not in rules.TERMINAL
        reopen_t = base_terminal and ts not in rules.TERMINAL
        if reopen_o != reopen_t:
            return reopen_o
        if rank[os_] != rank[ts]:
            return rank[os_] > rank[ts]
    return ctx.ours_wins(os_, ts)


def _merge_task(
    task_id: str, b: dict[str, Any], o: dict[str, Any], t: dict[str, Any], now: datetime, sink: list[dict[str, Any]]
) -> dict[str, Any]:
    """Field by field merge of a task changed on both sides (b is {} when the task was added on both sides)."""
    ctx = _Context(
        task_id,
        _Side(o.get("updated_at", MISSING), o.get("updated_by", MISSING), now),
        _Side(t.get("updated_at", MISSING), t.get("updated_by", MISSING), now),
        sink,
    )
    out: dict[str, Any] = {"id": task_id}

    # Status first: when both sides changed it, the fields that go with a status follow the side whose status is kept.
    bs, os_, ts = b.get("status", MISSING), o.get("status", MISSING), t.get("status", MISSING)
    status_side: dict[str, Any] | None = None
    if _same(os_, ts) or _same(ts, bs):
        status = os_
    elif _same(os_, bs):
        status = ts
    else:
        keep_ours = _status_winner(ctx, bs, os_, ts)
        status, status_side = (os_, o) if keep_ours else (ts, t)
        ctx.record("status", "status", bs, os_, ts, status)
    if status is not MISSING:
        out["status"] = status

    for key in _keys(b, o, t):
        if key in _SKIP_FIELDS:
            continue
        bv, ov, tv = b.get(key, MISSING), o.get(key, MISSING), t.get(key, MISSING)
        if status_side is not None and key in _STATUS_FOLLOWERS and not _same(ov, tv):
            value = status_side.get(key, MISSING)
        elif key in rules.ID_LIST_FIELDS and not (_same(ov, tv) or _same(ov, bv) or _same(tv, bv)):
            value = _merge_id_list(ctx, key, bv, ov, tv)
        else:
            value = _merge_value(ctx, key, bv, ov, tv, text=key == "description")
        if value is not MISSING:
            out[key] = value
    if status_side is not None and status in rules.OPEN and out.get("completed_at") is not None:
        out["completed_at"] = None

    # Bookkeeping never conflicts: the later `updated_at`, and `updated_by` from the same side.
    bua, oua, tua = b.get("updated_at", MISSING), o.get("updated_at", MISSING), t.get("updated_at", MISSING)
    if _same(oua, tua):
        updated_at = oua
        updated_by = _three_way_quiet(
            b.get("updated_by", MISSING), o.get("updated_by", MISSING), t.get("updated_by", MISSING)
        )
    else:
        side = o if _later_stamp(bua, oua, tua, now) else t
        updated_at, updated_by = side.get("updated_at", MISSING), side.get("updated_by", MISSING)
    if updated_at is not MISSING:
        out["updated_at"] = updated_at
    if updated_by is not MISSING:
        out["updated_by"] = updated_by
    return out


def _index(tasks: list[dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    index = {task["id"]: task for task in tasks}
    if len(index) != len(tasks):
        seen: set[str] = set()
        for task in tasks:
            if task["id"] in seen:
                raise DocumentError(f"{name}: duplicate id {task['id']!r}; give one of them a new id")
            seen.add(task["id"])
    return index


def _new_id(old: str, task: dict[str, Any], taken: set[str]) -> str:
    import hashlib  # lazily: only a rename needs it (and its OpenSSL start-up costs a few ms)

    digest = hashlib.sha256(_bytes(document.canonical_task(task))).hexdigest()
    for length in range(6, len(digest) + 1):
        candidate = f"{old}-{digest[:length]}"
        if candidate not in taken:
            return candidate
    counter = 2
    while f"{old}-{digest}-{counter}" in taken:
        counter += 1
    return f"{old}-{digest}-{counter}"


def _rewrite_ids(tasks: dict[str, dict[str, Any]], mapping: dict[str, str]) -> dict[str, dict[str, Any]]:
    """One side's tasks with the ids in `mapping` renamed, references (blocks, blockedBy, parent) following them."""
    out: dict[str, dict[str, Any]] = {}
    for task_id, task in tasks.items():
        changed: dict[str, Any] = {}
        if task_id in mapping:
            changed["id"] = task_id = mapping[task_id]
        for key in rules.ID_LIST_FIELDS:
            refs = task.get(key)
            if type(refs) is list and any(type(r) is str and r in mapping for r in refs):
                changed[key] = [mapping.get(r, r) if type(r) is str else r for r in refs]
        for key in rules.ID_FIELDS:
            ref = task.get(key)
            if type(ref) is str and ref in mapping:
                changed[key] = mapping[ref]
        out[task_id] = {**task, **changed} if changed else task
    return out


def _same_task(o: dict[str, Any], t: dict[str, Any]) -> bool:
    return _same(o.get("created_at", MISSING), t.get("created_at", MISSING)) and _same(
        o.get("subject", MISSING), t.get("subject", MISSING)
    )


def _settle_renames(
    bmap: dict[str, dict[str, Any]],
    omap: dict[str, dict[str, Any]],
    tmap: dict[str, dict[str, Any]],
    now: datetime,
    conflicts: list[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[tuple[str, str]]]:
    """Ids added on both sides for two different tasks: one keeps the id, the other gets a new one (on its side)."""
    clashes = [
        tid
        for tid in (omap.keys() - bmap.keys()) & tmap.keys()
        if omap[tid] != tmap[tid] and not _same_task(omap[tid], tmap[tid])
    ]
    if not clashes:
        return omap, tmap, []
    taken = set(bmap) | set(omap) | set(tmap)
    o_map: dict[str, str] = {}
    t_map: dict[str, str] = {}
    renamed: list[tuple[str, str]] = []
    for tid in sorted(clashes):
        o, t = omap[tid], tmap[tid]
        o_key = (rules.ordering_stamp(o.get("created_at")), _bytes(o))
        t_key = (rules.ordering_stamp(t.get("created_at")), _bytes(t))
        loser, mapping = (t, t_map) if o_key < t_key else (o, o_map)
        new = _new_id(tid, loser, taken)
        taken.add(new)
        mapping[tid] = new
        renamed.append((tid, new))
        side = _Side(loser.get("updated_at", MISSING), loser.get("updated_by", MISSING), now)
        conflicts.append(
            {"task": new, "field": "id", "kind": "rename", "base": None, "values": [side.entry(tid)], "kept": new}
        )
    if o_map:
        omap = _rewrite_ids(omap, o_map)
    if t_map:
        tmap = _rewrite_ids(tmap, t_map)
    return omap, tmap, renamed


def _delete_edit(task: dict[str, Any], now: datetime, conflicts: list[dict[str, Any]]) -> None:
    side = _Side(task.get("updated_at", MISSING), task.get("updated_by", MISSING), now)
    deleted = {"value": "deleted", "machine": None, "updated_at": None}
    conflicts.append(
        {
            "task": task["id"],
            "field": "*",
            "kind": "delete-edit",
            "base": None,
            "values": sorted((deleted, side.entry("edited")), key=document.conflict_key),
            "kept": "edited",
        }
    )


def _restore_symmetry(
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
            task[key] = sorted({*current, ref}, key=_id_order)
    return position


class _Graph:
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


def _links_differ(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two versions of a task differ in `blocks`, `blockedBy` or `parent` (cheap: on the hot path)."""
    return (
        a.get("blockedBy") != b.get("blockedBy")
        or a.get("blocks") != b.get("blocks")
        or a.get("parent") != b.get("parent")
    )


def _differs(omap: dict[str, Any], tmap: dict[str, Any], task_id: str, keys: tuple[str, ...]) -> bool:
    o, t = omap.get(task_id) or {}, tmap.get(task_id) or {}
    return any(not _same(o.get(key, MISSING), t.get(key, MISSING)) for key in keys)


def _side_task(
    task_id: str, omap: dict[str, Any], tmap: dict[str, Any], o_has: bool, t_has: bool, now: datetime
) -> dict[str, Any]:
    """The version of a task from the side that has what is being looked at (both or neither: the later one)."""
    o, t = omap.get(task_id) or {}, tmap.get(task_id) or {}
    if o_has != t_has:
        return o if o_has else t
    o_rank = (_order(o.get("updated_at"), now), _bytes(o))
    t_rank = (_order(t.get("updated_at"), now), _bytes(t))
    return o if o_rank > t_rank else t


def _break_dependency_cycles(
    graph: _Graph,
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
        return _order(added_by(edge).get("updated_at"), now), _id_order(edge[0]), _id_order(edge[1])

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
            entry = _Side(side.get("updated_at", MISSING), side.get("updated_by", MISSING), now).entry(blocker)
            conflicts.append(
                {"task": blocked, "field": "blockedBy", "kind": "cycle", "base": None, "values": [entry], "kept": None}
            )


def _break_parent_cycles(
    graph: _Graph,
    linked: set[str],
    omap: dict[str, dict[str, Any]],
    tmap: dict[str, dict[str, Any]],
    now: datetime,
    conflicts: list[dict[str, Any]],
) -> None:
    """A `parent` chain that the merge closed into a loop: the latest one-sided parent change in it is undone."""
    # A loop the merge made has a task whose parent differs between the sides.
    for start in sorted((t for t in linked if _differs(omap, tmap, t, rules.ID_FIELDS)), key=_id_order):
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
                if not _same(omap.get(m, {}).get("parent", MISSING), tmap.get(m, {}).get("parent", MISSING))
            ]
            if not changed or any(
                all(_same((side.get(m) or {}).get("parent", MISSING), graph.task(m).get("parent")) for m in loop)
                for side in (omap, tmap)
            ):
                break  # a loop that one side already had: not the merge's doing

            def changed_by(task_id: str) -> dict[str, Any]:
                kept = graph.task(task_id).get("parent")
                o_has = _same(omap.get(task_id, {}).get("parent", MISSING), kept)
                t_has = _same(tmap.get(task_id, {}).get("parent", MISSING), kept)
                return _side_task(task_id, omap, tmap, o_has, t_has, now)

            def order(task_id: str) -> tuple[Any, ...]:
                return _order(changed_by(task_id).get("updated_at"), now), _id_order(task_id)

            undo = max(changed, key=order)
            kept = graph.task(undo).get("parent")
            side = changed_by(undo)
            entry = _Side(side.get("updated_at", MISSING), side.get("updated_by", MISSING), now).entry(kept)
            graph.writable(undo)["parent"] = None
            conflicts.append(
                {"task": undo, "field": "parent", "kind": "cycle", "base": None, "values": [entry], "kept": None}
            )


def merge_task_lists(
    base: list[dict[str, Any]],
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    *,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    """Merge three task lists keyed by id; returns (tasks, new conflict records, renames (old id, new id)).

    The tasks must be structurally valid (`document.check_task`); the result's order is not canonical (see
    `document.canonical`). Unchanged task dicts are passed through as they are, not copied.
    """
    return _merge_task_lists(base, ours, theirs, now, (None, None, None))


def _merge_task_lists(
    base: list[dict[str, Any]],
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    now: datetime | None,
    indexes: tuple[dict[str, dict[str, Any]] | None, ...],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    """`merge_task_lists`; `indexes` holds the tasks of base, ours and theirs by id when the structural check gave
    them (`document.load_document_indexed`), None where they are to be made here."""
    now = now or rules.utc_now()
    conflicts: list[dict[str, Any]] = []
    bmap = _index(base, "base") if indexes[0] is None else indexes[0]
    omap = _index(ours, "ours") if indexes[1] is None else indexes[1]
    tmap = _index(theirs, "theirs") if indexes[2] is None else indexes[2]
    omap, tmap, renamed = _settle_renames(bmap, omap, tmap, now, conflicts)

    out: list[dict[str, Any]] = []
    fresh: set[int] = set()  # positions in `out` of task dicts made by this merge (the others are the inputs')
    linked: set[str] = set()  # ids whose dependencies or parent may differ between ours and theirs
    with_refs: list[int] = []  # positions in `out` of the tasks that may have blocks or blockedBy (for the symmetry)
    t_get, b_get, keep, refs = tmap.get, bmap.get, out.append, with_refs.append
    for tid, o in omap.items():
        t = t_get(tid)
        b = b_get(tid)
        if t is not None and b is not None and t == b:  # unchanged on theirs: most tasks, so first and inline
            blocked_by, blocks = o.get("blockedBy"), o.get("blocks")
            if blocks or blocked_by:
                refs(len(out))
            keep(o)
            if (  # _links_differ(o, b)
                blocked_by != b.get("blockedBy") or blocks != b.get("blocks") or o.get("parent") != b.get("parent")
            ):
                linked.add(tid)
            continue
        before = len(out)
        if t is None:
            if b is None:
                out.append(o)  # added on ours
                linked.add(tid)
            elif o != b:
                _delete_edit(o, now, conflicts)  # deleted on theirs, edited on ours: kept with the edit
                out.append(o)
                linked.add(tid)
            # else: deleted on theirs, unchanged on ours
        elif b is None:
            if o == t:
                out.append(o)
            else:  # the same task added on both sides (a different task was renamed above)
                fresh.add(len(out))
                out.append(_merge_task(tid, {}, o, t, now, conflicts))
                linked.add(tid)
        elif o in (b, t):  # (t == b was handled first)
            out.append(t)
            if _links_differ(o, t):
                linked.add(tid)
        else:
            fresh.add(len(out))
            out.append(_merge_task(tid, b, o, t, now, conflicts))
            linked.add(tid)
        if len(out) != before:  # the rarer cases: the task kept is looked at in any case
            refs(before)
    for tid, t in tmap.items():
        if tid in omap:
            continue
        b = bmap.get(tid)
        if b is None:
            refs(len(out))
            out.append(t)  # added on theirs
            linked.add(tid)
        elif t != b:
            refs(len(out))
            _delete_edit(t, now, conflicts)
            out.append(t)
            linked.add(tid)
    position = _restore_symmetry(out, fresh, with_refs)
    if linked:
        graph = _Graph(out, position, fresh)
        _break_dependency_cycles(graph, linked, omap, tmap, now, conflicts)
        _break_parent_cycles(graph, linked, omap, tmap, now, conflicts)
    return out, conflicts, renamed


# ----------------------------------------------------------------------------------------------------------------------
# Documents


def _record_set(records: Any) -> dict[bytes, Any]:
    if not isinstance(records, list):
        return {}
    return {document.conflict_key(r): r for r in records}


def merge_documents(
    base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any], *, now: datetime | None = None
) -> MergeResult:
    """Merge two versions of a task document against their common ancestor (None: there is none).

    The documents must pass `document.check_document`. The result's canonical bytes (`document.dumps`) do not
    depend on which side is ours.
    """
    return _merge_documents(base, ours, theirs, now, (None, None, None))


def _merge_documents(
    base: dict[str, Any] | None,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    now: datetime | None,
    indexes: tuple[dict[str, dict[str, Any]] | None, ...],
) -> MergeResult:
    """`merge_documents`, with the tasks by id where known (see `_merge_task_lists`)."""
    now = now or rules.utc_now()
    base_doc: dict[str, Any] = base if base is not None else {"tasks": []}
    tasks, new_conflicts, renamed = _merge_task_lists(
        base_doc.get("tasks", []), ours["tasks"], theirs["tasks"], now, indexes
    )

    merged: dict[str, Any] = {}
    ctx = _Context(
        None,
        _Side(ours.get("last_updated", MISSING), MISSING, now),
        _Side(theirs.get("last_updated", MISSING), MISSING, now),
        new_conflicts,
    )
    for key in _keys(base_doc, ours, theirs):
        if key in ("tasks", "conflicts", "last_updated"):
            continue
        value = _merge_value(ctx, key, base_doc.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING))
        if value is not MISSING:
            merged[key] = value

    bl, ol, tl = (d.get("last_updated", MISSING) for d in (base_doc, ours, theirs))
    last_updated = ol if _later_stamp(bl, ol, tl, now) else tl
    if last_updated is not MISSING:
        merged["last_updated"] = last_updated
    merged["tasks"] = tasks

    b_rec, o_rec, t_rec = (_record_set(d.get("conflicts")) for d in (base_doc, ours, theirs))
    records = {k: r for k, r in o_rec.items() if k not in b_rec or k in t_rec}
    records.update((k, r) for k, r in t_rec.items() if k not in b_rec)
    records.update((document.conflict_key(r), r) for r in new_conflicts)
    if records:
        merged["conflicts"] = [records[k] for k in sorted(records)]
    return MergeResult(merged, new_conflicts, renamed)


# ----------------------------------------------------------------------------------------------------------------------
# Files


def _earlier_record(a: dict[str, Any], b: dict[str, Any], now: datetime) -> dict[str, Any]:
    a_key = (_order(a.get("time"), now), _bytes(a))
    b_key = (_order(b.get("time"), now), _bytes(b))
    return a if a_key <= b_key else b


def _merge_records(
    base: list[dict[str, Any]], ours: list[dict[str, Any]], theirs: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Work items: a three-way merge of records keyed by their `id` (by their bytes when they have none).

    A record added, changed or removed on one side takes that side; one removed on one side and changed on the other
    is kept; the same id added or changed on both sides (a task completed on two machines) keeps the earlier record
    (by `time`, then bytes), so that the work is billed once.
    """

    def index(records: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
        out: dict[Any, dict[str, Any]] = {}
        for record in records:
            record_id = record.get("id")
            key = ("id", record_id) if type(record_id) is str else ("bytes", document.conflict_key(record))
            out[key] = _earlier_record(out[key], record, now) if key in out else record
        return out

    b_map, o_map, t_map = index(base), index(ours), index(theirs)
    merged: list[dict[str, Any]] = []
    for key in o_map.keys() | t_map.keys():
        b, o, t = b_map.get(key), o_map.get(key), t_map.get(key)
        if _same(o, t) or _same(t, b):
            value = o
        elif _same(o, b):
            value = t
        elif o is None or t is None:
            value = o if t is None else t  # removed on one side, changed on the other: kept
        else:
            value = _earlier_record(o, t, now)
        if value is not None:
            merged.append(value)
    return merged


def _is_blank(raw: bytes) -> bool:
    """Nothing but a BOM and ASCII whitespace (what `bytes.strip` removes), found without copying the bytes."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    return not raw or raw.isspace()


def _parse_lines(raw: bytes, name: str) -> list[Any]:
    """One JSON object per non-empty line (a BOM and CRLF read as if absent)."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    out: list[Any] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        if _MARKER_LINE.match(line):
            raise DocumentError(
                f"{name}:{number}: conflict markers from a line merge; run `gittasks doctor --fix` to merge it"
            )
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DocumentError(
                f"{name}:{number}: not valid JSON ({exc.msg}); fix the line or restore it from git"
            ) from None
        if not isinstance(value, dict):
            raise DocumentError(f"{name}:{number}: each line must be a JSON object")
        out.append(value)
    return out


def _file_kind(name: str) -> str:
    path = "/" + name.replace("\\", "/")
    if not path.endswith(".jsonl"):
        return "document"
    if f"/{rules.WORK_ITEMS_DIR}/" in path:
        return "records"
    return "tasks"


def _load(raw: bytes, name: str, kind: str) -> tuple[Any, dict[str, dict[str, Any]] | None]:
    """The parsed and checked file, and for a document its tasks by id (None when not known)."""
    if kind == "document":
        if _is_blank(raw):
            raise DocumentError(f"{name}: the file is empty; restore it from git")
        return document.load_document_indexed(raw, name)
    lines = _parse_lines(raw, name)
    if kind == "tasks":
        seen: set[str] = set()
        for number, task in enumerate(lines, start=1):
            document.check_task(task, f"{name}: task {number}")
            if task["id"] in seen:
                raise DocumentError(f"{name}: task {number}: duplicate id {task['id']!r}; give one of them a new id")
            seen.add(task["id"])
    return lines, None


def merge_bytes(
    base: bytes | None,
    ours: bytes,
    theirs: bytes,
    name: str,
    *,
    now: datetime | None = None,
    lenient_base: bool = False,
) -> bytes:
    """Merge three versions of the task file `name` (its path in the repository) and return canonical bytes.

    `name` decides the format: `.claude/active-tasks.json` style documents; archive `.jsonl` task lines (merged by
    id like the active list, written sorted by id; their conflict records have no place in the file and are dropped);
    or work-item `.jsonl` records (merged by id, written sorted by bytes). An empty or None base means no common
    ancestor. Raises
    DocumentError (one line naming the file and the place) on an invalid input; with `lenient_base`, an invalid base
    (a virtual base of a criss-cross merge that kept conflict markers, say) counts as no common ancestor.
    """
    kind = _file_kind(name)
    base_value: Any = None
    base_index = None
    if base is not None and not _is_blank(base):
        try:
            base_value, base_index = _load(base, f"{name} (base)", kind)
        except DocumentError:
            if not lenient_base:
                raise
    ours_value, ours_index = _load(ours, f"{name} (ours)", kind)
    theirs_value, theirs_index = _load(theirs, f"{name} (theirs)", kind)

    if kind == "document":
        indexes = (base_index, ours_index, theirs_index)
        return document.dumps(_merge_documents(base_value, ours_value, theirs_value, now, indexes).document)
    if kind == "records":
        records = _merge_records(base_value or [], ours_value, theirs_value, now or rules.utc_now())
        return b"".join(sorted(document.dump_line(r) for r in records))
    tasks, _conflicts, _renamed = merge_task_lists(base_value or [], ours_value, theirs_value, now=now)
    tasks.sort(key=lambda task: _id_order(task["id"]))
    return b"".join(document.dump_line(document.canonical_task(task)) for task in tasks)
