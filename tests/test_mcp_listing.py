"""The MCP surface as a model reads it: `task_list`'s filters, pages and compact tasks, the tools' input schemas, the
server's instructions, and `task_create`'s billing arguments, through the real `gittasks mcp` process."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import git
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from test_mcp import listed, ok, refused, session, stored, text

from gittasks import operations, rules
from gittasks.claude import mcp_listing
from gittasks.edits import Edit, Editor
from gittasks.errors import GittasksError
from gittasks.init import init
from gittasks.model import NewTask
from gittasks.workspace import Workspace

ACTIVE = ".claude/active-tasks.json"
CLIENTS = ("Contoso", "Dataforth", None)
OWNERS = ("Coding Agent", "Research Agent", None, None)
COMPACT = {"id", "subject", "status", "owner", "parent", "blockedBy"}


@pytest.fixture
def root(make_repo: Callable[..., Path]) -> Path:
    path = make_repo()
    init(path, inline=True)
    return path


def seed(root: Path, count: int) -> list[dict[str, Any]]:
    """`count` tasks as a month of real work leaves them (clients, owners, subtasks, blockers, every status, long
    descriptions and contexts), made in two commits through the library; the stored tasks."""
    made: list[str] = []

    def create(editor: Editor) -> None:
        for n in range(count):
            parent = made[n - 1 - n % 5] if n % 5 else None  # four subtasks to each fifth task
            blocker = [made[n - 2]] if n % 7 == 3 else []
            new = NewTask(
                f"Task {n:03d}: migrate the {('billing', 'auth', 'reports')[n % 3]} module to the new API",
                description="Move every call to the v2 endpoints, keep the old ones behind a flag, and write the "
                "migration notes for the team. " * 2,
                active_form=f"Migrating module {n}",
                owner=OWNERS[n % len(OWNERS)],
                parent=parent,
                metadata={"client": CLIENTS[n % 3]} if CLIENTS[n % 3] and parent is None else {},
                context={
                    "user_request": "Migrate to the v2 API",
                    "requirements": ["no downtime", "tests pass"],
                    "files_modified": [f"src/module_{n}.py", f"tests/test_module_{n}.py"],
                },
                blocked_by=blocker,
            )
            made.append(editor.create(new)["id"])

    def statuses(editor: Editor) -> None:
        for n, tid in enumerate(made):
            status = {0: rules.COMPLETED, 1: rules.IN_PROGRESS, 2: rules.BLOCKED, 9: rules.CANCELLED}.get(n % 11)
            if status is not None:
                reason = "waiting on the API keys" if status == rules.BLOCKED else None
                editor.apply(tid, Edit(status=status, reason=reason, walk=True, force=True))

    ws = Workspace.open(root)
    operations.with_editor(ws, "create", create)
    operations.with_editor(ws, "update", statuses)
    return list(json.loads((root / ACTIVE).read_text(encoding="utf-8"))["tasks"])


async def every_page(mcp: Client, tool: str = "task_list", /, **arguments: Any) -> list[dict[str, Any]]:
    """All the tasks of `tool`, page after page through nextCursor."""
    out: list[dict[str, Any]] = []
    reply = await ok(mcp, tool, **arguments)
    out += reply["tasks"]
    while "nextCursor" in reply:
        assert reply["tasks"], reply  # a page that promises more always gives some
        reply = await ok(mcp, tool, **{**arguments, "cursor": reply["nextCursor"]})
        out += reply["tasks"]
    return out


def reply_chars(result: Any) -> int:
    return sum(len(getattr(block, "text", "")) for block in result.content)


def test_220_tasks_answer_in_a_page_well_under_what_claude_code_takes(root: Path) -> None:
    tasks = seed(root, 220)
    whole = len(json.dumps(tasks))
    assert whole > 150_000  # what the old reply held twice

    async def scenario(client: Client) -> None:
        result = await client.call_tool("task_list", {})
        assert not result.is_error and result.structured_content is None
        # characters bound tokens from above: a reply under 25,000 characters is under Claude Code's 25,000 tokens
        assert reply_chars(result) < 12_000, reply_chars(result)
        reply = json.loads(result.content[0].text)  # type: ignore[union-attr]
        assert reply["total"] == 220 and len(reply["tasks"]) == mcp_listing.DEFAULT_LIMIT and reply["nextCursor"]
        assert all(set(t) <= COMPACT and {"id", "subject", "status"} <= set(t) for t in reply["tasks"])
        by_id = {t["id"]: t for t in tasks}
        for item in reply["tasks"]:
            kept = by_id[item["id"]]
            assert item == {k: v for k, v in kept.items() if k in COMPACT and (v or k in ("id", "subject", "status"))}
        # the most a page may hold, compact or full, stays under the page's size (and far under the client's cap)
        for full in (False, True):
            biggest = await client.call_tool("task_list", {"limit": mcp_listing.MAX_LIMIT, "full": full})
            assert reply_chars(biggest) < mcp_listing.PAGE_BYTES + 500, (full, reply_chars(biggest))
            page = json.loads(biggest.content[0].text)  # type: ignore[union-attr]
            assert "nextCursor" in page and 0 < len(page["tasks"]) < mcp_listing.MAX_LIMIT
            assert "nextCursor gives the rest" in text(biggest)  # the model is told why the page is short

    session(root, scenario)


def test_paging_gives_every_task_once_in_the_lists_order_even_as_the_list_changes(root: Path) -> None:
    tasks = seed(root, 120)
    order = [t["id"] for t in tasks]

    async def scenario(client: Client) -> None:
        for limit, full in ((37, False), (1, False), (200, True)):
            got = await every_page(client, limit=limit, full=full)
            assert [t["id"] for t in got] == order, limit
            if full:
                assert got == tasks
        clients = await every_page(client, client="Contoso", limit=7)
        assert [t["id"] for t in clients] == [t["id"] for t in tasks if t["metadata"].get("client") == "Contoso"]

        # between two pages a seen task is deleted, an unseen one deleted and a new one created: every task there
        # throughout comes exactly once, the new one at the end
        first = await ok(client, "task_list", limit=10)
        seen, gone = first["tasks"][3]["id"], order[40]
        await ok(client, "task_update", taskId=seen, status="deleted")
        await ok(client, "task_update", taskId=gone, status="deleted")
        new = await ok(client, "task_create", subject="Made between two pages")
        rest = await every_page(client, limit=10, cursor=first["nextCursor"])
        ids = [t["id"] for t in first["tasks"]] + [t["id"] for t in rest]
        assert len(ids) == len(set(ids))
        assert ids == [i for i in order if i != gone] + [new["id"]]

    session(root, scenario)


def test_each_filter_selects_what_it_says(root: Path) -> None:
    tasks = seed(root, 60)
    by_id = {t["id"]: t for t in tasks}
    parent = next(t for t in tasks if any(s.get("parent") == t["id"] for s in tasks))

    def ready(t: dict[str, Any]) -> bool:
        open_subtask = any(s.get("parent") == t["id"] and s["status"] in rules.OPEN for s in tasks)
        blockers_done = all(by_id[b]["status"] == rules.COMPLETED for b in t["blockedBy"])
        return t["status"] == rules.PENDING and blockers_done and not open_subtask

    def blocked(t: dict[str, Any]) -> bool:
        waiting = any(by_id[b]["status"] != rules.COMPLETED for b in t["blockedBy"])
        return t["status"] == rules.BLOCKED or (t["status"] in rules.OPEN and waiting)

    cases: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
        ({"status": "pending"}, lambda t: t["status"] == "pending"),
        ({"status": ["in_progress", "blocked"]}, lambda t: t["status"] in ("in_progress", "blocked")),
        ({"open": True}, lambda t: t["status"] in rules.OPEN),
        ({"search": "AUTH module"}, lambda t: "auth module" in t["subject"]),
        ({"client": "Dataforth"}, lambda t: t["metadata"].get("client") == "Dataforth"),
        ({"owner": "Research Agent"}, lambda t: t.get("owner") == "Research Agent"),
        ({"parent": parent["id"][:4]}, lambda t: t.get("parent") == parent["id"]),  # a prefix will do
        ({"ready": True}, ready),
        ({"blocked": True}, blocked),
        (
            {"status": "pending", "client": "Contoso", "owner": "Coding Agent"},
            lambda t: (
                t["status"] == "pending"
                and t["metadata"].get("client") == "Contoso"
                and t.get("owner") == "Coding Agent"
            ),
        ),
    ]

    async def scenario(client: Client) -> None:
        for arguments, wanted in cases:
            expected = [t["id"] for t in tasks if wanted(t)]
            assert expected, arguments  # each case selects some tasks and leaves others out
            assert len(expected) < len(tasks), arguments
            reply = await ok(client, "task_list", **arguments, limit=200)
            assert [t["id"] for t in reply["tasks"]] == expected, arguments
            assert reply["total"] == len(expected) and "nextCursor" not in reply
        assert [t["id"] for t in await listed(client, "task_ready", limit=200)] == [t["id"] for t in tasks if ready(t)]
        assert await listed(client, client="Nobody") == []
        assert "no task with id" in await refused(client, "task_list", parent="zzzzzz")
        assert "unknown type" in await refused(client, "task_list", type="chores")
        assert "unknown status 'open'" in await refused(client, "task_list", status=["pending", "open"])

    session(root, scenario)


def test_a_bad_cursor_or_limit_is_refused_in_one_line(root: Path) -> None:
    seed(root, 3)
    not_a_pair = base64.urlsafe_b64encode(b'{"id": "x"}').decode().rstrip("=")

    async def scenario(client: Client) -> None:
        for cursor in ("garbage!", "e30", not_a_pair, "x" * 5000, "ünïcode", ""):
            message = await refused(client, "task_list", cursor=cursor)
            assert "cursor" in message and "nextCursor" in message and "\n" not in message, cursor
        assert "must be a string" in await refused(client, "task_list", cursor=3)
        assert "limit must be 1 or more" in await refused(client, "task_list", limit=0)
        assert f"limit must be {mcp_listing.MAX_LIMIT} or less" in await refused(client, "task_list", limit=10_000)
        assert "'full' must be true or false" in await refused(client, "task_list", full="yes")
        last = await ok(client, "task_list", limit=2)
        assert (await ok(client, "task_list", cursor=last["nextCursor"]))["tasks"]  # a good one still works

    session(root, scenario)


def test_a_reply_holds_its_data_once(root: Path) -> None:
    """Over the raw pipe: no structuredContent, one block of JSON, each subject once in the whole line."""
    seed(root, 5)
    subjects = [t["subject"] for t in json.loads((root / ACTIVE).read_text())["tasks"]]
    calls = [{"name": "task_list", "arguments": {}}, {"name": "task_list", "arguments": {"full": True}}]
    lines = [{"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": p} for n, p in enumerate(calls, 1)]
    proc = subprocess.run([sys.executable, "-m", "gittasks", "mcp"], cwd=root, capture_output=True, timeout=60,
                          input="".join(json.dumps(line) + "\n" for line in lines).encode())  # fmt: skip
    answers = proc.stdout.decode().splitlines()
    assert len(answers) == 2
    for raw in answers:
        result = json.loads(raw)["result"]
        assert set(result) == {"content", "isError"} and len(result["content"]) == 1
        assert all(raw.count(json.dumps(s)[1:-1]) == 1 for s in subjects)


def raw_calls(root: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The results of `tools/call`s written straight to the server's stdin (the SDK's client would check and coerce
    the arguments against the schema first)."""
    lines = [{"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
             for n, (name, arguments) in enumerate(calls)]  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "gittasks", "mcp"], cwd=root, capture_output=True, timeout=120,
                          input="".join(json.dumps(line) + "\n" for line in lines).encode())  # fmt: skip
    answers = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [a["id"] for a in answers] == list(range(len(calls)))
    return [a["result"] for a in answers]


