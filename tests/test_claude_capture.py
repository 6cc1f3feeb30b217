"""The capture hook against the payloads Claude Code really sends (tests/data/claude-code/, recorded from the real
client): only what the client reports as done is recorded, native ids are per session, a new session continues a
task instead of duplicating it, and TodoWrite lists are kept per session."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, MakeRepo, git, init_repo

from gittasks.claude import hooks
from gittasks.errors import GittasksError
from gittasks.workspace import Workspace

PAYLOADS = Path(__file__).parent / "data" / "claude-code"


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded payload (its cwd and session replaced as given)."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        data[key] = value
    return data


def commits(cli: Cli) -> int:
    return int(git(cli.root, "rev-list", "--all", "--count"))


def capture(cli: Cli, data: dict[str, Any]) -> Any:
    """The capture hook's library call, as `cli`'s machine (the test's environment is restored afterwards)."""
    os.environ["GITTASKS_MACHINE"] = cli.machine
    return hooks.capture(Workspace.open(cli.root), data).value


def create(cli: Cli, native: str, subject: str, session: str, **tool_input: Any) -> dict[str, Any]:
    data = payload("posttooluse-taskcreate", session_id=session)
    data["tool_input"] = {"subject": subject, "description": f"about {subject}", **tool_input}
    data["tool_response"] = {"task": {"id": native, "subject": subject, "description": f"about {subject}"}}
    return dict(capture(cli, data))


def update(cli: Cli, native: str, session: str, response: dict[str, Any] | None = None, **tool_input: Any) -> Any:
    data = payload("posttooluse-taskupdate", session_id=session)
    data["tool_input"] = {"taskId": native, **tool_input}
    data["tool_response"] = response or {"success": True, "taskId": native, "updatedFields": sorted(tool_input)}
    return capture(cli, data)


def test_the_recorded_payloads_create_update_block_and_delete(cli: Cli) -> None:
    s = "00000000-0000-4000-8000-000000000001"
    first = capture(cli, payload("posttooluse-taskcreate"))
    assert first["subject"] == "Implement authentication" and first["description"].startswith("Add login")
    second = create(cli, "2", "Write the login form", s)
    capture(cli, payload("posttooluse-taskupdate"))  # native 1 -> in_progress, owner Coding Agent
    capture(cli, payload("posttooluse-taskupdate-addblockedby"))  # native 2 blocked by native 1
    tasks = {t["id"]: t for t in cli.json("list")}
    assert tasks[first["id"]]["status"] == "in_progress" and tasks[first["id"]]["owner"] == "Coding Agent"
    assert tasks[second["id"]]["blockedBy"] == [first["id"]] and tasks[first["id"]]["blocks"] == [second["id"]]
    deleted = payload("posttooluse-taskupdate-deleted", session_id=s)
    capture(cli, deleted)
    assert [t["id"] for t in cli.json("list")] == [second["id"]]


def test_a_call_the_client_reports_as_failed_records_nothing(cli: Cli) -> None:
    task = cli.create("Generate JWT authentication code")
    before, count = cli.doc(), commits(cli)
    failed = payload("posttooluse-taskupdate-failed")  # a gittasks id given as taskId: the native call failed
    failed["tool_input"]["taskId"] = failed["tool_response"]["taskId"] = task
    with pytest.raises(hooks.NotRecorded, match=r"reports the TaskUpdate as failed \(Task not found\)"):
        capture(cli, failed)
    assert cli.doc() == before and commits(cli) == count
    # through the installed hook: one line on stderr, exit 0, nothing changed
    proc = cli.run("hook", "capture", input=json.dumps({**failed, "cwd": str(cli.root)}))
    assert proc.returncode == 0 and "nothing recorded" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert cli.doc() == before and commits(cli) == count


def test_native_ids_are_per_session_unless_the_list_is_shared(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    one = create(cli, "1", "First of session A", "A")
    two = create(cli, "2", "Second of session A", "A")
    before, count = cli.doc(), commits(cli)
    # session B's native "2" is not session A's "2", whatever the client says of it
    with pytest.raises(hooks.NotRecorded, match="native id '2'"):
        update(cli, "2", "B", status="in_progress")
    assert cli.doc() == before and commits(cli) == count
    # sessions sharing one native list (CLAUDE_CODE_TASK_LIST_ID) share the ids
    monkeypatch.setenv(hooks.SHARED_LIST_VARIABLE, "team")
    shared = create(cli, "1", "Shared work", "C")
    update(cli, "1", "D", status="in_progress")
    statuses = {t["id"]: t["status"] for t in cli.json("list")}
    assert statuses == {one["id"]: "pending", two["id"]: "pending", shared["id"]: "in_progress"}


@pytest.mark.parametrize(
    "change",
    [
        {"tool_input": None},
        {"tool_input": "subject"},
        {"tool_input": {"description": "no subject"}, "tool_response": {"task": {"id": "1"}}},
        {"tool_input": {"subject": "   "}, "tool_response": {"task": {"id": "1"}}},
        {"tool_name": "TaskUpdate", "tool_input": {"taskId": "1", "addBlockedBy": "12"}},
        {"tool_name": "TaskUpdate", "tool_input": {"taskId": True}},
        {"tool_name": "TodoWrite", "tool_input": {"todos": "write it"}},
    ],
    ids=["no-input", "input-not-object", "no-subject", "blank-subject", "blockers-not-list", "id-not-id", "todos"],
)
def test_input_of_the_wrong_shape_is_refused_and_changes_nothing(cli: Cli, change: dict[str, Any]) -> None:
    create(cli, "1", "Native one", "00000000-0000-4000-8000-000000000001")
    create(cli, "2", "Native two", "00000000-0000-4000-8000-000000000001")
    before, count = cli.doc(), commits(cli)
    data = payload("posttooluse-taskcreate")
    data.update(change)
    if data["tool_input"] is None:
        del data["tool_input"]
    with pytest.raises(GittasksError, match="nothing recorded"):
        capture(cli, data)
    assert cli.doc() == before and commits(cli) == count


def test_the_response_subject_wins_over_the_input(cli: Cli) -> None:
    data = payload("posttooluse-taskcreate")
    data["tool_response"]["task"]["subject"] = "Implement authentication (repaired)"
    assert capture(cli, data)["subject"] == "Implement authentication (repaired)"


def test_a_new_session_continues_a_task_instead_of_duplicating_it(cli: Cli) -> None:
    first = create(cli, "1", "Generate JWT authentication code", "A")
    update(cli, "1", "A", status="in_progress")
    other = create(cli, "2", "Write docs", "A")
    summary = hooks.session_start(Workspace.open(cli.root))
    assert f"[{first['id']}] Generate JWT authentication code: in_progress" in summary
    assert '"gittasks_id": "ID"' in summary and "never edit" in summary
    recovered = {item["id"]: item for item in cli.json("recover")}
    assert recovered[first["id"]]["continue"] == {"tool": "TaskCreate", "metadata": {"gittasks_id": first["id"]}}
    # session B follows the summary: TaskCreate naming the task, then its own native id updates it
    create(cli, "1", "Generate JWT authentication code", "B", metadata={"gittasks_id": first["id"]})
    # ... and a TaskCreate with the subject of exactly one open task also continues it
    create(cli, "2", "Write docs", "B")
    update(cli, "1", "B", status="completed")
    update(cli, "2", "B", owner="Docs Agent")
    tasks = {t["id"]: t for t in cli.json("list")}
    assert set(tasks) == {first["id"], other["id"]}
    assert tasks[first["id"]]["status"] == "completed" and tasks[other["id"]]["owner"] == "Docs Agent"
    assert "gittasks_id" not in tasks[first["id"]]["metadata"]
    # two open tasks with one subject: a TaskCreate without the id is a new task (no guess)
    create(cli, "9", "Triage", "A")
    create(cli, "10", "Triage", "A")
    create(cli, "3", "Triage", "B")
    assert [t["subject"] for t in cli.json("list")].count("Triage") == 3


def test_two_machines_resuming_one_task_are_flagged_not_doubled(
    tmp_path: Path, bare_remote: Path, make_repo: MakeRepo
) -> None:
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    task = create(a, "1", "Generate JWT authentication code", "A1")
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), "b")
    b = Cli(tmp_path / "b", "PC-B")
    b.ok("init")
    # both machines' new sessions resume the task (offline), then both sync
    create(a, "1", "Generate JWT authentication code", "A2", metadata={"gittasks_id": task["id"]})
    update(a, "1", "A2", status="in_progress")
    create(b, "1", "Generate JWT authentication code", "B1", metadata={"gittasks_id": task["id"]})
    update(b, "1", "B1", status="in_progress")
    a.ok("sync")
    b.ok("sync")
    a.ok("sync")
    for side in (a, b):
        tasks = side.json("list")
        assert [t["subject"] for t in tasks] == ["Generate JWT authentication code"]
        refs = {(r["machine"], r["session"]) for r in tasks[0]["native"]}
        assert {("PC-A", "A2"), ("PC-B", "B1")} <= refs  # both sessions' native ids still map to it
        assert any(c["kind"] == "resumed" and c["task"] == task["id"] for c in side.json("conflicts"))
        assert "taken up by sessions on two machines" in side.ok("recover")
    assert a.doc() == b.doc()


