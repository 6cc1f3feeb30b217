"""Hard cases around the two layouts: git's own copies of the task file, clones that meet a migrated remote,
interrupted migrations, task branches that are not ours, renamed task branches, stale git locks, shallow clones."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, git, init_repo


def code_repo(path: Path, remote: Path | None = None) -> Path:
    """A repository with some code committed (and pushed to `remote`)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "app.py").write_text("print('one')\n")
    git(path, "add", ".")
    git(path, "commit", "-qm", "The application")
    if remote is not None:
        git(path, "remote", "add", "origin", str(remote))
        git(path, "push", "-q", "-u", "origin", "main")
    return path


def clone(tmp_path: Path, remote: Path, name: str, *args: str) -> Cli:
    git(tmp_path, "clone", "-q", *args, str(remote), str(tmp_path / name))
    return Cli(tmp_path / name, name.upper())


def ids(cli: Cli) -> set[str]:
    return {t["id"] for t in cli.json("list")}


def branch_ids(root: Path, branch: str = "gittasks") -> set[str]:
    return {t["id"] for t in json.loads(git(root, "show", f"{branch}:{ACTIVE}"))["tasks"]}


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


# -- git's own copies of the task file are never edits that delete tasks ------------------------------------------


def migrated_pair(tmp_path: Path, remote: Path) -> tuple[Cli, Cli, str]:
    """A and B share an inline list through the remote; A is about to migrate."""
    a = init_repo(code_repo(tmp_path / "a", remote), "WS-A")  # inline
    first = a.create("From the inline days")
    a.ok("sync")
    b = clone(tmp_path, remote, "b")
    git(b.root, "config", "gittasks.layout", "inline")
    assert ids(b) == {first}
    return a, b, first


def test_a_pull_stopped_on_modify_delete_loses_no_task_and_pushes_no_deletion(
    tmp_path: Path, bare_remote: Path
) -> None:
    a, b, first = migrated_pair(tmp_path, bare_remote)
    mine = b.create("Teammate's inline task")  # B, still inline, pushes an inline commit of the list
    b.ok("sync")
    a.ok("migrate", "--yes")
    after = {a.create("Made after the move"), a.create("Also after the move")}
    a.ok("sync")
    proc = subprocess.run(["git", "pull", "--no-rebase", "origin", "main"], cwd=a.root, capture_output=True, text=True)
    assert proc.returncode != 0 and "CONFLICT" in proc.stdout + proc.stderr
    assert git(a.root, "ls-files", "-u", ACTIVE) != ""
    proc = a.run("list")
    assert proc.returncode == 0, proc.stderr
    assert ids(a) == {first, mine} | after
    assert "git rm --cached" in proc.stderr and "git merge --continue" in proc.stderr
    assert branch_ids(a.root) == {first, mine} | after
    a.ok("sync")
    assert branch_ids(bare_remote) == {first, mine} | after  # no deletion pushed
    git(a.root, "rm", "-q", "--cached", ACTIVE)
    git(a.root, "commit", "-q", "--no-edit")
    assert ids(a) == {first, mine} | after
    assert git(a.root, "ls-files", ".claude") == ""


@pytest.mark.parametrize("how", ["git pull --rebase", "git checkout OLD -- FILE"])
def test_other_copies_git_writes_delete_no_task(tmp_path: Path, bare_remote: Path, how: str) -> None:
    a, b, first = migrated_pair(tmp_path, bare_remote)
    mine = b.create("Teammate's inline task")
    b.ok("sync")
    old = git(a.root, "rev-parse", "HEAD")
    a.ok("migrate", "--yes")
    after = a.create("Made after the move")
    expected = {first, after}
    if how == "git pull --rebase":
        subprocess.run(["git", "pull", "--rebase", "origin", "main"], cwd=a.root, capture_output=True)
        assert (a.root / ".git" / "rebase-merge").is_dir() or (a.root / ".git" / "rebase-apply").is_dir()
        expected.add(mine)
    else:
        git(a.root, "checkout", old, "--", ACTIVE)  # the index tracks the old copy again
    proc = a.run("list")
    assert proc.returncode == 0 and "git rm --cached" in proc.stderr, proc.stderr
    assert ids(a) == expected
    assert branch_ids(a.root) == expected
    a.ok("sync")
    assert branch_ids(bare_remote) == expected


# -- a git lock file left behind is named, never taken for a lost race ---------------------------------------------


