"""Crash at every named fail point, then the next command: nothing acknowledged is lost, nothing half-done stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

EXIT = 77
WRITE_POINTS = ["before-write", "after-temp-write", "after-rename", "after-commit"]
SYNC_POINTS = ["before-merge-commit", "after-merge-commit", "after-merge-checkout", "before-push", "after-push"]


def crash(cli: Cli, point: str, *args: str) -> None:
    proc = cli.run(*args, env={"GITTASKS_FAILPOINT": point})
    assert proc.returncode == EXIT, f"fail point {point} was not reached by {args}: {proc.stderr}"


def assert_healthy(cli: Cli, acknowledged: set[str]) -> dict[str, dict[str, object]]:
    """After a crash: the next command works, acknowledged tasks are all there, the repository is not mid-anything."""
    listed = {t["subject"]: t for t in cli.json("list")}
    missing = acknowledged - set(listed)
    assert not missing, f"acknowledged tasks lost: {missing}"
    assert cli.ok("validate") == ""
    assert git(cli.root, "status", "--porcelain", "--", ".claude") == "", "task files left uncommitted"
    git_dir = cli.root / ".git"
    for leftover in ("MERGE_HEAD", "index.lock", "rebase-merge", "CHERRY_PICK_HEAD"):
        assert not (git_dir / leftover).exists(), f"{leftover} left behind"
    return listed


@pytest.mark.parametrize("point", WRITE_POINTS)
def test_crash_during_a_change(make_repo: MakeRepo, point: str) -> None:
    cli = init_repo(make_repo())
    acknowledged = {cli.create(f"kept {i}") and f"kept {i}" for i in range(3)}
    head = cli.head()
    crash(cli, point, "create", "in flight")
    listed = assert_healthy(cli, acknowledged)
    if "in flight" in listed:  # fully present: in a commit of its own
        assert "in flight" in git(cli.root, "show", "HEAD:" + ACTIVE)
    else:
        assert cli.head() == head
    cli.create("after the crash")
    assert not list((cli.root / ".claude").glob(".*gittasks-tmp*")), "temp file left after the next write"


def test_crash_after_git_add_of_a_new_file(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo())
    tid = cli.create("Billable", "--client", "Acme")
    cli.ok("start", tid)
    crash(cli, "after-git-add", "done", tid, "--minutes", "15")
    assert_healthy(cli, {"Billable"})
    status = cli.task(tid)["status"]
    items = list((cli.root / ".claude/tasks/work-items").glob("*.jsonl"))
    # all or nothing: completed with its work item committed, or still in progress with none
    assert (status == "completed") == bool(items), (status, items)
    if items:
        assert git(cli.root, "ls-files", "--", ".claude/tasks/work-items") != ""


@pytest.mark.parametrize("point", SYNC_POINTS)
def test_crash_during_sync_then_sync_again(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, point: str) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    a.create("from A")
    b.create("from B")
    a.ok("sync")
    crash(b, point, "sync")
    b.ok("sync")
    a.ok("sync")
    for cli in (a, b):
        assert_healthy(cli, {"from A", "from B"})
    assert (a.root / ACTIVE).read_bytes() == (b.root / ACTIVE).read_bytes()


def test_stale_index_lock_is_named_and_removed_only_by_doctor(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo())
    cli.create("before")
    lock = cli.root / ".git" / "index.lock"
    lock.write_text("")
    err = cli.fail("create", "blocked by git's lock", env={"GITTASKS_LOCK_RETRIES": "2"})
    assert "index.lock" in err and "doctor" in err
    assert lock.exists(), "a command must never delete git's index.lock"
    proc = cli.run("doctor", "--fix", env={"GITTASKS_STALE_LOCK_SECONDS": "3600"})
    assert lock.exists(), "a young lock is not removed"
    assert "index.lock" in proc.stdout
    cli.ok("doctor", "--fix", env={"GITTASKS_STALE_LOCK_SECONDS": "0"})
    assert not lock.exists()
    cli.create("after")


def test_unwritable_folder_gives_a_clear_error(make_repo: MakeRepo, tmp_path: Path) -> None:
    cli = init_repo(make_repo())
    cli.create("keep me")
    raw = (cli.root / ACTIVE).read_bytes()
    head = cli.head()
    # a file where the temp file's folder should be: the write fails whoever runs the test (root included)
    claude = cli.root / ".claude"
    moved = tmp_path / "moved-claude"
    claude.rename(moved)
    claude.write_text("not a folder")
    err = cli.fail("create", "new")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    claude.unlink()
    moved.rename(claude)
    assert (cli.root / ACTIVE).read_bytes() == raw
    assert cli.head() == head
    assert json.loads(raw)["tasks"][0]["subject"] == "keep me"
