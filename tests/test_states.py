"""The states an orchestrator acts on, through every door that reaches them (the CLI, the capture hook, the MCP
tools): a parent completed while its subtasks are open, an agent's failed result, one task completed on two machines,
a task's conflicts settled at once and a status settled with the stamps of its side, a TodoWrite item reworded in
place, and what `list` calls active."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import ACTIVE, Cli, MakeRepo, call_hook, git, init_repo

from gittasks.claude.mcp_server import Server, TaskTools
from gittasks.query import ListQuery

PAYLOADS = Path(__file__).parent / "data" / "claude-code"
SESSION = "00000000-0000-4000-8000-0000000000aa"


@pytest.fixture(autouse=True)
def _no_claude_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)  # the hooks serve the payload's cwd


def commits(cli: Cli) -> int:
    return int(git(cli.root, "rev-list", "--all", "--count"))


def hook(cli: Cli, name: str, tool_input: dict[str, Any], response: dict[str, Any] | None = None) -> Any:
    """The installed capture hook (`gittasks hook capture`) on a recorded payload of Claude Code's."""
    data = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    data.update(session_id=SESSION, cwd=str(cli.root), tool_input=tool_input)
    if response is not None:
        data["tool_response"] = response
    elif name == "posttooluse-taskupdate":
        data["tool_response"] = {"success": True, "taskId": tool_input["taskId"], "updatedFields": sorted(tool_input)}
    proc = call_hook(cli.root, "capture", data)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc


def hook_create(cli: Cli, native: str, subject: str) -> str:
    """A TaskCreate through the hook; the gittasks id of the task it made."""
    hook(cli, "posttooluse-taskcreate", {"subject": subject}, {"task": {"id": native, "subject": subject}})
    return next(t["id"] for t in cli.json("list") if t["subject"] == subject)


def mcp(cli: Cli, tool: str, **arguments: Any) -> tuple[bool, list[str]]:
    """One MCP tool call (the server's own dispatch, in this process): whether it was refused, and its text blocks."""
    answer = Server(TaskTools(cli.root)).call(tool, arguments)
    return bool(answer["isError"]), [block["text"] for block in answer["content"]]


# -- a parent and its open subtasks ---------------------------------------------------------------------------------


def test_done_refuses_a_parent_with_open_subtasks_and_force_completes_it_leaving_them_open(cli: Cli) -> None:
    parent = cli.create("Ship the release")
    notes = cli.create("Write the release notes", "--parent", parent)
    tag = cli.create("Tag the commit", "--parent", parent)
    dropped = cli.create("Announce it", "--parent", parent)
    cli.ok("cancel", dropped)
    cli.ok("start", tag)
    before, count = cli.doc(), commits(cli)
    err = cli.fail("done", parent)
    assert len(err.strip().splitlines()) == 1, err
    assert f"{notes} (Write the release notes)" in err and f"{tag} (Tag the commit)" in err and dropped not in err
    assert "2 open subtask(s)" in err and "or give --force (they stay open)" in err
    assert cli.doc() == before and commits(cli) == count, "a refused done changes nothing"

    proc = cli.run("done", parent, "--force")
    assert proc.returncode == 0, proc.stderr
    [said] = [line for line in proc.stderr.splitlines() if "left open" in line]
    assert f"completed {parent} with 2 open subtask(s) left open" in said and notes in said and tag in said
    statuses = {t["id"]: t["status"] for t in cli.json("list")}
    assert statuses == {parent: "completed", notes: "pending", tag: "in_progress", dropped: "cancelled"}
    assert "- [ ] Write the release notes" in cli.ok("checklist", parent)  # the subtasks kept, as they were


def test_a_parent_whose_subtasks_have_all_ended_completes_without_force(cli: Cli) -> None:
    parent = cli.create("Migrate the database")
    done, cancelled = cli.create("Copy the rows", "--parent", parent), cli.create("Dual write", "--parent", parent)
    cli.ok("done", done)
    cli.ok("cancel", cancelled)
    proc = cli.run("done", parent)
    assert proc.returncode == 0 and "left open" not in proc.stderr, proc.stderr
    assert cli.task(parent)["status"] == "completed"
    leaf = cli.create("No subtasks at all")
    assert cli.run("done", leaf).returncode == 0