@pytest.mark.parametrize("inline", [False, True])
def test_a_stale_ref_lock_is_named_in_one_line_and_doctor_reports_it(
    tmp_path: Path, bare_remote: Path, inline: bool
) -> None:
    a = init_repo(code_repo(tmp_path / "a", bare_remote), "WS-A", inline=inline)
    tid = a.create("Before the lock")
    a.ok("sync")
    b = clone(tmp_path, bare_remote, "b")
    if inline:
        git(b.root, "config", "gittasks.layout", "inline")
    b.ok("update", tid, "--owner", "from B")
    b.ok("sync")
    ref = "gittasks" if not inline else "main"
    lock = a.root / ".git" / "refs" / "heads" / f"{ref}.lock"
    lock.write_text("")
    fast = {"GITTASKS_LOCK_RETRIES": "2"}
    err = one_line(a.fail("create", "Blocked", env=fast))
    assert f"{ref}.lock exists" in err and "no git process is running" in err and "rm " in err
    assert "moved" not in err
    err = one_line(a.fail("sync", env=fast))
    assert f"{ref}.lock" in err and "kept moving" not in err and "attempts" not in err
    proc = a.run("doctor")
    assert proc.returncode == 1 and f"PROBLEM  {lock}" in proc.stdout
    a.ok("doctor", "--fix", env={"GITTASKS_STALE_LOCK_SECONDS": "0"})
    assert not lock.exists()
    a.ok("sync")
    assert a.json("show", tid)["owner"] == "from B"
    a.create("After the lock")


