"""`gittasks install-claude` and doctor's Claude Code checks: the files users commit (.claude/settings.json,
.claude/gittasks-run, .mcp.json) are the same on every workstation and start gittasks wherever it is installed; the
hook commands are run as Claude Code runs them (`/bin/sh -c COMMAND`, CLAUDE_PROJECT_DIR set, a PATH without the
venv, the payload on stdin)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, MakeRepo, git, init_repo

from gittasks.claude import hook_main, installer

DATA = Path(__file__).resolve().parent / "data" / "claude-code"
SETTINGS = ".claude/settings.json"
LAUNCHER = ".claude/gittasks-run"
BARE_PATH = "/usr/bin:/bin"  # Claude Code's PATH as a hook may see it: no venv on it
COMMITTED = (SETTINGS, LAUNCHER, ".mcp.json")


def settings_of(cli: Cli) -> dict[str, Any]:
    return json.loads((cli.root / SETTINGS).read_text(encoding="utf-8"))


def hook_commands(settings: dict[str, Any]) -> dict[tuple[str, str | None], list[str]]:
    """(event, matcher) -> the gittasks commands in that group."""
    found: dict[tuple[str, str | None], list[str]] = {}
    for event, groups in settings.get("hooks", {}).items():
        for group in groups:
            ours = [h["command"] for h in group["hooks"] if "gittasks" in h["command"]]
            if ours:
                found.setdefault((event, group.get("matcher")), []).extend(ours)
    return found


def claude_env(root: Path, path: str = BARE_PATH, **extra: str) -> dict[str, str]:
    """The environment Claude Code gives a hook: its own PATH, CLAUDE_PROJECT_DIR; no GITTASKS unless given."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITTASKS", "CLAUDE_PROJECT_DIR")}
    return {**env, "PATH": path, "CLAUDE_PROJECT_DIR": str(root), **extra}