def test_mcp_task_update_refuses_to_complete_a_parent_with_open_subtasks_unless_forced(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    parent = cli.create("Build the API")
    child = cli.create("Write the handler", "--parent", parent)
    count = commits(cli)
    refused, [line] = mcp(cli, "task_update", taskId=parent, status="completed")
    assert refused and f"{child} (Write the handler)" in line
    assert "or give force=true (they stay open)" in line and "--force" not in line  # the argument of this door
    assert cli.task(parent)["status"] == "pending" and commits(cli) == count
    refused, blocks = mcp(cli, "task_update", taskId=parent, status="completed", force=True)
    assert not refused, blocks
    assert any("left open" in b and child in b for b in blocks[1:]), blocks  # the note after the task
    assert cli.task(parent)["status"] == "completed" and cli.task(child)["status"] == "pending"
    waiting = cli.create("Deploy it", "--blocked-by", child)
    for status in ("in_progress", "completed"):  # (a start goes through the claim; both name force=true)
        refused, [line] = mcp(cli, "task_update", taskId=waiting, status=status)
        assert refused and f"waits for {child}" in line and line.endswith("or give force=true"), line
    assert "or give --force" in cli.fail("start", waiting)  # the command line's word stays its own


def test_the_capture_hook_records_a_parent_its_tool_completed_and_says_its_subtasks_stay_open(
    make_repo: MakeRepo,
) -> None:
    cli = init_repo(make_repo(), inline=False)
    parent = hook_create(cli, "1", "Build the API")
    child = cli.create("Write the handler", "--parent", parent)
    proc = hook(cli, "posttooluse-taskupdate", {"taskId": "1", "status": "completed"})
    # the assistant's own tool completed it already: recorded (refusing would lose it), with one warning line
    assert cli.task(parent)["status"] == "completed" and cli.task(child)["status"] == "pending"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "left open" in lines[0] and f"{child} (Write the handler)" in lines[0], proc.stderr


def write_directly(cli: Cli, doc: dict[str, Any], door: str) -> Any:
    """`doc` written over the active list as an assistant's Write does, taken in through `door`: the capture hook's
    Write payload, or the next command (an editor's write, no hook). The process that took it in."""
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    if door == "hook":
        payload = {"session_id": SESSION, "hook_event_name": "PostToolUse", "tool_name": "Write",
                   "cwd": str(cli.root), "tool_input": {"file_path": ACTIVE, "content": "..."},
                   "tool_response": {"filePath": ACTIVE}}  # fmt: skip
        proc = call_hook(cli.root, "capture", payload)
    else:
        proc = cli.run("list")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc


def committed(cli: Cli, task_id: str) -> dict[str, Any]:
    """Task `task_id` as the task history holds it (the task branch, or HEAD in the inline layout)."""
    rev = "HEAD" if git(cli.root, "config", "--get", "gittasks.layout", check=False) == "inline" else "gittasks"
    return next(t for t in json.loads(git(cli.root, "show", f"{rev}:{ACTIVE}"))["tasks"] if t["id"] == task_id)


@pytest.mark.parametrize("door", ["hook", "next command"])
def test_a_direct_write_that_completes_a_parent_with_open_subtasks_keeps_it_and_warns(cli: Cli, door: str) -> None:
    parent = cli.create("Ship the release")
    notes, tag = cli.create("Write the release notes", "--parent", parent), cli.create("Tag it", "--parent", parent)
    cli.ok("done", tag)
    doc = cli.doc()
    next(t for t in doc["tasks"] if t["id"] == parent)["status"] = "completed"
    proc = write_directly(cli, doc, door)
    # the file is written already: taken in as written (refusing would lose it), with one line as the hook door says
    [said] = [line for line in proc.stderr.splitlines() if "left open" in line]
    assert f"completed {parent} with 1 open subtask(s) left open: {notes} (Write the release notes)" in said, said
    assert tag not in said, "an ended subtask is not named"
    for task in (cli.task(parent), committed(cli, parent)):
        assert task["status"] == "completed" and task["completed_at"], task
    assert cli.task(notes)["status"] == "pending"
    assert "left open" not in cli.run("list").stderr, "said once, by the command that took the edit in"
    # a parent completed with its subtasks in the same write: nothing to say
    other = cli.create("Another parent")
    child = cli.create("Its child", "--parent", other)
    doc = cli.doc()
    for task in doc["tasks"]:
        if task["id"] in (other, child):
            task["status"] = "completed"
    assert "left open" not in write_directly(cli, doc, door).stderr
    assert cli.task(other)["status"] == cli.task(child)["status"] == "completed"
    # work started while a blocker is open: kept, and said, as the hook door says it
    waiting = cli.create("Announce it", "--blocked-by", notes)
    doc = cli.doc()
    next(t for t in doc["tasks"] if t["id"] == waiting)["status"] = "in_progress"
    [said] = [line for line in write_directly(cli, doc, door).stderr.splitlines() if "waits for" in line]
    assert f"task {waiting} went on while it waits for {notes} (Write the release notes)" in said, said
    assert cli.task(waiting)["status"] == "in_progress" and cli.task(waiting)["started_at"]


# -- an agent's failed result ---------------------------------------------------------------------------------------

FAILED = {"status": "failed", "blocker": "the staging database is down", "files_modified": ["api/handler.py"]}


def _result_state(task: dict[str, Any]) -> tuple[Any, ...]:
    context = task.get("context") or {}
    reasons = [entry["reason"] for entry in context.get("blockers_encountered", [])]
    return task["status"], task["blocked_reason"], context.get("files_modified"), reasons


def test_a_failed_result_blocks_the_task_through_every_door(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    through_hook = hook_create(cli, "1", "Through the hook")
    hook(cli, "posttooluse-taskupdate", {"taskId": "1", "metadata": {"result": FAILED}})
    through_mcp = cli.create("Through MCP")
    refused, blocks = mcp(cli, "task_update", taskId=through_mcp, result=FAILED)
    assert not refused, blocks
    through_cli = cli.create("Through the CLI")
    cli.ok("done", through_cli, "--result", "-", input=json.dumps(FAILED))
    expected = ("blocked", FAILED["blocker"], FAILED["files_modified"], [FAILED["blocker"]])
    states = {door: _result_state(cli.task(tid)) for door, tid in
              (("hook", through_hook), ("mcp", through_mcp), ("cli", through_cli))}  # fmt: skip
    assert states == {"hook": expected, "mcp": expected, "cli": expected}


def test_a_result_decides_the_status_unless_the_call_gives_one_on_every_door(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    succeeded = {"status": "success", "outcome": "the handler answers"}
    hook_create(cli, "1", "Hook, success")
    hook(cli, "posttooluse-taskupdate", {"taskId": "1", "metadata": {"result": succeeded}})
    hook_create(cli, "2", "Hook, own status")
    hook(cli, "posttooluse-taskupdate", {"taskId": "2", "status": "in_progress", "metadata": {"result": FAILED}})
    mcp_success, mcp_own = cli.create("MCP, success"), cli.create("MCP, own status")
    assert not mcp(cli, "task_update", taskId=mcp_success, result=succeeded)[0]
    assert not mcp(cli, "task_update", taskId=mcp_own, status="in_progress", result=FAILED)[0]
    tasks = {t["subject"]: t for t in cli.json("list")}
    for door in ("Hook", "MCP"):
        done = tasks[f"{door}, success"]
        assert done["status"] == "completed" and done["context"]["outcome"] == "the handler answers", door
        own = tasks[f"{door}, own status"]
        assert own["status"] == "in_progress" and own["blocked_reason"] is None, door
        assert own["context"]["files_modified"] == FAILED["files_modified"], door


def _written(cli: Cli, changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The active list with the fields of `changes` ({task id: {field: value}}) set, the metadata's keys one by one."""
    doc = cli.doc()
    for task in doc["tasks"]:
        for key, value in changes.get(task["id"], {}).items():
            if key == "metadata":
                task["metadata"] = {**task.get("metadata", {}), **value}
            else:
                task[key] = value
    return doc


@pytest.mark.parametrize("door", ["hook", "next command"])
def test_a_direct_write_of_a_result_decides_the_status_as_every_door_does(cli: Cli, door: str) -> None:
    failed, succeeded, own = cli.create("Failed"), cli.create("Succeeded"), cli.create("Own status")
    cli.ok("start", succeeded)
    success = {"status": "success", "outcome": "the handler answers", "billable_minutes": "20"}
    proc = write_directly(cli, _written(cli, {
        failed: {"metadata": {"result": FAILED}},
        succeeded: {"metadata": {"result": success}},
        own: {"status": "in_progress", "metadata": {"result": FAILED}},  # the write gives a status of its own
    }), door)  # fmt: skip
    expected = ("blocked", FAILED["blocker"], FAILED["files_modified"], [FAILED["blocker"]])
    assert _result_state(cli.task(failed)) == expected == _result_state(committed(cli, failed))
    done = cli.task(succeeded)
    assert done["status"] == "completed" and done["completed_at"] and done["blocked_reason"] is None
    assert done["context"]["outcome"] == "the handler answers" and done["context"]["billable_minutes"] == 20
    kept = cli.task(own)
    assert kept["status"] == "in_progress" and kept["blocked_reason"] is None and kept["started_at"]
    assert kept["context"]["files_modified"] == FAILED["files_modified"] and kept["context"]["blocker"]
    for tid in (failed, succeeded, own):
        assert "result" not in cli.task(tid)["metadata"] and "result" not in committed(cli, tid)["metadata"], tid
    assert "not taken in" not in proc.stderr, proc.stderr
    count = commits(cli)
    cli.ok("list")
    assert commits(cli) == count, "nothing left to take in"


@pytest.mark.parametrize("door", ["hook", "next command"])
def test_a_direct_write_of_a_result_that_cannot_be_taken_in_stays_as_written_and_is_said(cli: Cli, door: str) -> None:
    odd, ended = cli.create("Odd result"), cli.create("Ended")
    cli.ok("cancel", ended)
    partial = {"status": "partial", "outcome": "half of it"}
    proc = write_directly(cli, _written(cli, {
        odd: {"metadata": {"result": {"status": "maybe"}}, "subject": "Odd result, renamed"},
        ended: {"metadata": {"result": partial}},  # a result on an ended task reopens it, as through the hook
    }), door)  # fmt: skip
    [said] = [line for line in proc.stderr.splitlines() if "not taken in" in line]
    assert f"task {odd}: its metadata.result was not taken in" in said and "'maybe'" in said, said
    task = cli.task(odd)
    assert task["subject"] == "Odd result, renamed" and task["status"] == "pending", "the rest of the write kept"
    assert task["metadata"]["result"] == {"status": "maybe"}, "left as written"
    reopened = cli.task(ended)
    assert reopened["status"] == "in_progress" and reopened["context"]["outcome"] == "half of it"
    assert "not taken in" not in cli.run("list").stderr, "a result already there is not taken in again"


def test_a_result_written_through_a_hook_completes_the_last_subtask_and_its_parent(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    parent = cli.create("Build the API")
    child = cli.create("Write the handler", "--parent", parent)
    write_directly(cli, _written(cli, {child: {"metadata": {"result": {"status": "done"}}}}), "hook")
    assert cli.task(child)["status"] == "completed" and cli.task(parent)["status"] == "completed"
    other = cli.create("Build the CLI")
    last = cli.create("Write the command", "--parent", other)
    git(cli.root, "config", "gittasks.autoCompleteParents", "false")
    write_directly(cli, _written(cli, {last: {"metadata": {"result": {"status": "done"}}}}), "next command")
    assert cli.task(last)["status"] == "completed" and cli.task(other)["status"] == "pending", "as the setting says"


# -- one task on two machines ----------------------------------------------------------------------------------------


def clone(remote: Path, path: Path, machine: str) -> Cli:
    git(path.parent, "clone", "-q", str(remote), str(path))
    return Cli(path, machine)


@pytest.fixture
def pair(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool) -> tuple[Cli, Cli]:
    a = init_repo(make_repo("a"), "WS-A", inline=inline)
    a.ok("init", "--remote", str(bare_remote))
    a.ok("sync")
    return a, clone(bare_remote, tmp_path / "b", "WS-B")


def converge(a: Cli, b: Cli) -> None:
    for _ in range(2):
        a.ok("sync")
        b.ok("sync")
    assert (a.root / ".claude/active-tasks.json").read_bytes() == (b.root / ".claude/active-tasks.json").read_bytes()


def test_one_task_completed_on_two_machines_records_no_conflict_of_its_stamps(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    same = a.create("Rotate the keys", "--client", "Contoso")
    differs = a.create("Renew the certificate", "--client", "Contoso")
    a.ok("sync")
    b.ok("sync")
    for cli in (a, b):
        cli.ok("done", same, "--minutes", "30", "--outcome", "rotated")
    a.ok("done", differs, "--minutes", "20")
    b.ok("done", differs, "--minutes", "25")
    first, second = a.task(same), b.task(same)
    assert first["completed_at"] < second["completed_at"] and first["started_at"] < second["started_at"]
    converge(a, b)
    # the same transition on both machines: the earlier stamps, no record; only the minutes are a real conflict
    assert [(r["task"], r["field"]) for r in a.json("conflicts")] == [(differs, "context.billable_minutes")]
    merged = a.task(same)
    assert (merged["started_at"], merged["completed_at"]) == (first["started_at"], first["completed_at"])
    live = [i for i in a.json("report", "--items")["items"] if not i.get("void") and i["linked_task_id"] == same]
    assert len(live) == 1 and live[0]["billable_minutes"] == 30, live  # billed once


def test_resolve_all_settles_every_conflict_of_a_task_at_once(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    theirs, ours, kept = a.create("Theirs"), a.create("Ours"), a.create("Kept")
    a.ok("sync")
    b.ok("sync")
    for cli, name in ((a, "alice"), (b, "bob")):
        for tid in (theirs, ours, kept):
            cli.ok("update", tid, "--owner", name, "--subject", f"{name}'s subject", "--meta", f"severity={name}")
    converge(a, b)
    fields = sorted(r["field"] for r in a.json("conflicts") if r["task"] == theirs)
    assert fields == ["metadata.severity", "owner", "subject"]
    merged = a.task(kept)
    count = commits(a)
    assert "resolved every conflict of" in a.ok("resolve", theirs, "--all", "--theirs")
    assert "resolved every conflict of" in a.ok("resolve", ours, "--all", "--ours")
    a.ok("resolve", kept, "--all", "--keep")
    assert commits(a) == count + 3, "one commit each"
    assert (a.task(theirs)["owner"], a.task(theirs)["subject"], a.task(theirs)["metadata"]) == (
        "bob", "bob's subject", {"severity": "bob"})  # fmt: skip
    assert (a.task(ours)["owner"], a.task(ours)["subject"], a.task(ours)["metadata"]) == (
        "alice", "alice's subject", {"severity": "alice"})  # fmt: skip
    assert {k: a.task(kept)[k] for k in ("owner", "subject", "metadata")} == {
        k: merged[k] for k in ("owner", "subject", "metadata")
    }
    assert a.json("conflicts") == []
    converge(a, b)
    assert b.json("conflicts") == [] and b.task(theirs)["owner"] == "bob"


def test_resolve_all_refuses_what_it_cannot_settle_and_changes_nothing(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    tid = a.create("Shared")
    a.ok("sync")
    b.ok("sync")
    a.ok("update", tid, "--owner", "alice")
    b.ok("update", tid, "--owner", "bob")
    converge(a, b)
    before, count = a.doc(), commits(a)
    third = Cli(a.root, "WS-C")  # neither value is this machine's: "ours" means nothing here
    for args, said in (
        ((tid,), "give --all"),
        ((tid, "owner", "--all", "--keep"), "give --all"),
        ((tid, "--all"), "exactly one of --keep, --ours, --theirs or --value"),
        ((tid, "--all", "--ours", "--theirs"), "exactly one of"),
        ((tid, "--all", "--value", "carol"), "a value settles one field"),
    ):
        err = a.fail("resolve", *args)
        assert said in err and len(err.strip().splitlines()) == 1, (args, err)
    err = third.fail("resolve", tid, "--all", "--ours")
    assert "not one value from this machine (WS-C)" in err and "WS-A" in err and "--keep or --value" in err
    assert a.doc() == before and commits(a) == count
    other = a.create("No conflicts")
    assert "it has no recorded conflict" in a.fail("resolve", other, "--all", "--keep")


def test_a_status_settled_as_completed_takes_the_time_of_that_completion(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    tid = a.create("Patch the server", "--client", "Contoso")
    a.ok("sync")
    b.ok("sync")
    a.ok("done", tid, "--minutes", "40")
    b.ok("cancel", tid)  # later: of two ended statuses the later edit is kept
    converge(a, b)
    [record] = [r for r in a.json("conflicts") if r["field"] == "status"]
    assert record["kept"] == "cancelled"
    completion = next(v for v in record["values"] if v["value"] == "completed")
    assert completion["machine"] == "WS-A"
    settled = a.json("resolve", tid, "status", "--value", "completed")
    assert settled["status"] == "completed"
    assert settled["completed_at"] == completion["updated_at"], "the completion kept, not the resolve"
    assert settled["updated_at"] > completion["updated_at"] and settled["updated_by"] == "WS-A"
    [item] = [i for i in a.json("report", "--items")["items"] if not i.get("void")]
    assert item["billable_minutes"] == 40 and item["date"] == completion["updated_at"][:10]


def test_resolve_theirs_on_a_status_takes_the_stamps_of_their_side(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    tid = a.create("Review the design")
    a.ok("sync")
    b.ok("sync")
    b.ok("done", tid)
    a.ok("cancel", tid)  # later: cancelled kept
    converge(a, b)
    [record] = [r for r in a.json("conflicts") if r["field"] == "status"]
    completion = next(v for v in record["values"] if v["machine"] == "WS-B")
    a.ok("resolve", tid, "--all", "--theirs")
    task = a.task(tid)
    assert (task["status"], task["completed_at"]) == ("completed", completion["updated_at"])


# -- TodoWrite ------------------------------------------------------------------------------------------------------


def todo(cli: Cli, items: list[tuple[str, str]], old: list[tuple[str, str]]) -> Any:
    """A TodoWrite through the hook, shaped as the recorded payload (`tool_response.oldTodos` and `newTodos`)."""
    todos = [{"content": c, "status": s, "activeForm": c} for c, s in items]
    previous = [{"content": c, "status": s, "activeForm": c} for c, s in old]
    return hook(cli, "posttooluse-todowrite", {"todos": todos}, {"oldTodos": previous, "newTodos": todos})


def test_a_todo_reworded_in_place_while_its_status_moves_on_continues_its_task(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    todo(cli, [("Write parser", "pending"), ("Write tests", "pending")], [])
    [parser] = [t["id"] for t in cli.json("list") if t["subject"] == "Write parser"]
    proc = todo(cli, [("Write the parser", "in_progress"), ("Write tests", "pending")],
                [("Write parser", "pending"), ("Write tests", "pending")])  # fmt: skip
    assert "cancelled" not in proc.stderr, proc.stderr
    todo(cli, [("Write the parser, with errors", "completed"), ("Write tests", "in_progress")],
         [("Write the parser", "in_progress"), ("Write tests", "pending")])  # fmt: skip
    tasks = {t["id"]: (t["subject"], t["status"]) for t in cli.json("list")}
    assert tasks[parser] == ("Write the parser, with errors", "completed") and len(tasks) == 2, tasks
    # an item written where a completed one was is new work: the completed task stays as it is
    todo(cli, [("Deploy", "pending"), ("Write tests", "in_progress")],
         [("Write the parser, with errors", "completed"), ("Write tests", "in_progress")])  # fmt: skip
    tasks = {t["id"]: (t["subject"], t["status"]) for t in cli.json("list")}
    assert tasks[parser] == ("Write the parser, with errors", "completed")
    assert set(tasks.values()) == {("Deploy", "pending"), ("Write the parser, with errors", "completed"),
                                   ("Write tests", "in_progress")}  # fmt: skip


# -- list --open, and what "active" means ----------------------------------------------------------------------------


def test_list_open_leaves_out_ended_tasks_and_active_means_not_archived(cli: Cli) -> None:
    pending, started, blocked, done, cancelled = (cli.create(s) for s in ("P", "S", "B", "D", "C"))
    cli.ok("start", started)
    cli.ok("block", blocked, "--reason", "waiting")
    cli.ok("done", done)
    cli.ok("cancel", cancelled)

    def ids(*args: str) -> set[str]:
        return {t["id"] for t in cli.json("list", *args)}

    assert ids() == {pending, started, blocked, done, cancelled}  # active: in the active list, whatever the status
    assert ids("--open") == {pending, started, blocked}
    assert len(cli.ok("list", "--open").splitlines()) == 4  # the heading and three rows
    assert ids("--open", "--status", "blocked") == {blocked}  # every condition given holds
    assert "no tasks match" in cli.run("list", "--open", "--status", "completed").stderr
    cli.ok("archive")
    assert ids() == ids("--open") == ids("--all", "--open") == {pending, started, blocked}
    assert ids("--all") == {pending, started, blocked, done, cancelled}
    assert "every task not archived" in cli.ok("list", "--help") and "--open" in cli.ok("list", "--help")


def test_list_query_open_only() -> None:
    tasks = [{"id": str(n), "status": status} for n, status in enumerate(("pending", "in_progress", "blocked",
                                                                          "completed", "cancelled"))]  # fmt: skip
    assert not ListQuery().narrows and ListQuery(open_only=True).narrows
    chosen, archived = ListQuery(open_only=True).select(tasks, tasks)
    assert [t["id"] for t in chosen] == ["0", "1", "2"] and [t["id"] for t in archived] == ["0", "1", "2"]
    assert ListQuery(("completed", "pending"), open_only=True).select(tasks)[0] == [tasks[0]]
