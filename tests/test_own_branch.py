"""The own-branch layout in ordinary code repositories: tasks on `gittasks`, the user's branch, index and HEAD never
touched, whatever the user's git is in the middle of; sync of the task branch alone; migrate from the inline layout."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, git, init_repo


def code_repo(path: Path, remote: Path | None = None, branch: str = "main", with_src: bool = False) -> Path:
    """A repository with some code committed (and pushed to `remote`); `with_src` adds a src/ folder."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    (path / "app.py").write_text("print('one')\n")
    if with_src:
        (path / "src").mkdir()
        (path / "src" / "x.py").write_text("x = 1\n")
    git(path, "add", ".")
    git(path, "commit", "-qm", "The application")
    if remote is not None:
        git(path, "remote", "add", "origin", str(remote))
        git(path, "push", "-q", "origin", branch)
    return path


def diverge(root: Path, side: str, message: str = "side") -> None:
    """`side` and main change app.py differently (merging or rebasing one onto the other stops on a conflict)."""
    git(root, "switch", "-q", "-c", side)
    (root / "app.py").write_text(f"print({side!r})\n")
    git(root, "commit", "-qam", message)
    git(root, "switch", "-q", "main")
    (root / "app.py").write_text("print('main')\n")
    git(root, "commit", "-qam", "main moves on")


def user_state(root: Path) -> tuple[str, str, str, str]:
    """What gittasks must never change: HEAD, the branch, the index and the work tree's status."""
    head = git(root, "rev-parse", "HEAD")
    branch = git(root, "symbolic-ref", "-q", "HEAD", check=False)
    index = (root / ".git" / "index").read_bytes() if (root / ".git" / "index").exists() else b""
    return head, branch, str(hash(index)), git(root, "status", "--porcelain=v1", "--untracked-files=all")


def task_ids(cli: Cli) -> set[str]:
    return {t["id"] for t in cli.json("list")}


def capture_create(cli: Cli, native: str, subject: str, session: str = "s1") -> subprocess.CompletedProcess[str]:
    payload = {
        "session_id": session,
        "hook_event_name": "PostToolUse",
        "tool_name": "TaskCreate",
        "tool_input": {"subject": subject, "description": "d"},
        "tool_response": {"task": {"id": native, "subject": subject}},
        "cwd": str(cli.root),
    }
    return cli.run("hook", "capture", input=json.dumps(payload))


@pytest.fixture
def remote(bare_remote: Path) -> Path:
    return bare_remote


def test_code_repository_with_wip_feature_branch_and_stopped_rebase(tmp_path: Path, remote: Path) -> None:
    a_root = code_repo(tmp_path / "a", remote)
    a = init_repo(a_root, "WS-A", inline=False)
    first = a.create("Plan the release")
    a.ok("sync")
    b = Cli(tmp_path / "b", "WS-B")
    git(tmp_path, "clone", "-q", str(remote), str(b.root))
    c = Cli(tmp_path / "c", "WS-C")
    git(tmp_path, "clone", "-q", str(remote), str(c.root))
    assert task_ids(b) == {first}  # a fresh clone's first command writes the files from origin/gittasks
    remote_main = git(remote, "rev-parse", "refs/heads/main")

    # A: an unpushed WIP commit on a feature branch, then a rebase stopped on a conflict
    diverge(a_root, "feature", "WIP: experimental, do not push")
    git(a_root, "switch", "-q", "feature")
    proc = subprocess.run(["git", "rebase", "main"], cwd=a_root, capture_output=True, text=True)
    assert proc.returncode != 0 and (a_root / ".git" / "rebase-merge").is_dir()
    before = user_state(a_root)

    during = a.create("Made during the rebase")
    assert capture_create(a, "1", "Captured during the rebase").returncode == 0
    a.ok("sync")
    assert user_state(a_root) == before  # HEAD, branch, index and status exactly as they were
    git(a_root, "rebase", "--abort")

    b.create("From B")
    b.ok("sync")
    c.ok("sync")
    a.ok("sync")
    b.ok("sync")
    every = task_ids(a)
    assert len(every) == 4 and during in every
    assert task_ids(b) == task_ids(c) == every
    assert (a_root / ACTIVE).read_bytes() == (b.root / ACTIVE).read_bytes() == (c.root / ACTIVE).read_bytes()
    assert git(remote, "rev-parse", "refs/heads/main") == remote_main
    assert git(remote, "for-each-ref", "--format=%(refname)") == "refs/heads/gittasks\nrefs/heads/main"
    for root in (a_root, b.root, c.root):
        subjects = git(root, "log", "--format=%s", "main").splitlines()
        assert not [s for s in subjects if s.startswith("gittasks:")]
        assert git(root, "status", "--porcelain") == ""
        assert git(root, "ls-files", ".claude") == ""
    log = git(a_root, "log", "--format=%s%n%(trailers:key=Machine,valueonly)", "gittasks")
    assert "Made during the rebase" in log and "WS-B" in log


