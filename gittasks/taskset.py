"""All tasks of one version of the repository (active list + archive) as one keyed set, and back to files.

Used by sync (and the repair of line-merged files) so that a task archived on one machine and edited on another is
merged once, with the edit. Pure: file contents in, file contents out.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from gittasks import document, rules
from gittasks.document import Document, DocumentError

LOCATION = "__gittasks_location__"
ARCHIVED = "archive"


@dataclass
class TaskSet:
    """The parsed task files of one version: the active document with archived tasks folded into its task list."""

    doc: Document
    work_items: dict[str, bytes] = field(default_factory=dict)


def is_archive_path(path: str) -> bool:
    return path.startswith(rules.ARCHIVE_DIR + "/") and path.endswith(".jsonl")


def is_work_items_path(path: str) -> bool:
    return path.startswith(rules.WORK_ITEMS_DIR + "/") and path.endswith(".jsonl")


def parse_archive(raw: bytes, name: str) -> list[dict[str, Any]]:
    """The tasks of an archive file, each structurally checked."""
    return document.read_task_lines(raw, name)


def fold(files: dict[str, bytes]) -> TaskSet:
    """Build the keyed set from {path: bytes} of one version (missing active file = empty list).

    An id found both in the active list and in the archive keeps the copy with the later `updated_at` (archived only
    if it has ended); a differing losing copy is recorded as a conflict, so no edit is lost silently.
    """
    raw = files.get(rules.ACTIVE_PATH)
    doc = document.load_document(raw, rules.ACTIVE_PATH) if raw is not None else {"tasks": []}
    doc = dict(doc)
    by_id: dict[str, dict[str, Any]] = {t["id"]: t for t in doc["tasks"]}
    records: list[Any] = list(doc.get("conflicts") or [])
    work_items: dict[str, bytes] = {}
    for path in sorted(files):
        if is_archive_path(path):
            for task in parse_archive(files[path], path):
                archived = {**task, LOCATION: ARCHIVED}
                current = by_id.get(task["id"])
                if current is None:
                    by_id[task["id"]] = archived
                    continue
                current_plain = {k: v for k, v in current.items() if k != LOCATION}
                if current_plain == task:
                    continue
                later = rules.ordering_stamp(task.get("updated_at")) > rules.ordering_stamp(current.get("updated_at"))
                winner, loser = (archived, current_plain) if later else (current, task)
                by_id[task["id"]] = winner
                lost = document.conflict_value(loser, loser.get("updated_by"), loser.get("updated_at"))
                kept = "the copy changed last"
                records.append(
                    document.conflict_record(task["id"], document.WHOLE_TASK, "reconcile", [lost], kept=kept)
                )
        elif is_work_items_path(path):
            work_items[path] = files[path]
    doc["tasks"] = list(by_id.values())
    if records:
        doc["conflicts"] = records
    return TaskSet(doc, work_items)


def archived_ids(files: dict[str, bytes]) -> set[str]:
    """The ids in the archive files among `files` ({path: bytes}); a file that cannot be read adds none (its own
    check names its problem)."""
    found: set[str] = set()
    for path, raw in files.items():
        if is_archive_path(path):
            with contextlib.suppress(DocumentError):
                found.update(task["id"] for task in parse_archive(raw, path))
    return found


def settle_duplicates(
    files: dict[str, bytes], base: dict[str, bytes] | None = None
) -> tuple[dict[str, bytes | None], list[str]]:
    """A task both in the active list and in the archive (a plain-git merge of an archive with an edit, a hand
    commit) kept once, as `fold` keeps it for a sync: the copy changed last (archived only if it has ended), a
    differing copy recorded as a conflict. Returns the files that change (None: remove) and the ids; nothing when
    no task is in both places. `base`: files known to hold no such task; an archive file with the same bytes there
    is read only when an id the active list gained since appears in it (a large archive is not parsed again)."""
    raw = files.get(rules.ACTIVE_PATH)
    if raw is None or not any(is_archive_path(path) for path in files):
        return {}, []
    active_ids = document.task_ids(raw, rules.ACTIVE_PATH)
    gained = active_ids
    if base is not None and rules.ACTIVE_PATH in base:
        with contextlib.suppress(DocumentError):
            gained = active_ids - document.task_ids(base[rules.ACTIVE_PATH], "base")
    quoted = [orjson.dumps(tid) for tid in gained]
    archives: dict[str, list[dict[str, Any]]] = {}
    for path, data in sorted(files.items()):
        if not is_archive_path(path):
            continue
        if base is not None and base.get(path) == data and not any(q in data for q in quoted):
            continue
        tasks = parse_archive(data, path)
        if any(t["id"] in active_ids for t in tasks):
            archives[path] = tasks
    if not archives:
        return {}, []
    active = document.load_document(raw, rules.ACTIVE_PATH)
    both = {t["id"] for tasks in archives.values() for t in tasks if t["id"] in active_ids}
    folded = fold({rules.ACTIVE_PATH: raw, **{path: files[path] for path in archives}}).doc
    winners = {t["id"]: t for t in folded["tasks"] if t["id"] in both}
    archived = {tid for tid, t in winners.items() if t.get(LOCATION) == ARCHIVED and t.get("status") in rules.TERMINAL}
    kept = task_map({"tasks": list(winners.values())})
    tasks = [kept[t["id"]] if t["id"] in both else t for t in active["tasks"] if t["id"] not in archived]
    changes: dict[str, bytes | None] = {
        rules.ACTIVE_PATH: document.dumps({**active, "tasks": tasks, "conflicts": folded.get("conflicts") or []})
    }
    placed: set[str] = set()
    for path, lines in archives.items():
        left = []
        for task in lines:
            if task["id"] in both:
                if task["id"] not in archived or task["id"] in placed or task != kept[task["id"]]:
                    continue  # the active copy won, or this is not the copy kept
                placed.add(task["id"])
            left.append(task)
        changes[path] = archive_bytes(left) if left else None
    return changes, sorted(both, key=document.natural_key)


def split(doc: Document) -> dict[str, bytes]:
    """Files from a merged keyed set: ended tasks marked archived go to their month's archive file."""
    active: list[dict[str, Any]] = []
    archive: dict[str, list[dict[str, Any]]] = {}
    for task in doc["tasks"]:
        location = task.get(LOCATION)
        clean = {k: v for k, v in task.items() if k != LOCATION}
        if location == ARCHIVED and clean.get("status") in rules.TERMINAL:
            archive.setdefault(rules.archive_path(clean), []).append(clean)
        else:
            active.append(clean)
    out = {rules.ACTIVE_PATH: document.dumps({**doc, "tasks": active})}
    for path, tasks in archive.items():
        out[path] = archive_bytes(tasks)
    return out


def archive_bytes(tasks: list[dict[str, Any]]) -> bytes:
    ordered = sorted(tasks, key=lambda t: (document.natural_key(t["id"]), t["id"]))
    return document.dump_lines(document.canonical_task(t) for t in ordered)


def task_map(doc: Document) -> dict[str, dict[str, Any]]:
    return {t["id"]: {k: v for k, v in t.items() if k != LOCATION} for t in doc["tasks"]}
