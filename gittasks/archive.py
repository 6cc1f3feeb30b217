"""Reading the archive: ended tasks moved out of the active list into `.claude/tasks/archive/YYYY-MM.jsonl`.

Active-list commands never read the archive; only `list --all`, `show`/`log` of an id not in the active list,
`restore` and `archive` itself do, and they read it a line at a time. Moving tasks in and out is
`operations.archive_ended` and `operations.restore`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gittasks import document, rules
from gittasks.errors import AmbiguousId


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


def find_archived(root: Path, given: str) -> dict[str, Any] | None:
    """The archived task with id `given` (or the unique archived id starting with it)."""
    exact = None
    prefixed: list[dict[str, Any]] = []
    for task in iter_archived(root):
        if task["id"] == given:
            exact = task
            break
        if task["id"].startswith(given):
            prefixed.append(task)
    if exact is not None:
        return exact
    if len(prefixed) > 1:
        shown = ", ".join(sorted(t["id"] for t in prefixed)[:10])
        raise AmbiguousId(f"id prefix {given!r} is ambiguous in the archive: {shown}; give more characters")
    return prefixed[0] if prefixed else None
