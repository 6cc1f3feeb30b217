"""Values: the three-way merge of one value (JSON equality, text by lines, id lists as sets), the side rules.

Every decision is a function of the two sides' data only, never of which side is "ours": for a field both sides
set, the later edit of that field where both sides' histories tell (`FieldTime`), else the later `updated_at`, then
the larger machine name, then the larger value bytes. Internal to the merge package.
"""

from __future__ import annotations

import functools
from datetime import datetime

import orjson

from gittasks import document, rules

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which the merge driver does not need
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    # when one side last changed a field of a task since the base: (task id, field path) -> that change's stamp, None
    # where its history cannot tell. Asked only for a field both sides set differently (it may start git processes)
    FieldTime = Callable[[str, str], Any]


class _Missing:
    """A field that is absent: a value distinct from every JSON value, null included."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


_SORT = orjson.OPT_SORT_KEYS


def canonical_bytes(value: Any) -> bytes:
    """Canonical JSON bytes of a value (sorted keys); an absent value sorts before every JSON value."""
    if value is MISSING:
        return b""
    return orjson.dumps(value, option=_SORT)


def plain(value: Any) -> Any:
    return None if value is MISSING else value


def same(a: Any, b: Any) -> bool:
    """JSON equality: like == but `true`, `1` and `1.0` are three different values."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict or kind is list:  # == is fast but says True == 1 == 1.0 inside; the bytes tell them apart
        return bool(a == b) and canonical_bytes(a) == canonical_bytes(b)
    return bool(a == b)


@functools.lru_cache(maxsize=8192)
def _order_str(value: str, now: datetime) -> str:
    return rules.ordering_stamp(value, now)


def stamp_order(value: Any, now: datetime) -> str:
    """`rules.ordering_stamp` (a far-future stamp clamped), memoised: the same stamps come up again and again."""
    return _order_str(value, now) if type(value) is str else ""


def _stamp_key(value: Any, now: datetime) -> tuple[str, bytes]:
    """Order of two stamps: the (clamped) moment, then the raw bytes so that the order is total."""
    return stamp_order(value, now), canonical_bytes(value)


class Side:
    """What the side-independent rules need to know about one side's version of a task (or of the document)."""

    __slots__ = ("rank", "updated_at", "updated_by")

    def __init__(self, updated_at: Any, updated_by: Any, now: datetime) -> None:
        self.updated_at = updated_at
        self.updated_by = updated_by
        self.rank = (stamp_order(updated_at, now), updated_by if type(updated_by) is str else "")

    def entry(self, value: Any) -> dict[str, Any]:
        return document.conflict_value(plain(value), plain(self.updated_by), plain(self.updated_at))


class Context:
    """One merge of one task (or of the top-level keys): the two sides and the records produced; `field_time` says
    when ours and theirs last changed a field (None where no history is known: the merge driver, repair)."""

    __slots__ = ("conflicts", "field_time", "now", "ours", "task_id", "theirs")

    def __init__(
        self,
        task_id: str | None,
        ours: Side,
        theirs: Side,
        conflicts: list[dict[str, Any]],
        field_time: tuple[FieldTime | None, FieldTime | None] = (None, None),
        now: datetime | None = None,
    ) -> None:
        self.task_id = task_id
        self.ours = ours
        self.theirs = theirs
        self.conflicts = conflicts
        self.field_time = field_time
        self.now = now

    def ours_wins(self, ov: Any, tv: Any) -> bool:
        """The task rule: the later `updated_at`, then the larger machine name, then the larger value bytes."""
        return (self.ours.rank, canonical_bytes(ov)) > (self.theirs.rank, canonical_bytes(tv))

    def field_ours_wins(self, path: str, ov: Any, tv: Any) -> bool:
        """The generic rule for a field both sides set: the later edit of that field when both sides' histories tell
        and their stamps differ (a task edited later for another reason must not win it), else `ours_wins`."""
        later = self._later_field_edit(path)
        return self.ours_wins(ov, tv) if later is None else later

    def _later_field_edit(self, path: str) -> bool | None:
        """True: ours edited `path` later, False: theirs did, None: unknown or the same moment. A stamp too far in
        the future counts as unknown, as it does for `updated_at` (`rules.ordering_stamp`)."""
        ask_ours, ask_theirs = self.field_time
        if self.task_id is None or ask_ours is None or ask_theirs is None or self.now is None:
            return None
        ours = stamp_order(ask_ours(self.task_id, path), self.now)
        if not ours:
            return None  # theirs is not asked: its answer could not decide anything
        theirs = stamp_order(ask_theirs(self.task_id, path), self.now)
        if not theirs or ours == theirs:
            return None
        return ours > theirs

    def record(self, path: str, kind: str, bv: Any, ov: Any, tv: Any, kept: Any) -> None:
        values = (self.ours.entry(ov), self.theirs.entry(tv))
        self.conflicts.append(
            document.conflict_record(self.task_id, path, kind, values, base=plain(bv), kept=plain(kept))
        )

    def conflict(self, path: str, kind: str, bv: Any, ov: Any, tv: Any) -> Any:
        kept = ov if self.field_ours_wins(path, ov, tv) else tv
        self.record(path, kind, bv, ov, tv, kept)
        return kept


