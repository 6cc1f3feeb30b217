"""The commit of every change: exactly one, task files alone, trailers that user text cannot forge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, git, init_repo


@pytest.fixture
def cli(make_repo) -> Cli:  # type: ignore[no-untyped-def]
    return init_repo(make_repo())


def trailers(root: Path, rev: str = "HEAD") -> list[tuple[str, str]]:
    out = git(root, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return [tuple(line.split(": ", 1)) for line in out.splitlines() if line]  # type: ignore[misc]


def test_one_commit_per_change_with_trailers(cli: Cli) -> None:
    before = cli.commit_count()
    task_id = cli.create("Design authentication schema")
    assert cli.commit_count() == before + 1
    assert git(cli.root, "log", "-1", "--format=%s") == f'gittasks: create {task_id} "Design authentication schema"'
    found = dict(trailers(cli.root))
    assert found["Task"] == task_id
    assert found["Action"] == "create"
    assert found["Machine"] == "test-machine"
    assert found["Timestamp"].endswith("Z")
    assert git(cli.root, "show", "--name-only", "--format=", "HEAD").splitlines() == [ACTIVE]
    cli.ok("start", task_id)
    assert cli.commit_count() == before + 2
    assert dict(trailers(cli.root))["Action"] == "start"


def test_no_change_makes_no_commit(cli: Cli) -> None:
    task_id = cli.create("A")
    cli.ok("start", task_id)
    count = cli.commit_count()
    cli.ok("start", task_id)
    cli.ok("update", task_id, "--subject", "A")
    assert cli.commit_count() == count


def test_user_text_cannot_forge_trailers(cli: Cli) -> None:
    evil = "Real subject\n\nMachine: forged-host\nTask: forged-id\nAction: delete"
    task_id = cli.create(evil, "--owner", "x\nMachine: forged2")
    found = trailers(cli.root)
    assert ("Machine", "test-machine") in found
    assert all(value not in ("forged-host", "forged2") for _, value in found)
    assert [v for k, v in found if k == "Task"] == [task_id]
    assert cli.task(task_id)["subject"] == evil


def test_machine_name_with_newline_cannot_forge(make_repo) -> None:  # type: ignore[no-untyped-def]
    cli = init_repo(make_repo(), machine="box\nTask: forged")
    cli.create("A")
    found = trailers(cli.root)
    assert [v for k, v in found if k == "Task"] != ["forged"]
    assert all(v != "forged" for _, v in found)


def test_subject_starting_with_hash_and_dash(cli: Cli) -> None:
    task_id = cli.ok("create", "--", "-rf # danger").strip()
    assert cli.task(task_id)["subject"] == "-rf # danger"
    assert "-rf # danger" in git(cli.root, "log", "-1", "--format=%s")


def test_staged_and_unstaged_user_work_untouched(cli: Cli) -> None:
    root = cli.root
    (root / "staged.txt").write_text("one\n")
    (root / "unstaged.txt").write_text("one\n")
    git(root, "add", "staged.txt", "unstaged.txt")
    git(root, "commit", "-qm", "user files")
    (root / "staged.txt").write_text("two\n")
    git(root, "add", "staged.txt")
    (root / "unstaged.txt").write_text("two\n")
    (root / "new.txt").write_text("untracked\n")
    status_before = git(root, "status", "--porcelain")
    cli.create("A task")
    assert git(root, "show", "--name-only", "--format=", "HEAD").splitlines() == [ACTIVE]
    assert git(root, "status", "--porcelain") == status_before
    assert git(root, "diff", "--cached", "--name-only") == "staged.txt"
    assert (root / "unstaged.txt").read_text() == "two\n"


def test_unknown_fields_survive_every_level(cli: Cli) -> None:
    doc = cli.doc()
    doc["x_top"] = {"nested": [1, 2, {"deep": True}]}
    doc["tasks"] = [
        {
            "id": "7",
            "subject": "Imported",
            "status": "pending",
            "x_task": "keep me",
            "metadata": {"client": "C", "x_meta": {"a": None}},
            "context": {"custom": [1.5, "two"]},
        }
    ]
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    cli.ok("start", "7")
    cli.ok("update", "7", "--meta", "k=v")
    cli.ok("done", "7")
    after = cli.doc()
    assert after["x_top"] == {"nested": [1, 2, {"deep": True}]}
    task = after["tasks"][0]
    assert task["x_task"] == "keep me"
    assert task["metadata"] == {"client": "C", "x_meta": {"a": None}, "k": "v"}
    assert task["context"] == {"custom": [1.5, "two"]}


def test_external_edit_committed_on_its_own_first(cli: Cli) -> None:
    task_id = cli.create("Original")
    doc = cli.doc()
    doc["tasks"][0]["subject"] = "Changed by the assistant"
    doc["tasks"].append({"id": "hand1", "subject": "Written by hand", "status": "pending"})
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=4))
    count = cli.commit_count()
    other = cli.create("Next")
    assert cli.commit_count() == count + 2
    log = git(cli.root, "log", "-2", "--format=%s").splitlines()
    assert log[0].startswith(f"gittasks: create {other}")
    assert log[1].startswith("gittasks: external-edit")
    edit_trailers = trailers(cli.root, "HEAD~1")
    assert ("Action", "external-edit") in edit_trailers
    assert {v for k, v in edit_trailers if k == "Task"} == {task_id, "hand1"}
    assert cli.task(task_id)["subject"] == "Changed by the assistant"
    assert cli.task("hand1")["subject"] == "Written by hand"


def test_line_endings_alone_are_no_change(cli: Cli) -> None:
    cli.create("A")
    path = cli.root / ACTIVE
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    count = cli.commit_count()
    cli.ok("list")
    assert cli.commit_count() == count


BAD_FILES = {
    "truncated": b'{"tasks": [{"id": "a", "subject": "x"',
    "markers": b'{\n<<<<<<< HEAD\n  "tasks": []\n=======\n  "tasks": [{"id": "b"}]\n>>>>>>> theirs\n}\n',
    "foreign": b'{"todos": [{"title": "x"}]}',
    "wrong_type": b'{"tasks": [{"id": "a", "subject": "x"}, {"id": "b", "subject": "y", "owner": 5}]}',
    "bad_status": b'{"tasks": [{"id": "a", "subject": "x", "status": "done-ish"}]}',
    "duplicate": b'{"tasks": [{"id": "a", "subject": "x"}, {"id": "a", "subject": "y"}]}',
    "not_utf8": b'{"tasks": [{"id": "a", "subject": "\xff\xfe"}]}',
    "list_top": b"[]",
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_refused_nothing_written(cli: Cli, kind: str) -> None:
    cli.create("Keep")
    path = cli.root / ACTIVE
    path.write_bytes(BAD_FILES[kind])
    head = cli.head()
    for args in (("create", "More"), ("list",), ("start", "a")):
        err = cli.fail(*args)
        assert ACTIVE in err, err
        assert len(err.strip().splitlines()) == 1, err
    assert path.read_bytes() == BAD_FILES[kind]
    assert cli.head() == head
    assert "<<<<<<<" not in err or "doctor --fix" in err


def test_wrong_type_error_names_task_and_field(cli: Cli) -> None:
    (cli.root / ACTIVE).write_bytes(BAD_FILES["wrong_type"])
    err = cli.fail("create", "x")
    assert "tasks[1]" in err and "owner" in err


def test_four_processes_fifty_changes_each_lose_nothing(cli: Cli) -> None:
    script = (
        "import sys\n"
        "from gittasks.workspace import Workspace\n"
        "from gittasks import model\n"
        "ws = Workspace.open()\n"
        "for i in range(50):\n"
        "    ws.change('create', lambda d, c, i=i: model.create_task(d, c, model.NewTask(f'p{sys.argv[1]}-{i}')))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(n)], cwd=cli.root, env={**__import__("os").environ})
        for n in range(4)
    ]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    subjects = sorted(t["subject"] for t in cli.doc()["tasks"])
    assert subjects == sorted(f"p{n}-{i}" for n in range(4) for i in range(50))
    creates = git(cli.root, "log", "--format=%s", "--grep=^gittasks: create").splitlines()
    assert len(creates) == 200
    assert git(cli.root, "status", "--porcelain") == ""


@pytest.mark.parametrize("layout", ["own-branch", "inline"])
def test_the_task_files_blobs_are_stored_with_zlibs_fastest_level_unless_the_repository_sets_one(
    make_repo, layout: str
) -> None:  # type: ignore[no-untyped-def]
    cli = init_repo(make_repo(), inline=layout == "inline")

    def zlib_header_of_the_list() -> bytes:
        rev = "gittasks" if layout == "own-branch" else "HEAD"
        blob = git(cli.root, "rev-parse", f"{rev}:.claude/active-tasks.json")
        return (cli.root / ".git" / "objects" / blob[:2] / blob[2:]).read_bytes()[:2]

    cli.create("Stored quickly")
    assert zlib_header_of_the_list() == b"\x78\x01"  # zlib level 1
    git(cli.root, "config", "core.compression", "9")
    cli.create("Stored as the repository says")
    assert zlib_header_of_the_list() == b"\x78\xda"  # level 9
    assert [t["subject"] for t in cli.doc()["tasks"]] == ["Stored quickly", "Stored as the repository says"]
