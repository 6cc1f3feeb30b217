"""Code commits the assistant makes through the real Claude Code CLI's Bash tool name the session's task (opt-in:
`GITTASKS_TEST_CLAUDE`, or `claude` on the PATH; the model is the scripted stand-in of tests/model_standin.py).

`gittasks link-commits` tells a session's commits from the person's by `CLAUDE_CODE_SESSION_ID`, which Claude Code
puts in its Bash tool's environment: the session's tasks are named, not the other work in progress on the machine.
The test reads the Bash tool's `env` as the model sees it, so a client that stops setting the variable fails here
by name, not as a wrong trailer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from helpers import git, init_repo
from model_standin import StandIn, scripted, tool_results
from test_claude_e2e import CLAUDE, run_claude

pytestmark = pytest.mark.skipif(
    CLAUDE is None, reason="the Claude Code CLI is not installed (set GITTASKS_TEST_CLAUDE or put claude on the PATH)"
)
SESSION_VARIABLE = "CLAUDE_CODE_SESSION_ID"


def test_a_commit_the_assistant_makes_names_the_task_its_session_started(tmp_path: Path, make_repo) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    a.ok("install-claude")
    a.ok("link-commits")
    # work in progress on this machine outside the session: a commit made by hand names it, the session's do not
    by_hand = a.create("Review the invoices")
    a.ok("start", by_hand)
    home = tmp_path / "claude-home"
    home.mkdir()

    seen: dict[str, str] = {}

    def commit(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        seen["env"] = "\n".join(tool_results(request))
        return [("tool_use", "Bash", {"command": 'git commit --allow-empty -m "work"', "description": "Commit"})]

    def done(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        seen["commit"] = "\n".join(tool_results(request))
        return [("text", "Done.")]

    session = scripted(
        [("tool_use", "TaskCreate", {"subject": "Fix the login form", "description": "The submit button"})],
        [("tool_use", "TaskUpdate", {"taskId": "1", "status": "in_progress"})],
        [("tool_use", "Bash", {"command": "env", "description": "Show the environment"})],
        commit,
        done,
    )
    identity = {"GIT_AUTHOR_NAME": "Assistant", "GIT_AUTHOR_EMAIL": "assistant@example.invalid",
                "GIT_COMMITTER_NAME": "Assistant", "GIT_COMMITTER_EMAIL": "assistant@example.invalid"}  # fmt: skip
    with StandIn(session) as standin:
        events = run_claude(a, home, standin, "Fix the login form and commit", "--allowedTools", "Bash", env=identity)
    session_id = next(e["session_id"] for e in events if e.get("type") == "system" and e.get("subtype") == "init")

    # what the client gave its Bash tool: the session's id, the one its hooks were given (only Claude Code's own
    # variables are shown when it is not: the rest of the environment stays out of the test's report)
    env = seen.get("env", "")
    given = re.findall(rf"^{SESSION_VARIABLE}=(.*)$", env, re.MULTILINE)
    claude_names = [line.split("=")[0] for line in env.splitlines() if line.startswith("CLAUDE")]
    assert given == [session_id], f"the Bash tool's environment has {SESSION_VARIABLE}={given} ({claude_names})"

    tasks = {t["subject"]: t for t in a.json("list")}
    fixing = tasks["Fix the login form"]
    assert fixing["status"] == "in_progress" and fixing["claimed_by"].get("session") == session_id, fixing
    message = git(a.root, "log", "-1", "--format=%B")
    assert git(a.root, "log", "-1", "--format=%an") == "Assistant", seen.get("commit")
    assert re.findall(r"^Task: (\S+)$", message, re.MULTILINE) == [fixing["id"]], (message, seen.get("commit"))
    # the same commit made by hand on this machine, outside any session, names the invoices as well
    git(a.root, "commit", "--allow-empty", "-m", "by hand", env={"GITTASKS_MACHINE": "PC-A", SESSION_VARIABLE: ""})
    by_hand_names = re.findall(r"^Task: (\S+)$", git(a.root, "log", "-1", "--format=%B"), re.MULTILINE)
    assert sorted(by_hand_names) == sorted([by_hand, fixing["id"]])
