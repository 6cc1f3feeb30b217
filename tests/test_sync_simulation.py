"""A randomized simulation: several replicas of one task list make random changes and sync in random order.

After final syncs every replica must hold identical files, every task created and never deleted must be present,
and blocks/blockedBy must be symmetric. Failures print the seed and the operation log.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from helpers import git

from gittasks import edits, model, rules, schema, sync
from gittasks.errors import GittasksError
from gittasks.init import init
from gittasks.model import NewTask
from gittasks.workspace import Workspace


def make_replicas(tmp_path: Path, count: int) -> list[Workspace]:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    first_path = tmp_path / "r0"
    first_path.mkdir()
    git(first_path, "init", "-q", "-b", "main")
    git(first_path, "config", "gittasks.machine", "R0")
    first, _ = init(first_path, str(remote))
    sync.sync(first)
    replicas = [first]
    for n in range(1, count):
        path = tmp_path / f"r{n}"
        git(tmp_path, "clone", "-q", str(remote), str(path))
        git(path, "config", "gittasks.machine", f"R{n}")
        replicas.append(Workspace.open(path))
    return replicas


def add_file(doc: dict[str, Any], task_id: str, name: str, change: model.Change) -> None:
    """An agent's file appended to a task's context.files_modified (as an orchestrator records it)."""
    task = model.task_index(doc)[task_id]
    files = list((task.get("context") or {}).get("files_modified") or [])
    if name not in files:
        edits.set_keys(doc, task_id, {"files_modified": [*files, name]}, change, "context")


def random_op(
    rng: random.Random,
    ws: Workspace,
    created: set[str],
    deleted: set[str],
    log: list[str],
    files: dict[str, set[str]] | None = None,
) -> None:
    doc = ws.load()
    ids = [t["id"] for t in doc["tasks"]]
    op = rng.choice(["create", "create", "update", "start", "done", "block", "dep", "undep", "delete", "sync", "sync",
                     "file", "file"])  # fmt: skip
    if not ids and op not in ("create", "sync"):
        op = "create"
    target: str = rng.choice(ids) if ids else ""
    log.append(f"{ws.machine}: {op} {target or ''}")
    try:
        if op == "create":
            out = ws.change("create", lambda d, c: model.create_task(d, c, NewTask(f"t{len(created)}")))
            created.add(out.value["id"])
        elif op == "update":
            field = rng.choice(["subject", "owner", "description"])
            ws.change("update", lambda d, c: edits.set_fields(d, target, {field: f"{field}-{rng.random():.4f}"}, c))
        elif op in ("start", "done", "block"):
            status = {"start": rules.IN_PROGRESS, "done": rules.COMPLETED, "block": rules.BLOCKED}[op]
            ws.change(op, lambda d, c: model.set_status(d, target, status, c, reason="r"))
        elif op in ("dep", "undep") and len(ids) >= 2:
            other = rng.choice([i for i in ids if i != target])
            fn = model.add_dependency if op == "dep" else model.remove_dependency
            ws.change("update", lambda d, c: fn(d, other, target, c))
        elif op == "delete":
            ws.change("delete", lambda d, c: model.delete_task(d, target, c))
            deleted.add(target)
        elif op == "file":
            name = f"{ws.machine}-{len(log)}.py"
            ws.change("update", lambda d, c: add_file(d, target, name, c))
            if files is not None:
                files.setdefault(target, set()).add(name)
        elif op == "sync":
            sync.sync(ws)
    except GittasksError as exc:
        log.append(f"    refused: {exc}")


def check_symmetric(doc: dict[str, Any]) -> None:
    index = {t["id"]: t for t in doc["tasks"]}
    for task in doc["tasks"]:
        for other in task.get("blocks", []):
            if other in index:
                assert task["id"] in index[other].get("blockedBy", []), f"{task['id']} blocks {other}: one-sided"
        for other in task.get("blockedBy", []):
            if other in index:
                assert task["id"] in index[other].get("blocks", []), f"{task['id']} blockedBy {other}: one-sided"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_replicas_converge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.delenv("GITTASKS_MACHINE")
    rng = random.Random(seed)
    replicas = make_replicas(tmp_path, 3 + seed % 3)
    created: set[str] = set()
    deleted: set[str] = set()
    log: list[str] = []
    added_files: dict[str, set[str]] = {}
    for _ in range(120):
        random_op(rng, rng.choice(replicas), created, deleted, log, added_files)
    for _ in range(2):
        for ws in replicas:
            sync.sync(ws)
    context = f"seed {seed}; last operations:\n" + "\n".join(log[-40:])
    files = [(ws.repo.root / rules.ACTIVE_PATH).read_bytes() for ws in replicas]
    assert all(f == files[0] for f in files), "replicas did not converge; " + context
    doc = replicas[0].load()
    present = {t["id"] for t in doc["tasks"]}
    missing = created - deleted - present
    assert not missing, f"tasks lost: {sorted(missing)}; " + context
    for task in doc["tasks"]:  # every file any replica appended is there: lists in context merge without loss
        if task["id"] in deleted:
            continue  # a task deleted somewhere comes back as the copy an edit kept, with that copy's files
        kept = set((task.get("context") or {}).get("files_modified") or [])
        assert added_files.get(task["id"], set()) <= kept, f"files lost in {task['id']}; " + context
    check_symmetric(doc)
    schema.validate_full(doc, rules.ACTIVE_PATH)
    for ws in replicas:
        assert git(ws.repo.root, "status", "--porcelain") == "", context
