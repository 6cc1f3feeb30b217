"""Cross-session recovery and the Claude Code capture hooks (recorded payloads); install-claude has its own file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo


@pytest.fixture
def cli(make_repo: MakeRepo) -> Cli:
    return init_repo(make_repo())


def hook(cli: Cli, payload: object, command: str = "capture") -> tuple[str, str]:
    proc = cli.run("hook", command, input=payload if isinstance(payload, str) else json.dumps(payload))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout, proc.stderr


def create_payload(native_id: str, subject: str, session: str = "s1", **extra: object) -> dict[str, object]:
    return {
        "session_id": session,
        "tool_name": "TaskCreate",
        "tool_input": {"subject": subject, "description": "d", "activeForm": f"Doing {subject}", **extra},
        "tool_response": {"task": {"id": native_id, "subject": subject}},
    }


def test_recover_text_and_json_in_dependency_order(cli: Cli) -> None:
    a = cli.create("Design")
    b = cli.create("Build", "--blocked-by", a)
    c = cli.create("Blocked thing")
    cli.ok("block", c, "--reason", "waiting for keys")
    Cli(cli.root, "OTHER-BOX").ok("start", a, "--owner", "agent-2")
    done = cli.create("Finished")
    cli.ok("start", done)
    cli.ok("done", done)
    text = cli.ok("recover")
    assert "3 incomplete tasks" in text
    assert text.index(a) < text.index(b)
    assert "in progress on another machine (OTHER-BOX)" in text
    assert "blocked: waiting for keys" in text
    assert done not in text
    data = cli.json("recover")
    assert [d["id"] for d in data].index(a) < [d["id"] for d in data].index(b)
    assert set(data[0]) >= {"id", "subject", "description", "activeForm", "status", "owner", "machine", "updated_at",
                            "blockedBy", "blocked_reason"}  # fmt: skip
    build = next(d for d in data if d["id"] == b)
    assert build["blockedBy"] == [a]


def test_recover_stays_under_10000_characters(cli: Cli) -> None:
    doc = cli.doc()
    doc["tasks"] = [{"id": f"t{i}", "subject": "x" * 120, "status": "pending"} for i in range(400)]
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    text = cli.ok("recover")
    assert len(text) < 10_000
    assert "more incomplete tasks" in text


def test_stale_in_progress_is_flagged(cli: Cli) -> None:
    doc = cli.doc()
    doc["tasks"] = [{"id": "old", "subject": "Old work", "status": "in_progress", "updated_at": "2020-01-01T00:00:00Z",
                     "updated_by": "test-machine"}]  # fmt: skip
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    # committed as it is (a hand edit gittasks sees is stamped as a change made now, so it is not stale)
    git(cli.root, "commit", "-qm", "old work", "--", ACTIVE)
    assert "possibly abandoned" in cli.ok("recover")
    assert cli.json("recover")[0]["stale"] is True
    git(cli.root, "config", "gittasks.staleAfter", "100000d")
    assert "possibly abandoned" not in cli.ok("recover")


def test_capture_create_update_delete_by_native_id(cli: Cli) -> None:
    hook(cli, create_payload("1", "Native one"))
    hook(cli, create_payload("2", "Native two"))
    tasks = {t["subject"]: t for t in cli.json("list")}
    one = tasks["Native one"]
    assert one["native"] == [{"machine": "test-machine", "session": "s1", "id": "1"}]
    assert one["activeForm"] == "Doing Native one"
    count = cli.commit_count()
    hook(cli, {"session_id": "s1", "tool_name": "TaskUpdate",
               "tool_input": {"taskId": "1", "status": "in_progress", "owner": "claude", "metadata": {"k": "v"},
                              "addBlockedBy": ["2"]}})  # fmt: skip
    assert cli.commit_count() == count + 1
    task = cli.task(one["id"])
    assert task["status"] == "in_progress" and task["owner"] == "claude" and task["metadata"] == {"k": "v"}
    assert task["blockedBy"] == [tasks["Native two"]["id"]]
    hook(cli, {"session_id": "s1", "tool_name": "TaskUpdate", "tool_input": {"task_id": "1", "status": "completed"}})
    assert cli.task(one["id"])["status"] == "completed"
    hook(cli, {"session_id": "s1", "tool_name": "TaskUpdate", "tool_input": {"id": "2", "status": "deleted"}})
    assert "Native two" not in {t["subject"] for t in cli.json("list")}


def test_capture_pending_to_completed_goes_through_in_progress(cli: Cli) -> None:
    hook(cli, create_payload("7", "Quick"))
    hook(cli, {"session_id": "s1", "tool_name": "TaskUpdate", "tool_input": {"taskId": "7", "status": "completed"}})
    task = next(t for t in cli.json("list") if t["subject"] == "Quick")
    assert task["status"] == "completed" and task["started_at"] and task["completed_at"]


def test_same_native_id_in_two_sessions(cli: Cli) -> None:
    hook(cli, create_payload("1", "Session one task", session="s1"))
    hook(cli, create_payload("1", "Session two task", session="s2"))
    hook(cli, {"session_id": "s1", "tool_name": "TaskUpdate", "tool_input": {"taskId": "1", "subject": "s1 renamed"}})
    subjects = {t["subject"] for t in cli.json("list")}
    assert subjects == {"s1 renamed", "Session two task"}
    # a new session (after /clear) updating native id 1: native ids restart in every session, so that id names none
    # of the earlier sessions' tasks; nothing is changed and the hook says so in one line
    before = cli.doc()
    _, err = hook(cli, {"session_id": "s3", "tool_name": "TaskUpdate", "tool_input": {"taskId": "1", "owner": "later"}})
    assert "native id '1'" in err and "nothing recorded" in err and len(err.strip().splitlines()) == 1
    assert cli.doc() == before


def test_capture_todowrite_reconciles_by_content(cli: Cli) -> None:
    todos = [{"content": "Write parser", "status": "in_progress", "activeForm": "Writing parser"},
             {"content": "Write tests", "status": "pending", "activeForm": "Writing tests"}]  # fmt: skip
    hook(cli, {"session_id": "s1", "tool_name": "TodoWrite", "tool_input": {"todos": todos}})
    assert {t["subject"]: t["status"] for t in cli.json("list")} == {
        "Write parser": "in_progress",
        "Write tests": "pending",
    }
    todos[0]["status"] = "completed"
    todos[1]["status"] = "in_progress"
    hook(cli, {"session_id": "s1", "tool_name": "TodoWrite", "tool_input": {"todos": todos}})
    assert {t["subject"]: t["status"] for t in cli.json("list")} == {
        "Write parser": "completed",
        "Write tests": "in_progress",
    }
    assert len(cli.json("list")) == 2


MALFORMED = [
    "not json",
    "[]",
    json.dumps({"tool_name": "TaskUpdate", "tool_input": {"taskId": "404", "status": "completed"}}),
    json.dumps({"tool_name": "TaskUpdate", "tool_input": {}}),
    json.dumps({"tool_name": "TodoWrite", "tool_input": {"todos": "nope"}}),
    json.dumps({"tool_name": "Bash", "tool_input": {"command": "ls"}}),
    json.dumps({"tool_name": "TaskCreate", "tool_input": None, "tool_response": 5}),
    "",
]


@pytest.mark.parametrize("payload", MALFORMED)
def test_malformed_payloads_never_break_the_session(cli: Cli, payload: str) -> None:
    head = cli.head()
    raw = (cli.root / ACTIVE).read_bytes()
    _, err = hook(cli, payload)
    if payload and "TaskCreate" not in payload:
        assert err.strip() and len(err.strip().splitlines()) == 1
        assert cli.head() == head
        assert (cli.root / ACTIVE).read_bytes() == raw


def test_capture_outside_a_repository_exits_zero(tmp_path: Path) -> None:
    lost = Cli(tmp_path)
    _, err = hook(lost, create_payload("1", "x") | {"cwd": str(tmp_path)})
    assert "not inside a git repository" in err


def test_session_start_prints_recovery(cli: Cli) -> None:
    cli.create("Pending work")
    out, _ = hook(cli, {"session_id": "s9", "source": "startup", "cwd": str(cli.root)}, "session-start")
    assert "Pending work" in out and "1 incomplete task in" in out
