"""An edit made outside gittasks (an editor, an assistant writing the file, a copy git wrote) merged with the
history's files: whether two sets of files differ, the edit stamped, the merge, a base under which a copy deletes
no task, the tasks it changed, a task kept twice settled.

The own-branch bring-in, the follow of a migrate and the inline layout's check of what came in use them.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from gittasks import document, edits, model, render, rules, taskcheck, taskset, trailers
from gittasks.document import Document, DocumentError
from gittasks.errors import GittasksError


def changed_ids(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The ids whose task differs between two {id: task} maps (added, changed or removed), in natural order."""
    ids = [i for i in new if old.get(i) != new[i]] + [i for i in old if i not in new]
    return sorted(ids, key=document.natural_key)


def changed_task_ids(before: Document | None, after: Document) -> list[str]:
    old = {t["id"]: t for t in (before or {}).get("tasks", [])}
    return changed_ids(old, {t["id"]: t for t in after.get("tasks", [])})


def same_files(one: dict[str, bytes], other: dict[str, bytes]) -> bool:
    """Do two sets of task files hold the same content? (line ends, a BOM or key order alone are no change)"""
    if one.keys() != other.keys():
        return False
    for rel, data in one.items():
        if data == other[rel]:
            continue
        try:
            if rel == rules.ACTIVE_PATH:
                a, b = document.load_document(data, rel), document.load_document(other[rel], rel)
                if document.canonical(a) != document.canonical(b):
                    return False
            else:
                if [document.canonical_task(t) for t in taskset.parse_archive(data, rel)] != [
                    document.canonical_task(t) for t in taskset.parse_archive(other[rel], rel)
                ]:
                    return False
        except DocumentError:
            return False
    return True


def files_changed_ids(before: dict[str, bytes], after: dict[str, bytes]) -> tuple[list[str], dict[str, str]]:
    """The ids of the tasks that differ between two sets of files, and their subjects."""
    try:
        old = taskset.task_map(taskset.fold(before).doc)
    except DocumentError:  # the edit replaced a file that could not be read
        old = {}
    new = taskset.task_map(taskset.fold(after).doc)
    ids = changed_ids(old, new)
    return ids, {i: str((new.get(i) or old.get(i) or {}).get("subject", "")) for i in ids}


def keeping_base(origin: dict[str, bytes] | None, ours: dict[str, bytes], theirs: dict[str, bytes]) -> dict[str, bytes]:
    """A merge base under which `ours` deletes no task: `origin` cut to the tasks `ours` holds, or when there is
    no origin, `ours` cut to the tasks `theirs` holds (a task both hold then takes `theirs`'s version)."""
    kept = set(taskset.task_map(taskset.fold(ours).doc))
    if origin is None:
        source, kept = ours, kept & set(taskset.task_map(taskset.fold(theirs).doc))
    else:
        source = origin
    folded = taskset.fold(source)
    doc = {**folded.doc, "tasks": [t for t in folded.doc["tasks"] if t["id"] in kept]}
    doc.pop("conflicts", None)
    return {**taskset.split(doc), **folded.work_items}


def stamp_edit(
    machine: str,
    base: dict[str, bytes] | None,
    ours: dict[str, bytes],
    complete_parents: bool = True,
    notes: list[str] | None = None,
) -> dict[str, bytes]:
    """The edited active list taken in (`take_in`: stamped, so that the edit counts as the newest change of the
    tasks it changed when it is merged, an editor does not stamp them; a result it wrote taken in), what it says
    appended to `notes`."""
    raw = ours.get(rules.ACTIVE_PATH)
    if raw is None or (base is not None and base.get(rules.ACTIVE_PATH) == raw):
        return ours
    try:
        doc = document.load_document(raw, rules.ACTIVE_PATH)
        old = (
            document.load_document(base[rules.ACTIVE_PATH], rules.ACTIVE_PATH)
            if base and rules.ACTIVE_PATH in base
            else None
        )
    except DocumentError:
        return ours  # refused with the file's own message by the merge's check
    touched = take_in(old, doc, machine, complete_parents, notes)
    return {**ours, rules.ACTIVE_PATH: document.dumps(doc)} if touched else ours