def test_todowrite_is_kept_per_session(cli: Cli) -> None:
    def todo(session: str, items: list[tuple[str, str]], old: list[tuple[str, str]] | None = None) -> None:
        data = payload("posttooluse-todowrite", session_id=session)
        data["tool_input"] = {"todos": [{"content": c, "status": s, "activeForm": c} for c, s in items]}
        data["tool_response"] = {"oldTodos": [{"content": c, "status": s, "activeForm": c} for c, s in old or []],
                                 "newTodos": data["tool_input"]["todos"]}  # fmt: skip
        capture(cli, data)

    def statuses() -> dict[str, str]:
        return {t["subject"]: t["status"] for t in cli.json("list")}

    todo("S1", [("Write parser", "in_progress"), ("Write tests", "pending"), ("Ship", "pending")])
    todo("S1", [("Write parser", "completed"), ("Write the tests", "pending")],
         old=[("Write parser", "in_progress"), ("Write tests", "pending"), ("Ship", "pending")])  # fmt: skip
    # reworded in place with the same status: the same task; dropped while open: cancelled
    assert statuses() == {"Write parser": "completed", "Write the tests": "pending", "Ship": "cancelled"}
    # a later session's todo with the text of a task an earlier session completed is a new task
    todo("S2", [("Write parser", "pending")])
    assert [t["status"] for t in cli.json("list") if t["subject"] == "Write parser"] == ["completed", "pending"]


