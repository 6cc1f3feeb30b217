"""The own-branch layout's bookkeeping: which task files a work tree holds and which task-branch commit they were
last written from.

The record lives in the work tree's own git dir (`gittasks-worktree.json`; linked worktrees each have one) and
holds, per file, a digest of the bytes gittasks wrote with their size and modification time. A file whose size and
time match is taken as unchanged without reading it; any other is read and hashed. So a read that finds the branch
tip equal to the recorded commit and every file as recorded starts no git process at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from gittasks import rules, store
from gittasks.git import Repo

RECORD_FILE = "gittasks-worktree.json"
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
DEFAULT_BRANCH = "gittasks"
EXCLUDE_LINES = (f"/{rules.ACTIVE_PATH}", f"/{rules.ARCHIVE_DIR}/", f"/{rules.WORK_ITEMS_DIR}/")
EXCLUDE_COMMENT = "# gittasks: the task files live on their own branch (git log gittasks)"


def is_task_path(rel: str) -> bool:
    """One of the files gittasks keeps: the active list, an archive month, a work-item month."""
    if rel == rules.ACTIVE_PATH:
        return True
    return (
        rel.endswith(".jsonl")
        and rel.count("/") == 3
        and rel.startswith((rules.ARCHIVE_DIR + "/", rules.WORK_ITEMS_DIR + "/"))
    )


def files_at(repo: Repo, rev: str | None, keep: bool = True) -> dict[str, bytes]:
    """{path: bytes} of every task file in the commit `rev` (empty for None); with `keep`, a commit's files are read
    once per process (sync and the bring-in read the same few commits; history reads many once each)."""
    if rev is None:
        return {}
    cache: dict[str, dict[str, bytes]] = repo.cache.setdefault("task-files", {})
    if rev not in cache:
        paths = [p for p in repo.paths_at(rev, (rules.ACTIVE_PATH, rules.TASKS_DIR)) if is_task_path(p)]
        files = repo.files_at(rev, paths)
        if not keep or not _SHA.fullmatch(rev):
            return files
        cache[rev] = files
    return dict(cache[rev])


def digest(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


@dataclass
class WorktreeRecord:
    """What this work tree's task files were last written from."""

    branch: str
    commit: str | None
    files: dict[str, list[object]] = field(default_factory=dict)  # rel -> [digest, size, mtime_ns]


def load_record(git_dir: Path) -> WorktreeRecord | None:
    try:
        raw = json.loads((git_dir / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("files"), dict):
        return None
    commit = raw.get("commit")
    return WorktreeRecord(
        str(raw.get("branch") or DEFAULT_BRANCH), commit if isinstance(commit, str) else None, raw["files"]
    )


def _entry(root: Path, rel: str, data: bytes, canonical: bool = False) -> list[object]:
    """[digest, size, mtime_ns], and `true` after them when the bytes are the list's canonical form (a change's own
    `document.dumps`): then `list --json` may print the tasks from the bytes (`canonical_active`)."""
    try:
        info = (root / rel).stat()
        entry: list[object] = [digest(data), info.st_size, info.st_mtime_ns]
    except OSError:
        entry = [digest(data), -1, -1]
    return [*entry, True] if canonical else entry


def _write_record(git_dir: Path, branch: str, commit: str | None, entries: dict[str, list[object]]) -> None:
    text = json.dumps({"branch": branch, "commit": commit, "files": entries}, indent=1, sort_keys=True)
    store.write_atomic(git_dir / RECORD_FILE, text.encode("utf-8"))


def save_record(git_dir: Path, root: Path, branch: str, commit: str | None, files: dict[str, bytes]) -> None:
    """Record that the work tree now holds `files` (exactly these bytes) from `commit`."""
    _write_record(git_dir, branch, commit, {rel: _entry(root, rel, data) for rel, data in sorted(files.items())})


def record_written(
    git_dir: Path,
    root: Path,
    previous: WorktreeRecord | None,
    branch: str,
    commit: str,
    written: dict[str, bytes | None],
    canonical: Collection[str] = (),
) -> None:
    """Record that `commit` differs from the recorded one only by `written` (None: removed), which the work tree
    now holds; the other files' entries stay as they were (no need to read them again). `canonical`: the paths
    written in their canonical form."""
    entries = dict(previous.files) if previous is not None else {}
    for rel, data in written.items():
        if data is None:
            entries.pop(rel, None)
        else:
            entries[rel] = _entry(root, rel, data, rel in canonical)
    _write_record(git_dir, branch, commit, entries)


def worktree_paths(root: Path) -> list[str]:
    """The task files present in the work tree."""
    found = []
    if (root / rules.ACTIVE_PATH).is_file():
        found.append(rules.ACTIVE_PATH)
    for folder in (rules.ARCHIVE_DIR, rules.WORK_ITEMS_DIR):
        with contextlib.suppress(OSError):
            found += sorted(f"{folder}/{name}" for name in os.listdir(root / folder) if name.endswith(".jsonl"))
    return found


def read_worktree(root: Path) -> dict[str, bytes]:
    files = {}
    for rel in worktree_paths(root):
        data = store.read_bytes(root / rel)
        if data is not None:
            files[rel] = data
    return files


def unchanged(root: Path, record: WorktreeRecord) -> bool:
    """Does the work tree hold exactly the files `record` lists (nothing missing, added or changed)?"""
    present = worktree_paths(root)
    if sorted(present) != sorted(record.files):
        return False
    for rel in present:
        entry = record.files[rel]
        try:
            info = (root / rel).stat()
        except OSError:
            return False
        if len(entry) >= 3 and entry[1] == info.st_size and entry[2] == info.st_mtime_ns and rel != rules.ACTIVE_PATH:
            continue
        data = store.read_bytes(root / rel)
        if data is None or digest(data) != entry[0]:
            return False
    return True


def canonical_active(root: Path, record: WorktreeRecord) -> bytes | None:
    """The work-tree copy of the active list when its record says a change wrote it in canonical form and it still
    holds exactly those bytes; else None."""
    entry = record.files.get(rules.ACTIVE_PATH)
    if not entry or len(entry) < 4 or entry[3] is not True:
        return None
    data = store.read_bytes(root / rules.ACTIVE_PATH)
    return data if data is not None and digest(data) == entry[0] else None


def with_lines(text: str, lines: tuple[str, ...], comment: str | None = None) -> str | None:
    """`text` (a line-based file such as `.gitattributes` or `info/exclude`) with the `lines` it lacks appended,
    after `comment`; None when none is missing."""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line not in present]
    if not missing:
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "\n".join([*([comment] if comment else []), *missing]) + "\n"


def ensure_excluded(common_dir: Path) -> bool:
    """Add the task files to the repository's `info/exclude` (local, never committed); True when it wrote."""
    path = common_dir / "info" / "exclude"
    text = with_lines((store.read_bytes(path) or b"").decode("utf-8", "replace"), EXCLUDE_LINES, EXCLUDE_COMMENT)
    if text is None:
        return False
    store.write_atomic(path, text.encode("utf-8"))
    return True
