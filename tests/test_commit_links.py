"""Code commits tied to their tasks: the `link-commits` hook (chained with the repository's own hooks, the pre-commit
framework's and a `core.hooksPath` folder; never stopping a commit; removed exactly), the commits read back by
`log ID` and `show ID` on any branch and machine, and a task's history exported as Markdown."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, MakeRepo, SilentRemote, call_hook, git, init_repo, run_gittasks
from test_billing import backdate, hook_create, hook_update

from gittasks import activity, commit_links, gitfiles, task_commits, trailers
from gittasks.git import find_repo
from gittasks.workspace import Workspace

GITTASKS = f"{sys.executable} -m gittasks"  # how the hook finds this gittasks (the launcher reads $GITTASKS)
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
HOOK = ".git/hooks/prepare-commit-msg"


@pytest.fixture(autouse=True)
def found_by_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITTASKS", GITTASKS)
    monkeypatch.delenv(commit_links.SESSION_VARIABLE, raising=False)


def code_repo(make_repo: MakeRepo, inline: bool = False, machine: str = "test-machine") -> Cli:
    root = make_repo()
    git(root, "commit", "-q", "--allow-empty", "-m", "init")
    return init_repo(root, machine, inline=inline)


def commit(root: Path, subject: str, *args: str, env: dict[str, str] | None = None) -> str:
    """A code commit of a changed file; its hash."""
    path = root / "code.txt"
    path.write_text((path.read_text() if path.exists() else "") + f"{subject}\n")
    git(root, "add", "code.txt")
    git(root, "commit", "-q", "-m", subject, *args, env=env)
    return git(root, "rev-parse", "HEAD")


def named(root: Path, rev: str = "HEAD") -> list[str]:
    """The `Task:` trailers of a commit, as git reads them."""
    out = git(root, "log", "-1", "--format=%(trailers:key=Task,valueonly,separator=%x2C)", rev)
    return [v for v in out.split(",") if v]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a hooks folder: its bytes and mode."""
    return {p.name: (p.read_bytes(), stat.S_IMODE(p.stat().st_mode)) for p in sorted(folder.iterdir()) if p.is_file()}