def test_every_property_of_every_tool_is_described_and_checked(root: Path) -> None:
    from gittasks.schema import json_schema  # the pydantic model's statuses: those the tools name

    statuses = json_schema()["$defs"]["TaskModel"]["properties"]["status"]["enum"]
    values = {"integer": 7, "string": "7", "array": [], "boolean": True}  # a JSON type's value

    async def listing(client: Client) -> tuple[str | None, list[Any]]:
        return client.instructions, (await client.list_tools()).tools

    instructions, tools = session(root, listing)
    assert instructions is not None and 200 < len(instructions) < 1500
    calls: list[tuple[str, dict[str, Any]]] = []
    wanted: list[str] = []  # what each call's refusal says
    for tool in tools:
        assert tool.name in instructions, tool.name  # the model is told when to use each
        schema = tool.input_schema
        assert schema["additionalProperties"] is False
        assert schema["properties"] or tool.name in ("task_sync", "sync_status")
        base = dict.fromkeys(schema.get("required", []), "x")  # so that only the value under test is wrong
        for name, prop in schema["properties"].items():
            assert isinstance(prop.get("description"), str) and len(prop["description"]) > 10, (tool.name, name)
            types = [prop["type"]] if "type" in prop else [p["type"] for p in prop["anyOf"]]
            if name == "status":
                one = prop if "enum" in prop else prop["anyOf"][0]
                extra = ["deleted"] if tool.name == "task_update" else []
                assert one["enum"] == [*statuses, *extra], tool.name
                calls.append((tool.name, {**base, name: "done"}))  # a value outside the enum
                wanted.append("unknown status 'done'; use one of: pending,")
            if name == "type":
                assert prop["enum"] == list(rules.TASK_TYPES)
                calls.append((tool.name, {**base, name: "chores"}))
                wanted.append("unknown type 'chores'; use one of: implementation,")
            # what the schema declares is what the server checks: a value of another type is refused
            calls.append((tool.name, {**base, name: next(v for t, v in values.items() if t not in types)}))
            wanted.append(f"{tool.name}: {name!r} must be ")
    results = raw_calls(root, calls)
    for call, result, words in zip(calls, results, wanted, strict=True):
        assert result["isError"] is True, (call, result)
        [message] = [block["text"] for block in result["content"]]
        assert "\n" not in message and words in message, (call, message)
    assert git(root, "rev-list", "--count", "HEAD") == "1"  # nothing was written