def merge_text(base: str, ours: str, theirs: str) -> str | None:
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


def id_order(task_id: str) -> tuple[Any, ...]:
    return document.cached_natural_key(task_id), task_id


def _id_set(value: Any) -> set[str] | None:
    if value is MISSING or value is None:
        return set()
    if type(value) is list and all(type(v) is str for v in value):
        return set(value)
    return None


def merge_id_list(ctx: Context, path: str, bv: Any, ov: Any, tv: Any) -> Any:
    """Both sides changed a list of ids: (base ∩ ours ∩ theirs) ∪ (ours − base) ∪ (theirs − base), sorted."""
    base, ours, theirs = _id_set(bv), _id_set(ov), _id_set(tv)
    if base is None or ours is None or theirs is None:  # not a list of ids: an ordinary value
        return ctx.conflict(path, "field", bv, ov, tv)
    merged = (base & ours & theirs) | (ours - base) | (theirs - base)
    return sorted(merged, key=id_order)


def _record_set(value: Any) -> dict[bytes, Any] | None:
    if value is MISSING or value is None:
        return {}
    if type(value) is list and all(type(v) is dict for v in value):
        return {canonical_bytes(v): v for v in value}
    return None


def merge_record_list(ctx: Context, path: str, bv: Any, ov: Any, tv: Any) -> Any:
    """Both sides changed a list of records (the native ids of a task): kept as sets, each side's additions and
    removals applied, sorted by bytes. Records added on both sides by different machines (two sessions on two
    machines took the same task up) are also recorded as a `resumed` conflict, so that `conflicts` and `recover`
    name the task."""
    base, ours, theirs = _record_set(bv), _record_set(ov), _record_set(tv)
    if base is None or ours is None or theirs is None:  # not a list of records: an ordinary value
        return ctx.conflict(path, "field", bv, ov, tv)
    keys = (base.keys() & ours.keys() & theirs.keys()) | (ours.keys() - base.keys()) | (theirs.keys() - base.keys())
    merged = [{**ours, **theirs}[k] for k in sorted(keys)]
    machines = [{r.get("machine") for k, r in side.items() if k not in base} for side in (ours, theirs)]
    if machines[0] and machines[1] and machines[0] != machines[1]:
        ctx.record(path, "resumed", bv, ov, tv, merged)
    return merged


def by_identity(items: Any, keys: tuple[str, ...] | None) -> dict[bytes, Any] | None:
    """A list's items by what tells them apart (a scalar by its bytes, an object by its keys' values); None when
    `items` is no list or an item has nothing to tell it apart by. The merge's rule, and `undo`'s for such lists."""
    if type(items) is not list:
        return None
    out: dict[bytes, Any] = {}
    for item in items:
        if type(item) is dict:
            if not keys or not all(k in item for k in keys):
                return None
            identity = canonical_bytes([item[k] for k in keys])
        elif type(item) is list:
            return None
        else:
            identity = canonical_bytes(item)
        out.setdefault(identity, item)
    return out