def run_hook(root: Path, command: str, payload: Any, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A hook command as Claude Code runs it: through /bin/sh, the payload JSON on stdin."""
    return subprocess.run(["/bin/sh", "-c", command], cwd=root, input=json.dumps(payload), text=True,
                          capture_output=True, env=env, timeout=60)  # fmt: skip


def taskcreate_payload(root: Path, session: str = "s-1") -> dict[str, Any]:
    """A TaskCreate payload the real client sent, moved into `root`."""
    payload = json.loads((DATA / "posttooluse-taskcreate.json").read_text(encoding="utf-8"))
    return {**payload, "cwd": str(root), "session_id": session}


def capture_command(settings: dict[str, Any]) -> str:
    [command] = hook_commands(settings)[("PostToolUse", "TaskCreate|TaskUpdate|TodoWrite")]
    return command


def expand_like_claude(value: str, env: dict[str, str]) -> str:
    """Claude Code's expansion of ${VAR} and ${VAR:-default} in a project .mcp.json's command and args."""

    def one(match: re.Match[str]) -> str:
        name, _, default = match.group(1).partition(":-")
        return env.get(name, default if ":-" in match.group(1) else match.group(0))

    return re.sub(r"\$\{([^}]+)\}", one, value)


def other_install(folder: Path) -> Path:
    """A `gittasks` reachable only through `folder` (another machine's install, as far as the launcher can tell)."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "gittasks"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gittasks "$@"\n', encoding="utf-8")
    program.chmod(0o755)
    return program


def work_tree_backups(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.bak") if ".git" not in p.relative_to(root).parts]


@pytest.fixture
def cli(make_repo: MakeRepo) -> Cli:
    return init_repo(make_repo(), inline=False)


def test_a_second_workstation_runs_the_committed_hooks_and_changes_nothing_committed(
    tmp_path: Path, make_repo: MakeRepo, bare_remote: Path
) -> None:
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    out = a.ok("install-claude", "--mcp")
    assert "done; commit .claude/settings.json, .claude/gittasks-run, .mcp.json so that every clone" in out, out
    committed = {rel: (a.root / rel).read_bytes() for rel in COMMITTED}
    for raw in committed.values():  # nothing of this machine in what is committed
        assert str(a.root).encode() not in raw and sys.executable.encode() not in raw
        assert str(Path(sys.executable).parent).encode() not in raw
    git(a.root, "add", *COMMITTED)
    git(a.root, "commit", "-q", "-m", "Claude Code settings")
    git(a.root, "push", "-q", "origin", "main")
    assert "nothing to do" in a.ok("install-claude", "--mcp")  # idempotent

    git(tmp_path, "clone", "-q", str(bare_remote), "b")
    b = Cli(tmp_path / "b", "PC-B")
    b.ok("init")
    assert {rel: (b.root / rel).read_bytes() for rel in COMMITTED} == committed
    elsewhere = other_install(tmp_path / "elsewhere" / "bin")
    env = claude_env(b.root, f"{elsewhere.parent}:{BARE_PATH}", GITTASKS_MACHINE="PC-B")
    proc = run_hook(b.root, capture_command(settings_of(b)), taskcreate_payload(b.root), env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert [t["subject"] for t in b.json("list")] == ["Implement authentication"]

    out = b.ok("install-claude", "--mcp")
    assert git(b.root, "status", "--porcelain") == ""  # the committed files are byte for byte the same
    assert {rel: (b.root / rel).read_bytes() for rel in COMMITTED} == committed
    assert git(b.root, "config", "--local", "gittasks.program") == installer.program()  # B's own record
    assert "gittasks.program" in out and "commit" not in out
    assert "nothing to do" in b.ok("install-claude", "--mcp")
    assert work_tree_backups(a.root) == [] and work_tree_backups(b.root) == []


def test_the_recorded_program_and_gittasks_named_by_an_environment_variable_are_found(cli: Cli, tmp_path: Path) -> None:
    cli.ok("install-claude")
    command = capture_command(settings_of(cli))
    assert command == 'sh "$CLAUDE_PROJECT_DIR/.claude/gittasks-run" hook capture'
    # Claude Code started where the venv is not on the PATH: the clone's git config names this installation
    proc = run_hook(cli.root, command, taskcreate_payload(cli.root, "s-a"), claude_env(cli.root))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    git(cli.root, "config", "--local", "--unset", "gittasks.program")
    # GITTASKS may be a command line too (split at blanks)
    env = claude_env(cli.root, GITTASKS=f"{sys.executable} -m gittasks")
    payload = {**taskcreate_payload(cli.root, "s-b"), "tool_response": {"task": {"id": "1", "subject": "Second"}}}
    proc = run_hook(cli.root, command, payload, env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert sorted(t["subject"] for t in cli.json("list")) == ["Implement authentication", "Second"]


def test_without_gittasks_a_hook_says_so_in_one_line_and_the_mcp_server_exits_1(cli: Cli) -> None:
    cli.ok("install-claude", "--mcp")
    git(cli.root, "config", "--local", "--unset", "gittasks.program")
    env = claude_env(cli.root)
    for event_matcher, commands in hook_commands(settings_of(cli)).items():
        proc = run_hook(cli.root, commands[0], taskcreate_payload(cli.root), env)
        assert proc.returncode == 0, event_matcher
        assert len(proc.stderr.splitlines()) == 1 and "gittasks is not installed" in proc.stderr, proc.stderr
        assert "GITTASKS" in proc.stderr and proc.stdout == ""
    server = json.loads((cli.root / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]["gittasks"]
    no_project = {k: v for k, v in env.items() if k != "CLAUDE_PROJECT_DIR"}  # Claude Code's own environment
    argv = [expand_like_claude(w, no_project) for w in [server["command"], *server["args"]]]
    assert argv == ["sh", "./.claude/gittasks-run", "mcp"]  # started in the project's top folder
    proc = subprocess.run(argv, cwd=cli.root, capture_output=True, text=True, env=no_project, timeout=60)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1 and "gittasks is not installed" in proc.stderr


def test_the_mcp_server_starts_through_the_launcher(cli: Cli) -> None:
    cli.ok("install-claude", "--mcp")
    server = json.loads((cli.root / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]["gittasks"]
    env = claude_env(cli.root)
    argv = [expand_like_claude(w, env) for w in [server["command"], *server["args"]]]
    assert argv == ["sh", f"{cli.root}/.claude/gittasks-run", "mcp"]
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "test", "version": "0"}}}  # fmt: skip
    proc = subprocess.run(argv, cwd=cli.root, input=json.dumps(initialize) + "\n", capture_output=True, text=True,
                          env=env, timeout=60)  # fmt: skip
    answer = json.loads(proc.stdout.splitlines()[0])
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "gittasks", proc.stderr


def test_the_session_end_hook_is_installed_for_every_reason(cli: Cli) -> None:
    cli.ok("install-claude")
    commands = hook_commands(settings_of(cli))
    assert commands[("SessionEnd", None)] == ['sh "$CLAUDE_PROJECT_DIR/.claude/gittasks-run" hook session-end']
    assert set(commands) == {("PostToolUse", "TaskCreate|TaskUpdate|TodoWrite"),
                             ("PostToolUse", "Write|Edit|MultiEdit"),
                             ("SessionStart", "startup|resume|clear|compact"), ("SessionEnd", None),
                             ("UserPromptSubmit", None), ("Stop", None)}  # fmt: skip
    [group] = settings_of(cli)["hooks"]["SessionEnd"]
    assert "matcher" not in group  # no matcher: every reason the session ends for
    if "session-end" not in hook_main.HOOKS:
        pytest.skip("`gittasks hook session-end` is not there yet")
    payload = {"session_id": "s-1", "cwd": str(cli.root), "hook_event_name": "SessionEnd", "reason": "other"}
    proc = run_hook(cli.root, commands[("SessionEnd", None)][0], payload, claude_env(cli.root))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def turn_payload(root: Path, event: str, session: str) -> dict[str, Any]:
    """A UserPromptSubmit or Stop payload as the real client sends it (its text fields shortened)."""
    extra = {"prompt": "Plan it"} if event == "UserPromptSubmit" else {"stop_hook_active": False,
                                                                       "last_assistant_message": "Done."}  # fmt: skip
    return {"session_id": session, "transcript_path": f"/home/user/.claude/projects/-repo/{session}.jsonl",
            "cwd": str(root), "permission_mode": "default", "hook_event_name": event, **extra}  # fmt: skip


def test_the_turn_hooks_mark_a_turn_and_print_nothing_and_remove_takes_out_exactly_them(cli: Cli) -> None:
    users = {
        "hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
            "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "echo remember the tests"}]}],
        }
    }
    settings = cli.root / SETTINGS
    settings.write_text(json.dumps(users), encoding="utf-8")
    out = cli.ok("install-claude")
    assert "added the UserPromptSubmit hook" in out and "added the Stop hook" in out
    data = settings_of(cli)
    for event in ("UserPromptSubmit", "Stop"):
        assert data["hooks"][event][0] == users["hooks"][event][0]  # the user's own first, untouched
        assert data["hooks"][event][1:] == [{"hooks": [{"type": "command", "command": installer.command("hook ping")}]}]
    installed = settings.read_bytes()
    assert "nothing to do" in cli.ok("install-claude") and settings.read_bytes() == installed  # a second install
    # run as Claude Code runs them, for a session that has a task in progress (its capture made the session's file)
    env = claude_env(cli.root)
    capture = taskcreate_payload(cli.root, "s-9")
    assert run_hook(cli.root, capture_command(data), capture, env).returncode == 0
    [task] = cli.json("list")
    native = capture["tool_response"]["task"]["id"]
    started = {**capture, "tool_name": "TaskUpdate", "tool_input": {"taskId": native, "status": "in_progress"},
               "tool_response": {"success": True, "taskId": native, "updatedFields": ["status"]}}  # fmt: skip
    assert run_hook(cli.root, capture_command(data), started, env).returncode == 0
    spool = cli.root / ".git" / "gittasks-activity" / "s-9.jsonl"
    for event, word in (("UserPromptSubmit", "turn-start"), ("Stop", "turn-end")):
        [command] = hook_commands(data)[(event, None)]
        proc = run_hook(cli.root, command, turn_payload(cli.root, event, "s-9"), env)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", ""), proc.stderr  # stdout would reach the model
        assert spool.read_text().splitlines()[-1].endswith(f" {word}")
    assert cli.task(task["id"])["status"] == "in_progress"
    cli.ok("install-claude", "--remove")
    assert json.loads(settings.read_text(encoding="utf-8")) == users


def test_no_backup_in_the_work_tree_and_remove_puts_the_users_file_back_exactly(cli: Cli) -> None:
    settings = cli.root / SETTINGS
    original = b'{"model":"opus",\n   "env": {"FOO": "bar"}}\n'  # the user's own layout
    settings.write_bytes(original)
    out = cli.ok("install-claude", "--mcp")
    backup = cli.root / ".git" / "gittasks-backups" / "settings.json"
    assert backup.read_bytes() == original and ".git/gittasks-backups/settings.json" in out
    assert work_tree_backups(cli.root) == []
    data = settings_of(cli)
    assert data["model"] == "opus" and data["env"] == {"FOO": "bar", "CLAUDE_CODE_ENABLE_TODO_TOOLS": "1"}
    assert "mcp__gittasks" in data["permissions"]["allow"] and data["enabledMcpjsonServers"] == ["gittasks"]
    cli.ok("install-claude", "--remove")
    assert settings.read_bytes() == original
    assert not (cli.root / ".mcp.json").exists() and not (cli.root / LAUNCHER).exists()
    left = git(cli.root, "config", "--local", "--get-regexp", "^gittasks\\.(program|claudeenvadded)$", check=False)
    assert left == ""
    assert not backup.exists()

    # a change made after the install stays; the first backup is the user's own file, kept once
    cli.ok("install-claude", "--mcp")
    settings.write_text(json.dumps({**settings_of(cli), "model": "sonnet"}), encoding="utf-8")
    cli.ok("install-claude", "--mcp", "--no-env")
    assert backup.read_bytes() == original
    cli.ok("install-claude", "--remove")
    assert json.loads(settings.read_text(encoding="utf-8")) == {"model": "sonnet", "env": {"FOO": "bar"}}


def test_install_creates_and_remove_deletes_a_settings_file_that_was_not_there(cli: Cli) -> None:
    cli.ok("install-claude")
    assert (cli.root / SETTINGS).exists() and (cli.root / LAUNCHER).stat().st_mode & 0o111
    assert (cli.root / LAUNCHER).read_bytes() == installer.LAUNCHER
    cli.ok("install-claude", "--remove")
    assert not (cli.root / SETTINGS).exists() and not (cli.root / LAUNCHER).exists()
    assert "nothing to do" in cli.ok("install-claude", "--remove")


def test_an_older_install_is_upgraded_and_removed_exactly(cli: Cli) -> None:
    python = Path(sys.executable).as_posix()
    users_hook = {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo hi"}]}
    old = {
        "env": {"CLAUDE_CODE_ENABLE_TODO_TOOLS": "1"},
        "hooks": {
            "PostToolUse": [
                users_hook,
                {"matcher": "TaskCreate|TaskUpdate|TodoWrite",
                 "hooks": [{"type": "command", "command": f"{python} -m gittasks hook capture"}]},
                {"matcher": "Write|Edit|MultiEdit", "hooks": [{"type": "command", "command": "gittasks hook capture"}]},
            ],
            "SessionStart": [{"matcher": "startup|resume|clear", "hooks": [
                {"type": "command", "command": "/gone/venv/bin/python3 -m gittasks hook session-start"}]}],
        },
    }  # fmt: skip
    settings = cli.root / SETTINGS
    settings.write_text(json.dumps(old), encoding="utf-8")
    old_server = {"command": python, "args": ["-m", "gittasks", "mcp"]}
    (cli.root / ".mcp.json").write_text(json.dumps({"mcpServers": {"gittasks": old_server}}), encoding="utf-8")
    old_backup = cli.root / ".claude" / "settings.json.bak"  # what the older version left in the work tree
    old_backup.write_text('{"model": "opus"}', encoding="utf-8")
    proc = cli.run("doctor")
    doctor = proc.stdout
    assert proc.returncode == 1, doctor
    assert "runs only where gittasks is on Claude Code's PATH" in doctor
    assert "names a path of this machine" in doctor and "names a program that is gone" in doctor
    assert "the gittasks MCP server in .mcp.json" in doctor
    assert "note     the hooks that mark each turn (UserPromptSubmit, Stop) are not installed" in doctor

    out = cli.ok("install-claude")  # without --mcp: the server already there is brought up to date, no more
    assert "moved the old backup .claude/settings.json.bak" in out and work_tree_backups(cli.root) == []
    assert (cli.root / ".git" / "gittasks-backups" / "settings.json").read_text() == '{"model": "opus"}'
    data = settings_of(cli)
    assert hook_commands(data) == {
        ("PostToolUse", "TaskCreate|TaskUpdate|TodoWrite"): [installer.command("hook capture")],
        ("PostToolUse", "Write|Edit|MultiEdit"): [installer.command("hook capture")],
        ("SessionStart", "startup|resume|clear|compact"): [installer.command("hook session-start")],
        ("SessionEnd", None): [installer.command("hook session-end")],
        ("UserPromptSubmit", None): [installer.command("hook ping")],
        ("Stop", None): [installer.command("hook ping")],
    }
    assert data["hooks"]["PostToolUse"][0] == users_hook and "enabledMcpjsonServers" not in data
    assert json.loads((cli.root / ".mcp.json").read_text())["mcpServers"]["gittasks"] == installer.MCP_ENTRY
    doctor = cli.ok("doctor")
    assert "PROBLEM" not in doctor and "mark each turn" not in doctor

    cli.ok("install-claude", "--remove")  # the user's env was theirs: it stays
    assert settings_of(cli) == {"env": {"CLAUDE_CODE_ENABLE_TODO_TOOLS": "1"}, "hooks": {"PostToolUse": [users_hook]}}
    assert not (cli.root / ".mcp.json").exists() and not (cli.root / LAUNCHER).exists()


def test_remove_takes_out_old_and_new_forms_and_nothing_else(cli: Cli) -> None:
    users = {"type": "command", "command": "echo gittasks is great"}
    mixed = {"hooks": {"PostToolUse": [{"matcher": "TaskCreate|TaskUpdate|TodoWrite", "hooks": [
        users, {"type": "command", "command": installer.command("hook capture")},
        {"type": "command", "command": "/old/bin/python -m gittasks hook capture"},
        {"type": "command", "command": "/old/bin/gittasks hook capture"}]}]}}  # fmt: skip
    (cli.root / ".claude" / "settings.json").write_text(json.dumps(mixed), encoding="utf-8")
    cli.ok("install-claude", "--remove")
    assert settings_of(cli) == {"hooks": {"PostToolUse": [{"matcher": "TaskCreate|TaskUpdate|TodoWrite",
                                                           "hooks": [users]}]}}  # fmt: skip


def test_doctor_checks_the_launcher_and_the_recorded_program(cli: Cli) -> None:
    cli.ok("install-claude", "--mcp")
    out = cli.ok("doctor")
    assert "ok       Claude Code starts gittasks through .claude/gittasks-run (7 command(s))" in out
    assert "(the same version as this one)" in out
    launcher = cli.root / LAUNCHER

    launcher.unlink()
    out = cli.run("doctor").stdout
    assert "PROBLEM  .claude/gittasks-run is missing" in out and "install-claude` writes it" in out
    assert "fixed    install-claude: wrote .claude/gittasks-run" in cli.ok("doctor", "--fix")
    assert launcher.read_bytes() == installer.LAUNCHER

    launcher.write_bytes(installer.LAUNCHER.replace(b"exit 1", b"exit 3"))
    assert "PROBLEM  .claude/gittasks-run differs from the launcher" in cli.run("doctor").stdout
    cli.ok("doctor", "--fix")

    # the recorded program is gone and none is on the PATH: the launcher finds nothing
    git(cli.root, "config", "--local", "gittasks.program", "/gone/bin/gittasks")
    out = cli.run("doctor", env={"PATH": BARE_PATH}).stdout
    assert "git config gittasks.program names `/gone/bin/gittasks`, which is gone" in out
    assert "finds no working gittasks here (gittasks is not installed" in out
    fixed = cli.ok("doctor", "--fix", env={"PATH": BARE_PATH})
    assert "fixed    install-claude: this clone's launcher runs" in fixed and "PROBLEM" not in fixed
    assert git(cli.root, "config", "--local", "gittasks.program") == installer.program()
    for line in fixed.splitlines():  # one line each
        assert line[:9] in ("ok       ", "PROBLEM  ", "fixed    ", "note     "), line


def test_doctor_notes_a_launcher_not_committed_with_the_settings(cli: Cli) -> None:
    cli.ok("install-claude")
    git(cli.root, "add", SETTINGS)
    git(cli.root, "commit", "-q", "-m", "settings only")
    assert "note     .claude/gittasks-run is not committed yet" in cli.ok("doctor")


def test_a_crlf_checkout_without_the_executable_bit_still_runs(cli: Cli) -> None:
    cli.ok("install-claude")
    launcher = cli.root / LAUNCHER
    launcher.write_bytes(installer.LAUNCHER.replace(b"\n", b"\r\n"))  # core.autocrlf=true on Windows
    launcher.chmod(0o644)
    assert "nothing to do" in cli.ok("install-claude")  # the same launcher: left as it is
    proc = run_hook(cli.root, capture_command(settings_of(cli)), taskcreate_payload(cli.root), claude_env(cli.root))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert [t["subject"] for t in cli.json("list")] == ["Implement authentication"]
    assert "PROBLEM" not in cli.ok("doctor")


def test_the_plugin_launcher_searches_as_the_installed_one() -> None:
    plugin = (Path(__file__).resolve().parent.parent / "plugin" / "bin" / "gittasks-run").read_text(encoding="utf-8")
    assert plugin.endswith(installer.LAUNCHER_SEARCH) and "root=${CLAUDE_PROJECT_DIR:-.} #\n" in plugin


def test_bad_settings_are_refused_and_left_alone(cli: Cli) -> None:
    cli.ok("install-claude", "--no-env")
    assert "env" not in settings_of(cli)
    (cli.root / SETTINGS).write_text("{ broken", encoding="utf-8")
    assert "not valid JSON" in cli.fail("install-claude")
    assert (cli.root / SETTINGS).read_text(encoding="utf-8") == "{ broken"
    assert "PROBLEM" in cli.run("doctor").stdout
