"""The MCP server, driven by the SDK's own client in memory (and once over real stdio), against real git repos."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers import git
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import CallToolResult

from gittasks import rules
from gittasks.edits import status_path
from gittasks.init import init

ACTIVE = ".claude/active-tasks.json"
TOOLS = {"task_create", "task_update", "task_list", "task_get", "task_ready", "task_next", "task_log", "task_archive",
         "task_sync", "sync_status"}  # fmt: skip


@pytest.fixture
def root(make_repo: Callable[..., Path]) -> Path:
    path = make_repo()
    init(path, inline=True)
    return path


def server_in(folder: Path) -> StdioServerParameters:
    """`gittasks mcp` started in `folder`, as Claude Code starts it."""
    return StdioServerParameters(command=sys.executable, args=["-m", "gittasks", "mcp"], cwd=str(folder),
                                 env=dict(os.environ))  # fmt: skip


def session(target: Path | StdioServerParameters, scenario: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run `scenario(client)` (the MCP SDK's client) against the server started in the folder `target` (or with
    these stdio parameters)."""

    async def main() -> Any:
        server = server_in(target) if isinstance(target, Path) else target
        async with Client(server, mode="legacy") as client:
            return await scenario(client)

    try:
        return anyio.run(main)
    except BaseExceptionGroup as group:  # a failed assertion inside the client's task groups: show it plainly
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        raise leaf from None