def write_hook(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


# -- the hook --------------------------------------------------------------------------------------------------------


def test_a_commit_names_the_task_in_progress_here_and_nothing_else(make_repo: MakeRepo, layout: str) -> None:
    cli = code_repo(make_repo, inline=layout == "inline")
    cli.ok("link-commits")
    commit(cli.root, "before any task")
    assert named(cli.root) == []
    tid = cli.create("Fix the parser")
    waiting = cli.create("Not started")
    cli.ok("start", tid)
    commit(cli.root, "parser work")
    assert named(cli.root) == [tid]
    assert waiting not in git(cli.root, "log", "-1", "--format=%B")
    # gittasks' own commits (on the code branch in the inline layout) keep exactly the trailers they write
    cli.ok("update", tid, "--description", "more")
    rev = "HEAD" if layout == "inline" else "gittasks"
    assert named(cli.root, rev) == [tid] and "Action: update" in git(cli.root, "log", "-1", "--format=%B", rev)
    cli.ok("done", tid)
    commit(cli.root, "after it ended")
    assert named(cli.root) == []


def test_a_trailer_written_by_hand_is_kept_and_not_doubled(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    cli.ok("link-commits")
    tid = cli.create("Hand named")
    cli.ok("start", tid)
    commit(cli.root, "by hand", "--trailer", f"Task: {tid[:4].upper()}")  # a prefix, another case: the same task
    assert named(cli.root) == [tid[:4].upper()]
    other = cli.create("Another one")
    commit(cli.root, "names another", "--trailer", f"Task: {other}")
    assert named(cli.root) == [other, tid]  # the hand's trailer stays first; the task in progress is added
    third = cli.create("Started later")
    cli.ok("start", third)
    git(cli.root, "commit", "-q", "--amend", "--no-edit")
    assert named(cli.root) == [other, tid], "an amend of a commit that names a task keeps its naming"


def test_two_tasks_in_progress_give_two_trailers_and_both_logs_list_the_commit(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    cli.ok("link-commits")
    one, two = cli.create("One"), cli.create("Two")
    cli.ok("start", one)
    cli.ok("start", two)
    sha = commit(cli.root, "work for both")
    assert sorted(named(cli.root)) == sorted([one, two])
    for tid in (one, two):
        entries = [e for e in cli.json("log", tid) if e["action"] == "code-commit"]
        assert [(e["commit"], e["branch"], e["subject"], e["author"]) for e in entries] == [
            (sha, "main", "work for both", "Test Author")
        ]
    found = task_commits.commits_for(Workspace.open(cli.root), [one, two])
    assert [c["commit"] for c in found[one]] == [c["commit"] for c in found[two]] == [sha]
    assert sorted(found[one][0]["tasks"]) == sorted([one, two])


def test_the_editor_sees_the_trailer_below_the_line_the_subject_goes_on(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    cli.ok("link-commits")
    tid = cli.create("Edited")
    cli.ok("start", tid)
    editor = cli.root.parent / "editor.py"
    editor.write_text(
        "import sys\nfrom pathlib import Path\np = Path(sys.argv[1])\np.write_text('Typed subject' + p.read_text())\n"
    )
    (cli.root / "code.txt").write_text("x\n")
    git(cli.root, "add", "code.txt")
    git(cli.root, "commit", "-q", "-v", env={"GIT_EDITOR": f"{sys.executable} {editor}"})  # (-v: the diff below)
    assert git(cli.root, "log", "-1", "--format=%s") == "Typed subject"
    assert named(cli.root) == [tid]


def test_a_claude_code_session_names_its_own_tasks(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    cli.ok("link-commits")
    mine = cli.create("Started by hand")
    cli.ok("start", mine)
    base = {"hook_event_name": "PostToolUse", "cwd": str(cli.root)}
    for session, native, subject in (("S1", "1", "Session one's"), ("S2", "1", "Session two's")):
        create = {**base, "session_id": session, "tool_name": "TaskCreate",
                  "tool_input": {"subject": subject, "description": "d"},
                  "tool_response": {"task": {"id": native, "subject": subject}}}  # fmt: skip
        start = {**base, "session_id": session, "tool_name": "TaskUpdate",
                 "tool_input": {"taskId": native, "status": "in_progress"},
                 "tool_response": {"success": True, "taskId": native, "updatedFields": ["status"]}}  # fmt: skip
        for payload in (create, start):
            assert call_hook(cli.root, "capture", payload).returncode == 0
    ids = {t["subject"]: t["id"] for t in cli.json("list")}
    commit(cli.root, "in session one", env={commit_links.SESSION_VARIABLE: "S1"})
    assert named(cli.root) == [ids["Session one's"]]
    commit(cli.root, "in a session holding nothing", env={commit_links.SESSION_VARIABLE: "S3"})
    assert named(cli.root) == [mine], "the tasks held here by no session"
    commit(cli.root, "at the terminal")
    assert sorted(named(cli.root)) == sorted(ids.values())


def test_a_task_held_by_another_machine_is_not_named(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    cli.ok("link-commits")
    tid = cli.create("Elsewhere")
    cli.ok("start", tid)
    commit(cli.root, "on another machine", env={"GITTASKS_MACHINE": "PC-B"})
    assert named(cli.root) == []


# -- chained with the repository's own hooks ---------------------------------------------------------------------


def test_chained_with_an_existing_hook_which_still_runs_and_comes_back_byte_for_byte(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    marker = cli.root.parent / "marker"
    own = cli.root / HOOK
    write_hook(own, f'echo "$2" >> "{marker}"\nprintf "\\nReviewed-by: hook\\n" >> "$1"\n')
    before = snapshot(own.parent)
    out = cli.ok("link-commits")
    assert "kept your prepare-commit-msg hook" in out
    tid = cli.create("Chained")
    cli.ok("start", tid)
    commit(cli.root, "both hooks")
    assert marker.read_text() == "message\n", "the repository's hook ran, with git's arguments"
    body = git(cli.root, "log", "-1", "--format=%B")
    assert "Reviewed-by: hook" in body and named(cli.root) == [tid]
    assert "installed already" in cli.ok("link-commits")  # idempotent: the kept hook is not overwritten
    cli.ok("link-commits", "--remove")
    assert snapshot(own.parent) == before
    commit(cli.root, "only the repository's hook")
    assert named(cli.root) == [] and marker.read_text() == "message\nmessage\n"


def test_the_repositorys_own_hook_still_decides(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    write_hook(cli.root / HOOK, 'echo "refused by the project" >&2\nexit 1\n')
    cli.ok("link-commits")
    (cli.root / "code.txt").write_text("x\n")
    git(cli.root, "add", "code.txt")
    proc = subprocess.run(["git", "commit", "-q", "-m", "nope"], cwd=cli.root, capture_output=True, text=True)
    assert proc.returncode != 0 and "refused by the project" in proc.stderr


def test_removal_without_a_hook_of_its_own_leaves_the_folder_as_it_was(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    folder = cli.root / ".git" / "hooks"
    before = snapshot(folder)
    assert "`gittasks link-commits` installs the commit hook" in cli.ok("doctor")
    cli.ok("link-commits")
    assert (folder / "prepare-commit-msg").exists()
    assert "ok       code commits name the tasks in progress here" in cli.ok("doctor")
    cli.ok("link-commits", "--remove")
    assert snapshot(folder) == before
    assert "nothing to remove" in cli.ok("link-commits", "--remove")


def test_core_hooks_path_outside_the_repository(make_repo: MakeRepo, tmp_path: Path) -> None:
    cli = code_repo(make_repo)
    folder = tmp_path / "team-hooks"
    marker = tmp_path / "ran"
    write_hook(folder / "prepare-commit-msg", f'touch "{marker}"\n')
    write_hook(folder / "pre-commit", "exit 0\n")
    git(cli.root, "config", "core.hooksPath", str(folder))
    before = snapshot(folder)
    cli.ok("link-commits")
    assert not (cli.root / HOOK).exists(), "installed where git runs hooks from"
    tid = cli.create("Hooks path")
    cli.ok("start", tid)
    commit(cli.root, "through core.hooksPath")
    assert named(cli.root) == [tid] and marker.exists()
    cli.ok("link-commits", "--remove")
    assert snapshot(folder) == before


def test_a_global_hooks_path_is_said_and_a_tracked_hook_is_refused(make_repo: MakeRepo, tmp_path: Path) -> None:
    cli = code_repo(make_repo)
    folder = tmp_path / "global-hooks"
    git(cli.root, "config", "--global", "core.hooksPath", str(folder))
    assert "every repository using that folder" in cli.ok("link-commits")
    cli.ok("link-commits", "--remove")
    git(cli.root, "config", "--global", "--unset", "core.hooksPath")
    write_hook(cli.root / ".githooks" / "prepare-commit-msg", "exit 0\n")
    git(cli.root, "add", ".githooks")
    git(cli.root, "commit", "-q", "-m", "project hooks")
    git(cli.root, "config", "core.hooksPath", ".githooks")
    before = snapshot(cli.root / ".githooks")
    assert "part of this repository" in cli.fail("link-commits")
    assert snapshot(cli.root / ".githooks") == before


PRE_COMMIT_CONFIG = """default_install_hook_types: [pre-commit, prepare-commit-msg]
repos:
- repo: local
  hooks:
  - id: mark
    name: mark
    entry: ./mark.sh
    language: script
    stages: [prepare-commit-msg]
    always_run: true
"""


def _pre_commit_repo(make_repo: MakeRepo) -> Cli:
    if PRE_COMMIT is None:
        pytest.skip("the pre-commit framework is not installed (pip install pre-commit: the test extra has it)")
    cli = code_repo(make_repo)
    write_hook(cli.root / "mark.sh", 'git interpret-trailers --in-place --trailer "Framework: ran" "$1"\n')
    (cli.root / ".pre-commit-config.yaml").write_text(PRE_COMMIT_CONFIG)
    git(cli.root, "add", "mark.sh", ".pre-commit-config.yaml")
    git(cli.root, "commit", "-q", "-m", "pre-commit set up", "--no-verify")
    return cli


def _install_pre_commit(root: Path) -> None:
    proc = subprocess.run([str(PRE_COMMIT), "install"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_chained_with_the_pre_commit_framework_installed_first(make_repo: MakeRepo) -> None:
    cli = _pre_commit_repo(make_repo)
    _install_pre_commit(cli.root)
    folder = cli.root / ".git" / "hooks"
    before = snapshot(folder)
    assert "File generated by pre-commit" in (folder / "prepare-commit-msg").read_text()
    cli.ok("link-commits")
    tid = cli.create("With pre-commit")
    cli.ok("start", tid)
    commit(cli.root, "framework and gittasks")
    body = git(cli.root, "log", "-1", "--format=%B")
    assert "Framework: ran" in body and named(cli.root) == [tid]
    cli.ok("link-commits", "--remove")
    assert snapshot(folder) == before
    commit(cli.root, "framework alone")
    assert "Framework: ran" in git(cli.root, "log", "-1", "--format=%B") and named(cli.root) == []


def test_the_pre_commit_framework_installed_after_runs_the_hook_as_its_legacy_one(make_repo: MakeRepo) -> None:
    cli = _pre_commit_repo(make_repo)
    folder = cli.root / ".git" / "hooks"
    cli.ok("link-commits")
    _install_pre_commit(cli.root)  # it moves the hook it finds to prepare-commit-msg.legacy and runs it from there
    assert commit_links.is_ours((folder / "prepare-commit-msg.legacy").read_bytes())
    tid = cli.create("Legacy")
    cli.ok("start", tid)
    commit(cli.root, "framework first")
    assert "Framework: ran" in git(cli.root, "log", "-1", "--format=%B") and named(cli.root) == [tid]
    assert "installed already" in cli.ok("link-commits")
    framework = (folder / "prepare-commit-msg").read_bytes()
    cli.ok("link-commits", "--remove")
    assert not (folder / "prepare-commit-msg.legacy").exists()
    assert (folder / "prepare-commit-msg").read_bytes() == framework


# -- never in the way --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["missing", "failing", "broken list", "stalled"])
def test_the_commit_goes_on_unchanged_whatever_happens_to_gittasks(make_repo: MakeRepo, how: str) -> None:
    cli = code_repo(make_repo)
    cli.ok("link-commits")
    tid = cli.create("Unlucky")
    cli.ok("start", tid)
    env = {"GITTASKS_COMMIT_HOOK_TIMEOUT": "1"}
    if how == "missing":
        env |= {"GITTASKS": str(cli.root / "no-such-gittasks"), "PATH": "/usr/bin:/bin"}
        git(cli.root, "config", "--local", "--unset", "gittasks.program")  # (link-commits recorded this one)
    elif how == "failing":
        failing = cli.root.parent / "failing-gittasks"
        write_hook(failing, 'echo "Traceback: boom" >&2\nexit 3\n')
        env["GITTASKS"] = str(failing)
    elif how == "broken list":
        active = cli.root / ".claude" / "active-tasks.json"
        active.write_text('{"tasks": [{"id": "' + tid + '", "status": "in_progress", ')
    else:
        env["GITTASKS_FAILPOINT"] = commit_links.STALL_POINT
    began = time.monotonic()
    commit(cli.root, f"despite {how}", env=env)
    assert time.monotonic() - began < 10
    assert git(cli.root, "log", "-1", "--format=%B") == f"despite {how}"
    assert git(cli.root, "status", "--porcelain", "--", "code.txt") == ""


def test_merges_rebases_and_a_commit_on_the_task_branch_are_left_alone(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    git(cli.root, "checkout", "-q", "-b", "side")
    (cli.root / "side.txt").write_text("side\n")
    git(cli.root, "add", "side.txt")
    git(cli.root, "commit", "-q", "-m", "side work")
    git(cli.root, "checkout", "-q", "main")
    commit(cli.root, "main work")
    cli.ok("link-commits")
    tid = cli.create("Merging")
    cli.ok("start", tid)
    git(cli.root, "merge", "-q", "--no-ff", "--no-edit", "side")
    assert named(cli.root) == []
    git(cli.root, "checkout", "-q", "side")
    git(cli.root, "rebase", "-q", "main")
    assert named(cli.root) == []


# -- reading them back -------------------------------------------------------------------------------------------


def two_clones(
    make_repo: MakeRepo, remote: Path, tmp_path: Path, *, link: bool, inline: bool = False
) -> tuple[Cli, Cli]:
    """Clone A (PC-A, `link-commits` when `link`), its main and task list on the bare `remote`, and clone B (PC-B)
    cloned from it, both synced; B gets `link-commits` too when `link`."""
    a = code_repo(make_repo, inline=inline, machine="PC-A")
    git(a.root, "remote", "add", "origin", str(remote))
    git(a.root, "push", "-q", "origin", "main")
    if link:
        a.ok("link-commits")
    a.ok("sync")
    b_root = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(b_root))
    b = Cli(b_root, "PC-B")
    b.ok("sync")
    if link:
        b.ok("link-commits")
    return a, b


def tracking(root: Path) -> dict[str, str]:
    """The remote-tracking refs of a clone: {name: commit}."""
    out = git(root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/remotes/")
    return dict(line.split() for line in out.splitlines() if not line.endswith("/HEAD"))


def code_commits(cli: Cli, task_id: str) -> dict[str, dict[str, Any]]:
    return {e["commit"]: e for e in cli.json("log", task_id) if e["action"] == "code-commit"}


def test_commits_on_two_branches_and_two_machines_show_in_log_after_a_sync(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path
) -> None:
    a, b = two_clones(make_repo, bare_remote, tmp_path, link=True)
    assert git(a.root, "config", "--local", "gittasks.fetchCode") == "true"
    tid = a.create("Across machines")
    a.ok("start", tid)
    a.ok("sync")
    b.ok("sync")
    assert b.json("show", tid)["status"] == "in_progress"
    git(a.root, "checkout", "-q", "-b", "feature-a")
    on_a = commit(a.root, "work on A", env={"GITTASKS_MACHINE": "PC-A"})
    assert named(a.root) == [tid]
    git(a.root, "push", "-q", "origin", "feature-a")
    git(b.root, "checkout", "-q", "-b", "feature-b")
    on_b = commit(b.root, "work on B", "--trailer", f"Task: {tid}", env={"GITTASKS_MACHINE": "PC-B"})
    git(b.root, "push", "-q", "origin", "feature-b")
    assert set(code_commits(a, tid)) == {on_a}, "B's commit is not here before a sync"
    assert set(code_commits(b, tid)) == {on_b}, "nor A's there"
    before = {
        "branches": git(a.root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"),
        "head": git(a.root, "symbolic-ref", "HEAD"),
        "index": (a.root / ".git" / "index").read_bytes(),
        "status": git(a.root, "status", "--porcelain"),
    }
    a.ok("sync")
    b.ok("sync")
    # sync's one fetch took the remote's code branches into the remote-tracking refs, and nothing else moved
    assert before == {
        "branches": git(a.root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"),
        "head": git(a.root, "symbolic-ref", "HEAD"),
        "index": (a.root / ".git" / "index").read_bytes(),
        "status": git(a.root, "status", "--porcelain"),
    }
    remote_tips = dict(
        line.split()[::-1]
        for line in git(bare_remote, "for-each-ref", "--format=%(objectname) %(refname)").splitlines()
    )
    for clone in (a, b):
        refs = tracking(clone.root)
        for name in ("main", "gittasks", "feature-a", "feature-b"):  # the task branch's ref where sync expects it
            assert refs[f"refs/remotes/origin/{name}"] == remote_tips[f"refs/heads/{name}"], (clone.machine, name)
    found = code_commits(a, tid)
    assert set(found) == {on_a, on_b}
    assert found[on_b]["branch"] == "origin/feature-b" and found[on_b]["subject"] == "work on B"
    assert found[on_a]["branch"] in ("feature-a", "origin/feature-a")
    theirs = code_commits(b, tid)
    assert set(theirs) == {on_a, on_b} and theirs[on_a]["branch"] == "origin/feature-a"
    shown = a.ok("show", tid)
    assert "code commits (2):" in shown and "work on B" in shown and on_b[:10] in shown
    assert {c["commit"] for c in a.json("show", tid)["code_commits"]} == {on_a, on_b}
    text = a.ok("log", tid)
    assert f"{on_b[:10]}  " in text and "code-commit" in text and "by Test Author" in text
    # the plain-git way: git's own search over every branch finds the code commits (and the task's changes)
    plain = git(a.root, "log", "--all", "--format=%H %s", "--grep", f"Task: {tid}")
    assert on_a in plain and on_b in plain and "gittasks: start" in plain


def test_without_the_setting_sync_fetches_no_code_branch(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, layout: str
) -> None:
    a, b = two_clones(make_repo, bare_remote, tmp_path, link=False, inline=layout == "inline")
    tid = a.create("Fetched or not")
    a.ok("sync")
    b.ok("sync")
    b.ok("update", tid, "--owner", "B")  # a task change comes along: the sync is a real one
    b.ok("sync")
    git(b.root, "checkout", "-q", "-b", "feature-b")
    on_b = commit(b.root, "work on B", "--trailer", f"Task: {tid}")
    git(b.root, "push", "-q", "origin", "feature-b")
    a.ok("sync")
    assert a.task(tid)["owner"] == "B"
    assert "refs/remotes/origin/feature-b" not in tracking(a.root)
    assert code_commits(a, tid) == {}
    # a value set by hand is kept by link-commits: `false` still fetches nothing
    git(a.root, "config", "gittasks.fetchCode", "false")
    a.ok("link-commits")
    assert git(a.root, "config", "gittasks.fetchCode") == "false"
    assert "does not fetch the remote's code branches (gittasks.fetchCode is off)" in a.ok("doctor")
    a.ok("sync")
    assert "refs/remotes/origin/feature-b" not in tracking(a.root)
    git(a.root, "config", "--unset", "gittasks.fetchCode")
    said = a.ok("link-commits")
    assert git(a.root, "config", "--local", "gittasks.fetchCode") == "true" and "gittasks.fetchCode true" in said
    a.ok("sync", "--tasks-only")  # the session start's bounded sync: the task list alone
    assert "refs/remotes/origin/feature-b" not in tracking(a.root)
    a.ok("sync")
    assert tracking(a.root)["refs/remotes/origin/feature-b"] == on_b
    assert set(code_commits(a, tid)) == {on_b}
    assert "ok       code commits name the tasks in progress here" in a.ok("doctor")
    said = a.ok("link-commits", "--remove")
    assert "unset gittasks.fetchCode" in said
    assert git(a.root, "config", "--get", "gittasks.fetchCode", check=False) == ""
    assert "unset" not in a.ok("link-commits", "--remove")  # nothing set: nothing said
    git(b.root, "commit", "-q", "--allow-empty", "-m", "more on B")
    git(b.root, "push", "-q", "origin", "feature-b")
    a.ok("sync")
    assert tracking(a.root)["refs/remotes/origin/feature-b"] == on_b, "not fetched after --remove"


@pytest.mark.parametrize("blocked", ["a lock left behind", "a ref where a folder must go"])
def test_a_code_branch_git_cannot_write_never_fails_the_task_sync(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, blocked: str
) -> None:
    a, b = two_clones(make_repo, bare_remote, tmp_path, link=True)
    refs = a.root / ".git" / "refs" / "remotes" / "origin"
    if blocked == "a lock left behind":  # another git holds the ref's lock, or a killed one left it
        refs.mkdir(parents=True, exist_ok=True)
        (refs / "feature-b.lock").write_text("")
        pushed = "feature-b"
    else:  # origin/x known here while the remote now has x/y: git fetch says `git remote prune origin`
        git(a.root, "update-ref", "refs/remotes/origin/x", "HEAD")
        pushed = "x/y"
    git(b.root, "checkout", "-q", "-b", pushed)
    commit(b.root, "work on B")
    git(b.root, "push", "-q", "origin", pushed)
    tid = b.create("Made on B")
    b.ok("sync")
    proc = a.run("sync")
    assert proc.returncode == 0, proc.stderr
    assert tid in proc.stdout and tid in {t["id"] for t in a.doc()["tasks"]}
    said = [line for line in proc.stderr.splitlines() if "code branches" in line]
    assert len(said) == 1 and "the code branches of origin were not fetched (" in said[0], proc.stderr
    assert "`git fetch origin` brings them or shows why" in said[0] and "Traceback" not in proc.stderr
    known = tracking(a.root)
    assert known["refs/remotes/origin/gittasks"] == git(bare_remote, "rev-parse", "gittasks")
    assert f"refs/remotes/origin/{pushed}" not in known


def test_a_fetch_of_the_code_branches_too_slow_for_its_share_leaves_time_for_the_task_branch(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path
) -> None:
    a, b = two_clones(make_repo, bare_remote, tmp_path, link=True)
    tid = b.create("Made on B")
    b.ok("sync")
    stalled = tmp_path / "stalled"  # the first fetch (tasks and code together) stalls, as a big first download does
    slow = tmp_path / "slow-upload-pack"
    slow.write_text(
        f'#!/bin/sh\nif [ ! -e "{stalled}" ]; then : > "{stalled}"; sleep 30; fi\nexec git-upload-pack "$@"\n'
    )
    slow.chmod(0o755)
    git(a.root, "config", "remote.origin.uploadpack", str(slow))
    git(a.root, "config", "gittasks.syncTimeout", "4")
    started = time.monotonic()
    proc = a.run("sync")
    elapsed = time.monotonic() - started
    assert proc.returncode == 0 and stalled.exists(), proc.stderr
    assert tid in {t["id"] for t in a.doc()["tasks"]}
    assert "the code branches of origin were not fetched (not done within 2 s)" in proc.stderr
    assert 2 <= elapsed < 4 + 2.0, elapsed


def test_a_silent_remote_costs_one_deadline_with_the_code_branches_too(
    make_repo: MakeRepo, silent: SilentRemote
) -> None:
    cli = code_repo(make_repo)
    git(cli.root, "remote", "add", "origin", silent.url)
    git(cli.root, "config", "gittasks.syncTimeout", "2")
    cli.ok("link-commits")
    cli.create("Kept here")
    started = time.monotonic()
    err = cli.fail("sync")
    elapsed = time.monotonic() - started
    assert "offline: no answer within 2 s" in err and "code branches" not in err
    assert 1.5 <= elapsed < 2 + 2.0, elapsed  # both fetches within the one deadline (slack: a busy machine)


def test_a_gittasks_commit_on_the_code_branch_is_no_code_commit(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo, inline=True)
    tid = cli.create("Inline")
    cli.ok("start", tid)
    assert [e for e in cli.json("log", tid) if e["action"] == "code-commit"] == []
    sha = commit(cli.root, "real code", "--trailer", f"Task: {tid}")
    assert [e["commit"] for e in cli.json("log", tid) if e["action"] == "code-commit"] == [sha]
    assert [e["action"] for e in cli.json("log", tid, "--limit", "1")] == ["code-commit"]


def test_the_code_log_is_one_git_log_for_many_tasks(make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = code_repo(make_repo)
    ids = [cli.create(f"Task {n}") for n in range(5)]
    commit(cli.root, "all of them", *[a for tid in ids for a in ("--trailer", f"Task: {tid}")])
    calls: list[str] = []
    repo_class = type(find_repo(cli.root))
    real = repo_class.code_log

    def counted(self: Any, *args: Any, **kwargs: Any) -> str:
        calls.append("log")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(repo_class, "code_log", counted)
    found = task_commits.commits_for(Workspace.open(cli.root), ids)
    assert calls == ["log"] and all(len(found[tid]) == 1 for tid in ids)


HOUR_AGO = time.time() - 3600


def age_refs(*git_dirs: Path) -> None:
    """Every file git keeps branches in (loose refs, packed-refs, HEAD) in `git_dirs`, as last written HOUR_AGO."""
    for folder in git_dirs:
        for path in [*folder.glob("refs/**/*"), folder / "packed-refs", folder / "HEAD"]:
            if path.is_file():
                os.utime(path, (HOUR_AGO, HOUR_AGO))


def test_no_git_process_while_no_branch_moved_since_the_tasks_were_made(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = code_repo(make_repo)
    ws = Workspace.open(cli.root)
    ids = [cli.create("Not worked on yet"), cli.create("Nor this")]
    age_refs(ws.repo.common_dir)
    calls: list[str] = []
    repo_class = type(ws.repo)
    real = repo_class.code_log

    def counted(self: Any, *args: Any, **kwargs: Any) -> str:
        calls.append("log")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(repo_class, "code_log", counted)
    assert task_commits.commits_for(ws, ids) == {tid: [] for tid in ids} and calls == []
    sha = commit(cli.root, "now it moved", "--trailer", f"Task: {ids[0]}")
    assert [c["commit"] for c in task_commits.commits_for(ws, ids)[ids[0]]] == [sha] and calls == ["log"]
    git(cli.root, "pack-refs", "--all")  # the branch now in packed-refs alone, written just now: git is asked
    assert not (ws.repo.common_dir / "refs" / "heads" / "main").exists()
    assert [c["commit"] for c in task_commits.commits_for(ws, ids)[ids[0]]] == [sha] and calls == ["log"] * 2
    age_refs(ws.repo.common_dir)  # the files say no branch moved since the tasks were made: git is not asked
    task_commits.commits_for(ws, ids)
    assert calls == ["log"] * 2
    older = [{"id": tid, "created_at": "2000-01-01T00:00:00Z"} for tid in ids]  # (the caller's tasks: the board's)
    assert [c["commit"] for c in task_commits.commits_for(ws, ids, older)[ids[0]]] == [sha] and calls == ["log"] * 3


def test_git_files_say_when_a_code_branch_was_last_written(make_repo: MakeRepo) -> None:
    """`gitfiles.branches_last_written`: loose and packed branches and remote-tracking branches, the task branch
    (`gittasks`, `origin/gittasks`) left out, a linked worktree's detached HEAD counted; None when HEAD cannot be
    read."""
    cli = code_repo(make_repo)
    cli.create("Moves the task branch only")
    repo = find_repo(cli.root)
    common = repo.common_dir

    def written() -> int | None:
        return gitfiles.branches_last_written(repo.git_dir, common, "gittasks")

    age_refs(common)
    hour_ago = written()
    assert hour_ago == (common / "refs" / "heads" / "main").stat().st_mtime_ns
    for name in ("refs/heads/gittasks", "refs/remotes/origin/gittasks"):
        git(cli.root, "update-ref", name, git(cli.root, "rev-parse", "gittasks"))
        assert written() == hour_ago, name  # the task branch is no code branch
    git(cli.root, "update-ref", "refs/remotes/origin/feature", git(cli.root, "rev-parse", "main"))
    assert (written() or 0) > hour_ago
    git(cli.root, "pack-refs", "--all")
    age_refs(common)
    assert written() == hour_ago == (common / "packed-refs").stat().st_mtime_ns
    other = cli.root.parent / "detached"
    git(cli.root, "worktree", "add", "-q", "--detach", str(other))
    there = find_repo(other)
    head = there.git_dir / "HEAD"
    assert there.common_dir == common and head.is_file() and there.git_dir != common
    age_refs(common, there.git_dir)
    before = gitfiles.branches_last_written(there.git_dir, common, "gittasks")
    commit(other, "on a detached HEAD")  # no branch moves; this worktree's HEAD does
    moved = gitfiles.branches_last_written(there.git_dir, common, "gittasks")
    assert before == hour_ago and moved is not None and moved > before and written() == hour_ago
    head.unlink()
    head.mkdir()  # (a HEAD that cannot be read as a file: unsure, so git is asked)
    assert gitfiles.branches_last_written(there.git_dir, common, "gittasks") is None


def test_trailers_read_back_the_code_log_format() -> None:
    line = trailers.FIELD_SEP.join(
        ["abc", "origin/x", "2026-05-01T12:00:00+02:00", "Ann", '4kq9zt\x1d"odd id"', "", "Fix"]
    )
    gittasks_own = trailers.FIELD_SEP.join(["def", "main", "2026-05-01T12:00:00Z", "m", "4kq9zt", "start", "x"])
    parsed = trailers.parse_code_log(trailers.RECORD_SEP + line + "\n" + trailers.RECORD_SEP + gittasks_own)
    assert parsed == [
        {"commit": "abc", "ref": "origin/x", "when": "2026-05-01T10:00:00.000Z", "author": "Ann", "subject": "Fix",
         "names": ["4kq9zt", "odd id"]}
    ]  # fmt: skip
    pairs = trailers.parsed_trailers("Task: a\ntask: b\nSigned-off-by: x\n  continued\n")
    assert trailers.named_tasks(pairs) == ["a", "b"] and pairs[-1] == ("Signed-off-by", "x continued")
    assert trailers.task_trailer("a\nAction: forged") == 'Task: "a\\nAction: forged"'
    verbose = b"s\n# ------------------------ >8 ------------------------\ndiff --git a/x b/x\n+Task: no\n"
    assert trailers.before_scissors(verbose) == b"s\n" and trailers.before_scissors(b"s\n") == b"s\n"


@pytest.mark.parametrize("columns", ["200", "80"])
def test_hook_help_lists_the_commit_hook_in_a_whole_sentence(tmp_path: Path, columns: str) -> None:
    out = Cli(tmp_path).ok("hook", "--help", env={"COLUMNS": columns})
    lines = [line for line in out.split("Commands:\n", 1)[1].splitlines() if line.strip()]
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines), out  # one line each
    helps = dict(line.strip().split(None, 1) for line in lines)
    assert {"capture", "session-start", "session-end", "prepare-commit-msg"} <= set(helps)  # (and others to come)
    for name, text in helps.items():
        assert text.endswith(".") and not text.endswith("..."), f"{name}: {text!r}"
    assert "task in progress" in helps["prepare-commit-msg"]
    own = Cli(tmp_path).ok("hook", "prepare-commit-msg", "--help")  # (not taken for git's call of the hook)
    assert own.startswith("Usage: gittasks hook prepare-commit-msg") and "link-commits" in own


def test_the_commit_hook_through_the_command_line_adds_the_trailer(make_repo: MakeRepo, tmp_path: Path) -> None:
    cli = code_repo(make_repo)
    tid = cli.create("Through the CLI")
    cli.ok("start", tid)
    message = cli.root / ".git" / "COMMIT_EDITMSG"
    message.write_text("A subject\n")
    # a process of its own: the hook's time bound ends the process it runs in
    proc = run_gittasks(tmp_path, "--repo", str(cli.root), "hook", "prepare-commit-msg", ".git/COMMIT_EDITMSG")
    assert proc.returncode == 0 and proc.stdout == proc.stderr == "", proc.stderr
    assert message.read_text() == f"A subject\n\nTask: {tid}\n"


# -- the Markdown export -----------------------------------------------------------------------------------------
# -- the Markdown export -----------------------------------------------------------------------------------------


def test_the_markdown_export_says_what_who_where_which_commits_and_how_long(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo, machine="PC-A")
    cli.ok("link-commits")
    evil = "Parser <script>alert(1)</script> [link](http://x) \x1b[31m"
    tid = cli.create(evil, "--description", "Make it fast.\n```\nnot a fence end\n```",
                     "--meta", "client=Contoso", "--meta", "active_minutes=42")  # fmt: skip
    cli.ok("start", tid)
    sha = commit(cli.root, "speed up *the* parser", env={"GITTASKS_MACHINE": "PC-A"})
    cli.ok("done", tid, "--outcome", "Twice as fast", "--minutes", "50")
    text = cli.ok("export", tid)
    assert text.startswith(f"# {tid}: Parser \\<script\\>")
    assert "<script>" not in text and "\x1b" not in text and "[link](" not in text
    for line in ("- **Status:** completed", "- **Client:** Contoso", "- **Machines:** PC-A",
                 "- **Commit authors:** Test Author", "- **Billable:** 50 min"):  # fmt: skip
        assert line in text, line
    assert "Active" not in text  # (the key `active_minutes` is nobody's figure: the capture hooks' sessions are)
    assert "- **Took:** " in text and "(started → completed)" in text
    assert "## What was asked\n\n````text\nMake it fast.\n```\nnot a fence end\n```\n````" in text
    assert "## Result\n\n```text\nTwice as fast\n```" in text
    assert "`pending` → `in_progress` (start)" in text and "`in_progress` → `completed`" in text
    assert f"- `{sha[:10]}` on main, " in text and "by Test Author: speed up \\*the\\* parser" in text
    out = cli.root.parent / "handover.md"
    cli.ok("export", tid[:4], "-o", str(out))
    assert out.read_text(encoding="utf-8") == text
    assert "Unknown" not in text and "no task with id" in cli.fail("export", "nosuchid")


def test_the_export_gives_the_active_time_the_capture_hooks_measured(cli: Cli) -> None:
    """Active time as `report` counts it (`activity.active_minutes`: the sessions' entries in
    `metadata.gittasks_activity`), measured by the capture hook: a session worked 18 minutes on the task."""
    tid, _ = hook_create(cli, "1", "Fix the VPN", "S", metadata={"client": "Acme"})
    backdate(cli, "S", tid, datetime.now(UTC))
    hook_update(cli, "1", "S", status="completed")
    task = cli.task(tid)
    assert activity.active_minutes(task) == 18 and list(task["metadata"][activity.KEY]) == ["test-machine/S"]
    text = cli.ok("export", tid)
    assert "- **Active:** 18 min (1 session, 1 machine)" in text
    assert activity.KEY not in text and json.loads(cli.ok("report", "--json"))["totals"]["active_minutes"] == 18


def test_a_task_without_commits_or_time_exports_what_it_has(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    tid = cli.create("Just made")
    text = cli.ok("export", tid)
    assert "- **Status:** pending" in text and "No code commit names this task" in text
    assert "Took" not in text and "Active" not in text and "## Result" not in text
    assert json.loads(cli.ok("show", tid, "--json"))["code_commits"] == []
    assert os.linesep not in text or os.linesep == "\n"


def test_a_linked_worktree_without_the_task_file_reads_the_task_branch(make_repo: MakeRepo) -> None:
    cli = code_repo(make_repo)
    cli.ok("link-commits")
    tid = cli.create("In a worktree")
    cli.ok("start", tid)
    other = cli.root.parent / "worktree"
    git(cli.root, "worktree", "add", "-q", "-b", "elsewhere", str(other))
    assert not (other / ".claude" / "active-tasks.json").exists()
    commit(other, "from the linked worktree")
    assert named(other) == [tid]


def test_a_clone_that_fetches_no_code_says_how_to_see_other_machines_commits(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path
) -> None:
    a, b = two_clones(make_repo, bare_remote, tmp_path, link=False)
    tid = a.create("Reviewed on a third machine")
    a.ok("sync")
    git(a.root, "checkout", "-q", "-b", "feature-a")
    on_a = commit(a.root, "work on A", "--trailer", f"Task: {tid}", env={"GITTASKS_MACHINE": "PC-A"})
    git(a.root, "push", "-q", "origin", "feature-a")
    b.ok("sync")
    hint = "show after `git fetch`"
    for args in (("show", tid), ("log", tid), ("export", tid)):
        proc = b.run(*args)
        assert proc.returncode == 0 and hint in proc.stderr, (args, proc.stderr)
        assert len([line for line in proc.stderr.splitlines() if hint in line]) == 1
    assert hint not in a.run("show", tid).stderr  # a clone that finds the commit says nothing
    git(b.root, "config", "gittasks.fetchCode", "true")
    b.ok("sync")
    assert set(code_commits(b, tid)) == {on_a}
    assert hint not in b.run("show", tid).stderr


def test_mcp_task_log_lists_the_code_commits_as_log_id_does(make_repo: MakeRepo) -> None:
    from test_mcp import session

    cli = code_repo(make_repo)
    tid = cli.create("Seen from MCP")
    sha = commit(cli.root, "work for it", "--trailer", f"Task: {tid}")

    async def scenario(client: Any) -> list[dict[str, Any]]:
        reply = await client.call_tool("task_log", {"taskId": tid})
        assert not reply.is_error
        return list(json.loads(reply.content[0].text))

    entries = session(cli.root, scenario)
    code = [e for e in entries if e.get("action") == "code-commit"]
    assert [e["commit"] for e in code] == [sha] and code[0]["subject"] == "work for it"
    assert [e["commit"] for e in cli.json("log", tid) if e["action"] == "code-commit"] == [sha]
