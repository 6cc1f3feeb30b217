"""Field-level three-way merge of task files (task-format.md, "Merge" and "Conflicts").

Pure: plain parsed JSON in, plain JSON out, no I/O. Used by `sync`, the git merge driver and the repair of a
line-merged file. Every decision is a function of the two sides' data only, never of which side is "ours", so the
canonical bytes of the result are the same whichever side git calls ours (it swaps them during a rebase).

Imports only the standard library, orjson, `rules` and `document`; `merge3` is imported lazily by the text merge.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from gittasks import document, rules
from gittasks.document import DocumentError


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


# --------------------------------------------------------------------------------------------------------------------
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
    if kind is dict:
        return len(a) == len(b) and all(key in b and _same(value, b[key]) for key, value in a.items())
    if kind is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _stamp_key(value: Any, now: datetime) -> tuple[str, bytes]:
    """Order of two stamps: the (clamped) moment, then the raw bytes so that the order is total."""
    return rules.ordering_stamp(value, now), _bytes(value)


@dataclass(slots=True)
class _Side:
    """What the side-independent rules need to know about one side's version of a task."""

    updated_at: Any
    updated_by: Any
    rank: tuple[str, str]

    @classmethod
    def of(cls, updated_at: Any, updated_by: Any, now: datetime) -> _Side:
        machine = updated_by if isinstance(updated_by, str) else ""
        return cls(updated_at, updated_by, (rules.ordering_stamp(updated_at, now), machine))

    def entry(self, value: Any) -> dict[str, Any]:
        return {"value": _plain(value), "machine": _plain(self.updated_by), "updated_at": _plain(self.updated_at)}


@dataclass(slots=True)
class _Context:
    """One merge of one task (or of the top-level keys): the two sides and the records produced."""

    task_id: str | None
    ours: _Side
    theirs: _Side
    conflicts: list[dict[str, Any]]

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


# --------------------------------------------------------------------------------------------------------------------
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
    return document.natural_key(task_id), task_id


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


# --------------------------------------------------------------------------------------------------------------------
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
        _Side.of(o.get("updated_at", MISSING), o.get("updated_by", MISSING), now),
        _Side.of(t.get("updated_at", MISSING), t.get("updated_by", MISSING), now),
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
        for tid in omap.keys() & tmap.keys()
        if tid not in bmap and omap[tid] != tmap[tid] and not _same_task(omap[tid], tmap[tid])
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
        side = _Side.of(loser.get("updated_at", MISSING), loser.get("updated_by", MISSING), now)
        conflicts.append(
            {"task": new, "field": "id", "kind": "rename", "base": None, "values": [side.entry(tid)], "kept": new}
        )
    if o_map:
        omap = _rewrite_ids(omap, o_map)
    if t_map:
        tmap = _rewrite_ids(tmap, t_map)
    return omap, tmap, renamed


def _delete_edit(task: dict[str, Any], now: datetime, conflicts: list[dict[str, Any]]) -> None:
    side = _Side.of(task.get("updated_at", MISSING), task.get("updated_by", MISSING), now)
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


