"""A bad file never spreads and never blocks everyone: task files committed by plain git (a line merge's markers, a
task both active and archived, a task this version's schema refuses, odd stamps, odd field types) and an edit made
outside gittasks, in both layouts. Hand commits go where git would put them: on the current branch (inline) or on
the task branch through a linked worktree (own branch)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import task
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

from gittasks import rules, schema, taskcheck
from gittasks.document import DocumentError

ARCHIVE = ".claude/tasks/archive"
KEPT = "keeps such a task as it is"


@pytest.fixture
def two(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool) -> tuple[Cli, Cli]:
    """Clone A (set up, one task, synced) and clone B of the same remote (synced), in the layout under test."""
    a = init_repo(make_repo("a"), "WS-A", inline=inline)
    a.ok("init", "--remote", str(bare_remote), *(["--inline"] if inline else []))
    a.create("First")
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    b.ok("sync")
    return a, b


def history(cli: Cli) -> str:
    return "HEAD" if git(cli.root, "config", "gittasks.layout", check=False) == "inline" else "gittasks"


def hand_commit(cli: Cli, files: dict[str, bytes], message: str = "by hand") -> str:
    """Commit `files` as plain git would, where the task history lives; returns the commit."""
    if history(cli) == "HEAD":
        target = cli.root
    else:
        target = cli.root.parent / f"{cli.root.name}-task-branch"
        git(cli.root, "worktree", "add", "-q", str(target), "gittasks")
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    git(target, "add", "-f", "--", *files)
    git(target, "commit", "-q", "-m", message)
    commit = git(target, "rev-parse", "HEAD")
    if target != cli.root:
        git(cli.root, "worktree", "remove", "--force", str(target))
    return commit


def committed(cli: Cli, rel: str = ACTIVE) -> bytes:
    """The bytes of `rel` at the tip of the task history (not the work tree's copy)."""
    return git(cli.root, "show", f"{history(cli)}:{rel}").encode("utf-8") + b"\n"


def committed_doc(cli: Cli) -> dict[str, Any]:
    return json.loads(committed(cli))


def with_tasks(cli: Cli, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The committed active list with `change` applied, as bytes an editor would write."""
    doc = committed_doc(cli)
    change(doc)
    return json.dumps(doc, indent=2).encode("utf-8")


def remote_tip(remote: Path, inline: bool) -> str:
    return git(remote, "rev-parse", "main" if inline else "gittasks")


# -- 4. conflict markers never leave the machine --------------------------------------------------------------------


def test_sync_refuses_to_push_a_task_file_with_conflict_markers(two: tuple[Cli, Cli], bare_remote: Path) -> None:
    a, b = two
    inline = history(a) == "HEAD"
    text = committed(a).decode("utf-8")
    broken = f"<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n".encode()
    bad = hand_commit(a, {ACTIVE: broken}, "merge by hand, markers and all")
    before = remote_tip(bare_remote, inline)
    err = a.fail("sync")
    assert "not pushed" in err and "conflict markers" in err and bad[:10] in err
    assert len(err.strip().splitlines()) == 1
    assert remote_tip(bare_remote, inline) == before  # nothing pushed
    b.ok("sync")  # the other machine syncs on
    # the fix the refusal leads to: doctor --fix names how to put the version before back (the commit is no merge)
    how = a.fail("doctor", "--fix")
    assert "restore it with" in how
    if inline:
        git(a.root, "checkout", f"{bad}~1", "--", ACTIVE)
    else:
        (a.root / ACTIVE).write_bytes(git(a.root, "show", f"{bad}~1:{ACTIVE}").encode("utf-8") + b"\n")
    a.ok("list")  # the edit replaces the broken file, as its own commit
    a.ok("sync")
    b.ok("sync")
    assert [t["subject"] for t in b.doc()["tasks"]] == ["First"]


def test_a_line_merge_committed_with_markers_is_refused_then_rebuilt_by_doctor_fix(
    two: tuple[Cli, Cli], bare_remote: Path
) -> None:
    a, b = two
    inline = history(a) == "HEAD"
    branch = "main" if inline else "gittasks"
    target = a.root if inline else a.root.parent / "a-task-branch"
    if not inline:
        git(a.root, "worktree", "add", "-q", str(target), "gittasks")
    first = committed_doc(a)["tasks"][0]["id"]

    def write(change: dict[str, Any]) -> str:
        doc = committed_doc(a) if inline else json.loads((target / ACTIVE).read_text(encoding="utf-8"))
        doc["tasks"][0].update(change, updated_at="2026-06-01T00:00:00.000Z")
        text = json.dumps(doc, indent=2) + "\n"
        (target / ACTIVE).write_text(text, encoding="utf-8")
        return text

    git(target, "switch", "-q", "-c", "side")
    theirs = write({"owner": "from the side branch"})
    git(target, "commit", "-q", "-am", "side")
    git(target, "switch", "-q", branch)
    ours = write({"subject": "Renamed on this branch"})
    git(target, "commit", "-q", "-am", "ours")
    git(target, "merge", "-q", "-s", "ours", "--no-commit", "side")
    (target / ACTIVE).write_text(f"<<<<<<< HEAD\n{ours}=======\n{theirs}>>>>>>> side\n", encoding="utf-8")
    git(target, "commit", "-q", "-am", "merge side by hand")
    git(target, "branch", "-q", "-D", "side")
    if not inline:
        git(a.root, "worktree", "remove", "--force", str(target))
    before = remote_tip(bare_remote, inline)
    assert "conflict markers" in a.fail("sync")
    assert remote_tip(bare_remote, inline) == before
    assert "rebuilt" in a.ok("doctor", "--fix")
    a.ok("sync")
    b.ok("sync")
    merged = next(t for t in b.doc()["tasks"] if t["id"] == first)
    assert merged["subject"] == "Renamed on this branch" and merged["owner"] == "from the side branch"


# -- 5. a task both active and archived is kept once by the next command ---------------------------------------------


def test_a_task_both_active_and_archived_is_kept_once_by_the_next_command(two: tuple[Cli, Cli]) -> None:
    a, _ = two
    edited, ended = a.create("Edited after archiving"), a.create("Archived last")
    a.ok("done", edited)
    a.ok("done", ended)
    a.ok("archive")
    (rel,) = git(a.root, "ls-tree", "-r", "--name-only", history(a), "--", ARCHIVE).splitlines()
    lines = {t["id"]: t for t in map(json.loads, committed(a, rel).decode().splitlines())}

    def both(doc: dict[str, Any]) -> None:  # as a plain-git merge of an archive with an edit leaves it
        newer = dict(lines[edited], subject="Edited after archiving, reopened", status="in_progress",
                     completed_at=None, updated_at="2099-01-01T00:00:00.000Z")  # fmt: skip
        older = dict(lines[ended], subject="An old copy", updated_at="2020-01-01T00:00:00.000Z")
        doc["tasks"] += [newer, older]

    hand_commit(a, {ACTIVE: with_tasks(a, both)})
    proc = a.run("doctor")
    assert proc.returncode == 1 and f"task {edited!r} is in the active list and in the archive too" in proc.stdout
    if history(a) == "HEAD":  # validate reads the work tree, which holds the commit here
        assert "in the archive too" in a.run("validate").stdout
    count = int(git(a.root, "rev-list", "--count", history(a)))
    err = a.run("list").stderr
    assert "kept" in err and edited in err and ended in err
    assert int(git(a.root, "rev-list", "--count", history(a))) == count + 1
    assert git(a.root, "log", "-1", "--format=%s", history(a)).startswith("gittasks: reconcile")
    everything = a.json("list", "--all")
    assert sorted(t["id"] for t in everything if t["id"] in (edited, ended)) == sorted([edited, ended])
    active = {t["id"]: t for t in committed_doc(a)["tasks"]}
    assert active[edited]["subject"] == "Edited after archiving, reopened"  # the copy changed last
    assert ended not in active  # its archived copy is the later one
    archived = [json.loads(line) for line in committed(a, rel).decode().splitlines()]
    assert [t["id"] for t in archived] == [ended] and archived[0]["subject"] == "Archived last"
    assert a.ok("validate") == ""
    a.ok("list")
    assert int(git(a.root, "rev-list", "--count", history(a))) == count + 1  # once


# -- 6. a task this version's schema refuses is kept as it is ---------------------------------------------------------


def test_a_task_the_schema_refuses_is_kept_and_other_changes_go_on(two: tuple[Cli, Cli]) -> None:
    a, b = two
    newer = task("fut1", subject="From a newer gittasks", status="deferred", owner={"name": "planner", "team": 2})
    hand_commit(a, {ACTIVE: with_tasks(a, lambda doc: doc["tasks"].append(newer))})
    a.ok("sync")
    b.ok("sync")
    kept = next(t for t in committed_doc(b)["tasks"] if t["id"] == "fut1")
    other = b.create("A change of another task")  # goes on
    b.ok("start", other)
    capture = {"session_id": "s1", "cwd": str(b.root), "hook_event_name": "PostToolUse", "tool_name": "TaskCreate",
               "tool_input": {"subject": "Captured by the hook"},
               "tool_response": {"task": {"id": "1", "subject": "Captured by the hook"}}}  # fmt: skip
    hook = b.run("hook", "capture", input=json.dumps(capture))
    assert hook.returncode == 0 and "Captured by the hook" in {t["subject"] for t in b.doc()["tasks"]}, hook.stderr
    listed = b.ok("list")
    assert re.search(r"^fut1 +deferred ", listed, re.M) and '{"name":"planner","team":2}' in listed  # shown as it is
    assert '{"name":"planner","team":2}' in b.ok("show", "fut1")
    for refused in (["start", "fut1"], ["update", "fut1", "--subject", "x"], ["delete", "fut1"],
                    ["create", "Waits for it", "--blocked-by", "fut1"]):  # fmt: skip
        err = b.fail(*refused)
        assert KEPT in err and "status" in err, refused
    doctor = b.run("doctor")
    assert doctor.returncode == 1 and "fut1" in doctor.stdout and KEPT in doctor.stdout
    assert next(t for t in committed_doc(b)["tasks"] if t["id"] == "fut1") == kept  # never rewritten
    b.ok("sync")
    a.ok("sync")
    assert next(t for t in a.doc()["tasks"] if t["id"] == "fut1") == kept
    assert {t["subject"] for t in a.doc()["tasks"]} >= {"A change of another task", "Captured by the hook"}


def test_the_write_check_and_the_schema_accept_a_refused_task_left_as_it_was() -> None:
    before = {"tasks": [task("fut1", status="deferred"), task("a")]}
    after = copy.deepcopy(before)
    after["tasks"].append(task("b"))
    after["tasks"][1]["subject"] = "Changed"
    for check in (taskcheck.check_document, schema.validate_full):
        check(after, rules.ACTIVE_PATH, before=before)  # the refused task is as it was: accepted
        with pytest.raises(DocumentError, match="field 'status'"):
            check(after, rules.ACTIVE_PATH)  # without a before, the whole file is checked
        changed = copy.deepcopy(after)
        changed["tasks"][0]["subject"] = "Renamed"
        with pytest.raises(DocumentError, match=KEPT):
            check(changed, rules.ACTIVE_PATH, before=before)
        dropped = {"tasks": after["tasks"][1:]}
        with pytest.raises(DocumentError, match=KEPT):
            check(dropped, rules.ACTIVE_PATH, before=before)


# -- 7. doctor reports stamps near year 1 and 9999, from the current task branch -------------------------------------


def test_doctor_reports_stamps_of_the_far_past_and_future_before_any_other_command(two: tuple[Cli, Cli]) -> None:
    a, _ = two
    odd = [task("past1", created_at="0001-01-01T00:00:00+01:00", updated_at="0001-01-01T00:00:00+01:00"),
           task("future9", updated_at="9999-12-31T23:59:59-01:00")]  # fmt: skip
    hand_commit(a, {ACTIVE: with_tasks(a, lambda doc: doc["tasks"].extend(odd))})
    proc = a.run("doctor")  # the first command after the commit: nothing took it into the work tree yet
    assert proc.returncode == 1, proc.stdout
    future = next(line for line in proc.stdout.splitlines() if "far in the future" in line)
    past = next(line for line in proc.stdout.splitlines() if "from before 2000" in line)
    assert "future9" in future and "past1" not in future
    assert "past1 created_at 0001-01-01T00:00:00+01:00" in past and "future9" not in past
    a.ok("list")
    a.ok("sync")


# -- 8. odd types in the dependency lists are the one-line file error -------------------------------------------------


def test_odd_types_in_dependency_lists_are_the_one_line_file_error(two: tuple[Cli, Cli]) -> None:
    a, _ = two

    def odd(doc: dict[str, Any]) -> None:
        doc["tasks"][0]["blockedBy"] = 5
        doc["tasks"].append(task("a2", blocks="a1"))

    hand_commit(a, {ACTIVE: with_tasks(a, odd)})
    for command in (["ready"], ["recover"], ["list"], ["checklist", "--detailed"], ["create", "More"]):
        err = a.fail(*command)
        assert "field 'blockedBy' must be a list of task ids, not a number" in err, command
        assert len(err.strip().splitlines()) == 1
    hook = a.run("hook", "session-start", input=json.dumps({"session_id": "s1", "source": "startup"}))
    assert hook.returncode == 0 and "must be a list of task ids" in hook.stderr and "not iterable" not in hook.stderr
    assert "must be a list of task ids" in a.fail("sync")  # and it is not pushed


# -- 9. an edit made outside gittasks passes what validate checks ----------------------------------------------------


def test_an_edit_made_outside_gittasks_is_held_to_what_validate_checks(two: tuple[Cli, Cli]) -> None:
    a, _ = two
    done = a.create("Done and archived")
    a.ok("done", done)
    a.ok("archive")
    count = int(git(a.root, "rev-list", "--count", history(a)))
    good = committed(a)

    def edit(change: Callable[[dict[str, Any]], None]) -> None:
        doc = json.loads(good)
        change(doc)
        (a.root / ACTIVE).write_text(json.dumps(doc, indent=2), encoding="utf-8")

    edit(lambda doc: doc["tasks"][0].update(blockedBy=["nosuch"]))
    err = a.fail("list")
    assert "names unknown task 'nosuch' in blockedBy" in err
    assert "names unknown task 'nosuch' in blockedBy" in a.run("validate").stdout  # the same rule
    assert int(git(a.root, "rev-list", "--count", history(a))) == count  # nothing committed
    edit(lambda doc: doc["tasks"].append(task("b2", blocks=[doc["tasks"][0]["id"]])))
    assert "one-sided dependency" in a.fail("list")
    edit(lambda doc: doc["tasks"][0].update(blockedBy=[done]))  # an archived blocker is known: accepted
    a.ok("list")
    assert int(git(a.root, "rev-list", "--count", history(a))) == count + 1
    assert committed_doc(a)["tasks"][0]["blockedBy"] == [done]
    assert a.ok("validate") == ""