def test_bisect_detached_head_and_stopped_merge(tmp_path: Path) -> None:
    root = code_repo(tmp_path / "a")
    for n in range(3):
        (root / "app.py").write_text(f"print({n})\n")
        git(root, "commit", "-qam", f"change {n}")
    cli = init_repo(root, inline=False)
    git(root, "bisect", "start", "HEAD", "HEAD~3")
    one = cli.create("During bisect")
    assert capture_create(cli, "1", "Captured during bisect").returncode == 0
    git(root, "bisect", "reset")
    git(root, "checkout", "-q", "--detach", "HEAD~1")
    two = cli.create("On a detached HEAD")
    git(root, "switch", "-q", "main")
    git(root, "switch", "-q", "-c", "other", "HEAD~1")
    (root / "app.py").write_text("print('other')\n")
    git(root, "commit", "-qam", "other")
    assert subprocess.run(["git", "merge", "main"], cwd=root, capture_output=True).returncode != 0
    assert "During bisect" in cli.ok("list")
    three = cli.create("During a stopped merge")
    cli.ok("start", three)
    ids = task_ids(cli)
    assert {one, two, three} <= ids and len(ids) == 4
    assert (root / ".git" / "MERGE_HEAD").exists()
    git(root, "merge", "--abort")
    assert task_ids(cli) == ids


def test_a_missing_file_is_written_again_never_an_empty_list(tmp_path: Path) -> None:
    root = code_repo(tmp_path / "a")
    cli = init_repo(root, inline=False)
    ids = {cli.create("One"), cli.create("Two")}
    (root / ACTIVE).unlink()
    assert task_ids(cli) == ids
    (root / ACTIVE).unlink()
    three = cli.create("Three")
    assert task_ids(cli) == ids | {three}
    shown = git(root, "show", f"gittasks:{ACTIVE}")
    assert all(i in shown for i in ids | {three})


def sparse_pair(tmp_path: Path, remote: Path, inline: bool) -> tuple[Cli, Cli, set[str]]:
    """Clone A with two tasks, synced; clone B of the same remote with a sparse checkout of src/ only."""
    a = init_repo(code_repo(tmp_path / "a", remote, with_src=True), "WS-A", inline=inline)
    ids = {a.create("One"), a.create("Two")}
    a.ok("sync")
    b = Cli(tmp_path / "b", "WS-B")
    git(tmp_path, "clone", "-q", "--no-checkout", str(remote), str(b.root))
    if inline:
        git(b.root, "config", "gittasks.layout", "inline")
    git(b.root, "sparse-checkout", "set", "src")
    git(b.root, "checkout", "-q", "main")
    return a, b, ids


def test_sparse_checkout_keeps_every_task(tmp_path: Path, remote: Path) -> None:
    a, b, ids = sparse_pair(tmp_path, remote, inline=False)
    three = b.create("Three")
    b.ok("sync")
    a.ok("sync")
    assert task_ids(a) == task_ids(b) == ids | {three}


