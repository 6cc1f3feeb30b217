"""Odd repositories and files: task files linked out of the repository, an ignored `.claude/`, a merge driver whose
program is gone, and `doctor --fix` after a line-merged pull. Both layouts where the case applies."""

from __future__ import annotations

import pytest
from helpers import ACTIVE, git, init_repo

LAYOUTS = pytest.mark.parametrize("inline", [False, True], ids=["own-branch", "inline"])


@LAYOUTS
def test_an_ignored_claude_folder_still_holds_the_task_files(make_repo, inline: bool) -> None:  # type: ignore[no-untyped-def]
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