def write_payload(cli: Cli, path: str, tool: str = "Write") -> str:
    data: dict[str, Any] = {
        "session_id": "W",
        "hook_event_name": "PostToolUse",
        "tool_name": tool,
        "cwd": str(cli.root),
    }
    data.update(tool_input={"file_path": path, "content": "..."}, tool_response={"filePath": path})
    return json.dumps(data)


def test_a_direct_write_of_the_task_file_is_committed_at_once_and_stamped(cli: Cli) -> None:
    tid = cli.create("Written by the assistant")
    count = commits(cli)
    doc = cli.doc()
    task = next(t for t in doc["tasks"] if t["id"] == tid)
    task.update(status="in_progress", owner="Coding Agent")
    doc["tasks"].append({"id": "seed1", "subject": "Added by a Write", "status": "completed"})
    (cli.root / ".claude" / "active-tasks.json").write_text(json.dumps(doc, indent=2))
    proc = cli.run("hook", "capture", input=write_payload(cli, str(cli.root / ".claude" / "active-tasks.json")))
    assert proc.returncode == 0, proc.stderr
    assert commits(cli) == count + 1  # committed by the hook itself, not at the next command
    stored = {t["id"]: t for t in cli.doc()["tasks"]}
    assert (
        stored[tid]["status"] == "in_progress"
        and stored[tid]["started_at"]
        and stored[tid]["updated_by"] == cli.machine
    )
    assert stored["seed1"]["completed_at"] and stored["seed1"]["updated_at"]
    rev = "gittasks" if git(cli.root, "config", "--get", "gittasks.layout", check=False) != "inline" else "HEAD"
    assert "Action: external-edit" in git(cli.root, "log", "-1", "--format=%B", rev)


def test_a_direct_write_that_completes_a_client_task_writes_its_work_item(cli: Cli) -> None:
    tid = cli.create("Fix the VPN", "--client", "Dataforth")
    count = commits(cli)
    doc = cli.doc()
    task = next(t for t in doc["tasks"] if t["id"] == tid)
    task.update(status="completed", billable_minutes=25)  # the seed's top-level minutes, as a Write would put them
    (cli.root / ".claude" / "active-tasks.json").write_text(json.dumps(doc, indent=2))
    proc = cli.run("hook", "capture", input=write_payload(cli, str(cli.root / ".claude" / "active-tasks.json")))
    assert proc.returncode == 0, proc.stderr
    assert commits(cli) == count + 1  # the item in the same commit as the edit
    items = [json.loads(line) for f in sorted(cli.root.glob(".claude/tasks/work-items/*.jsonl"))
             for line in f.read_text().splitlines()]  # fmt: skip
    assert [(i["linked_task_id"], i["billable_minutes"], i["client"]) for i in items] == [(tid, 25, "Dataforth")]
    assert cli.json("report", "--items")["totals"]["billable_minutes"] == 25 == cli.json("report")["totals"][
        "billable_minutes"]  # fmt: skip


def test_an_invalid_direct_write_is_not_committed_and_the_model_is_told(cli: Cli) -> None:
    cli.create("Keep me")
    count = commits(cli)
    (cli.root / ".claude" / "active-tasks.json").write_text('{"tasks": [{"id": "x", "status": "done"}]}')
    proc = cli.run("hook", "capture", input=write_payload(cli, ".claude/active-tasks.json", "Edit"))
    assert proc.returncode == 2 and "not committed" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert commits(cli) == count