def test_an_external_edit_is_committed_and_merged_with_a_moved_branch(tmp_path: Path) -> None:
    root = code_repo(tmp_path / "a")
    cli = init_repo(root, inline=False)
    tid = cli.create("Hand edited")
    other = cli.create("Changed elsewhere")
    second = tmp_path / "second"
    git(root, "worktree", "add", "-q", "--detach", str(second))
    elsewhere = Cli(second)
    elsewhere.ok("update", other, "--owner", "Agent 2")  # the branch moves under the first work tree
    doc = json.loads((root / ACTIVE).read_text())
    next(t for t in doc["tasks"] if t["id"] == tid)["subject"] = "Edited by the assistant"
    (root / ACTIVE).write_text(json.dumps(doc, indent=2))
    listed = {t["id"]: t for t in cli.json("list")}
    assert listed[tid]["subject"] == "Edited by the assistant"
    assert listed[other]["owner"] == "Agent 2"
    actions = git(root, "log", "--format=%(trailers:key=Action,valueonly)", "gittasks").split()
    assert actions[0] == "external-edit"
    assert {t["id"]: t["subject"] for t in elsewhere.json("list")}[tid] == "Edited by the assistant"


def test_two_linked_worktrees_change_tasks_at_once(tmp_path: Path) -> None:
    root = code_repo(tmp_path / "a")
    init_repo(root, inline=False)
    second = tmp_path / "wt2"
    git(root, "worktree", "add", "-q", "-b", "feature", str(second))
    procs = []
    for n in range(4):
        for folder in (root, second):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gittasks", "create", f"task {folder.name} {n}"],
                    cwd=folder,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    made = {out.strip() for out, _ in results}
    assert task_ids(Cli(root)) == task_ids(Cli(second)) == made and len(made) == 8
    assert git(root, "rev-list", "--count", "gittasks") == "9"