def test_task_create_takes_client_project_and_minutes_as_the_cli_does(root: Path) -> None:
    async def scenario(client: Client) -> None:
        made = await ok(client, "task_create", subject="Patch the mail server", client="Contoso", project="Infra",
                        minutes=45, metadata={"complexity": "low", "client": "overridden"})  # fmt: skip
        assert made["metadata"] == {"complexity": "low", "client": "Contoso", "project": "Infra"}
        assert made["context"]["billable_minutes"] == 45  # where `create --minutes` puts them
        assert made == stored(root, made["id"])
        sub = await ok(client, "task_create", subject="Reboot", parent=made["id"])
        assert sub["metadata"] == {"client": "Contoso", "project": "Infra"}  # a subtask bills to its parent's client
        before = git(root, "rev-parse", "HEAD")
        assert "minutes must be 0 or more" in await refused(client, "task_create", subject="x", minutes=-5)
        assert "'minutes' must be an integer" in await refused(client, "task_create", subject="x", minutes="45")
        assert git(root, "rev-parse", "HEAD") == before
        await ok(client, "task_update", taskId=sub["id"], status="completed")
        await ok(client, "task_update", taskId=made["id"], status="completed")
        items = [json.loads(line) for f in (root / ".claude/tasks/work-items").glob("*.jsonl")
                 for line in f.read_text().splitlines()]  # fmt: skip
        assert [(i["client"], i["project"], i["billable_minutes"]) for i in items] == [("Contoso", "Infra", 45)]
        moved = await ok(client, "task_update", taskId=sub["id"], client="", project="Other")
        assert moved["metadata"] == {"project": "Other"}  # "" removes, as `update --client ""`

    session(root, scenario)