def merge_list(ctx: Context, path: str, bv: Any, ov: Any, tv: Any) -> Any:
    """Both sides changed a list inside a task's metadata or context: an ordered set, never a conflict of the whole.
    Each side's additions and removals are kept (an item removed on one side and changed on the other stays, with the
    change); the items kept from the base keep its order, the added ones follow in the order of their bytes; an
    object both sides changed is merged field by field. A list whose items cannot be told apart (objects without the
    keys of `rules.LIST_ITEM_KEYS`) is one value, as before."""
    keys = rules.LIST_ITEM_KEYS.get(path.rsplit(".", 1)[-1])
    base = by_identity(bv if type(bv) is list else [], keys)
    ours, theirs = by_identity(ov, keys), by_identity(tv, keys)
    if base is None or ours is None or theirs is None:
        return ctx.conflict(path, "field", bv, ov, tv)
    added = sorted((ours.keys() | theirs.keys()) - base.keys())
    out = []
    for identity in [*base, *added]:
        b, o, t = base.get(identity, MISSING), ours.get(identity, MISSING), theirs.get(identity, MISSING)
        if o is MISSING and t is MISSING:
            continue
        if o is MISSING or t is MISSING:
            kept = t if o is MISSING else o
            if b is not MISSING and same(kept, b):
                continue  # removed on one side, unchanged on the other: removed
            out.append(kept)
            continue
        out.append(merge_value(ctx, path, b, o, t))
    return out


def merge_value(ctx: Context, path: str, bv: Any, ov: Any, tv: Any, *, text: bool = False) -> Any:
    """Three-way merge of one value; MISSING means absent (and an absent result means: leave the key out)."""
    if same(ov, tv):
        return ov
    if same(ov, bv):
        return tv
    if same(tv, bv):
        return ov
    # Changed on both sides to different values.
    if type(ov) is dict and type(tv) is dict:
        return merge_dict(ctx, path, bv if type(bv) is dict else {}, ov, tv)
    if type(ov) is list and type(tv) is list and "." in path and (bv is MISSING or bv is None or type(bv) is list):
        return merge_list(ctx, path, bv, ov, tv)  # a list inside metadata or context
    if type(ov) is str and type(tv) is str:
        base_text = bv if type(bv) is str else ""
        if text or "\n" in ov or "\n" in tv or "\n" in base_text:
            merged = merge_text(base_text, ov, tv)
            if merged is not None:
                return merged
            return ctx.conflict(path, "text", bv, ov, tv)
    return ctx.conflict(path, "field", bv, ov, tv)


def merge_dict(ctx: Context, path: str, base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Any:
    out: dict[str, Any] = {}
    for key in field_keys(base, ours, theirs):
        value = merge_value(
            ctx, f"{path}.{key}", base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING)
        )
        if value is not MISSING:
            out[key] = value
    return out


def field_keys(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    keys = list(ours)
    keys.extend(k for k in theirs if k not in ours)
    keys.extend(k for k in base if k not in ours and k not in theirs)
    return keys


def three_way_quiet(bv: Any, ov: Any, tv: Any) -> Any:
    """Three-way merge of a bookkeeping value: both changed differently keeps the larger bytes, with no record."""
    if same(ov, tv) or same(tv, bv):
        return ov
    if same(ov, bv):
        return tv
    return ov if canonical_bytes(ov) > canonical_bytes(tv) else tv


def earlier_stamp(ov: Any, tv: Any) -> Any:
    """The earlier of two stamps of the same transition (both sides moved the task to the same status): work began
    at the first start and ended at the first completion, as the work item keeps the earlier record. Ordered by the
    moment (not clamped: the earlier one is never the far-future one of two), then the bytes, so that every machine
    keeps the same; MISSING when either is not a stamp (then it is an ordinary conflict)."""
    if rules.parse_stamp(ov) is None or rules.parse_stamp(tv) is None:
        return MISSING
    return min(ov, tv, key=lambda v: (rules.ordering_stamp(v), canonical_bytes(v)))


def later_stamp(bv: Any, ov: Any, tv: Any, now: datetime) -> bool:
    """True when ours' stamp is the one to keep (changed on ours only, or both changed and ours is later)."""
    if same(tv, bv):
        return True
    if same(ov, bv):
        return False
    return _stamp_key(ov, now) > _stamp_key(tv, now)
