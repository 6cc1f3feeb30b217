"""`gittasks sync` between real clones of a bare remote in temporary folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, git, init_repo


def clone(remote: Path, path: Path, machine: str) -> Cli:
    git(path.parent, "clone", "-q", str(remote), str(path))
    return Cli(path, machine)


@pytest.fixture
def two(make_repo, bare_remote: Path, tmp_path: Path) -> tuple[Cli, Cli]:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    a.ok("sync")
    b = clone(bare_remote, tmp_path / "b", "WS-B")
    return a, b


def converge(*clis: Cli) -> None:
    """Sync every clone twice in turn; all task files must then be byte-identical."""
    for _ in range(2):
        for cli in clis:
            cli.ok("sync")
    first = (clis[0].root / ACTIVE).read_bytes()
    for cli in clis[1:]:
        assert (cli.root / ACTIVE).read_bytes() == first, f"{cli.machine} differs from {clis[0].machine}"
    for cli in clis:
        assert git(cli.root, "status", "--porcelain") == "", f"{cli.machine} left a dirty work tree"
        assert not (cli.root / ".git" / "MERGE_HEAD").exists()


def test_first_sync_to_empty_remote_sets_upstream(make_repo, bare_remote: Path) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo(), "WS-A")
    a.create("One")
    git(a.root, "remote", "add", "origin", str(bare_remote))
    data = json.loads(a.ok("sync", "--json"))
    assert data["ok"] and data["pushed"]
    assert git(a.root, "rev-parse", "--abbrev-ref", "main@{upstream}") == "origin/main"
    assert git(bare_remote, "rev-parse", "main") == a.head()
    assert "up to date" in a.ok("sync")


def test_disjoint_edits_of_one_task(two: tuple[Cli, Cli]) -> None:
    a, b = two
    tid = a.create("Shared")
    a.ok("sync")
    b.ok("sync")
    a.ok("update", tid, "--subject", "Shared, renamed on A")
    b.ok("update", tid, "--owner", "bob", "--meta", "client=Dataforth")
    converge(a, b)
    task = a.task(tid)
    assert task["subject"] == "Shared, renamed on A"
    assert task["owner"] == "bob"
    assert task["metadata"] == {"client": "Dataforth"}
    assert a.json("conflicts") == []


def test_concurrent_creates(two: tuple[Cli, Cli]) -> None:
    a, b = two
    ids_a = [a.create(f"A{i}") for i in range(3)]
    ids_b = [b.create(f"B{i}") for i in range(3)]
    converge(a, b)
    assert {t["id"] for t in a.doc()["tasks"]} == set(ids_a) | set(ids_b)


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_same_field_conflict_converges_in_either_order(two: tuple[Cli, Cli], order: str) -> None:
    a, b = two
    tid = a.create("Owned")
    a.ok("sync")
    b.ok("sync")
    a.ok("update", tid, "--owner", "alice")
    b.ok("update", tid, "--owner", "bob")
    first, second = (a, b) if order == "ab" else (b, a)
    converge(first, second)
    records = a.json("conflicts")
    assert len(records) == 1
    record = records[0]
    assert record["task"] == tid and record["field"] == "owner"
    assert sorted(v["value"] for v in record["values"]) == ["alice", "bob"]
    assert a.task(tid)["owner"] == record["kept"]
    merge = git(second.root, "log", "--all", "--merges", "-1", "--format=%B")  # the merge names what it recorded
    assert "Conflicts recorded (1):" in merge and f"- {tid} owner [field]: " in merge, merge
    assert merge.index("Conflicts recorded") < merge.index("Machine: ")
    # settle it on B: the record disappears everywhere after sync
    b.ok("resolve", tid, "owner", "--value", "carol")
    converge(a, b)
    assert a.json("conflicts") == []
    assert a.task(tid)["owner"] == "carol"


def test_delete_against_edit_keeps_the_edit(two: tuple[Cli, Cli]) -> None:
    a, b = two
    tid = a.create("Contested")
    a.ok("sync")
    b.ok("sync")
    a.ok("delete", tid)
    b.ok("update", tid, "-d", "important detail")
    converge(a, b)
    assert a.task(tid)["description"] == "important detail"
    assert any(r["task"] == tid and r["kind"] == "delete-edit" for r in a.json("conflicts"))


def test_delete_without_edit_sticks(two: tuple[Cli, Cli]) -> None:
    a, b = two
    keep = a.create("Keep")
    gone = a.create("Gone")
    a.ok("sync")
    b.ok("sync")
    b.ok("delete", gone)
    a.ok("update", keep, "--owner", "me")
    converge(a, b)
    assert [t["id"] for t in a.doc()["tasks"]] == [keep]


def test_dependency_sets_merge_and_stay_symmetric(two: tuple[Cli, Cli]) -> None:
    a, b = two
    x, y, z, w = (a.create(s) for s in "xyzw")
    a.ok("update", x, "--add-blocks", w)
    a.ok("sync")
    b.ok("sync")
    a.ok("update", x, "--add-blocks", y)
    b.ok("update", x, "--add-blocks", z, "--remove-blocks", w)
    converge(a, b)
    assert sorted(a.task(x)["blocks"]) == sorted([y, z])
    assert a.task(y)["blockedBy"] == [x] and a.task(z)["blockedBy"] == [x]
    assert a.task(w)["blockedBy"] == []


def test_status_join_completed_beats_in_progress(two: tuple[Cli, Cli]) -> None:
    a, b = two
    tid = a.create("Race")
    a.ok("start", tid)
    a.ok("sync")
    b.ok("sync")
    a.ok("done", tid)
    b.ok("block", tid, "--reason", "hmm")
    converge(a, b)
    task = a.task(tid)
    assert task["status"] == "completed" and task["completed_at"]


def test_other_commits_on_the_branch_are_carried_along(two: tuple[Cli, Cli]) -> None:
    a, b = two
    (a.root / "src.py").write_text("print('a')\n")
    git(a.root, "add", "src.py")
    git(a.root, "commit", "-qm", "code on A")
    a.create("Task A")
    (b.root / "lib.py").write_text("x = 1\n")
    git(b.root, "add", "lib.py")
    git(b.root, "commit", "-qm", "code on B")
    b.create("Task B")
    converge(a, b)
    assert (a.root / "lib.py").read_text() == "x = 1\n"
    assert (b.root / "src.py").read_text() == "print('a')\n"
    assert "code on B" in git(a.root, "log", "--format=%s")


def test_conflicting_user_file_stops_cleanly(two: tuple[Cli, Cli]) -> None:
    a, b = two
    for cli, text in ((a, "from A\n"), (b, "from B\n")):
        (cli.root / "notes.txt").write_text(text)
        git(cli.root, "add", "notes.txt")
        git(cli.root, "commit", "-qm", f"notes on {cli.machine}")
        cli.create(f"task on {cli.machine}")
    a.ok("sync")
    (b.root / "scratch.txt").write_text("unstaged work\n")
    head, status = b.head(), git(b.root, "status", "--porcelain")
    raw = (b.root / ACTIVE).read_bytes()
    err = b.fail("sync")
    assert "notes.txt" in err and "nothing was changed" in err
    assert b.head() == head
    assert git(b.root, "status", "--porcelain") == status
    assert (b.root / ACTIVE).read_bytes() == raw
    assert not (b.root / ".git" / "MERGE_HEAD").exists()


def test_uncommitted_change_in_the_way_stops_cleanly(two: tuple[Cli, Cli]) -> None:
    a, b = two
    (a.root / "shared.txt").write_text("v1\n")
    git(a.root, "add", "shared.txt")
    git(a.root, "commit", "-qm", "shared file")
    a.ok("sync")
    (b.root / "shared.txt").write_text("my local draft\n")
    err = b.fail("sync")
    assert "shared.txt" in err
    assert (b.root / "shared.txt").read_text() == "my local draft\n"


def test_offline_then_online(two: tuple[Cli, Cli], bare_remote: Path) -> None:
    a, b = two
    a.create("one")
    a.create("two")
    moved = bare_remote.with_name("away.git")
    bare_remote.rename(moved)
    head = a.head()
    err = a.fail("sync")
    assert "2 changes not yet pushed" in err
    assert a.head() == head
    assert not (a.root / ".git" / "MERGE_HEAD").exists()
    moved.rename(bare_remote)
    a.ok("sync")
    b.ok("sync")
    assert {t["subject"] for t in b.doc()["tasks"]} == {"one", "two"}


def test_remote_that_rejects_the_first_push(two: tuple[Cli, Cli], bare_remote: Path) -> None:
    a, _ = two
    hook = bare_remote / "hooks" / "pre-receive"
    flag = bare_remote / "rejected-once"
    hook.write_text(
        f"#!/bin/sh\nif [ ! -f '{flag.as_posix()}' ]; then touch '{flag.as_posix()}'; echo busy >&2; exit 1; fi\n"
    )
    hook.chmod(0o755)
    a.create("pushed later")
    err = a.fail("sync")
    assert "not yet pushed" in err
    assert not (a.root / ".git" / "MERGE_HEAD").exists()
    a.ok("sync")
    assert git(bare_remote, "rev-parse", "main") == a.head()


def test_sync_json_reports_incoming_with_machine(two: tuple[Cli, Cli]) -> None:
    a, b = two
    tid = a.create("From A")
    a.ok("sync")
    data = json.loads(b.ok("sync", "--json"))
    assert data["ok"] is True
    assert [(i["id"], i["change"], i["machine"]) for i in data["incoming"]] == [(tid, "added", "WS-A")]
    status = b.json("status")
    assert status["ahead"] == 0 and status["behind"] == 0 and status["last_sync"]


def test_no_remote_is_a_clear_error(make_repo) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo())
    assert "no remote" in a.fail("sync")


RACE_SCRIPT = """
import sys
from gittasks.workspace import Workspace
from gittasks import model, sync
ws = Workspace.open()
for i in range(int(sys.argv[2])):
    ws.change("create", lambda d, c, i=i: model.create_task(d, c, model.NewTask(f"{sys.argv[1]}-{i}")))
    sync.sync(ws)