def test_a_stale_lock_of_the_remote_tracking_ref_is_no_offline_remote(tmp_path: Path, bare_remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", bare_remote), "WS-A", inline=False)
    a.create("One")
    a.ok("sync")
    b = clone(tmp_path, bare_remote, "b")
    b.create("From B")
    b.ok("sync")  # the remote moved: a's fetch has to update its remote-tracking ref
    lock = a.root / ".git" / "refs" / "remotes" / "origin" / "gittasks.lock"
    lock.write_text("")
    err = one_line(a.fail("sync"))
    assert "origin/gittasks.lock exists" in err and "could not reach" not in err
    lock.unlink()
    a.ok("sync")
    remote_lock = bare_remote / "refs" / "heads" / "gittasks.lock"
    remote_lock.write_text("")
    a.create("Two")
    err = one_line(a.fail("sync"))
    assert "could not lock its branch" in err and "kept moving" not in err


# -- a clone still on the inline layout follows a migrated remote in one step ---------------------------------------


def stranded(tmp_path: Path, remote: Path) -> tuple[Cli, Cli, set[str], set[str]]:
    """A migrates and goes on; B, still inline, has tasks of its own committed on main and not pushed."""
    a, b, first = migrated_pair(tmp_path, remote)
    a.ok("migrate", "--yes")
    a_ids = {first, a.create("A after the move")}
    a.ok("sync")
    git(a.root, "push", "-q", "origin", "main")
    b_ids = {b.create("B's own inline task"), b.create("B's second inline task")}
    assert "gittasks: create" in git(b.root, "log", "-1", "--format=%s")  # committed on B's main
    return a, b, a_ids, b_ids


def assert_followed(a: Cli, b: Cli, remote: Path, every: set[str]) -> None:
    assert ids(b) == every
    assert b.json("status")["layout"] == "branch"
    assert git(b.root, "ls-files", ".claude") == ""
    assert not (b.root / ".git" / "MERGE_HEAD").exists()
    assert ".claude" not in git(b.root, "ls-tree", "--name-only", "HEAD")
    late = b.create("B after following")
    assert ".claude" not in git(b.root, "ls-tree", "--name-only", "HEAD")  # never on the code branch again
    b.ok("sync")
    a.ok("sync")
    assert ids(a) == ids(b) == every | {late}
    assert branch_ids(remote) == every | {late}
    assert git(b.root, "status", "--porcelain") == ""


ORDERS: dict[str, list[tuple[str, ...]]] = {
    "sync, then git pull": [("gittasks", "sync"), ("git", "pull", "-q", "--no-rebase")],
    "git pull, then sync": [("git", "pull", "--no-rebase"), ("gittasks", "sync")],
    "git pull, then doctor --fix": [("git", "pull", "--no-rebase"), ("gittasks", "doctor", "--fix")],
    "git pull, then create": [("git", "pull", "--no-rebase"), ("gittasks", "create", "Made right after the pull")],
    "git pull --rebase, then sync": [("git", "pull", "--rebase"), ("gittasks", "sync")],
    "git pull origin main, then list": [("git", "pull", "--no-rebase", "origin", "main"), ("gittasks", "list")],
    "doctor --fix, then git pull": [("gittasks", "doctor", "--fix"), ("git", "pull", "-q", "--no-rebase")],
}


@pytest.mark.parametrize("order", list(ORDERS))
def test_a_stranded_inline_clone_follows_in_one_step(tmp_path: Path, bare_remote: Path, order: str) -> None:
    a, b, a_ids, b_ids = stranded(tmp_path, bare_remote)
    made: set[str] = set()
    for tool, *args in ORDERS[order]:
        if tool == "git":
            subprocess.run(["git", *args], cwd=b.root, capture_output=True)  # may stop on the task file's conflict
            continue
        proc = b.run(*args)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        assert "Traceback" not in proc.stderr
        if args[0] == "create":
            made.add(proc.stdout.strip())
    assert_followed(a, b, bare_remote, a_ids | b_ids | made)


@pytest.mark.parametrize("then", [("sync",), ("doctor", "--fix"), ("create", "Made meanwhile")])
def test_a_clone_that_pulled_a_migrate_before_its_task_branch_was_pushed_waits(
    tmp_path: Path, bare_remote: Path, then: tuple[str, ...]
) -> None:
    """A migrates and pushes main by hand, its task branch not yet pushed: B, still inline, must not mend git's
    merge by tracking the list on main again; it says what to wait for, and follows once the branch is there."""
    a, b, first = migrated_pair(tmp_path, bare_remote)
    b_own = b.create("B's own inline task")
    a.ok("migrate", "--yes")  # (autosync is off in the tests: the task branch stays here)
    git(a.root, "push", "-q", "origin", "main")
    subprocess.run(["git", "pull", "-q", "--no-rebase"], cwd=b.root, capture_output=True)
    proc = b.run(*then)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    said = proc.stderr if then[0] != "doctor" else proc.stdout  # (doctor reports on stdout, a line per finding)
    assert "has no branch gittasks yet" in said and "machine that migrated" in said, proc.stdout + proc.stderr
    assert ".claude" not in git(bare_remote, "ls-tree", "--name-only", "main")  # nothing went back on main
    for rev in ("HEAD", "origin/main"):
        tracked = subprocess.run(["git", "cat-file", "-e", f"{rev}:{ACTIVE}"], cwd=b.root, capture_output=True)
        assert tracked.returncode != 0 or (rev == "HEAD" and (b.root / ".git" / "MERGE_HEAD").exists())
    a.ok("sync")  # the migrating machine pushes its task branch
    b.ok("sync")
    assert ids(b) >= {first, b_own}
    assert git(b.root, "ls-files", ".claude") == ""
    a.ok("sync")
    assert ids(a) == ids(b)


def test_a_clean_inline_clone_that_pulled_main_alone_reads_the_task_branch(tmp_path: Path, bare_remote: Path) -> None:
    a, b, first = migrated_pair(tmp_path, bare_remote)
    a.ok("migrate", "--yes")
    later = a.create("A after the move")
    a.ok("sync")
    git(a.root, "push", "-q", "origin", "main")
    git(b.root, "pull", "-q", "origin", "main")  # fetches main alone: no origin/gittasks here
    assert not (b.root / ACTIVE).exists()
    assert ids(b) == {first, later}
    assert_followed(a, b, bare_remote, {first, later})


# -- a migrate killed at any step finishes when run again -----------------------------------------------------------

MIGRATE_POINTS = [
    "after-commit",  # (the pending edit committed first, inline)
    "migrate-task-branch",
    "migrate-code-commit",
    "migrate-index",
    "migrate-layout",
    "migrate-exclude",
]


@pytest.mark.parametrize("point", MIGRATE_POINTS)
def test_a_migrate_killed_at_each_step_finishes_when_run_again(tmp_path: Path, point: str) -> None:
    cli = init_repo(code_repo(tmp_path / "a"))  # inline
    tid = cli.create("From the inline days")
    cli.ok("start", tid)
    other = cli.create("Edited by hand before the move")
    doc = cli.doc()
    next(t for t in doc["tasks"] if t["id"] == other)["subject"] = "Pending edit"
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2))
    proc = cli.run("migrate", "--yes", env={"GITTASKS_FAILPOINT": point})
    assert proc.returncode == 77, proc.stderr + proc.stdout
    proc = cli.run("migrate", "--yes")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert cli.json("status")["layout"] == "branch"
    assert git(cli.root, "ls-files", ".claude") == ""
    assert git(cli.root, "status", "--porcelain") == ""
    assert ".claude" not in git(cli.root, "ls-tree", "--name-only", "HEAD")
    assert {t["id"]: t["subject"] for t in cli.json("list")} == {tid: "From the inline days", other: "Pending edit"}
    assert "nothing to migrate" in cli.fail("migrate", "--yes")
    cli.ok("done", tid)
    actions = [e["action"] for e in cli.json("log", tid)]
    assert actions[0] == "complete" and "start" in actions and "create" in actions
    assert "PROBLEM" not in cli.ok("doctor")