def _restore_symmetry(tasks: list[dict[str, Any]], fresh: set[int]) -> None:
    """If X blocks Y then Y is blockedBy X and the other way round, between tasks present in the list (in place).

    `fresh` holds the positions of task dicts this merge made itself; any other dict is copied before it is changed.
    """
    position = {task["id"]: i for i, task in enumerate(tasks)}
    missing: list[tuple[int, str, str]] = []  # (position of the task to change, field, id to add)
    for task in tasks:
        for key, other_key in (("blocks", "blockedBy"), ("blockedBy", "blocks")):
            refs = task.get(key)
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
    now = now or rules.utc_now()
    conflicts: list[dict[str, Any]] = []
    bmap = _index(base, "base")
    omap = _index(ours, "ours")
    tmap = _index(theirs, "theirs")
    omap, tmap, renamed = _settle_renames(bmap, omap, tmap, now, conflicts)

    out: list[dict[str, Any]] = []
    fresh: set[int] = set()
    for tid, o in omap.items():
        t = tmap.get(tid)
        b = bmap.get(tid)
        if t is None:
            if b is None:
                out.append(o)  # added on ours
            elif o != b:
                _delete_edit(o, now, conflicts)  # deleted on theirs, edited on ours: kept with the edit
                out.append(o)
            # else: deleted on theirs, unchanged on ours
        elif b is None:
            if o == t:
                out.append(o)
            else:  # the same task added on both sides (a different task was renamed above)
                fresh.add(len(out))
                out.append(_merge_task(tid, {}, o, t, now, conflicts))
        elif t == b:
            out.append(o)
        elif o in (b, t):
            out.append(t)
        else:
            fresh.add(len(out))
            out.append(_merge_task(tid, b, o, t, now, conflicts))
    for tid, t in tmap.items():
        if tid in omap:
            continue
        b = bmap.get(tid)
        if b is None:
            out.append(t)  # added on theirs
        elif t != b:
            _delete_edit(t, now, conflicts)
            out.append(t)
    _restore_symmetry(out, fresh)
    return out, conflicts, renamed


# --------------------------------------------------------------------------------------------------------------------
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
    now = now or rules.utc_now()
    base_doc: dict[str, Any] = base if base is not None else {"tasks": []}
    tasks, new_conflicts, renamed = merge_task_lists(base_doc.get("tasks", []), ours["tasks"], theirs["tasks"], now=now)

    merged: dict[str, Any] = {}
    ctx = _Context(
        None,
        _Side.of(ours.get("last_updated", MISSING), MISSING, now),
        _Side.of(theirs.get("last_updated", MISSING), MISSING, now),
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


# --------------------------------------------------------------------------------------------------------------------
# Files


def _is_blank(raw: bytes) -> bool:
    return not raw.removeprefix(b"\xef\xbb\xbf").strip()


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


def _load(raw: bytes, name: str, kind: str) -> Any:
    if kind == "document":
        if _is_blank(raw):
            raise DocumentError(f"{name}: the file is empty; restore it from git")
        return document.load_document(raw, name)
    lines = _parse_lines(raw, name)
    if kind == "tasks":
        seen: set[str] = set()
        for number, task in enumerate(lines, start=1):
            document.check_task(task, f"{name}: task {number}")
            if task["id"] in seen:
                raise DocumentError(f"{name}: task {number}: duplicate id {task['id']!r}; give one of them a new id")
            seen.add(task["id"])
    return lines


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

    `name` decides the format: `.claude/active-tasks.json` style documents, archive `.jsonl` task lines, or
    work-item `.jsonl` records (merged as a set). An empty or None base means no common ancestor. Raises
    DocumentError (one line naming the file and the place) on an invalid input; with `lenient_base`, an invalid base
    (a virtual base of a criss-cross merge that kept conflict markers, say) counts as no common ancestor.
    """
    kind = _file_kind(name)
    base_value: Any = None
    if base is not None and not _is_blank(base):
        try:
            base_value = _load(base, f"{name} (base)", kind)
        except DocumentError:
            if not lenient_base:
                raise
    ours_value = _load(ours, f"{name} (ours)", kind)
    theirs_value = _load(theirs, f"{name} (theirs)", kind)

    if kind == "document":
        return document.dumps(merge_documents(base_value, ours_value, theirs_value, now=now).document)
    if kind == "records":
        b_set, o_set, t_set = (_record_set(v or []) for v in (base_value, ours_value, theirs_value))
        keys = {k for k in o_set if k not in b_set or k in t_set} | {k for k in t_set if k not in b_set}
        return b"".join(k + b"\n" for k in sorted(keys))
    tasks, _conflicts, _renamed = merge_task_lists(base_value or [], ours_value, theirs_value, now=now)
    tasks.sort(key=lambda task: _id_order(task["id"]))
    return b"".join(document.dump_line(document.canonical_task(task)) for task in tasks)
