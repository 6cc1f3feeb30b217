"""Tasks and documents: the field-by-field merge of a task, lists of tasks keyed by id (renames of clashing ids,
delete against edit), and whole task documents with their conflict records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gittasks import document, rules
from gittasks.document import DocumentError
from gittasks.merge.links import (
    Graph,
    Sides,
    break_cycles,
    links_differ,
    restore_symmetry,
)
from gittasks.merge.values import (
    MISSING,
    Context,
    Side,
    canonical_bytes,
    earlier_stamp,
    field_keys,
    later_stamp,
    merge_id_list,
    merge_record_list,
    merge_value,
    same,
    three_way_quiet,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which the merge driver does not need
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from gittasks.merge.values import FieldTime

    # who removed a task on one side, and when: (machine, stamp) of that change, None where it is not known
    DeletedBy = Callable[[str], tuple[Any, Any] | None]
    FieldTimes = tuple[FieldTime | None, FieldTime | None]  # ours', theirs'


_STATUS_FOLLOWERS: tuple[str, ...] = ("started_at", "completed_at", "blocked_reason")
# the stamps of a transition: both sides moved a task to the same status at different moments merge quietly
_TRANSITION_STAMPS: tuple[str, ...] = ("started_at", "completed_at")


_SKIP_FIELDS: frozenset[str] = frozenset({"updated_at", "updated_by", "status", "id"})


@dataclass
class MergeResult:
    document: dict[str, Any]
    """The merged document (plain JSON data); `document.dumps()` gives its canonical bytes."""
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """The conflict records this merge produced (also already in `document["conflicts"]`)."""
    renamed: list[tuple[str, str]] = field(default_factory=list)
    """(old id, new id) for each id that two different tasks were added under on the two sides."""


def _status_winner(ctx: Context, bs: Any, os_: Any, ts: Any) -> bool:
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
    task_id: str,
    b: dict[str, Any],
    o: dict[str, Any],
    t: dict[str, Any],
    now: datetime,
    sink: list[dict[str, Any]],
    field_time: FieldTimes = (None, None),
) -> dict[str, Any]:
    """Field by field merge of a task changed on both sides (b is {} when the task was added on both sides)."""
    ctx = Context(
        task_id,
        Side(o.get("updated_at", MISSING), o.get("updated_by", MISSING), now),
        Side(t.get("updated_at", MISSING), t.get("updated_by", MISSING), now),
        sink,
        field_time,
        now,
    )
    out: dict[str, Any] = {"id": task_id}

    # Status first: when both sides changed it, the fields that go with a status follow the side whose status is kept.
    bs, os_, ts = b.get("status", MISSING), o.get("status", MISSING), t.get("status", MISSING)
    status_side: dict[str, Any] | None = None
    if same(os_, ts) or same(ts, bs):
        status = os_
    elif same(os_, bs):
        status = ts
    else:
        keep_ours = _status_winner(ctx, bs, os_, ts)
        status, status_side = (os_, o) if keep_ours else (ts, t)
        ctx.record("status", "status", bs, os_, ts, status)
    if status is not MISSING:
        out["status"] = status

    same_status = status_side is None and same(os_, ts)
    for key in field_keys(b, o, t):
        if key in _SKIP_FIELDS:
            continue
        bv, ov, tv = b.get(key, MISSING), o.get(key, MISSING), t.get(key, MISSING)
        if status_side is not None and key in _STATUS_FOLLOWERS and not same(ov, tv):
            value = status_side.get(key, MISSING)
        elif (
            same_status
            and key in _TRANSITION_STAMPS
            and not (same(ov, tv) or same(ov, bv) or same(tv, bv))
            and (earlier := earlier_stamp(ov, tv)) is not MISSING
        ):
            value = earlier  # the same transition made on both machines: no conflict to settle
        elif key in rules.ID_LIST_FIELDS and not (same(ov, tv) or same(ov, bv) or same(tv, bv)):
            value = merge_id_list(ctx, key, bv, ov, tv)
        elif key in rules.RECORD_LIST_FIELDS and not (same(ov, tv) or same(ov, bv) or same(tv, bv)):
            value = merge_record_list(ctx, key, bv, ov, tv)
        else:
            value = merge_value(ctx, key, bv, ov, tv, text=key == "description")
        if value is not MISSING:
            out[key] = value
    if status_side is not None and status in rules.OPEN and out.get("completed_at") is not None:
        out["completed_at"] = None

    # Bookkeeping never conflicts: the later `updated_at`, and `updated_by` from the same side.
    bua, oua, tua = b.get("updated_at", MISSING), o.get("updated_at", MISSING), t.get("updated_at", MISSING)
    if same(oua, tua):
        updated_at = oua
        updated_by = three_way_quiet(
            b.get("updated_by", MISSING), o.get("updated_by", MISSING), t.get("updated_by", MISSING)
        )
    else:
        side = o if later_stamp(bua, oua, tua, now) else t
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
    import hashlib  # lazily: only a rename needs it, and its OpenSSL start-up is not free

    digest = hashlib.sha256(canonical_bytes(document.canonical_task(task))).hexdigest()
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
    return same(o.get("created_at", MISSING), t.get("created_at", MISSING)) and same(
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
        o_key = (rules.ordering_stamp(o.get("created_at")), canonical_bytes(o))
        t_key = (rules.ordering_stamp(t.get("created_at")), canonical_bytes(t))
        loser, mapping = (t, t_map) if o_key < t_key else (o, o_map)
        new = _new_id(tid, loser, taken)
        taken.add(new)
        mapping[tid] = new
        renamed.append((tid, new))
        side = Side(loser.get("updated_at", MISSING), loser.get("updated_by", MISSING), now)
        conflicts.append(document.conflict_record(new, "id", "rename", [side.entry(tid)], kept=new))
    if o_map:
        omap = _rewrite_ids(omap, o_map)
    if t_map:
        tmap = _rewrite_ids(tmap, t_map)
    return omap, tmap, renamed


def _delete_edit(
    task: dict[str, Any], now: datetime, conflicts: list[dict[str, Any]], deleted_by: DeletedBy | None
) -> None:
    """A task deleted on one side and edited on the other is kept with the edit; the record names both machines."""
    side = Side(task.get("updated_at", MISSING), task.get("updated_by", MISSING), now)
    machine, stamp = (deleted_by(task["id"]) if deleted_by is not None else None) or (None, None)
    deleted = document.conflict_value("deleted", machine, stamp)
    conflicts.append(
        document.conflict_record(
            task["id"], document.WHOLE_TASK, "delete-edit", [deleted, side.entry("edited")], kept="edited"
        )
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
    return merge_task_lists_indexed(base, ours, theirs, now, (None, None, None))


def merge_task_lists_indexed(
    base: list[dict[str, Any]],
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
    now: datetime | None,
    indexes: tuple[dict[str, dict[str, Any]] | None, ...],
    deleted_by: tuple[DeletedBy | None, DeletedBy | None] = (None, None),
    field_time: FieldTimes = (None, None),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    """`merge_task_lists`; `indexes` holds the tasks of base, ours and theirs by id when the structural check gave
    them (`document.load_document_indexed`), None where they are to be made here; `deleted_by` tells who deleted a
    task on ours and on theirs (for the delete-edit record); `field_time` when ours and theirs last changed a field
    (for a field both set: `Context.field_ours_wins`)."""
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
            if (  # links_differ(o, b)
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
                _delete_edit(o, now, conflicts, deleted_by[1])  # deleted on theirs, edited on ours: kept with the edit
                out.append(o)
                linked.add(tid)
            # else: deleted on theirs, unchanged on ours
        elif b is None:
            if o == t:
                out.append(o)
            else:  # the same task added on both sides (a different task was renamed above)
                fresh.add(len(out))
                out.append(_merge_task(tid, {}, o, t, now, conflicts, field_time))
                linked.add(tid)
        elif o in (b, t):  # (t == b was handled first)
            out.append(t)
            if links_differ(o, t):
                linked.add(tid)
        else:
            fresh.add(len(out))
            out.append(_merge_task(tid, b, o, t, now, conflicts, field_time))
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
            _delete_edit(t, now, conflicts, deleted_by[0])
            out.append(t)
            linked.add(tid)
    position = restore_symmetry(out, fresh, with_refs)
    if linked:
        graph = Graph(out, position, fresh)
        break_cycles(graph, linked, Sides(omap, tmap, now, conflicts))
    return out, conflicts, renamed


def _record_set(records: Any) -> dict[bytes, Any]:
    if not isinstance(records, list):
        return {}
    return {document.conflict_key(r): r for r in records}


def merge_documents(
    base: dict[str, Any] | None,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    *,
    now: datetime | None = None,
    deleted_by: tuple[DeletedBy | None, DeletedBy | None] = (None, None),
    field_time: FieldTimes = (None, None),
) -> MergeResult:
    """Merge two versions of a task document against their common ancestor (None: there is none); `deleted_by`
    tells who deleted a task on ours and on theirs, and `field_time` when ours and theirs last changed a field of a
    task, where the caller knows the history (asked only about what both sides changed differently).

    The documents must pass `document.check_document`. The result's canonical bytes (`document.dumps`) do not
    depend on which side is ours.
    """
    return merge_documents_indexed(base, ours, theirs, now, (None, None, None), deleted_by, field_time)


def merge_documents_indexed(
    base: dict[str, Any] | None,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    now: datetime | None,
    indexes: tuple[dict[str, dict[str, Any]] | None, ...],
    deleted_by: tuple[DeletedBy | None, DeletedBy | None] = (None, None),
    field_time: FieldTimes = (None, None),
) -> MergeResult:
    """`merge_documents`, with the tasks by id where known (see `merge_task_lists_indexed`)."""
    now = now or rules.utc_now()
    base_doc: dict[str, Any] = base if base is not None else {"tasks": []}
    tasks, new_conflicts, renamed = merge_task_lists_indexed(
        base_doc.get("tasks", []), ours["tasks"], theirs["tasks"], now, indexes, deleted_by, field_time
    )

    merged: dict[str, Any] = {}
    ctx = Context(
        None,
        Side(ours.get("last_updated", MISSING), MISSING, now),
        Side(theirs.get("last_updated", MISSING), MISSING, now),
        new_conflicts,
    )
    for key in field_keys(base_doc, ours, theirs):
        if key in ("tasks", "conflicts", "last_updated"):
            continue
        value = merge_value(ctx, key, base_doc.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING))
        if value is not MISSING:
            merged[key] = value

    bl, ol, tl = (d.get("last_updated", MISSING) for d in (base_doc, ours, theirs))
    last_updated = ol if later_stamp(bl, ol, tl, now) else tl
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
