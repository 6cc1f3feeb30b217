"""End to end with the real Claude Code CLI (opt-in: `GITTASKS_TEST_CLAUDE`, or `claude` on the PATH), driven by a
scripted stand-in for the model API on 127.0.0.1 (tests/model_standin.py), on two workstations and one remote.

Nobody types `gittasks sync`: machine A is set up as a user would (init, a remote, `install-claude`, the Claude Code
files committed and pushed with the code), session A creates and starts tasks and ends, and the background sync
(on by default) carries them out. Machine B is a plain `git clone`; its session is told at its start what is in
flight, continues both tasks (no duplicate), completes them, makes one update that Claude Code reports as failed,
tries to write the task file directly (Claude Code refuses: a sensitive file) and adds a task through the gittasks
MCP server. A's next session starts with all of it, the summary ending with what to take up next. The remote, A and B
end with exactly the tasks the sessions meant, once each; A's tasks carry the active time its session measured, B's
completed one the result its TaskUpdate's metadata gave.

Then: a TodoWrite list reworded and cut short (one task per item), a `task_list` page of 220 tasks as the model reads
it (JSON text, not a file the client saved it to), and whether a line of the plugin's monitor (`gittasks watch`)
reaches the model. Commits made through the Bash tool: test_claude_e2e_links.py.
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
from model_standin import StandIn, scripted, summary_tasks, text_of, tool_names, tool_result_blocks, tool_results

from gittasks import autosync, operations
from gittasks.edits import Editor
from gittasks.model import NewTask
from gittasks.workspace import Workspace

CLAUDE = os.environ.get("GITTASKS_TEST_CLAUDE") or shutil.which("claude")
pytestmark = pytest.mark.skipif(
    CLAUDE is None, reason="the Claude Code CLI is not installed (set GITTASKS_TEST_CLAUDE or put claude on the PATH)"
)
PLUGIN = Path(__file__).resolve().parent.parent / "plugin"
RUN_TIMEOUT = 90  # seconds one `claude -p` session may take
ACTIVE_SECONDS = 2  # how long session A works on its first task before its next call
SYNC_WAIT = 30.0  # seconds a background sync may take to carry a session's changes to the remote


def run_claude(
    cli: Cli,
    home: Path,
    standin: StandIn,
    prompt: str,
    *extra: str,
    debug_file: Path | None = None,
    env: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One `claude -p` session in `cli`'s repository as `cli`'s machine (`env` added to its environment); its
    stream-json events."""
    # (a test run inside a Claude Code session: that session's id is not this one's)
    outer = {k: v for k, v in os.environ.items() if k != "CLAUDE_CODE_SESSION_ID"}
    environ = {**outer, **(env or {}), "HOME": str(home), "GITTASKS_MACHINE": cli.machine,
               "ANTHROPIC_BASE_URL": standin.url, "ANTHROPIC_API_KEY": "sk-test-dummy",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
               # the suite turns the background sync off; a user has it on (the default), and these sessions rely on it
               autosync.ENV: ""}  # fmt: skip
    debug = ["--debug-file", str(debug_file)] if debug_file is not None else []
    assert CLAUDE is not None
    proc = subprocess.run(
        [CLAUDE, "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-hook-events",
         "--model", "claude-sonnet-4-5", *debug, *extra],
        cwd=cli.root, env=environ, capture_output=True, text=True, timeout=RUN_TIMEOUT,
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


def first_lines(standin: StandIn) -> list[str]:
    """The first line of each tool result the session's model read (a Bash command's output among them; the
    client's reminders follow it)."""
    return [(r.strip().splitlines() or [""])[0] for request in standin.requests for r in tool_results(request)]


RESULT = {"status": "success", "outcome": "Schema agreed with the team", "files_modified": ["db/schema.sql"]}


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

    def work_a_while(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        time.sleep(ACTIVE_SECONDS)  # the assistant works on task 1 before it starts task 2
        return [("tool_use", "TaskUpdate", {"taskId": "2", "status": "in_progress"})]

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
        work_a_while,
        # then the turn's last work is a command no hook sees, both tasks in progress; the answer ends after it
        [("tool_use", "Bash", {"command": f"sleep {ACTIVE_SECONDS}; echo built", "description": "Build"})],
    )
    debug_a = tmp_path / "claude-a.log"
    with StandIn(session_a) as standin:
        events = run_claude(a, a_home, standin, "Plan and start the work", "--allowedTools", "Bash",
                            debug_file=debug_a)  # fmt: skip
    assert "built" in first_lines(standin), first_lines(standin)  # (Bash ran)
    session_a_id = next(e["session_id"] for e in events if e.get("subtype") == "init")
    # `claude -p` runs the SessionEnd hooks as it exits (reason "other"); they are not in the stream, the debug log
    # says so: `SessionEnd:other [sh ".../gittasks-run" hook session-end] completed with status 0`
    ended = re.findall(r"SessionEnd:\S* \[[^\]]*hook session-end\] completed with status (\d+)", debug_a.read_text())
    assert ended == ["0"], "session A's SessionEnd hook did not run (see its debug log)"
    started = {t["subject"]: t for t in a.json("list")}
    both_started = [("Design schema", "in_progress"), ("Generate JWT authentication code", "in_progress")]
    assert statuses(list(started.values())) == both_started
    # the session's active time, measured by its hooks and folded in at its end, by machine and session: task 1
    # from its start to the end of the turn (the answer's end: the Stop hook's mark), task 2 from its start; the
    # Bash command after task 2's start, which no hook sees, counts as the turn's time, shared by the two
    key = f"PC-A/{session_a_id}"
    worked = started["Design schema"]["metadata"].get("gittasks_activity")
    assert list(worked or {}) == [key], started["Design schema"]
    shared = ACTIVE_SECONDS / 2
    assert ACTIVE_SECONDS + shared <= worked[key]["seconds"] < RUN_TIMEOUT, worked
    bash_only = started["Generate JWT authentication code"]["metadata"].get("gittasks_activity")
    assert list(bash_only or {}) == [key] and shared <= bash_only[key]["seconds"] < RUN_TIMEOUT, bash_only
    spool = (common_dir(a) / "gittasks-activity" / f"{session_a_id}.jsonl").read_text().splitlines()
    assert spool[-1].endswith(" turn-end"), spool  # (its prompt's mark came before the session's file existed)
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
            ("tool_use", "TaskUpdate", {"taskId": "1", "status": "completed", "metadata": {"result": RESULT}}),
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
    # an agent's result in TaskUpdate's metadata is taken into the task as task_update's result is
    design = b.task(design_id)
    assert design["context"]["outcome"] == RESULT["outcome"], design
    assert design["context"]["files_modified"] == RESULT["files_modified"] and "result" not in design["metadata"]

    # back at A: the next session starts with what B did (its SessionStart hook syncs)
    with StandIn(scripted()) as standin:
        events = run_claude(a, a_home, standin, "What is left?")
    summary = "\n".join(hook_outputs(events, "SessionStart"))
    assert re.search(r"^- \[\w+\] Write release notes: pending\b", summary, re.MULTILINE), summary
    # the summary reaches the model whole: it ends with what to take up next, the task left ready first
    seen = text_of(next(r for r in standin.requests if tool_names(r)))
    assert "gittasks next: what to take up" in seen, seen[-3000:]
    assert re.search(r"^1\. \[\w+\] Write release notes: ", seen, re.MULTILINE), seen[-3000:]
    assert statuses(remote_tasks(bare_remote)) == meant
    for side in (a, b):
        assert statuses(side.json("list")) == meant  # each task once: none doubled by the continuing session
        assert side.json("conflicts") == []
    assert a.doc() == b.doc()
    wait_for_background_sync(a, bare_remote, lambda tasks: statuses(tasks) == meant)  # (its session end's)


def test_a_session_driving_its_task_through_mcp_gets_its_active_time(tmp_path: Path, make_repo) -> None:  # type: ignore[no-untyped-def]
    # no task tool, no capture: the MCP server learns the session's id from Claude Code (CLAUDE_CODE_SESSION_ID in
    # its environment) and records the statuses it gives tasks as the capture hook does
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    a.ok("install-claude", "--mcp")
    home = tmp_path / "claude-home"
    home.mkdir()
    made: list[str] = []

    def start(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        if not made:  # (asked again after the client's ToolSearch for task_update)
            [blocks] = tool_result_blocks(request)
            made.append(json.loads(str(blocks[0]["text"]))["id"])
        return [("tool_use", "mcp__gittasks__task_update", {"taskId": made[0], "status": "in_progress"})]

    session = scripted(
        [("tool_use", "mcp__gittasks__task_create", {"subject": "Tune the build"})],
        start,
        [("tool_use", "Bash", {"command": f"sleep {ACTIVE_SECONDS}; echo built", "description": "Build"})],
        lambda request: [("tool_use", "mcp__gittasks__task_update", {"taskId": made[0], "status": "completed"})],
    )
    with StandIn(session) as standin:
        events = run_claude(a, home, standin, "Tune the build", "--allowedTools", "mcp__gittasks", "Bash")
    assert "built" in first_lines(standin), first_lines(standin)  # (Bash ran)
    session_id = next(e["session_id"] for e in events if e.get("subtype") == "init")
    for event in ("UserPromptSubmit", "Stop"):  # the turn marks: silent (the prompt's would reach the model), exit 0
        said = [(e.get("exit_code"), e.get("output")) for e in events
                if e.get("subtype") == "hook_response" and e.get("hook_event") == event]  # fmt: skip
        assert said == [(0, "")], (event, said)
    task = a.task(made[0])
    assert task["status"] == "completed", task
    worked = task["metadata"].get("gittasks_activity")
    assert list(worked or {}) == [f"PC-A/{session_id}"], task
    assert ACTIVE_SECONDS <= worked[f"PC-A/{session_id}"]["seconds"] < RUN_TIMEOUT, worked


def test_a_todo_list_reworded_and_cut_short_keeps_one_task_per_item(tmp_path: Path, make_repo) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    a.ok("install-claude")
    home = tmp_path / "claude-home"
    home.mkdir()

    def todos(*items: tuple[str, str]) -> list[tuple[Any, ...]]:
        listed = [
            {"content": content, "status": status, "activeForm": f"Doing: {content}"} for content, status in items
        ]
        return [("tool_use", "TodoWrite", {"todos": listed})]

    session = scripted(
        todos(("Write tests", "pending"), ("Fix the parser", "pending")),
        todos(("Write the unit tests", "in_progress"), ("Fix the parser", "pending")),  # reworded as it starts
        todos(("Write the unit tests", "completed"), ("Fix the parser", "in_progress")),
        todos(("Write the unit tests", "completed")),  # the parser dropped from the list
    )
    with StandIn(session) as standin:  # (TodoWrite is Claude Code 2.1.332's only while its task tools are off)
        events = run_claude(a, home, standin, "Plan and do it", env={"CLAUDE_CODE_ENABLE_TASKS": "0"})
    refused = [r for request in standin.requests for r in tool_results(request) if "No such tool" in r]
    assert not refused, refused
    assert statuses(a.json("list", "--all")) == [("Fix the parser", "cancelled"), ("Write the unit tests", "completed")]
    assert any("cancelled task dropped from the session's todo list" in o for o in hook_outputs(events)), events


# Claude Code 2.1.332 hands the model a tool result of up to about 50,000 characters as it came; a longer one it saves
# to a file and replaces by `<persisted-output> Output too large (55KB). Full output saved to: FILE` and a 2 KB preview
# (measured with a stand-in MCP server: 49,239 characters came whole, 50,168 did not)
CLIENT_RESULT_LIMIT = 50_000
REPLACED = ("persisted-output", "too large", "saved to", "exceeds", "truncated")


def test_a_task_list_page_of_220_tasks_reaches_the_model_as_json_text(tmp_path: Path, make_repo) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    a.ok("install-claude", "--mcp")

    def create(editor: Editor) -> None:
        for n in range(220):
            module = ("billing", "auth", "reports")[n % 3]
            editor.create(
                NewTask(
                    f"Task {n:03d}: migrate the {module} module to the new API",
                    description="Move every call to the v2 endpoints and write the migration notes. " * 4,
                    owner=("Coding Agent", None)[n % 2],
                    context={"files_modified": [f"src/{module}_{n}.py", f"tests/test_{module}_{n}.py"]},
                )
            )

    operations.with_editor(Workspace.open(a.root), "create", create)
    stored = {t["id"]: t for t in a.doc()["tasks"]}
    assert len(json.dumps(list(stored.values()))) > 2 * CLIENT_RESULT_LIMIT  # the whole list would not reach the model
    home = tmp_path / "claude-home"
    home.mkdir()
    given: list[list[dict[str, Any]]] = []

    def read(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        given.extend(tool_result_blocks(request))
        return [("tool_use", "mcp__gittasks__task_list", {"full": True, "limit": 200})]  # the biggest page there is

    def read_again(request: dict[str, Any]) -> list[tuple[Any, ...]]:
        given.extend(tool_result_blocks(request))
        return [("text", "Done.")]

    session = scripted([("tool_use", "mcp__gittasks__task_list", {})], read, read_again)
    with StandIn(session) as standin:
        run_claude(a, home, standin, "What is on the list?", "--allowedTools", "mcp__gittasks")
    assert len(given) == 2, given
    pages = []
    for blocks in given:
        # the reply's JSON as the first block, text only (no image, no file the client saved it to); after it only
        # the client's own reminder
        texts = [str(block.get("text", "")) for block in blocks if block.get("type") == "text"]
        assert texts and len(texts) == len(blocks), blocks
        shown = "\n".join(texts)
        assert not [note for note in REPLACED if note in shown.lower()], shown[:2000]
        pages.append(json.loads(texts[0]))
    compact, full = pages
    assert len(compact["tasks"]) == 50 and compact["total"] == 220 and isinstance(compact.get("nextCursor"), str)
    assert len({t["id"] for t in compact["tasks"]}) == 50 and {t["id"] for t in compact["tasks"]} <= set(stored)
    assert all(set(t) <= {"id", "subject", "status", "owner", "parent", "blockedBy"} for t in compact["tasks"])
    # the full page stops short of its limit to stay well within what the client takes, and says where to go on
    assert 0 < len(full["tasks"]) < 200 and full["total"] == 220 and isinstance(full.get("nextCursor"), str)
    assert all(t == stored[t["id"]] for t in full["tasks"])


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
