"""Plain git before gittasks is set up in a clone: line merges of task files, their repair, arming, validate."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, call_gittasks, git, init_repo


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def edit_by_hand(root: Path, change: dict[str, object], *, task: str, stamp: str, message: str) -> None:
    """What an assistant or an editor does: rewrite the JSON file directly, then commit with plain git."""
    path = root / ACTIVE
    doc = json.loads(path.read_text())
    for item in doc["tasks"]:
        if item["id"] == task:
            item.update(change)
            item["updated_at"] = stamp
    doc["last_updated"] = stamp
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    git(root, "commit", "-qam", message)


@pytest.fixture
def setup(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path) -> tuple[Cli, Path, str]:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Shared task")
    a.create("Other task")
    a.ok("sync")
    b_root = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare_remote), str(b_root))
    assert git(b_root, "config", "--get", "merge.gittasks.driver", check=False) == ""
    return a, b_root, tid


def diverge(a: Cli, b_root: Path, tid: str) -> None:
    a.ok("update", tid, "--owner", "alice", "-d", "first paragraph\n\nsecond paragraph\n")
    a.ok("sync")
    edit_by_hand(b_root, {"subject": "Shared task (renamed on B)"}, task=tid, stamp=now_stamp(),
                 message="hand edit on B")  # fmt: skip


def assert_merged(root: Path, tid: str) -> None:
    doc = json.loads((root / ACTIVE).read_text())
    task = next(t for t in doc["tasks"] if t["id"] == tid)
    assert task["owner"] == "alice"
    assert task["subject"] == "Shared task (renamed on B)"
    assert task["description"] == "first paragraph\n\nsecond paragraph\n"
    assert len(doc["tasks"]) == 2
    assert git(root, "ls-files", "-u") == ""
    assert not (root / ".git" / "MERGE_HEAD").exists()
    assert not (root / ".git" / "rebase-merge").exists()


@pytest.mark.parametrize("how", ["merge", "rebase"])
def test_line_merged_pull_then_sync_repairs_and_finishes(setup: tuple[Cli, Path, str], how: str) -> None:
    a, b_root, tid = setup
    diverge(a, b_root, tid)
    pull = subprocess.run(["git", "pull", "-q", f"--{'no-rebase' if how == 'merge' else 'rebase'}"], cwd=b_root,
                          capture_output=True, text=True)  # fmt: skip
    assert pull.returncode != 0, "expected a line-merge conflict without the driver"
    assert "<<<<<<<" in (b_root / ACTIVE).read_text()
    b = Cli(b_root, "WS-B")
    err = b.fail("list")
    assert "doctor --fix" in err
    b.ok("sync")
    assert_merged(b_root, tid)
    a.ok("sync")
    assert (a.root / ACTIVE).read_bytes() == (b_root / ACTIVE).read_bytes()


def test_cherry_pick_and_stash_pop(setup: tuple[Cli, Path, str]) -> None:
    a, b_root, tid = setup
    a.ok("update", tid, "--owner", "alice")
    a.ok("sync")
    git(b_root, "fetch", "-q")
    edit_by_hand(b_root, {"subject": "renamed"}, task=tid, stamp=now_stamp(), message="B edit")
    pick = subprocess.run(["git", "cherry-pick", "origin/main"], cwd=b_root, capture_output=True, text=True)
    assert pick.returncode != 0
    b = Cli(b_root, "WS-B")
    b.ok("sync")
    task = b.task(tid)
    assert task["owner"] == "alice" and task["subject"] == "renamed"
    assert not (b_root / ".git" / "CHERRY_PICK_HEAD").exists()
    # stash pop onto a changed file, in a clone whose config lacks the driver again
    git(b_root, "config", "--remove-section", "merge.gittasks")
    doc = b.doc()
    doc["tasks"][0]["activeForm"] = "stashed edit"
    doc["tasks"][0]["updated_at"] = doc["last_updated"] = now_stamp()
    (b_root / ACTIVE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    git(b_root, "stash", "-q")
    edit_by_hand(b_root, {"owner": "zed"}, task=doc["tasks"][0]["id"], stamp=now_stamp(),
                 message="meanwhile")  # fmt: skip
    pop = subprocess.run(["git", "stash", "pop"], cwd=b_root, capture_output=True, text=True)
    assert pop.returncode != 0
    b.ok("doctor", "--fix")
    assert git(b_root, "ls-files", "-u") == ""
    repaired = b.doc()["tasks"][0]
    assert repaired["activeForm"] == "stashed edit" and repaired["owner"] == "zed"


def test_committed_markers_are_rebuilt_by_doctor_fix(setup: tuple[Cli, Path, str]) -> None:
    a, b_root, tid = setup
    diverge(a, b_root, tid)
    subprocess.run(["git", "pull", "-q", "--no-rebase"], cwd=b_root, capture_output=True)
    git(b_root, "add", ACTIVE)
    git(b_root, "commit", "-q", "--no-edit")
    b = Cli(b_root, "WS-B")
    proc = b.run("doctor")
    assert proc.returncode == 1
    assert "conflict markers" in proc.stdout
    b.ok("doctor", "--fix")
    assert_merged(b_root, tid)
    assert git(b_root, "status", "--porcelain") == ""


def test_first_command_arms_clone_and_plain_pull_then_merges(setup: tuple[Cli, Path, str]) -> None:
    a, b_root, tid = setup
    b = Cli(b_root, "WS-B")
    proc = b.run("list")
    assert proc.returncode == 0
    assert "registered the gittasks merge driver" in proc.stderr
    assert "merge-driver" in git(b_root, "config", "--get", "merge.gittasks.driver")
    assert "registered" not in b.run("list").stderr
    diverge(a, b_root, tid)
    git(b_root, "pull", "-q", "--no-rebase")
    assert_merged(b_root, tid)


VALIDATE_CASES = {
    "markers": (b"<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> x\n", "conflict markers"),
    "json": (b'{"tasks": [', "not valid JSON"),
    "shape": (b'{"todo": []}', "no 'tasks' list"),
    "duplicate": (b'{"tasks": [{"id": "a", "subject": "x"}, {"id": "a", "subject": "y"}]}', "duplicate id"),
    "one_sided": (
        b'{"tasks": [{"id": "a", "subject": "x", "blocks": ["b"]}, {"id": "b", "subject": "y"}]}',
        "one-sided",
    ),
    "dangling": (b'{"tasks": [{"id": "a", "subject": "x", "blockedBy": ["zz"]}]}', "unknown task 'zz'"),
    "type": (b'{"tasks": [{"id": "a", "subject": "x", "status": "finished"}]}', "status"),
}


@pytest.mark.parametrize("kind", sorted(VALIDATE_CASES))
def test_validate_each_kind_of_bad_file(tmp_path: Path, kind: str) -> None:
    raw, expected = VALIDATE_CASES[kind]
    path = tmp_path / "active-tasks.json"
    path.write_bytes(raw)
    proc = call_gittasks(tmp_path, "validate", str(path))
    assert proc.returncode == 1
    assert expected in proc.stdout
    assert "Traceback" not in proc.stderr


def test_validate_good_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "active-tasks.json"
    path.write_text(
        '{"tasks": [{"id": "a", "subject": "x", "blocks": ["b"]}, {"id": "b", "subject": "y", "blockedBy": ["a"]}]}'
    )
    proc = call_gittasks(tmp_path, "validate", str(path))
    assert proc.returncode == 0, proc.stdout


def test_pre_commit_hook_config_is_valid() -> None:
    import yaml  # type: ignore[import-untyped]

    root = Path(__file__).resolve().parent.parent
    hooks = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "gittasks-validate")
    assert hook["entry"] == "gittasks validate"
    assert hook["language"] == "python"
    import re

    assert re.search(hook["files"], ".claude/active-tasks.json")
    assert re.search(hook["files"], ".claude/tasks/archive/2026-01.jsonl")
    assert not re.search(hook["files"], "src/app.json")


PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")


@pytest.mark.skipif(PRE_COMMIT is None, reason="the pre-commit framework is not installed")
def test_pre_commit_framework_runs_the_hook(make_repo: MakeRepo) -> None:
    root = Path(__file__).resolve().parent.parent
    repo = make_repo()
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: gittasks-validate\n    name: v\n"
        f"    entry: {sys.executable} -m gittasks validate\n    language: system\n    files: ^\\.claude/\n"
    )
    (repo / ".claude").mkdir()
    (repo / ACTIVE).write_text('{"tasks": [')
    git(repo, "add", "-A")
    proc = subprocess.run([str(PRE_COMMIT), "run", "--all-files"], cwd=repo, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(root)})  # fmt: skip
    assert proc.returncode != 0
    assert "not valid JSON" in proc.stdout


def test_clean_line_merge_with_duplicate_ids_is_rebuilt(setup: tuple[Cli, Path, str]) -> None:
    a, b_root, tid = setup
    diverge(a, b_root, tid)
    git(b_root, "fetch", "-q")
    subprocess.run(["git", "merge", "--no-commit", "-q", "origin/main"], cwd=b_root, capture_output=True)
    # what a "clean" line merge can produce: both versions of the task, one after the other
    ours = json.loads(git(b_root, "show", f"HEAD:{ACTIVE}"))
    theirs = json.loads(git(b_root, "show", f"origin/main:{ACTIVE}"))
    ours["tasks"] += [t for t in theirs["tasks"] if t["id"] == tid]
    (b_root / ACTIVE).write_text(json.dumps(ours, indent=2, sort_keys=True) + "\n")
    git(b_root, "add", ACTIVE)
    git(b_root, "commit", "-q", "--no-edit")
    b = Cli(b_root, "WS-B")
    proc = b.run("doctor")
    assert proc.returncode == 1 and "doctor --fix" in proc.stdout
    b.ok("doctor", "--fix")
    assert_merged(b_root, tid)
