"""Archive and restore, history from git (trailers, hand edits, legacy trailers), show --at."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

from gittasks.history import describe


@pytest.fixture
def cli(make_repo: MakeRepo) -> Cli:
    return init_repo(make_repo())


def archived_lines(root: Path) -> list[dict[str, object]]:
    lines = []
    for path in sorted((root / ".claude/tasks/archive").glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def test_archive_and_restore_round_trip(cli: Cli) -> None:
    done = cli.create("Finished work")
    cli.ok("start", done)
    cli.ok("done", done)
    cancelled = cli.create("Dropped")
    cli.ok("cancel", cancelled)
    waiting = cli.create("Still open", "--blocked-by", done)
    before = cli.commit_count()
    out = cli.json("archive")
    assert sorted(t["id"] for t in out) == sorted([done, cancelled])
    assert cli.commit_count() == before + 1
    changed = git(cli.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert ACTIVE in changed and any(p.startswith(".claude/tasks/archive/") for p in changed)
    assert [t["id"] for t in cli.json("list")] == [waiting]
    assert sorted(str(t["id"]) for t in archived_lines(cli.root)) == sorted([done, cancelled])
    files = list((cli.root / ".claude/tasks/archive").glob("*.jsonl"))
    assert all(len(f.stem) == 7 for f in files)
    # references to archived tasks stay valid and count as completed
    assert [t["id"] for t in cli.json("ready")] == [waiting]
    assert cli.ok("validate") == ""
    # list --all, show and log find archived tasks
    assert {t["id"] for t in cli.json("list", "--all")} == {done, cancelled, waiting}
    assert cli.json("show", done)["status"] == "completed"
    assert any(e["action"] == "archive" for e in cli.json("log", done))
    restored = cli.json("restore", done)
    assert restored["id"] == done
    assert {t["id"] for t in cli.json("list")} == {done, waiting}
    assert [t["id"] for t in archived_lines(cli.root)] == [cancelled]
    assert "no archived task" in cli.fail("restore", "nosuch")


def test_archive_older_than(cli: Cli) -> None:
    tid = cli.create("Recent")
    cli.ok("start", tid)
    cli.ok("done", tid)
    assert cli.json("archive", "--older-than", "7d") == []
    assert "not understood" in cli.fail("archive", "--older-than", "soon")
    assert [t["id"] for t in cli.json("archive", "--older-than", "0s")] == [tid]


def test_archive_against_concurrent_edit_on_other_clone(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Contested")
    a.ok("start", tid)
    a.ok("done", tid)
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    a.ok("archive")
    b.ok("update", tid, "--meta", "note=edited on B")
    for cli in (a, b, a, b):
        cli.ok("sync")
    for cli in (a, b):
        everywhere = [t for t in cli.json("list", "--all") if t["id"] == tid]
        assert len(everywhere) == 1, f"{cli.machine}: task present {len(everywhere)} times"
        assert everywhere[0]["metadata"] == {"note": "edited on B"}
    assert (a.root / ACTIVE).read_bytes() == (b.root / ACTIVE).read_bytes()
    assert archived_lines(a.root) == archived_lines(b.root)


def test_log_of_one_task_with_fields_and_machines(cli: Cli) -> None:
    tid = cli.create("Logged")
    cli.ok("update", tid, "--owner", "ann", "--meta", "client=Acme")
    Cli(cli.root, "OTHER-HOST").ok("start", tid)
    entries = cli.json("log", tid)
    assert [e["action"] for e in entries] == ["start", "update", "create"]
    assert entries[0]["machine"] == "OTHER-HOST"
    assert entries[0]["changes"]["status"] == {"from": "pending", "to": "in_progress"}
    assert entries[1]["changes"]["owner"] == {"from": None, "to": "ann"}
    assert entries[1]["changes"]["metadata.client"] == {"from": None, "to": "Acme"}
    assert set(entries[0]) >= {"commit", "when", "machine", "action", "task", "changes"}
    assert len(cli.json("log", tid, "--limit", "1")) == 1
    text = cli.ok("log", tid)
    assert "status: pending -> in_progress" in text


def test_log_shows_hand_made_commits(cli: Cli) -> None:
    tid = cli.create("Edited by hand later")
    doc = cli.doc()
    doc["tasks"][0]["owner"] = "by hand"
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    git(cli.root, "commit", "-qam", "tweak the task list")
    entries = cli.json("log", tid)
    assert entries[0]["action"] == "edit-by-hand"
    assert entries[0]["changes"] == {"owner": {"from": None, "to": "by hand"}}


def test_log_on_the_task_branch_finds_hand_made_commits_there_and_skips_those_of_other_files(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    cli = init_repo(make_repo(), inline=False)
    tid = cli.create("Edited on the task branch by hand")
    other = cli.create("Never touched by hand")
    cli.ok("start", other)
    side = tmp_path / "task-branch"
    git(cli.root, "worktree", "add", "-q", str(side), "gittasks")
    doc = json.loads((side / ACTIVE).read_text())
    next(t for t in doc["tasks"] if t["id"] == tid)["owner"] = "by hand"
    (side / ACTIVE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    git(side, "commit", "-qam", "tweak the task list")
    (side / ".gitattributes").write_text((side / ".gitattributes").read_text() + "*.md text\n")
    git(side, "commit", "-qam", "attributes only")
    entries = cli.json("log", tid)
    assert [e["action"] for e in entries] == ["edit-by-hand", "create"]
    assert entries[0]["changes"] == {"owner": {"from": None, "to": "by hand"}}
    assert [e["action"] for e in cli.json("log", other)] == ["start", "create"]


def test_log_reads_legacy_trailers(cli: Cli) -> None:
    doc = cli.doc()
    doc["tasks"].append({"id": "8", "subject": "Legacy", "status": "pending"})
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    git(cli.root, "add", ACTIVE)
    git(
        cli.root,
        "commit",
        "-qm",
        "Add task 8\n\nTask: 8\nAction: create\nMachine: ACG-M-L5090\nTimestamp: 2026-01-26 16:45:54",
    )
    entry = cli.json("log", "8")[0]
    assert entry["machine"] == "ACG-M-L5090"
    assert entry["when"].startswith("2026-01-26T16:45:54")
    assert entry["action"] == "create"


def test_show_at_revision(cli: Cli) -> None:
    tid = cli.create("Before")
    first = cli.head()
    cli.ok("update", tid, "--subject", "After")
    assert cli.json("show", tid, "--at", first)["subject"] == "Before"
    assert cli.json("show", tid)["subject"] == "After"
    assert "unknown revision" in cli.fail("show", tid, "--at", "no-such-rev")


def test_log_describes_changes_deep_inside_objects(cli: Cli) -> None:
    tid = cli.create("Deep")
    doc = cli.doc()
    doc["tasks"][0]["context"] = {"files_modified": ["a.py"], "environment": {"os": "linux"}}
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    cli.ok("list")
    doc = cli.doc()
    doc["tasks"][0]["context"] = {"files_modified": ["a.py", "b.py"], "environment": {"os": "windows"}}
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    cli.ok("list")
    changes = cli.json("log", tid)[0]["changes"]
    assert changes["context.files_modified[1]"] == {"from": None, "to": "b.py"}
    assert changes["context.environment.os"] == {"from": "linux", "to": "windows"}


def test_log_names_keys_as_they_are_inside_objects() -> None:
    # deepdiff's tree view gives the path as keys and indexes: a key with a quote, a dot or brackets, or one that
    # looks like an index, is named as it is, and a value that looks like a change record is a value
    old = {"id": "a", "context": {"env": {"it's": 1, "[0]": "x", "a.b": [1]}, "list": [{"old_value": 1}]}}
    new = {
        "id": "a",
        "context": {"env": {"it's": 2, "[0]": "y", "a.b": [1, 2]}, "list": [{"old_value": 1}, {"old_value": 2}]},
    }
    assert describe(old, new) == {
        "context.env.[0]": {"from": "x", "to": "y"},
        "context.env.a.b[1]": {"from": None, "to": 2},
        "context.env.it's": {"from": 1, "to": 2},
        "context.list[1]": {"from": None, "to": {"old_value": 2}},
    }
