"""Reading the archive: ended tasks moved out of the active list into `.claude/tasks/archive/YYYY-MM.jsonl`.

Active-list commands never read the archive; only `list --all`, `show`/`log` of an id not in the active list,
`restore` and `archive` itself do, and they read it a line at a time. Moving tasks in and out is
`operations.archive_ended` and `operations.restore`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gittasks import document, ids, rules


def archive_files(root: Path) -> list[Path]:
    folder = root / rules.ARCHIVE_DIR
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def iter_archived(root: Path) -> Iterator[dict[str, Any]]:
    """Every archived task, a line at a time (newest month first)."""
    for path in reversed(archive_files(root)):
        rel = path.relative_to(root).as_posix()
        with open(path, "rb") as handle:
            yield from document.iter_task_lines(handle, rel)


def count(root: Path) -> int:
    """How many tasks the archive holds: its lines that are not blank (one task a line), without parsing them."""
    total = 0
    for path in archive_files(root):
        with open(path, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def estimated_count(root: Path) -> int:
    """About how many tasks the archive holds, from file sizes alone (for sizing new ids without reading it)."""
    return sum(p.stat().st_size for p in archive_files(root)) // 400


def find_archived(root: Path, given: str, *, changing: bool = False) -> dict[str, Any] | None:
    """The archived task with id `given`, else the one archived id it names as `ids.resolve_id` reads it (a prefix,
    any case; `changing`: for a change); None when none matches."""
    prefixed: dict[str, dict[str, Any]] = {}
    for task in iter_archived(root):
        if task["id"] == given:
            return task
        if given and ids.is_prefix(given, task["id"]):
            prefixed[task["id"]] = task
    if not prefixed:
        return None
    return prefixed[ids.resolve_id(prefixed, given, changing=changing)]