def test_task_update_refuses_a_parent_with_open_subtasks_unless_force(root: Path) -> None:
    async def scenario(client: Client) -> None:
        epic = await ok(client, "task_create", subject="Epic")
        sub = await ok(client, "task_create", subject="Open part", parent=epic["id"])
        before = git(root, "rev-parse", "HEAD")
        message = await refused(client, "task_update", taskId=epic["id"], status="completed")
        assert sub["id"] in message and "force" in message and "\n" not in message
        assert git(root, "rev-parse", "HEAD") == before and stored(root, epic["id"])["status"] == "pending"
        result = await client.call_tool("task_update", {"taskId": epic["id"], "status": "completed", "force": True})
        assert not result.is_error and sub["id"] in text(result)  # the note names what stays open
        assert stored(root, epic["id"])["status"] == "completed" and stored(root, sub["id"])["status"] == "pending"

    session(root, scenario)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000) | st.binary(max_size=300).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_any_cursor_is_a_position_or_refused_in_one_line(cursor: str) -> None:
    tasks = [{"id": f"t{n}", "subject": "s", "created_at": f"2026-01-0{n % 3 + 1}T10:00:00Z"} for n in range(5)]
    try:
        reply, _ = mcp_listing.page(tasks, mcp_listing.Page(cursor=cursor))
    except GittasksError as exc:
        assert "\n" not in str(exc) and "nextCursor" in str(exc)
    else:
        assert {t["id"] for t in reply["tasks"]} <= {t["id"] for t in tasks}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["", "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"]), st.text(min_size=1)),
        unique_by=lambda t: t[1],
        max_size=30,
    ),
    st.integers(1, 12),
    st.booleans(),
)
def test_paging_gives_each_task_once_whatever_the_ids_and_stamps(
    made: list[tuple[str, str]], limit: int, full: bool
) -> None:
    tasks = [{"id": i, "subject": "s" * 3000, "created_at": c or None} for c, i in made]  # big: cut by size too
    seen: list[str] = []
    cursor = None
    while True:
        reply, _ = mcp_listing.page(tasks, mcp_listing.Page(limit, cursor, full))
        assert len(reply["tasks"]) <= limit and reply["total"] == len(tasks)
        seen += [t["id"] for t in reply["tasks"]]
        if "nextCursor" not in reply:
            break
        cursor = reply["nextCursor"]
    assert sorted(seen) == sorted(i for _, i in made) and len(seen) == len(set(seen))


