"""Task and document factories for the tests: one place that knows what a plain task looks like.

`task` is a pending task with every field the tool writes; `doc` wraps tasks in a document; `edit` changes one task
as the tool would (bumping `updated_at`/`updated_by` and the document's `last_updated`); `add`/`remove` return
changed copies; `write_tasks` puts a task list into a repository's work-tree file as an editor would.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ACTIVE = ".claude/active-tasks.json"
T0 = "2026-01-20T10:00:00Z"
DELETE = object()  # as a value in `edit`: remove the field


def task(task_id: str, **fields: Any) -> dict[str, Any]:
    """A pending task created and last changed at T0 on 'base-pc'; `fields` override or add fields."""
    out: dict[str, Any] = {
        "id": task_id,
        "subject": f"Task {task_id}",
        "description": "",
        "status": "pending",
        "owner": None,
        "created_at": T0,
        "started_at": None,
        "completed_at": None,
        "updated_at": T0,
        "updated_by": "base-pc",
        "blocks": [],
        "blockedBy": [],
        "metadata": {},
    }
    out.update(fields)
    return out


def doc(*tasks: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"last_updated": T0, "tasks": list(tasks), **top}


def edit(d: dict[str, Any], task_id: str, machine: str, stamp: str, **changes: Any) -> dict[str, Any]:
    """A copy of `d` with one task changed as the tool would change it (updated_at/updated_by bumped)."""
    out = copy.deepcopy(d)
    t = next(t for t in out["tasks"] if t["id"] == task_id)
    for key, value in changes.items():
        if value is DELETE:
            t.pop(key, None)
        else:
            t[key] = value
    t["updated_at"] = stamp
    t["updated_by"] = machine
    out["last_updated"] = max(out.get("last_updated", ""), stamp)
    return out


def add(d: dict[str, Any], *tasks: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(d)
    out["tasks"].extend(copy.deepcopy(list(tasks)))
    return out


def remove(d: dict[str, Any], task_id: str) -> dict[str, Any]:
    out = copy.deepcopy(d)
    out["tasks"] = [t for t in out["tasks"] if t["id"] != task_id]
    return out


def write_tasks(root: Path, tasks: list[dict[str, Any]]) -> None:
    """Replace the task list in `root`'s work-tree task file, keeping its other keys (an editor's write)."""
    path = root / ACTIVE
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    current["tasks"] = tasks
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2), encoding="utf-8")
