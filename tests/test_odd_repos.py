"""Odd repositories and files: task files linked out of the repository, an ignored `.claude/`, a merge driver whose
program is gone, and `doctor --fix` after a line-merged pull. Both layouts where the case applies."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

SECRET = "SECRET-from-outside-the-repository"
STALE_DRIVER = "/nonexistent/venv/bin/python3 -m gittasks merge-driver %O %A %B %P"


def test_an_ignored_claude_folder_still_holds_the_task_files(make_repo: MakeRepo, inline: bool) -> None:
    root = make_repo()
    (root / ".gitignore").write_text(".claude/\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-qm", "ignore .claude")
    cli = init_repo(root, inline=inline)
    done = cli.create("Task in an ignored folder")
    cli.ok("done", done)
    cli.ok("archive", "--older-than", "0d")
    cli.create("Still active")
    rev = "HEAD" if inline else "gittasks"
    files = git(root, "ls-tree", "-r", "--name-only", rev).splitlines()
    assert ACTIVE in files and any(f.startswith(".claude/tasks/archive/") for f in files), files
    assert [t["subject"] for t in cli.json("list")] == ["Still active"]
    assert git(root, "status", "--porcelain") == ""
    assert "Task in an ignored folder" in cli.ok("list", "--all")


def test_a_merge_driver_whose_program_is_gone_is_registered_again(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    cli.create("A task")
    git(cli.root, "config", "merge.gittasks.driver", STALE_DRIVER)
    doctor = cli.run("doctor")
    assert doctor.returncode == 1
    assert "PROBLEM  the registered merge driver does not run" in doctor.stdout and STALE_DRIVER in doctor.stdout
    assert git(cli.root, "config", "merge.gittasks.driver") == STALE_DRIVER  # doctor without --fix changes nothing
    proc = cli.run("list")
    assert proc.returncode == 0 and "registered the gittasks merge driver again" in proc.stderr
    registered = git(cli.root, "config", "merge.gittasks.driver")
    assert registered.startswith(Path(sys.executable).as_posix()) and registered.endswith("%O %A %B %P")
    assert "registered" not in cli.run("list").stderr  # once
    assert "ok       merge driver registered" in cli.ok("doctor")


def test_a_plain_pull_after_the_driver_was_registered_again_merges_field_by_field(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path
) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Shared task")
    a.ok("sync")
    b_root = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare_remote), str(b_root))
    git(b_root, "config", "merge.gittasks.name", "gittasks")
    git(b_root, "config", "merge.gittasks.driver", STALE_DRIVER)  # gittasks was installed elsewhere then
    b = Cli(b_root, "WS-B")
    b.ok("list")  # an ordinary command notices
    a.ok("update", tid, "--owner", "alice")
    a.ok("sync")
    b.ok("update", tid, "--subject", "renamed on B")
    git(b_root, "pull", "-q", "--no-rebase")
    task = b.task(tid)
    assert task["owner"] == "alice" and task["subject"] == "renamed on B"


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.mark.parametrize("how", ["doctor --fix", "sync"])
def test_doctor_fix_finishes_a_line_merged_pull_as_sync_does(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, how: str
) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Shared task")
    a.ok("sync")
    b_root = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare_remote), str(b_root))  # no gittasks command yet: no driver
    a.ok("update", tid, "--owner", "alice")
    a.ok("sync")
    path = b_root / ACTIVE
    doc = json.loads(path.read_text())
    doc["tasks"][0].update(subject="renamed on B", updated_at=now_stamp())
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    git(b_root, "commit", "-qam", "hand edit on B")
    pull = subprocess.run(["git", "pull", "-q", "--no-rebase"], cwd=b_root, capture_output=True, text=True)
    assert pull.returncode != 0 and "<<<<<<<" in path.read_text()
    b = Cli(b_root, "WS-B")
    out = b.ok(*how.split())
    assert "finished the merge" in out, out
    assert not (b_root / ".git" / "MERGE_HEAD").exists() and git(b_root, "ls-files", "-u") == ""
    assert len(git(b_root, "rev-list", "--parents", "-n", "1", "HEAD").split()) == 3  # the merge commit
    b.create("Made after the repair")  # no "a merge is in progress"
    task = b.task(tid)
    assert task["owner"] == "alice" and task["subject"] == "renamed on B"
    assert git(b_root, "status", "--porcelain") == ""


def test_doctor_fix_leaves_a_merge_with_other_conflicts_to_the_user(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path
) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    (a.root / "code.txt").write_text("base\n")
    git(a.root, "add", "code.txt")
    git(a.root, "commit", "-qm", "code")
    tid = a.create("Shared task")
    a.ok("sync")
    b_root = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare_remote), str(b_root))
    a.ok("update", tid, "--owner", "alice")
    (a.root / "code.txt").write_text("from A\n")
    git(a.root, "commit", "-qam", "A's code")
    a.ok("sync")
    doc = json.loads((b_root / ACTIVE).read_text())
    doc["tasks"][0].update(subject="renamed on B", updated_at=now_stamp())
    (b_root / ACTIVE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    (b_root / "code.txt").write_text("from B\n")
    git(b_root, "commit", "-qam", "B's edits")
    assert subprocess.run(["git", "pull", "-q", "--no-rebase"], cwd=b_root, capture_output=True).returncode != 0
    out = Cli(b_root, "WS-B").ok("doctor", "--fix")
    assert "still unmerged (not task files): code.txt" in out
    assert (b_root / ".git" / "MERGE_HEAD").exists() and git(b_root, "ls-files", "-u", "--", ACTIVE) == ""


def history(root: Path) -> str:
    """Every commit of every ref with its patch: what the repository would ever push."""
    return git(root, "log", "--all", "-p", "--format=%H %s")


def outside_list(folder: Path) -> Path:
    """A valid task file outside the repository, as a link would find it."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"last_updated": "2026-01-01T00:00:00.000Z", "tasks": [{"id": "zzz999", "subject": SECRET,
           "status": "pending", "created_at": "2026-01-01T00:00:00.000Z",
           "updated_at": "2026-01-01T00:00:00.000Z"}]}  # fmt: skip
    path = folder / "active-tasks.json"
    path.write_text(json.dumps(doc))
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("kind", ["file", "folder", "archive", "committed"])
def test_a_task_file_linked_out_of_the_repository_is_never_read_nor_written(
    make_repo: MakeRepo, tmp_path: Path, inline: bool, kind: str
) -> None:
    cli = init_repo(make_repo(), inline=inline)
    mine = cli.create("My own task")
    outside = outside_list(tmp_path / "elsewhere")
    before = outside.read_bytes()
    if kind == "folder":
        shutil.rmtree(cli.root / ".claude")
        (cli.root / ".claude").symlink_to(outside.parent)
        linked, outside = ".claude", outside.parent
    elif kind == "archive":
        outside = outside.with_name("2026-01.jsonl")
        outside.write_text(json.dumps({"id": "zzz998", "subject": SECRET, "status": "completed"}) + "\n")
        before = outside.read_bytes()
        linked = ".claude/tasks/archive/2026-01.jsonl"
        (cli.root / linked).parent.mkdir(parents=True, exist_ok=True)
        (cli.root / linked).symlink_to(outside)
    else:
        (cli.root / ACTIVE).unlink()
        (cli.root / ACTIVE).symlink_to(outside)
        linked = ACTIVE
    if kind == "committed":  # as a cloned repository can ship it
        git(cli.root, "add", "-f", ACTIVE)
        git(cli.root, "commit", "-qm", "a link")
    commits = history(cli.root)
    for args in (["list"], ["show", "zzz"], ["create", "Another"], ["update", mine, "--owner", "x"], ["sync"]):
        line = one_line(cli.fail(*args))
        assert f"{linked} is a symbolic link to {outside}" in line, line
        assert "outside the repository" in line and SECRET not in line
    doctor = cli.run("doctor")
    assert doctor.returncode == 1 and f"PROBLEM  {linked} is a symbolic link" in doctor.stdout
    assert SECRET not in doctor.stdout + doctor.stderr
    validate = cli.run("validate")
    assert validate.returncode == 1 and f"{linked} is a symbolic link" in validate.stdout
    assert history(cli.root) == commits and SECRET not in commits  # nothing committed, nothing read into git
    assert (cli.root / linked).is_symlink()
    assert (outside / "active-tasks.json" if kind == "folder" else outside).read_bytes() == before  # nothing written
    # the fix the line names, run as given, brings the list back
    fix = re.findall(r"`([^`]+)`", one_line(cli.fail("list")))
    for command in fix:
        subprocess.run(["sh", "-c", command], cwd=cli.root, check=True, capture_output=True)
    if kind == "committed":
        git(cli.root, "commit", "-qm", "drop the link")
    cli.ok("create", "After the fix")
    subjects = {t["subject"] for t in cli.json("list")}
    assert SECRET not in subjects and "After the fix" in subjects and SECRET not in cli.ok("list", "--all")
    assert ("My own task" in subjects) is (not inline or kind != "committed")  # own branch: the list is the branch's
    assert (outside / "active-tasks.json" if kind == "folder" else outside).read_bytes() == before
    assert SECRET not in history(cli.root)
