"""End to end with the real Claude Code CLI (opt-in: `GITTASKS_TEST_CLAUDE`, or `claude` on the PATH), driven by a
scripted stand-in for the model API on 127.0.0.1 (tests/model_standin.py), on two workstations and one remote.

Nobody types `gittasks sync`: machine A is set up as a user would (init, a remote, `install-claude`, the Claude Code
files committed and pushed with the code), session A creates and starts tasks and ends, and the background sync
(on by default) carries them out. Machine B is a plain `git clone`; its session is told at its start what is in
flight, continues both tasks (no duplicate), completes them, makes one update that Claude Code reports as failed,
tries to write the task file directly (Claude Code refuses: a sensitive file) and adds a task through the gittasks
MCP server. A's next session starts with all of it. The remote, A and B end with exactly the tasks the sessions
meant, once each.

A second test asks whether a line of the plugin's monitor (`gittasks watch`) reaches the model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import ACTIVE, Cli, git, init_repo
from model_standin import StandIn, scripted, summary_tasks, text_of

from gittasks import autosync

CLAUDE = os.environ.get("GITTASKS_TEST_CLAUDE") or shutil.which("claude")
pytestmark = pytest.mark.skipif(
    CLAUDE is None, reason="the Claude Code CLI is not installed (set GITTASKS_TEST_CLAUDE or put claude on the PATH)"
)
PLUGIN = Path(__file__).resolve().parent.parent / "plugin"
RUN_TIMEOUT = 90  # seconds one `claude -p` session may take
SYNC_WAIT = 30.0  # seconds a background sync may take to carry a session's changes to the remote


def run_claude(
    cli: Cli, home: Path, standin: StandIn, prompt: str, *extra: str, debug_file: Path | None = None
) -> list[dict[str, Any]]:
    """One `claude -p` session in `cli`'s repository as `cli`'s machine; its stream-json events."""
    env = {**os.environ, "HOME": str(home), "GITTASKS_MACHINE": cli.machine, "ANTHROPIC_BASE_URL": standin.url,
           "ANTHROPIC_API_KEY": "sk-test-dummy", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "DISABLE_AUTOUPDATER": "1",
           # the suite turns the background sync off; a user has it on (the default), and these sessions rely on it
           autosync.ENV: ""}  # fmt: skip
    debug = ["--debug-file", str(debug_file)] if debug_file is not None else []
    assert CLAUDE is not None
    proc = subprocess.run(
        [CLAUDE, "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-hook-events",
         "--model", "claude-sonnet-4-5", *debug, *extra],
        cwd=cli.root, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def hook_outputs(events: list[dict[str, Any]], event: str | None = None) -> list[str]:
    """What the hooks (of one `event`, or all) printed, stdout and stderr, as Claude Code reports it."""
    return [
        str(e.get("output", ""))
        for e in events
        if e.get("subtype") == "hook_response" and (event is None or e.get("hook_event") == event)
    ]


def remote_tasks(remote: Path) -> list[dict[str, Any]]:
    """The task list on the remote's task branch ([] while there is none)."""
    shown = subprocess.run(
        ["git", "--git-dir", str(remote), "show", f"gittasks:{ACTIVE}"], capture_output=True, text=True, check=False
    )
    return list(json.loads(shown.stdout)["tasks"]) if shown.returncode == 0 else []


