"""Files: the merge of a task file's bytes (the active list, archive task lines, work-item records) and of all task
files of a version as one keyed set (`merge_task_files`, for sync and the edit made outside gittasks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from gittasks import document, model, rules, taskset, tasktext, work_items
from gittasks.document import Document, DocumentError
from gittasks.merge.tasks import merge_documents, merge_documents_indexed, merge_task_lists
from gittasks.merge.values import canonical_bytes, id_order, same, stamp_order

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which the merge driver does not need
if TYPE_CHECKING:
    from typing import Any

    from gittasks.merge.tasks import DeletedBy, FieldTimes

    Index = dict[str, dict[str, Any]] | None


def _earlier_record(a: dict[str, Any], b: dict[str, Any], now: datetime) -> dict[str, Any]:
    a_key = (stamp_order(a.get("time"), now), canonical_bytes(a))
    b_key = (stamp_order(b.get("time"), now), canonical_bytes(b))
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
        if same(o, t) or same(t, b):
            value = o
        elif same(o, b):
            value = t
        elif o is None or t is None:
            value = o if t is None else t  # removed on one side, changed on the other: kept
        else:
            value = _earlier_record(o, t, now)
        if value is not None:
            merged.append(value)
    return merged


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
        if document.is_blank(raw):
            raise DocumentError(f"{name}: the file is empty; restore it from git")
        return document.load_document_indexed(raw, name)
    if kind == "tasks":
        return document.read_task_lines(raw, name, unique=True), None
    return document.read_lines(raw, name), None


def _load_sides(
    base: bytes | None, ours: bytes, theirs: bytes, name: str, lenient_base: bool
) -> tuple[Document | None, Document, Document, tuple[Index, Index, Index]]:
    """The three sides of a task document, ours read first: the others share its tasks where their text is the same
    (`document.Versions`); and their tasks by id where the check gave them."""
    for raw, side in ((ours, "ours"), (theirs, "theirs")):
        if document.is_blank(raw):
            raise DocumentError(f"{name} ({side}): the file is empty; restore it from git")
    versions = document.Versions(ours, f"{name} (ours)")
    ours_doc, ours_index = versions.first
    theirs_doc, theirs_index = versions.load(theirs, f"{name} (theirs)")
    base_doc: Document | None = None
    base_index: Index = None
    if base is not None and not document.is_blank(base):
        try:
            base_doc, base_index = versions.load(base, f"{name} (base)")
        except DocumentError:
            if not lenient_base:
                raise
    return base_doc, ours_doc, theirs_doc, (base_index, ours_index, theirs_index)


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
    if kind == "document":
        base_doc, ours_doc, theirs_doc, indexes = _load_sides(base, ours, theirs, name, lenient_base)
        return document.dumps(merge_documents_indexed(base_doc, ours_doc, theirs_doc, now, indexes).document)
    base_value: Any = None
    if base is not None and not document.is_blank(base):
        try:
            base_value, _ = _load(base, f"{name} (base)", kind)
        except DocumentError:
            if not lenient_base:
                raise
    ours_value, _ = _load(ours, f"{name} (ours)", kind)
    theirs_value, _ = _load(theirs, f"{name} (theirs)", kind)
    if kind == "records":
        records = _merge_records(base_value or [], ours_value, theirs_value, now or rules.utc_now())
        return document.dump_records(records)
    tasks, _conflicts, _renamed = merge_task_lists(base_value or [], ours_value, theirs_value, now=now)
    tasks.sort(key=lambda task: id_order(task["id"]))
    return document.dump_lines(document.canonical_task(task) for task in tasks)


@dataclass
class Merged:
    files: dict[str, bytes | None]
    conflicts: list[dict[str, Any]]
    incoming: list[dict[str, Any]]
    notes: list[str]  # what the merge did besides merging (a parent completed)


def merge_task_files(
    base: dict[str, bytes],
    ours: dict[str, bytes],
    theirs: dict[str, bytes],
    *,
    have_base: bool = True,
    complete_parents: bool = False,
    deleted_by: tuple[DeletedBy | None, DeletedBy | None] = (None, None),
    field_time: FieldTimes = (None, None),
) -> Merged:
    """Merge three versions of all task files as one keyed set; the files to write (None: delete). With
    `complete_parents`, a parent whose last subtasks were completed on the two sides is completed too
    (`model.settle_parents`); `deleted_by` and `field_time` as `merge_documents` takes them."""
    b, o, t = taskset.fold(base), taskset.fold(ours), taskset.fold(theirs)
    result = merge_documents(b.doc if have_base else None, o.doc, t.doc, deleted_by=deleted_by, field_time=field_time)
    settled = model.settle_parents(result.document) if complete_parents else None
    files: dict[str, bytes | None] = dict(taskset.split(result.document))
    items: dict[str, bytes] = {}
    for path in sorted(set(b.work_items) | set(o.work_items) | set(t.work_items)):
        items[path] = merge_bytes(
            b.work_items.get(path, b""), o.work_items.get(path, b""), t.work_items.get(path, b""), path
        )
    after = taskset.task_map(result.document)
    items.update(work_items.reconcile(items, after))  # a task the merge cancelled or reopened: its item is void
    files.update(items)
    for path in set(ours) | set(theirs):
        files.setdefault(path, None)
    if rules.ACTIVE_PATH not in ours and rules.ACTIVE_PATH not in theirs and not result.document["tasks"]:
        files.pop(rules.ACTIVE_PATH, None)
    before, sent = taskset.task_map(o.doc), taskset.task_map(t.doc)
    based = taskset.task_map(b.doc) if have_base else {}
    arrived = []
    for tid, task in after.items():
        old = before.get(tid)
        if old != task:
            # the machine the change came from: the other side's last editor when that side changed the task (the
            # merged task names whichever edit is later, ours too), else the merge's own (a link, a parent settled)
            sent_task = sent.get(tid)
            source = sent_task if sent_task is not None and sent_task != based.get(tid) else task
            arrived.append(_arrival(task, "added" if old is None else "changed", source.get("updated_by")))
    arrived += [_arrival(task, "removed", None) for tid, task in before.items() if tid not in after]
    arrived.sort(key=lambda item: document.natural_key(item["id"]))
    return Merged(files, result.conflicts, arrived, settled.notes if settled else [])


def _arrival(task: dict[str, Any], change: str, machine: Any) -> dict[str, Any]:
    """One line of what a sync brought in: a task added, changed or removed, and the machine it came from."""
    line = {"id": task["id"], "subject": task.get("subject", ""), "change": change, "machine": machine}
    if change != "removed":
        line["status"] = task.get("status")
    return line


def incoming(before: dict[str, bytes], after: dict[str, bytes]) -> list[dict[str, Any]]:
    """What moving the task files from `before` to `after` (a fast-forward) brings in, as `merge_task_files(before,
    before, after).incoming` says it. When only the active list differs and both versions are in the canonical
    layout, only the tasks whose text differs are parsed (a list of 50,000 tasks is not read whole twice)."""
    old_raw, new_raw = before.get(rules.ACTIVE_PATH), after.get(rules.ACTIVE_PATH)
    others_same = {p: d for p, d in before.items() if p != rules.ACTIVE_PATH} == {
        p: d for p, d in after.items() if p != rules.ACTIVE_PATH
    }
    old_cut = tasktext.task_texts(old_raw) if old_raw is not None and others_same else None
    new_cut = tasktext.task_texts(new_raw) if new_raw is not None and old_cut is not None else None
    if old_cut is None or new_cut is None:
        return merge_task_files(before, before, after).incoming
    old_texts = tasktext.texts_by_id(old_cut[1])
    new_texts = tasktext.texts_by_id(new_cut[1])
    if old_texts is None or new_texts is None:
        return merge_task_files(before, before, after).incoming
    came = [tid for tid in new_texts if tid not in old_texts]
    went = [tid for tid in old_texts if tid not in new_texts]
    others = [data for path, data in after.items() if path != rules.ACTIVE_PATH]
    if any(orjson.dumps(tid) in data for tid in (*came, *went) for data in others):
        return merge_task_files(before, before, after).incoming  # (also archived: the fold decides)
    arrived = []
    for tid, text in new_texts.items():
        was = old_texts.get(tid)
        if was == text:
            continue
        task = tasktext.task_from_text(text)
        if was is None:
            arrived.append(_arrival(task, "added", task.get("updated_by")))
        elif tasktext.task_from_text(was) != task:
            arrived.append(_arrival(task, "changed", task.get("updated_by")))
    arrived += [_arrival(tasktext.task_from_text(old_texts[tid]), "removed", None) for tid in went]
    arrived.sort(key=lambda item: document.natural_key(item["id"]))
    return arrived