def text(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def ok(client: Client, tool: str, /, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text(result)
    assert result.structured_content is None  # the data once: the text the model reads
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


async def listed(client: Client, tool: str = "task_list", /, **arguments: Any) -> list[Any]:
    """The tasks of one page of `tool`."""
    return list((await ok(client, tool, **arguments))["tasks"])


async def refused(client: Client, tool: str, /, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, text(result)
    return text(result)


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD")


def commits(path: Path) -> int:
    return int(git(path, "rev-list", "--count", "HEAD"))


def stored(path: Path, task_id: str) -> dict[str, Any]:
    doc = json.loads((path / ACTIVE).read_text(encoding="utf-8"))
    return next(t for t in doc["tasks"] if t["id"] == task_id)


def trailers(path: Path, rev: str = "HEAD") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in git(path, "log", "-1", "--format=%(trailers:only,unfold)", rev).splitlines():
        key, _, value = line.partition(": ")
        out.setdefault(key, []).append(value)
    return out


def status_steps(old: str, new: str) -> list[str] | None:
    path = status_path(old, new)
    return None if path is None else [step for step, _reopen in path]


def test_status_steps_take_the_legal_path() -> None:
    assert status_steps("pending", "completed") == ["in_progress", "completed"]
    assert status_steps("blocked", "completed") == ["in_progress", "completed"]
    assert status_steps("pending", "blocked") == ["blocked"]
    assert status_steps("in_progress", "in_progress") == []
    assert status_steps("in_progress", "pending") is None
    assert status_steps("blocked", "pending") is None
    assert status_steps("completed", "pending") is None
    assert status_path("completed", "pending", implicit_reopen=True) == [("pending", True)]
    assert status_path("completed", "cancelled", implicit_reopen=True) == [("in_progress", True), ("cancelled", False)]
    for old in rules.STATUSES:
        for new in rules.STATUSES:
            steps = status_steps(old, new)
            if steps:
                path = [old, *steps]
                assert all(rules.is_legal_transition(a, b) for a, b in itertools.pairwise(path))


def test_tools_and_their_argument_names(root: Path) -> None:
    async def scenario(client: Client) -> None:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        props = {name: set(t.input_schema.get("properties", {})) for name, t in tools.items()}
        assert {"subject", "description", "activeForm", "owner", "metadata", "addBlocks", "addBlockedBy"} <= props[
            "task_create"
        ]
        assert tools["task_create"].input_schema["required"] == ["subject"]
        assert {
            "taskId",
            "task_id",
            "id",
            "subject",
            "description",
            "activeForm",
            "owner",
            "status",
            "blockedReason",
            "metadata",
            "addBlocks",
            "addBlockedBy",
        } <= props["task_update"]
        assert props["task_get"] == {"taskId", "task_id", "id"}
        paging = {"limit", "cursor", "full"}
        filters = {"client", "project", "owner", "parent", "type", "search"}
        assert props["task_list"] == {"status", "open", "ready", "blocked"} | filters | paging
        assert props["task_ready"] == filters | paging
        assert {"client", "project", "minutes"} <= props["task_create"]
        assert {"client", "project", "minutes", "force"} <= props["task_update"]
        assert props["task_log"] == {"taskId", "task_id", "id", "limit"}
        assert props["sync_status"] == props["task_sync"] == set()
        read_only = {name for name, t in tools.items() if t.annotations is not None and t.annotations.read_only_hint}
        assert read_only == {"task_list", "task_get", "task_ready", "task_next", "task_log", "sync_status"}

    session(root, scenario)


def test_create_get_update_list_ready(root: Path) -> None:
    async def scenario(client: Client) -> None:
        design = await ok(
            client,
            "task_create",
            subject="Design auth schema",
            description="Tables and tokens",
            activeForm="Designing auth schema",
            metadata={"client": "Dataforth", "complexity": "moderate"},
        )
        assert design == stored(root, design["id"])
        assert design["status"] == "pending" and design["activeForm"] == "Designing auth schema"
        assert design["updated_by"] == "test-machine"
        build = await ok(client, "task_create", subject="Implement auth")
        assert await ok(client, "task_get", taskId=design["id"]) == design
        assert await ok(client, "task_get", task_id=design["id"][:5]) == design  # a unique prefix will do

        updated = await ok(
            client,
            "task_update",
            taskId=build["id"],
            owner="Coding Agent",
            metadata={"project": "ClaudeTools"},
            addBlockedBy=[design["id"]],
        )
        assert updated["owner"] == "Coding Agent"
        assert updated["blockedBy"] == [design["id"]]
        assert updated == stored(root, build["id"])
        assert stored(root, design["id"])["blocks"] == [build["id"]]
        merged = await ok(
            client, "task_update", id=design["id"], metadata={"project": "ClaudeTools", "complexity": None}
        )
        assert merged["metadata"] == {"client": "Dataforth", "project": "ClaudeTools"}  # merged key by key

        assert [t["id"] for t in await listed(client)] == [design["id"], build["id"]]
        assert await listed(client, full=True) == json.loads((root / ACTIVE).read_text())["tasks"]
        assert [t["id"] for t in await listed(client, status="pending")] == [design["id"], build["id"]]
        assert await listed(client, status=["in_progress", "blocked"]) == []
        assert "unknown status" in await refused(client, "task_list", status="done")
        assert [t["id"] for t in await listed(client, "task_ready")] == [design["id"]]

        await ok(client, "task_update", taskId=design["id"], status="completed")
        assert [t["id"] for t in await listed(client, "task_ready")] == [build["id"]]

    session(root, scenario)


def test_a_status_change_takes_the_legal_path_in_one_commit(root: Path) -> None:
    async def scenario(client: Client) -> None:
        task = await ok(client, "task_create", subject="Write the docs")
        before = commits(root)
        done = await ok(client, "task_update", taskId=task["id"], status="completed")
        assert commits(root) == before + 1
        assert done["status"] == "completed"
        assert done["started_at"] is not None and done["completed_at"] is not None
        assert trailers(root) == {
            "Task": [task["id"]],
            "Action": ["complete"],
            "Machine": ["test-machine"],
            "Via": ["mcp"],
            "Timestamp": trailers(root)["Timestamp"],
        }
        git_show = git(root, "show", "--stat", "--format=%s", "HEAD")
        assert git_show.splitlines()[0] == f'gittasks: complete {task["id"]} "Write the docs"'
        assert ACTIVE in git_show

        # leaving completed needs an explicit reopen
        top = head(root)
        assert "reopen=true" in await refused(client, "task_update", taskId=task["id"], status="pending")
        assert head(root) == top
        reopened = await ok(client, "task_update", taskId=task["id"], reopen=True, status="in_progress")
        assert reopened["status"] == "in_progress" and reopened["completed_at"] is None
        assert trailers(root)["Action"] == ["reopen"]

        # no legal path back to pending: refused, nothing changed
        top = head(root)
        message = await refused(client, "task_update", taskId=task["id"], status="pending")
        assert "cannot go from in_progress to pending" in message
        assert "status 'blocked' needs a blockedReason" in await refused(
            client, "task_update", taskId=task["id"], status="blocked"
        )
        assert "unknown status" in await refused(client, "task_update", taskId=task["id"], status="done")
        assert head(root) == top
        blocked = await ok(client, "task_update", taskId=task["id"], status="blocked", blockedReason="waiting on API")
        assert blocked["blocked_reason"] == "waiting on API"
        assert trailers(root)["Action"] == ["block"]
        finished = await ok(client, "task_update", taskId=task["id"], status="completed")  # through in_progress
        assert finished["status"] == "completed" and finished["blocked_reason"] is None

    session(root, scenario)


def test_every_change_is_one_commit_with_trailers(root: Path) -> None:
    async def scenario(client: Client) -> None:
        count = commits(root)
        first = await ok(client, "task_create", subject="First")
        second = await ok(client, "task_create", subject="Second", addBlockedBy=[first["id"]])
        changes: list[tuple[str, dict[str, Any], str, set[str]]] = [
            ("task_update", {"taskId": second["id"], "subject": "Second, renamed"}, "update", {second["id"]}),
            ("task_update", {"taskId": first["id"], "status": "in_progress", "owner": "me"}, "start", {first["id"]}),
            ("task_update", {"taskId": first["id"], "status": "cancelled"}, "cancel", {first["id"]}),
            ("task_update", {"taskId": second["id"], "status": "deleted"}, "delete", {first["id"], second["id"]}),
        ]
        assert commits(root) == count + 2
        assert set(trailers(root)["Task"]) == {first["id"], second["id"]}  # the dependency touched both
        for tool, arguments, action, touched in changes:
            count = commits(root)
            await ok(client, tool, **arguments)
            assert commits(root) == count + 1, (tool, arguments)
            found = trailers(root)
            assert found["Action"] == [action]
            assert set(found["Task"]) == touched
            assert found["Machine"] == ["test-machine"]
            assert found["Via"] == ["mcp"] and "Co-Authored-By" not in found
            assert git(root, "show", "--name-only", "--format=", "HEAD").splitlines() == [ACTIVE]
        git(root, "config", "gittasks.coauthor", "Claude <noreply@anthropic.com>")
        third = await ok(client, "task_create", subject="Third")
        assert trailers(root)["Co-Authored-By"] == ["Claude <noreply@anthropic.com>"]
        assert git(root, "log", "-1", "--format=%s").startswith(f'gittasks: create {third["id"]} "Third"')
        # a request that changes nothing makes no commit
        count = commits(root)
        result = await client.call_tool("task_update", {"taskId": first["id"], "owner": "me"})
        assert not result.is_error and "nothing to change" in text(result)
        assert commits(root) == count

    session(root, scenario)


def test_unknown_ids_and_bad_requests_are_tool_errors_that_change_nothing(root: Path) -> None:
    async def scenario(client: Client) -> None:
        task = await ok(client, "task_create", subject="Real task")
        top, raw = head(root), (root / ACTIVE).read_bytes()
        assert "no task with id 'nope'" in await refused(client, "task_update", taskId="nope", status="completed")
        assert "no task with id 'nope'" in await refused(client, "task_get", taskId="nope")
        assert "no task with id" in await refused(client, "task_update", taskId="nope", status="deleted")
        assert "no task with id" in await refused(
            client, "task_update", taskId=task["id"], owner="x", addBlockedBy=["nope"]
        )
        assert "no task with id" in await refused(client, "task_create", subject="Orphan", addBlocks=["nope"])
        assert "cannot block itself" in await refused(client, "task_update", taskId=task["id"], addBlocks=[task["id"]])
        assert "subject is empty" in await refused(client, "task_create", subject="  ")
        assert "taskId" in await refused(client, "task_update", owner="x")
        assert "different tasks" in await refused(client, "task_get", taskId=task["id"], id="other")
        assert "goes with a blocked task" in await refused(
            client, "task_update", taskId=task["id"], blockedReason="why"
        )
        assert "Unknown tool" in await refused(client, "task_destroy", taskId=task["id"])
        assert head(root) == top
        assert (root / ACTIVE).read_bytes() == raw
        assert git(root, "status", "--porcelain") == ""

    session(root, scenario)


def test_deleted_deletes_the_task_and_its_links(root: Path) -> None:
    async def scenario(client: Client) -> None:
        blocker = await ok(client, "task_create", subject="Blocker")
        waiting = await ok(client, "task_create", subject="Waiting", addBlockedBy=[blocker["id"]])
        gone = await client.call_tool("task_update", {"taskId": blocker["id"], "status": "deleted"})
        assert not gone.is_error
        assert json.loads(gone.content[0].text)["id"] == blocker["id"]  # type: ignore[union-attr]
        assert f"deleted {blocker['id']}" in text(gone)
        assert [t["id"] for t in await listed(client)] == [waiting["id"]]
        assert stored(root, waiting["id"])["blockedBy"] == []
        assert "no task with id" in await refused(client, "task_get", taskId=blocker["id"])

    session(root, scenario)


def test_task_log_returns_the_history(root: Path) -> None:
    async def scenario(client: Client) -> None:
        task = await ok(client, "task_create", subject="Logged")
        other = await ok(client, "task_create", subject="Other")
        await ok(client, "task_update", taskId=task["id"], owner="Agent")
        await ok(client, "task_update", taskId=task["id"], status="completed")
        entries = await ok(client, "task_log", taskId=task["id"])
        assert [e["action"] for e in entries] == ["complete", "update", "create"]
        assert all(e["task"] == task["id"] and e["machine"] == "test-machine" for e in entries)
        assert entries[0]["commit"] == head(root)
        assert entries[1]["changes"]["owner"] == {"from": None, "to": "Agent"}
        assert entries[0]["changes"]["status"] == {"from": "pending", "to": "completed"}
        assert [e["task"] for e in await ok(client, "task_log", limit=2)] == [task["id"], task["id"]]
        assert {e["task"] for e in await ok(client, "task_log")} == {task["id"], other["id"]}
        await ok(client, "task_update", taskId=other["id"], status="deleted")
        assert [e["action"] for e in await ok(client, "task_log", taskId=other["id"])] == ["delete", "create"]
        assert "limit must be" in await refused(client, "task_log", limit=0)

    session(root, scenario)


def test_sync_status_without_a_remote(root: Path) -> None:
    async def scenario(client: Client) -> None:
        await ok(client, "task_create", subject="Counted")
        status = await ok(client, "sync_status")
        assert status["machine"] == "test-machine"
        assert status["remote"] is None and status["branch"] == "main"
        assert status["tasks"] == 1 and status["conflicts"] == 0

    session(root, scenario)


def test_default_repository_is_the_working_directory_and_edits_are_committed_first(root: Path) -> None:
    (root / "sub").mkdir()
    server = server_in(root / "sub")

    async def scenario(client: Client) -> None:
        task = await ok(client, "task_create", subject="Before the edit")
        doc = json.loads((root / ACTIVE).read_text())
        doc["tasks"][0]["subject"] = "Edited by hand"
        (root / ACTIVE).write_text(json.dumps(doc, indent=2) + "\n")
        count = commits(root)
        assert [t["subject"] for t in await listed(client)] == ["Edited by hand"]
        assert commits(root) == count + 1
        assert trailers(root)["Action"] == ["external-edit"]
        assert (await ok(client, "task_get", taskId=task["id"]))["subject"] == "Edited by hand"

    session(server, scenario)


def test_outside_a_repository_every_tool_says_so(tmp_path: Path) -> None:
    async def scenario(client: Client) -> None:
        assert "not inside a git repository" in await refused(client, "task_list")

    session(tmp_path / "home", scenario)


def test_the_mcp_command_serves_over_stdio(root: Path) -> None:
    # `--repo DIR mcp`: the CLI's command (a plain `gittasks mcp` is a machine entry point, run before the CLI)
    script = f"import sys\nfrom gittasks.main import main\nsys.exit(main(['--repo', {str(root)!r}, 'mcp']))\n"
    params = StdioServerParameters(command=sys.executable, args=["-c", script], cwd=str(root), env=dict(os.environ))

    async def scenario(client: Client) -> None:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        task = await ok(client, "task_create", subject="Over stdio")
        assert stored(root, task["id"])["subject"] == "Over stdio"
        assert trailers(root)["Action"] == ["create"]

    session(params, scenario)


def test_every_field_and_operation_the_cli_has_and_no_unknown_argument(root: Path) -> None:
    async def scenario(client: Client) -> None:
        assert client.server_info is not None and client.server_info.version not in ("", None)  # the installed version
        epic = await ok(client, "task_create", subject="Epic", metadata={"client": "acme"})
        sub = await ok(client, "task_create", subject="Sub", parent=epic["id"], type="research",
                       context={"user_request": "find out", "files_modified": ["a.py"]})  # fmt: skip
        assert stored(root, sub["id"])["parent"] == epic["id"] and stored(root, sub["id"])["type"] == "research"
        assert stored(root, sub["id"])["context"] == {"user_request": "find out", "files_modified": ["a.py"]}
        head_before = head(root)
        message = await refused(client, "task_create", subject="Typo", addBlockedby=[epic["id"]])
        assert "addBlockedby" in message and "addBlockedBy" in message and head(root) == head_before
        await ok(client, "task_update", taskId=sub["id"], context={"outcome_notes": "x"}, owner="Research Agent")
        done = await ok(
            client, "task_update", taskId=epic["id"], status="completed", outcome="Shipped", minutes=45, force=True
        )  # (its subtask stays open: force)
        assert done["status"] == "completed" and done["context"]["outcome"] == "Shipped"
        assert done["context"]["billable_minutes"] == 45
        assert stored(root, sub["id"])["context"]["outcome_notes"] == "x"
        archived = await ok(client, "task_archive")
        assert [t["id"] for t in archived] == [epic["id"]]
        assert "remote" in await refused(client, "task_sync")  # this repository has none: refused, with the fix

    session(root, scenario)


def test_the_server_stops_on_sigint_and_when_stdin_closes(root: Path) -> None:
    import signal
    import subprocess
    import time

    server = subprocess.Popen([sys.executable, "-m", "gittasks", "mcp"], cwd=root, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert server.stdin is not None and server.stdout is not None
    client = {"name": "t", "version": "1"}
    params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client}
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    started = time.perf_counter()
    server.stdin.write((json.dumps(hello) + "\n").encode())
    server.stdin.flush()
    answer = json.loads(server.stdout.readline())
    print(f"initialize answered after {time.perf_counter() - started:.2f} s (cold start included)")
    assert answer["result"]["serverInfo"]["name"] == "gittasks" and answer["result"]["serverInfo"]["version"]
    server.send_signal(signal.SIGINT)
    assert server.wait(timeout=15) == 0
    closing = subprocess.run([sys.executable, "-m", "gittasks", "mcp"], cwd=root, input=b"", capture_output=True,
                             timeout=30)  # fmt: skip
    assert closing.returncode == 0


def test_odd_messages_get_an_error_and_the_server_goes_on(root: Path) -> None:
    import subprocess

    lines = [
        "not json",
        {"id": 7},
        {"jsonrpc": "2.0", "id": 1, "method": "resources/list"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "task_list", "arguments": "x"}},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "task_list", "arguments": {"status": ["pending", 3]}},
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        [{"jsonrpc": "2.0", "id": 4, "method": "ping"}],
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    proc = subprocess.run([sys.executable, "-m", "gittasks", "mcp"], cwd=root, input=stdin, capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len(answers) == 6  # the notification gets no answer
    assert [a.get("id") for a in answers[:5]] == [None, 7, 1, 2, 3]
    assert answers[0]["error"]["code"] == -32700 and answers[1]["error"]["code"] == -32600
    assert answers[2]["error"]["code"] == -32601
    assert answers[3]["result"]["isError"] and "not an object" in answers[3]["result"]["content"][0]["text"]
    assert "a status or a list of statuses" in answers[4]["result"]["content"][0]["text"]
    assert answers[5] == [{"jsonrpc": "2.0", "id": 4, "result": {}}]  # a batch's answers come as one array
    assert commits(root) == 1  # nothing was written


def test_an_agents_result_through_task_update(root: Path) -> None:
    async def scenario(client: Client) -> None:
        task = await ok(client, "task_create", subject="Write auth tests", metadata={"client": "Dataforth"})
        partial = {"status": "partial", "outcome": "half the cases", "files_created": ["tests/test_auth.py"]}
        kept = await ok(client, "task_update", taskId=task["id"], result=partial)
        assert kept["status"] == "in_progress" and kept["context"]["outcome"] == "half the cases"
        done = {"status": "success", "outcome": "all cases", "files_modified": ["tests/conftest.py"],
                "billable_minutes": 20, "tests_passed": 14}  # fmt: skip
        finished = await ok(client, "task_update", taskId=task["id"], result=done)
        assert finished["status"] == "completed" and finished == stored(root, task["id"])
        context = finished["context"]
        assert context["outcome"] == "all cases" and context["tests_passed"] == 14 and context["billable_minutes"] == 20
        assert context["files_created"] == ["tests/test_auth.py"] and context["files_modified"] == ["tests/conftest.py"]
        before = head(root)
        assert "not one of" in await refused(client, "task_update", taskId=task["id"], result={"status": "meh"})
        assert "must be" in await refused(client, "task_update", taskId=task["id"], result=["x"])
        assert head(root) == before

    session(root, scenario)