def test_archive_and_log_replies_stay_within_one_reply(root: Path) -> None:
    tasks = seed(root, 1300)
    ended = [t for t in tasks if t.get("status") in rules.TERMINAL]
    assert len(ended) > mcp_listing.MAX_LIMIT

    async def scenario(client: Client) -> None:
        archived = await client.call_tool("task_archive", {})
        assert not archived.is_error and reply_chars(archived) < mcp_listing.PAGE_BYTES + 500
        shown = json.loads(archived.content[0].text)  # type: ignore[union-attr]
        assert 0 < len(shown) <= mcp_listing.MAX_LIMIT
        assert f"archived {len(ended)} tasks; {len(ended) - len(shown)} more not shown" in text(archived)
        log = await client.call_tool("task_log", {"limit": 100_000})
        assert not log.is_error and reply_chars(log) < mcp_listing.PAGE_BYTES + 500

    session(root, scenario)
    active = json.loads((root / ACTIVE).read_text(encoding="utf-8"))["tasks"]
    assert len(active) == len(tasks) - len(ended)  # every ended task went, though the reply named only some


def test_bounded_keeps_the_first_items_that_fit() -> None:
    items = [{"id": str(n), "text": "x" * 1000} for n in range(100)]
    kept, left = mcp_listing.bounded(items)
    assert kept == items[: len(kept)] and left == 100 - len(kept) and len(kept) < 30
    assert mcp_listing.bounded([]) == ([], 0)
    huge = [{"text": "y" * (mcp_listing.PAGE_BYTES * 2)}]
    assert mcp_listing.bounded(huge) == (huge, 0)  # one item is always given, as task_get would give it