# -- a branch named like the task branch that is not one ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["code", "other-tool"])
def test_a_foreign_task_named_branch_on_the_remote_is_refused_by_sync(
    tmp_path: Path, bare_remote: Path, kind: str
) -> None:
    a = init_repo(code_repo(tmp_path / "a", bare_remote), "WS-A", inline=False)
    tid = a.create("Mine")
    other = code_repo(tmp_path / "other")
    if kind == "other-tool":  # another tool's branch of that name, with a file of the same name even
        git(other, "switch", "-q", "--orphan", "gittasks")
        (other / ".claude").mkdir()
        (other / ACTIVE).write_text('{"tasks": []}\n')
        git(other, "add", "-f", ".")
        git(other, "commit", "-qm", "the other tool's state")
    git(other, "push", "-q", str(bare_remote), "HEAD:refs/heads/gittasks")
    foreign = git(bare_remote, "rev-parse", "gittasks")
    mine = git(a.root, "rev-parse", "gittasks")
    err = one_line(a.fail("sync"))
    assert "origin/gittasks is not a task branch" in err and "gittasks.branch" in err
    assert git(bare_remote, "rev-parse", "gittasks") == foreign  # nothing pushed over it
    assert git(a.root, "rev-parse", "gittasks") == mine  # nothing merged
    git(a.root, "config", "gittasks.branch", "tasks")
    a.ok("sync")
    assert tid in branch_ids(bare_remote, "tasks")


# -- a renamed task branch carries its history; machines on different names are told -------------------------------


def test_a_rename_carries_the_history_and_the_other_names_are_told(tmp_path: Path, bare_remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", bare_remote), "WS-A", inline=False)
    tid = a.create("Renamed along")
    a.ok("start", tid)
    a.ok("sync")
    b = clone(tmp_path, bare_remote, "b")
    assert ids(b) == {tid}
    git(a.root, "config", "gittasks.branch", "tasks")
    proc = a.run("update", tid, "--owner", "after the rename")
    assert proc.returncode == 0 and "now tasks" in proc.stderr and "started from gittasks" in proc.stderr
    assert [e["action"] for e in a.json("log", tid)] == ["update", "start", "create"]  # the history came along
    a.ok("sync")
    assert tid in branch_ids(bare_remote, "tasks")
    proc = b.run("sync")  # B, still on the old name, hears of the rename
    assert proc.returncode == 0 and "git config gittasks.branch tasks" in proc.stderr, proc.stderr
    other = b.create("Made on the old name")
    b.ok("sync")
    proc = a.run("sync")  # A hears that the old name has commits its branch lacks
    assert "origin/gittasks has" in proc.stderr and "lacks" in proc.stderr, proc.stderr
    git(b.root, "config", "gittasks.branch", "tasks")
    b.ok("sync")
    a.ok("sync")
    assert ids(a) == ids(b) == {tid, other}
    assert {"update", "start", "create"} <= {e["action"] for e in b.json("log", tid)}


# -- a shallow, single-branch clone is told to sync ------------------------------------------------------------------


def test_a_depth_1_clone_is_told_to_sync_and_sync_brings_the_list(tmp_path: Path, bare_remote: Path) -> None:
    a = init_repo(code_repo(tmp_path / "a", bare_remote), "WS-A", inline=False)
    tid = a.create("On the task branch")
    a.ok("sync")
    b = Cli(tmp_path / "b", "WS-B")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{bare_remote}", str(b.root))
    proc = b.run("list")
    assert proc.returncode == 0 and "gittasks sync" in proc.stderr and "shallow" in proc.stderr, proc.stderr
    b.ok("sync")
    assert ids(b) == {tid}
    assert "shallow" not in b.run("list").stderr