"""


def test_three_machines_syncing_at_once(two: tuple[Cli, Cli], bare_remote: Path, tmp_path: Path) -> None:
    a, b = two
    c = clone(bare_remote, tmp_path / "c", "WS-C")
    clis = [a, b, c]
    for cli in clis:
        git(cli.root, "config", "gittasks.machine", cli.machine)
    rounds = 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_SCRIPT, cli.machine, str(rounds)],
            cwd=cli.root,
            env={**__import__("os").environ, "GITTASKS_MACHINE": cli.machine},
            stderr=subprocess.PIPE,
            text=True,
        )
        for cli in clis
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    converge(*clis)
    subjects = sorted(t["subject"] for t in a.doc()["tasks"])
    assert subjects == sorted(f"{cli.machine}-{i}" for cli in clis for i in range(rounds))
    remote_log = git(bare_remote, "log", "--format=%s", "main")
    assert remote_log.count("gittasks: create") == 3 * rounds


def test_demo_runs_and_converges(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gittasks", "demo"], cwd=tmp_path, capture_output=True, text=True, encoding="utf-8"
    )
    assert proc.returncode == 0, proc.stderr
    assert "identical task files on both workstations: yes" in proc.stdout
    assert "Machine: WS-A" in proc.stdout and "Machine: WS-B" in proc.stdout
    assert "owner [field]" in proc.stdout
    assert not list(Path(tmp_path).glob("gittasks-demo-*"))


def test_autosync_pushes_in_the_background(two: tuple[Cli, Cli], bare_remote: Path) -> None:
    import time

    a, _ = two
    git(a.root, "config", "gittasks.autosync", "true")  # (inline: off unless set)
    git(a.root, "config", "gittasks.pullInterval", "0")  # the runner ends once it has pushed
    a.ok("create", "pushed by itself", env={"GITTASKS_AUTOSYNC": ""})
    for _ in range(100):
        if git(bare_remote, "rev-parse", "main") == a.head():
            break
        time.sleep(0.1)
    assert git(bare_remote, "rev-parse", "main") == a.head()


def test_autoarchive_on_each_change(make_repo) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo())
    git(a.root, "config", "gittasks.autoarchive", "0s")
    tid = a.create("ends soon")
    a.ok("start", tid)
    a.ok("done", tid)
    assert a.json("list") == []
    assert [t["id"] for t in a.json("list", "--all")] == [tid]
    assert "archive" in git(a.root, "log", "-1", "--format=%s")


def test_first_sync_of_a_repository_without_commits(two: tuple[Cli, Cli], bare_remote: Path, make_repo) -> None:  # type: ignore[no-untyped-def]
    a, _ = two
    tid = a.create("already on the remote")
    a.ok("sync")
    fresh = Cli(make_repo("fresh"), "WS-C")
    git(fresh.root, "remote", "add", "origin", str(bare_remote))
    git(fresh.root, "config", "gittasks.layout", "inline")  # the remote keeps its tasks inline, on main
    data = json.loads(fresh.ok("sync", "--json"))
    assert [(i["id"], i["change"]) for i in data["incoming"]] == [(tid, "added")]
    assert [t["id"] for t in fresh.json("list")] == [tid]


def test_a_parent_whose_subtasks_end_on_two_machines_completes_once(two: tuple[Cli, Cli]) -> None:
    a, b = two
    parent = a.create("Implement API authentication", "--client", "Acme")
    subtasks = [a.create(f"Step {i}", "--parent", parent) for i in range(4)]
    a.ok("sync")
    b.ok("sync")
    for tid in subtasks[:2]:
        a.ok("done", tid)
    for tid in subtasks[2:]:
        b.ok("done", tid, "--file", f"src/step{tid}.py")
    assert a.task(parent)["status"] == b.task(parent)["status"] == "pending"  # neither saw the last one here
    out = a.ok("sync") + b.ok("sync")
    assert f"then completed {parent} Implement API authentication: all 4 subtasks completed" in out
    converge(a, b)
    task = a.task(parent)
    assert task["status"] == "completed" and task["context"]["subtasks_completed"] == 4
    assert task["completed_at"] == max(a.task(t)["completed_at"] for t in subtasks)
    assert a.json("conflicts") == []
    completions = [e for e in a.json("log", parent) if e["changes"].get("status", {}).get("to") == "completed"]
    assert len(completions) == 1  # once, in the merge


def test_a_merge_leaves_parents_alone_when_auto_completion_is_off(two: tuple[Cli, Cli]) -> None:
    a, b = two
    for cli in (a, b):
        git(cli.root, "config", "gittasks.autoCompleteParents", "false")
    parent = a.create("Parent")
    first, second = a.create("One", "--parent", parent), a.create("Two", "--parent", parent)
    a.ok("sync")
    b.ok("sync")
    a.ok("done", first)
    b.ok("done", second)
    converge(a, b)
    assert a.task(parent)["status"] == "pending"
