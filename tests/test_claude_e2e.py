"""End to end with the real Claude Code CLI (opt-in: `GITTASKS_TEST_CLAUDE`, or `claude` on the PATH), driven by a
scripted stand-in for the model API on 127.0.0.1 (tests/model_standin.py), on two workstations and one remote.

Session A creates and starts tasks and the machine syncs; session B on the other machine is told at its start what
is in flight, continues both tasks (no duplicate), completes them, makes one update that Claude Code reports as
failed, tries to write the task file directly (Claude Code refuses: a sensitive file) and adds a task through the
gittasks MCP server. Both machines end with exactly the tasks the sessions meant, once each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, git, init_repo
from model_standin import StandIn, scripted, summary_tasks

CLAUDE = os.environ.get("GITTASKS_TEST_CLAUDE") or shutil.which("claude")
pytestmark = pytest.mark.skipif(
    CLAUDE is None, reason="the Claude Code CLI is not installed (set GITTASKS_TEST_CLAUDE or put claude on the PATH)"
)


def run_claude(cli: Cli, home: Path, standin: StandIn, prompt: str, *extra: str) -> list[dict[str, Any]]:
    """One `claude -p` session in `cli`'s repository as `cli`'s machine; its stream-json events."""
    env = {**os.environ, "HOME": str(home), "GITTASKS_MACHINE": cli.machine, "ANTHROPIC_BASE_URL": standin.url,
           "ANTHROPIC_API_KEY": "sk-test-dummy", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "DISABLE_AUTOUPDATER": "1"}  # fmt: skip
    assert CLAUDE is not None
    proc = subprocess.run(
        [CLAUDE, "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-hook-events",
         "--model", "claude-sonnet-4-5", *extra],
        cwd=cli.root, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def hook_outputs(events: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("output", "")) for e in events if e.get("subtype") == "hook_response"]


def test_two_workstations_with_the_real_client(tmp_path: Path, bare_remote: Path, make_repo) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    a.ok("install-claude")
    a_home, b_home = tmp_path / "home-a", tmp_path / "home-b"
    a_home.mkdir()
    b_home.mkdir()

    session_a = scripted(
        [
            (
                "tool_use",
                "TaskCreate",
                {"subject": "Design schema", "description": "The tables and keys", "activeForm": "Designing schema"},
            )
        ],
        [
            (
                "tool_use",
                "TaskCreate",
                {
                    "subject": "Generate JWT authentication code",
                    "description": "Tokens",
                    "activeForm": "Generating JWT code",
                },
            )
        ],
        [("tool_use", "TaskUpdate", {"taskId": "1", "status": "in_progress", "owner": "Coding Agent A"})],
        [("tool_use", "TaskUpdate", {"taskId": "2", "status": "in_progress"})],
    )
    with StandIn(session_a) as standin:
        run_claude(a, a_home, standin, "Plan and start the work")
    a.ok("sync")
    started = {t["subject"]: t for t in a.json("list")}
    both_started = {"Design schema": "in_progress", "Generate JWT authentication code": "in_progress"}
    assert {s: t["status"] for s, t in started.items()} == both_started

    git(tmp_path, "clone", "-q", str(bare_remote), "b")
    b = Cli(tmp_path / "b", "PC-B")
    b.ok("init")
    b.ok("install-claude", "--mcp")
    design_id = started["Design schema"]["id"]

    def continue_all(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        listed = summary_tasks(request)  # what the SessionStart hook told this session
        assert {subject for _id, subject, _status in listed} == set(started), listed
        return [
            (
                "tool_use",
                "TaskCreate",
                {"subject": subject, "description": "continued", "metadata": {"gittasks_id": task_id}},
            )
            for task_id, subject, _status in sorted(listed, key=lambda t: t[1])
        ]

    session_b = scripted(
        continue_all,  # native 1: Design schema, native 2: Generate JWT authentication code (sorted by subject)
        [
            ("tool_use", "TaskUpdate", {"taskId": "1", "status": "completed"}),
            ("tool_use", "TaskUpdate", {"taskId": "2", "status": "completed"}),
        ],
        # a gittasks id is not a native id: Claude Code answers "Task not found" and nothing may change
        [("tool_use", "TaskUpdate", {"taskId": design_id, "status": "in_progress"})],
        [("tool_use", "Write", {"file_path": str(b.root / ".claude" / "active-tasks.json"), "content": "{}"})],
        [("tool_use", "mcp__gittasks__task_create", {"subject": "Write release notes"})],
    )
    with StandIn(session_b) as standin:
        events = run_claude(b, b_home, standin, "Continue the work", "--allowedTools", "mcp__gittasks")
    outputs = hook_outputs(events)
    assert any("reports the TaskUpdate as failed" in o for o in outputs), outputs
    b.ok("sync")
    a.ok("sync")
    for side in (a, b):
        tasks = sorted(side.json("list"), key=lambda t: t["subject"])
        assert [(t["subject"], t["status"]) for t in tasks] == [
            ("Design schema", "completed"),
            ("Generate JWT authentication code", "completed"),
            ("Write release notes", "pending"),
        ]
        assert side.json("conflicts") == []
    assert a.doc() == b.doc()
    assert json.loads((b.root / ".claude" / "active-tasks.json").read_text()) != {}  # the direct write was refused