def test_a_write_of_any_other_file_does_nothing(cli: Cli) -> None:
    count = commits(cli)
    (cli.root / "notes.md").write_text("hello")
    for path in ("notes.md", str(cli.root / "notes.md"), "/etc/hostname", "../outside.json"):
        proc = cli.run("hook", "capture", input=write_payload(cli, path))
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert commits(cli) == count


def test_the_hook_records_a_start_its_blockers_would_refuse_and_warns(cli: Cli) -> None:
    first = create(cli, "1", "Design schema", "S")
    second = create(cli, "2", "Write migrations", "S")
    update(cli, "2", "S", addBlockedBy=["1"])
    data = payload("posttooluse-taskupdate", session_id="S", cwd=str(cli.root))
    data["tool_input"] = {"taskId": "2", "status": "in_progress"}
    proc = cli.run("hook", "capture", input=json.dumps(data))
    assert proc.returncode == 0 and f"waits for {first['id']} (Design schema)" in proc.stderr
    assert cli.task(second["id"])["status"] == "in_progress"  # what the assistant's tool did is recorded


def test_context_and_an_agents_result_reach_the_task_through_the_metadata(cli: Cli) -> None:
    created = create(cli, "1", "Generate JWT code", "S",
                     metadata={"client": "Dataforth", "context": {"user_request": "Add JWT login"}})  # fmt: skip
    assert created["metadata"] == {"client": "Dataforth"}
    assert created["context"] == {"user_request": "Add JWT login"}
    update(cli, "1", "S", status="in_progress", owner="coder",
           metadata={"context": {"requirements": ["tokens expire"]}})  # fmt: skip
    result = {"status": "failed", "outcome": "JWT middleware", "files_created": ["src/jwt.py"],
              "billable_minutes": 45}  # fmt: skip
    update(cli, "1", "S", status="completed", metadata={"result": result})
    task = cli.task(created["id"])
    assert task["status"] == "completed"  # the assistant's tool completed it: its status wins over the result's
    assert task["metadata"] == {"client": "Dataforth"}
    context = task["context"]
    assert context["outcome"] == "JWT middleware" and context["files_created"] == ["src/jwt.py"]
    assert context["billable_minutes"] == 45 and context["requirements"] == ["tokens expire"]
    assert context["assigned_agents"][0]["agent"] == "coder" and context["assigned_agents"][0]["status"] == "completed"
    items = [json.loads(line) for f in sorted(cli.root.glob(".claude/tasks/work-items/*.jsonl"))
             for line in f.read_text().splitlines()]  # fmt: skip
    assert [(i["linked_task_id"], i["billable_minutes"]) for i in items] == [(created["id"], 45)]
    assert cli.json("report")["totals"]["billable_minutes"] == 45
    before = commits(cli)
    with pytest.raises(GittasksError, match=r"metadata\.context is not an object"):
        update(cli, "1", "S", metadata={"context": "oops"})
    assert commits(cli) == before


def test_captured_changes_read_like_the_cli_with_a_via_trailer(cli: Cli) -> None:
    def last(rev: str = "--all") -> tuple[str, dict[str, str]]:
        subject = git(cli.root, "log", rev, "-1", "--format=%s")
        found = git(cli.root, "log", rev, "-1", "--format=%(trailers:only,unfold)").splitlines()
        return subject, dict(line.split(": ", 1) for line in found)  # type: ignore[misc]

    task = create(cli, "1", "Design schema", "S")
    subject, found = last()
    assert subject == f'gittasks: create {task["id"]} "Design schema"' and found["Via"] == "claude-hook"
    assert found["Action"] == "create" and "Co-Authored-By" not in found
    git(cli.root, "config", "gittasks.coauthor", "Claude <noreply@anthropic.com>")
    steps: list[tuple[dict[str, Any], str]] = [
        ({"status": "in_progress"}, "start"),
        ({"status": "completed"}, "complete"),
        ({"status": "pending"}, "reopen"),
        ({"subject": "Design the schema"}, "update"),
    ]
    for change, action in steps:
        update(cli, "1", "S", **change)
        subject, found = last()
        assert found["Action"] == action and subject.startswith(f"gittasks: {action} {task['id']} "), subject
        assert found["Co-Authored-By"] == "Claude <noreply@anthropic.com>" and found["Via"] == "claude-hook"
    update(cli, "1", "S", status="deleted")
    assert last()[0] == f'gittasks: delete {task["id"]} "Design the schema"'
    todo = payload("posttooluse-todowrite", session_id="T")
    capture(cli, todo)
    subject, found = last()
    assert found["Action"] == "todowrite" and found["Via"] == "claude-hook"
    assert cli.json("log")[0]["action"] == "todowrite"