def test_git_dir_of_another_repository_in_the_environment(tmp_path: Path) -> None:
    mine = code_repo(tmp_path / "mine")
    other = code_repo(tmp_path / "other")
    cli = init_repo(mine, inline=False)
    other_refs = git(other, "for-each-ref")
    env = {"GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other), "GIT_INDEX_FILE": str(other / ".git/index")}
    tid = cli.ok("create", "Only mine", env=env).strip()
    assert tid in git(mine, "show", f"gittasks:{ACTIVE}")
    assert git(other, "for-each-ref") == other_refs
    assert not (other / ".claude").exists()


def test_main_and_master_machines_share_one_list(tmp_path: Path, remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", remote, "main"), "WS-A", inline=False)
    b_root = tmp_path / "b"
    b_root.mkdir()
    git(b_root, "init", "-q", "-b", "master")
    git(b_root, "remote", "add", "origin", str(remote))
    b = Cli(b_root, "WS-B")
    one = a.create("From main")
    a.ok("sync")
    two = b.create("From master")
    b.ok("sync")
    a.ok("sync")
    assert task_ids(a) == task_ids(b) == {one, two}


def test_a_protected_main_does_not_matter(tmp_path: Path, remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", remote), "WS-A", inline=False)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\nwhile read old new ref; do\n  [ "$ref" = refs/heads/main ] && exit 1\ndone\nexit 0\n')
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    a.create("Task")
    out = a.ok("sync")
    assert "pushed" in out
    assert git(remote, "rev-parse", "gittasks") == git(a.root, "rev-parse", "gittasks")


def test_a_silent_remote_is_offline_within_the_bounded_wait(tmp_path: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a"), "WS-A", inline=False)
    git(a.root, "remote", "add", "origin", "ssh://silent.invalid/repo.git")
    git(a.root, "config", "gittasks.syncTimeout", "1")
    a.create("Kept")
    proc = a.run("sync", env={"GIT_SSH_COMMAND": "sleep 30 #"})
    assert proc.returncode == 1 and "could not reach origin" in proc.stderr
    assert "1 changes not yet pushed" in proc.stderr or "changes not yet pushed" in proc.stderr
    assert len(task_ids(a)) == 1


def test_fresh_repository_syncs_the_remote_task_branch(tmp_path: Path, remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", remote), "WS-A", inline=False)
    tid = a.create("On the remote")
    a.ok("sync")
    fresh = Cli(tmp_path / "fresh", "WS-C")
    fresh.root.mkdir()
    git(fresh.root, "init", "-q")
    git(fresh.root, "remote", "add", "origin", str(remote))
    data = json.loads(fresh.ok("sync", "--json"))
    assert [i["id"] for i in data["incoming"]] == [tid]
    assert task_ids(fresh) == {tid}


def test_show_at_a_task_branch_revision_or_a_date(tmp_path: Path) -> None:
    cli = init_repo(code_repo(tmp_path / "a"), inline=False)
    tid = cli.create("Old subject")
    cli.ok("update", tid, "--subject", "New subject")
    assert cli.json("show", tid, "--at", "gittasks~1")["subject"] == "Old subject"
    assert cli.json("show", tid, "--at", "HEAD~1")["subject"] == "Old subject"  # HEAD: the task branch's tip
    assert cli.json("show", tid, "--at", "@{now}")["subject"] == "New subject"
    assert "no commit before" in cli.fail("show", tid, "--at", "3 years ago")
    assert "unknown revision or date" in cli.fail("show", tid, "--at", "nonsense")
    log = cli.json("log", tid)
    assert [e["action"] for e in log] == ["update", "create"]


def test_migrate_an_inline_repository_with_history(tmp_path: Path, remote: Path) -> None:
    a_root = code_repo(tmp_path / "a", remote)
    a = init_repo(a_root, "WS-A")  # inline, as 0.1 made it
    tid = a.create("Made inline")
    a.ok("start", tid)
    a.ok("sync")
    b = Cli(tmp_path / "b", "WS-B")
    git(tmp_path, "clone", "-q", str(remote), str(b.root))
    assert task_ids(b) == {tid}
    assert "nothing was changed" in a.fail("migrate")  # asks first; no terminal: nothing done
    out = a.ok("migrate", "--yes")
    assert "started the branch gittasks" in out
    assert git(a_root, "ls-files", ".claude") == ""
    assert git(a_root, "status", "--porcelain") == ""
    assert git(a_root, "log", "-1", "--format=%s").startswith("gittasks: migrate")
    a.ok("done", tid)
    actions = [e["action"] for e in a.json("log", tid)]
    assert actions[0] == "complete" and "create" in actions and "start" in actions
    a.ok("sync")
    git(a_root, "push", "-q", "origin", "main")
    git(b.root, "pull", "-q", "--no-rebase")
    listed = b.json("list")
    assert [(t["id"], t["status"]) for t in listed] == [(tid, "completed")]
    assert b.json("status")["layout"] == "branch"


def test_read_commands_start_no_git_process_when_nothing_moved(tmp_path: Path) -> None:
    cli = init_repo(code_repo(tmp_path / "a"), inline=False)
    tid = cli.create("Counted")
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True).stdout.strip()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "git-calls"
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for args in (
        ["list"],
        ["show", tid],
        ["ready"],
        ["checklist"],
        ["checklist", tid, "--detailed"],
        ["list", "--json"],
    ):
        cli.ok(*args, env=env)
    assert not calls.exists(), calls.read_text()
    cli.ok("update", tid, "--owner", "x", env=env)
    assert calls.read_text().count("\n") <= 8  # a change: tree, blob, commit, update-ref (plus config once)


@pytest.mark.parametrize("point", ["before-write", "after-commit", "after-temp-write", "after-rename"])
def test_crash_during_a_change_on_the_task_branch(tmp_path: Path, point: str) -> None:
    cli = init_repo(code_repo(tmp_path / "a"), inline=False)
    kept = {cli.create(f"kept {i}") for i in range(2)}
    tip = git(cli.root, "rev-parse", "gittasks")
    proc = cli.run("create", "in flight", env={"GITTASKS_FAILPOINT": point})
    assert proc.returncode == 77, proc.stderr
    listed = {t["subject"]: t["id"] for t in cli.json("list")}
    assert kept <= set(listed.values())
    committed = git(cli.root, "show", f"gittasks:{ACTIVE}")
    if "in flight" in listed:  # fully there: in a commit of its own on the task branch
        assert "in flight" in committed
    else:
        assert git(cli.root, "rev-parse", "gittasks") == tip
    assert json.loads(committed) == json.loads((cli.root / ACTIVE).read_text())
    cli.create("after the crash")
    assert not list((cli.root / ".claude").glob(".*gittasks-tmp*"))
    assert "PROBLEM" not in cli.ok("doctor")


def test_inline_refuses_changes_while_an_operation_is_stopped_and_reads_still_work(tmp_path: Path) -> None:
    root = code_repo(tmp_path / "a")
    cli = init_repo(root)  # inline
    tid = cli.create("Inline task")
    diverge(root, "side")
    assert subprocess.run(["git", "merge", "side"], cwd=root, capture_output=True).returncode != 0
    head = git(root, "rev-parse", "HEAD")
    err = cli.fail("create", "Not now")
    assert "merge is in progress" in err and len(err.strip().splitlines()) == 1
    assert [t["id"] for t in cli.json("list")] == [tid]
    proc = capture_create(cli, "1", "Captured")
    assert proc.returncode == 0 and "merge is in progress" in proc.stderr
    assert git(root, "rev-parse", "HEAD") == head
    git(root, "merge", "--abort")
    git(root, "checkout", "-q", "--detach")
    assert "HEAD is detached" in cli.fail("start", tid)


def test_inline_session_start_never_pushes_code(tmp_path: Path, remote: Path) -> None:
    root = code_repo(tmp_path / "a", remote)
    cli = init_repo(root)  # inline
    git(root, "push", "-q", "-u", "origin", "main")
    cli.create("Task")
    (root / "app.py").write_text("wip\n")
    git(root, "commit", "-qam", "WIP: experimental, do not push")
    before = git(remote, "rev-parse", "main")
    err = cli.fail("sync", "--tasks-only")
    assert "not task changes" in err
    assert git(remote, "rev-parse", "main") == before
    out = cli.run("hook", "session-start", input="{}").stdout
    assert "Task" in out
    assert git(remote, "rev-parse", "main") == before


def test_inline_sparse_checkout_without_the_task_list(tmp_path: Path, remote: Path) -> None:
    _, b, ids = sparse_pair(tmp_path, remote, inline=True)
    assert not (b.root / ACTIVE).exists()
    assert task_ids(b) == ids  # read from git's copy, never an empty list
    assert "sparse checkout" in b.fail("create", "Three")
    assert "Two" in git(b.root, "show", f"HEAD:{ACTIVE}")


def test_doctor_walks_the_task_history(tmp_path: Path) -> None:
    cli = init_repo(code_repo(tmp_path / "a"), inline=False)
    cli.create("One")
    Cli(cli.root, "OTHER").create("Two")
    out = cli.ok("doctor")
    assert "task history: 3 commits" in out and "OTHER 1" in out and "PROBLEM" not in out


def test_the_task_branch_checked_out_by_hand_is_refused_in_one_line(tmp_path: Path) -> None:
    cli = init_repo(code_repo(tmp_path / "a"), inline=False)
    tid = cli.create("One")
    git(cli.root, "switch", "-q", "gittasks")
    tip = git(cli.root, "rev-parse", "gittasks")
    assert "is checked out in this work tree" in cli.fail("start", tid)
    assert git(cli.root, "rev-parse", "gittasks") == tip
    git(cli.root, "switch", "-q", "main")
    cli.ok("start", tid)


def test_checking_out_a_commit_from_before_a_migrate_loses_nothing(tmp_path: Path) -> None:
    root = code_repo(tmp_path / "a")
    cli = init_repo(root)  # inline, then moved
    old = cli.create("From the inline days")
    cli.ok("migrate", "--yes")
    new = cli.create("After the move")
    git(root, "checkout", "-q", "HEAD~1")  # git writes the old tracked task file over the work-tree copy
    assert task_ids(cli) == {old, new}  # read from the task branch
    assert "predates the move" in cli.fail("create", "Not now")
    assert git(root, "status", "--porcelain") == ""
    git(root, "switch", "-q", "main")
    assert task_ids(cli) == {old, new}
    assert new in git(root, "show", f"gittasks:{ACTIVE}")


def test_odd_repositories_and_branches_are_refused_in_one_line(tmp_path: Path, remote: Path) -> None:
    err = Cli(remote).fail("init")
    assert "bare repository" in err and not (remote / ".git").exists()
    root = code_repo(tmp_path / "a")
    git(root, "branch", "gittasks")  # the user's own branch of that name
    assert "holds no task list" in Cli(root).fail("init")
    assert git(root, "log", "--format=%s", "gittasks") == "The application"


def test_first_command_sync_excludes_and_init_takes_the_remote_list(tmp_path: Path, remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", remote), "WS-A", inline=False)
    b = Cli(tmp_path / "b", "WS-B")
    git(tmp_path, "clone", "-q", str(remote), str(b.root))  # before A pushes its task branch
    c = Cli(tmp_path / "c", "WS-C")
    git(tmp_path, "clone", "-q", str(remote), str(c.root))
    tid = a.create("Shared")
    a.ok("sync")
    b.ok("sync")
    assert git(b.root, "status", "--porcelain") == ""
    assert task_ids(b) == {tid}
    assert "found a task list on origin/gittasks" in c.ok("init")
    assert task_ids(c) == {tid}


def test_an_external_edit_is_stamped_as_the_newest_change(tmp_path: Path) -> None:
    cli = init_repo(code_repo(tmp_path / "a"), "EDITOR-BOX", inline=False)
    tid = cli.create("Before")
    stamp = cli.json("show", tid)["updated_at"]
    doc = json.loads((cli.root / ACTIVE).read_text())
    doc["tasks"][0]["subject"] = "After"
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2))
    task = cli.json("show", tid)
    assert task["subject"] == "After" and task["updated_at"] > stamp and task["updated_by"] == "EDITOR-BOX"


def test_show_at_beyond_the_history_and_migrate_without_yes_change_nothing(tmp_path: Path) -> None:
    root = code_repo(tmp_path / "a")
    cli = init_repo(root)  # inline
    tid = cli.create("Task")
    assert "unknown revision" in cli.fail("show", tid, "--at", "HEAD~999")
    doc = json.loads((root / ACTIVE).read_text())
    doc["tasks"][0]["subject"] = "Pending edit"
    (root / ACTIVE).write_text(json.dumps(doc, indent=2))
    head = git(root, "rev-parse", "HEAD")
    assert "nothing was changed" in cli.fail("migrate")
    assert git(root, "rev-parse", "HEAD") == head
    cli.ok("migrate", "--yes")
    assert cli.json("show", tid)["subject"] == "Pending edit"
    assert "unknown revision" in cli.fail("show", tid, "--at", "gittasks~999")


def test_an_inline_clone_follows_a_migrate_made_elsewhere(tmp_path: Path, remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", remote), "WS-A")  # inline
    git(a.root, "push", "-q", "-u", "origin", "main")
    tid = a.create("Old")
    a.ok("sync")
    b = Cli(tmp_path / "b", "WS-B")
    git(tmp_path, "clone", "-q", str(remote), str(b.root))
    assert task_ids(b) == {tid}
    a.ok("migrate", "--yes")
    a.ok("update", tid, "-d", "from A")
    a.ok("sync")
    git(a.root, "push", "-q", "origin", "main")
    proc = b.run("sync")  # b still tracks the list on main: it follows the move in one step
    assert proc.returncode == 0 and "this clone follows it" in proc.stderr, proc.stderr
    assert git(b.root, "ls-files", ".claude") == ""
    git(b.root, "pull", "-q", "--no-rebase")
    assert [t["description"] for t in b.json("list")] == ["from A"]
    new = b.create("New on B")
    b.ok("sync")
    a.ok("sync")
    assert task_ids(a) == task_ids(b) == {tid, new}
    assert ".claude" not in git(remote, "ls-tree", "--name-only", "main")


def test_doctor_knows_archived_tasks_on_the_branch(tmp_path: Path) -> None:
    cli = init_repo(code_repo(tmp_path / "a"), inline=False)
    first = cli.create("P")
    second = cli.create("Q", "--blocked-by", first)
    cli.ok("cancel", second)
    cli.ok("archive")
    assert "PROBLEM" not in cli.ok("doctor")


def test_changing_an_archived_task_names_restore_and_status_before_a_sync(tmp_path: Path, remote: Path) -> None:
    cli = init_repo(code_repo(tmp_path / "a", remote), inline=False)
    tid = cli.create("Old")
    cli.ok("cancel", tid)
    cli.ok("archive")
    assert f"gittasks restore {tid}" in cli.fail("update", tid, "--owner", "x")
    assert "no task with id 'zzzz'" in cli.fail("start", "zzzz")
    fresh = Cli(code_repo(tmp_path / "fresh"))
    git(fresh.root, "remote", "add", "origin", str(remote))
    assert "not synced yet" in fresh.ok("status")