def take_in(
    before: Document | None,
    after: Document,
    machine: str,
    complete_parents: bool = True,
    notes: list[str] | None = None,
) -> list[str]:
    """An edit made outside gittasks (`after`, edited from `before`; None: a new file) taken in, in place, as the
    other doors take the same change: stamped (`model.stamp_edit`); a `metadata.result` it wrote or changed goes into
    the context and, when the edit left its task's status as it was, decides that status (`edits.result_edit`, as a
    TaskUpdate's metadata through the capture hook and a result through MCP: a failed result blocks the task); a
    start or a completion it made while blockers or subtasks are open is said (`edits.check_move`), never refused:
    the file is written already. The one place both ways in pass (the capture hook's Write and the next command's
    preflight, in either layout). What is said is appended to `notes`, one line each; the ids of the tasks it
    changed."""
    change = model.Change(machine, rules.utc_now(), complete_parents=complete_parents)
    model.stamp_edit(before, after, change)
    earlier = {t["id"]: t for t in (before or {}).get("tasks", [])}
    index = model.task_index(after)
    for tid in list(change.touched):
        task, previous = index[tid], earlier.get(tid)
        was = previous.get("status", rules.PENDING) if previous is not None else rules.PENDING  # (as every task)
        kept = task.get("status", rules.PENDING) == was
        result = document.as_object(task.get("metadata")).get("result")
        if result is not None and result != document.as_object((previous or {}).get("metadata")).get("result"):
            _take_result(after, tid, result, kept, change)
            index = model.task_index(after)
        if not kept:
            moved = edits.Edit(status=task.get("status"), reopen=was in rules.TERMINAL, warn_blockers=True)
            edits.check_move(after, tid, was, moved, change)
    said = list(dict.fromkeys(change.notes))  # (minutes that are no number among them: said here, for every door)
    if notes is not None:
        notes += [n for n in said if n not in notes]  # (a bring-in tried again says it once)
    return change.touched


def _take_result(doc: Document, tid: str, result: Any, decides: bool, change: model.Change) -> None:
    """Task `tid`'s `metadata.result` taken out of its metadata and into the task as the capture hook takes it
    (`edits.result_edit`; `decides`: its status sets the task's, the edit left that as it was), tried on a copy: a
    result that cannot be taken in (not an object, an unknown status, no way to the status it names) leaves the
    task as written, and `change` notes why."""
    trial = copy.deepcopy(doc)
    tried = model.Change(change.machine, change.now, complete_parents=change.complete_parents)
    try:
        given = edits.Edit(implicit_reopen=True, warn_blockers=True)
        edit = edits.result_edit(result, given, status_from_result=decides)
        edit = dataclasses.replace(edit, metadata={"result": None})  # (taken out, as through the other doors)
        edits.apply_edit(trial, tid, edit, tried, _same, lenient=True)
    except GittasksError as exc:
        change.notes.append(f"task {tid}: its metadata.result was not taken in, the task stays as written: {exc}")
        return
    doc["tasks"] = trial["tasks"]
    change.touched += [t for t in tried.touched if t not in change.touched]
    change.notes += tried.notes


def _same(given: str) -> str:
    return given  # (a result names no other task)


def merge_edit(
    base: dict[str, bytes] | None, ours: dict[str, bytes], theirs: dict[str, bytes], complete_parents: bool
) -> dict[str, bytes]:
    """The external edit `ours` merged with the branch `theirs` by the one merge function (`complete_parents`: the
    setting `gittasks.autoCompleteParents`); refused when the edit is not a valid task file."""
    for rel, data in sorted(ours.items()):
        if base is not None and base.get(rel) == data:
            continue
        problem = taskcheck.file_problem(
            data, rel, base.get(rel) if base else None, archived=lambda: taskset.archived_ids(ours)
        )
        if problem is not None:
            raise DocumentError(problem)
    from gittasks import merge  # only a moved task branch or an edit made outside gittasks is merged

    try:
        merged = merge.merge_task_files(
            base or {}, ours, theirs, have_base=base is not None, complete_parents=complete_parents
        )
    except DocumentError:
        if base is None or base != theirs:
            raise
        return dict(ours)  # the branch holds a file that cannot be read and has not moved: the edit replaces it
    return {rel: data for rel, data in merged.files.items() if data is not None}


def settle_duplicates(
    files: dict[str, bytes], base: dict[str, bytes] | None, machine: str, messages: list[str]
) -> tuple[dict[str, bytes | None], str] | None:
    """The change that keeps once each task found both in the active list and in the archive of `files`
    (`taskset.settle_duplicates`; `base`: files known to hold none) and its commit message, said in `messages`; None
    when there is none, or when a file cannot be read (its reader names the problem)."""
    try:
        changes, ids = taskset.settle_duplicates(files, base)
    except DocumentError:
        return None
    if not ids:
        return None
    active = model.task_index(document.load_document(files[rules.ACTIVE_PATH], rules.ACTIVE_PATH))
    subjects = {i: str(active[i].get("subject", "")) for i in ids}
    messages.append(
        f"kept {render.safe(', '.join(ids))} once: in the active list and in the archive too (a plain-git merge "
        "or a hand commit); the copy changed last stays, committed as its own change"
    )
    return changes, trailers.message("reconcile", ids, subjects, machine, rules.format_stamp(rules.utc_now()))