def statuses(tasks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((t["subject"], t["status"]) for t in tasks)


def common_dir(cli: Cli) -> Path:
    return (cli.root / git(cli.root, "rev-parse", "--git-common-dir")).resolve()


def wait_for_background_sync(cli: Cli, remote: Path, done: Callable[[list[dict[str, Any]]], bool]) -> None:
    """What a user walking to the other desk does: nothing, until this machine's background sync has carried its
    changes to the remote (`done` holds for the remote's list) and has finished."""
    deadline = time.monotonic() + SYNC_WAIT
    while not (done(remote_tasks(remote)) and not autosync.running(common_dir(cli))):
        assert time.monotonic() < deadline, (
            f"{cli.machine}'s background sync did not carry the session's changes within {SYNC_WAIT:.0f} s: "
            f"{autosync.load_state(common_dir(cli))}; the remote has {statuses(remote_tasks(remote))}"
        )
        time.sleep(0.2)
    state = autosync.load_state(common_dir(cli))
    assert state.get("last_ok") and "error" not in state, state


def test_two_workstations_with_the_real_client(tmp_path: Path, bare_remote: Path, make_repo) -> None:  # type: ignore[no-untyped-def]
    # machine A: set up once; what install-claude wrote is committed with the code and pushed, as a user would
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    a.ok("install-claude", "--mcp")
    git(a.root, "add", ".claude/settings.json", ".claude/gittasks-run", ".mcp.json")
    git(a.root, "commit", "-q", "-m", "Claude Code set-up")
    git(a.root, "push", "-q", "-u", "origin", "main")
    # (the background sync ends once its work is pushed instead of pulling for minutes: nothing outlives the test)
    git(a.root, "config", "gittasks.pullInterval", "0")
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
    debug_a = tmp_path / "claude-a.log"
    with StandIn(session_a) as standin:
        run_claude(a, a_home, standin, "Plan and start the work", debug_file=debug_a)
    # `claude -p` runs the SessionEnd hooks as it exits (reason "other"); they are not in the stream, the debug log
    # says so: `SessionEnd:other [sh ".../gittasks-run" hook session-end] completed with status 0`
    ended = re.findall(r"SessionEnd:\S* \[[^\]]*hook session-end\] completed with status (\d+)", debug_a.read_text())
    assert ended == ["0"], "session A's SessionEnd hook did not run (see its debug log)"
    started = {t["subject"]: t for t in a.json("list")}
    both_started = [("Design schema", "in_progress"), ("Generate JWT authentication code", "in_progress")]
    assert statuses(list(started.values())) == both_started
    wait_for_background_sync(a, bare_remote, lambda tasks: statuses(tasks) == both_started)

    # machine B: a plain clone; install-claude records this machine's gittasks and changes nothing committed
    git(tmp_path, "clone", "-q", str(bare_remote), "b")
    b = Cli(tmp_path / "b", "PC-B")
    b.ok("install-claude")
    assert git(b.root, "status", "--porcelain") == ""
    git(b.root, "config", "gittasks.pullInterval", "0")
    design_id = started["Design schema"]["id"]

    def continue_all(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        listed = summary_tasks(request)  # what the SessionStart hook told this session
        assert sorted((subject, status) for _id, subject, status in listed) == both_started, listed
        by_subject = {subject: task_id for task_id, subject, _status in listed}
        return [  # one names the task it continues, the other only has the same subject
            (
                "tool_use",
                "TaskCreate",
                {
                    "subject": "Design schema",
                    "description": "continued",
                    "metadata": {"gittasks_id": by_subject["Design schema"]},
                },
            ),
            ("tool_use", "TaskCreate", {"subject": "Generate JWT authentication code", "description": "continued"}),
        ]

    session_b = scripted(
        continue_all,  # native 1: Design schema, native 2: Generate JWT authentication code
        [
            ("tool_use", "TaskUpdate", {"taskId": "1", "status": "completed"}),
            ("tool_use", "TaskUpdate", {"taskId": "2", "status": "completed"}),
        ],
        # a gittasks id is not a native id: Claude Code answers "Task not found" and nothing may change
        [("tool_use", "TaskUpdate", {"taskId": design_id, "status": "in_progress"})],
        [("tool_use", "Write", {"file_path": str(b.root / ACTIVE), "content": "{}"})],
        [("tool_use", "mcp__gittasks__task_create", {"subject": "Write release notes"})],
    )
    with StandIn(session_b) as standin:
        events = run_claude(b, b_home, standin, "Continue the work", "--allowedTools", "mcp__gittasks")
    summary = "\n".join(hook_outputs(events, "SessionStart"))
    for subject in started:
        assert re.search(rf"^- \[\w+\] {subject}: in_progress\b", summary, re.MULTILINE), summary
    outputs = hook_outputs(events)
    for task in started.values():
        assert sum(f"continues task {task['id']}" in o for o in outputs) == 1, outputs
    assert any("reports the TaskUpdate as failed" in o for o in outputs), outputs
    assert json.loads((b.root / ACTIVE).read_text()) != {}  # the direct write was refused
    meant = [
        ("Design schema", "completed"),
        ("Generate JWT authentication code", "completed"),
        ("Write release notes", "pending"),
    ]
    wait_for_background_sync(b, bare_remote, lambda tasks: statuses(tasks) == meant)

    # back at A: the next session starts with what B did (its SessionStart hook syncs)
    with StandIn(scripted()) as standin:
        events = run_claude(a, a_home, standin, "What is left?")
    summary = "\n".join(hook_outputs(events, "SessionStart"))
    assert re.search(r"^- \[\w+\] Write release notes: pending\b", summary, re.MULTILINE), summary
    assert statuses(remote_tasks(bare_remote)) == meant
    for side in (a, b):
        assert statuses(side.json("list")) == meant  # each task once: none doubled by the continuing session
        assert side.json("conflicts") == []
    assert a.doc() == b.doc()
    wait_for_background_sync(a, bare_remote, lambda tasks: statuses(tasks) == meant)  # (its session end's)


PROBE_HOOKS = {"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "echo monitor probe loaded"}]}]}}


def monitor_probe(folder: Path, marker: Path) -> Path:
    """A plugin whose SessionStart hook says it was loaded and whose monitor leaves `marker` when it starts."""
    (folder / ".claude-plugin").mkdir(parents=True)
    (folder / ".claude-plugin" / "plugin.json").write_text(
        json.dumps({"name": "monitor-probe", "version": "0.0.1", "description": "Does this client start monitors?"})
    )
    (folder / "hooks").mkdir()
    (folder / "hooks" / "hooks.json").write_text(json.dumps(PROBE_HOOKS))
    (folder / "monitors").mkdir()
    command = f"touch '{marker}'; echo 'monitor probe line'; sleep 30"
    (folder / "monitors" / "monitors.json").write_text(
        json.dumps([{"name": "probe", "command": command, "description": "monitor probe"}])
    )
    return folder


def test_a_watch_line_reaches_the_model_through_the_plugin_monitor(
    tmp_path: Path,
    bare_remote: Path,
    make_repo,  # type: ignore[no-untyped-def]
) -> None:
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    task_id = a.create("Design schema")
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), "b")
    b = Cli(tmp_path / "b", "PC-B")
    b.ok("install-claude")  # this machine's gittasks, for the plugin's launcher
    b.ok("list")  # takes the task list from origin
    git(b.root, "config", "gittasks.pullInterval", "0")  # (the session end's background sync: no lingering)
    home = tmp_path / "home-b"
    home.mkdir()

    # first: does this client start a plugin's monitors at all in a `claude -p` session?
    marker = tmp_path / "monitor-started"
    probe = monitor_probe(tmp_path / "probe-plugin", marker)

    def wait_a_moment(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        time.sleep(3)  # time for the client to start the monitors and for their first line to come
        return [("text", "Done.")]

    with StandIn(scripted(wait_a_moment)) as standin:
        events = run_claude(b, home, standin, "Wait a moment", "--plugin-dir", str(probe))
    assert any("monitor probe loaded" in o for o in hook_outputs(events, "SessionStart")), events
    if not marker.exists():
        words = subprocess.run([str(CLAUDE), "--version"], capture_output=True, text=True).stdout.split()
        version = words[0] if words else "(version unknown)"
        pytest.skip(
            f"Claude Code {version} runs plugin monitors only in interactive sessions: `claude -p --plugin-dir` "
            "loaded the plugin (its hook ran) but started none of its monitors, so no `gittasks watch` line can "
            "reach the model in a scripted session"
        )

    # it does: A starts the task and pushes while B's session waits; the watch line must reach B's model
    seen: list[str] = []

    def change_elsewhere(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        a.ok("start", task_id)
        a.ok("sync")
        time.sleep(25)  # the watch syncs every 10 s; its line is queued for the session's next request
        return [("tool_use", "TaskList", {})]

    def look(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        seen.extend(line for line in text_of(request).splitlines() if "gittasks: " in line)
        return [("text", "Done.")]

    with StandIn(scripted(change_elsewhere, look)) as standin:
        run_claude(b, home, standin, "Wait for the others", "--plugin-dir", str(PLUGIN))
    assert any("Design schema" in line and "PC-A" in line for line in seen), seen
