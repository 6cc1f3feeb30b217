"""Session commands: recover, install-claude, and what Claude Code's hooks run (hook capture, session-start,
session-end)."""

from __future__ import annotations

from typing import Annotated

import typer

from gittasks import recover as recover_module
from gittasks import rules
from gittasks.claude import hook_main, hooks, installer
from gittasks.cli import output
from gittasks.git import find_repo

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]

hook_app = typer.Typer(
    help="What the Claude Code hooks run (JSON payload on stdin).", no_args_is_help=True, rich_markup_mode=None
)


def recover(as_json: JsonOpt = False) -> None:
    """What a new session should know: incomplete tasks, blockers first, with machine and age."""
    ws = output.workspace()
    doc = ws.load()
    output.flush_messages(ws)
    now = rules.utc_now()
    if as_json:
        output.emit_json(recover_module.as_json(doc, now, hooks.stale_after(ws)))
    else:
        output.echo(recover_module.as_text(doc, ws.machine, now, hooks.stale_after(ws)))


def install_claude(
    no_env: Annotated[bool, typer.Option("--no-env", help="Do not set CLAUDE_CODE_ENABLE_TODO_TOOLS=1.")] = False,
    mcp: Annotated[bool, typer.Option("--mcp", help="Also register the gittasks MCP server.")] = False,
    remove: Annotated[bool, typer.Option("--remove", help="Take out what install-claude added.")] = False,
) -> None:
    """Write the gittasks hooks into .claude/settings.json (merging with what is there) and the launcher they call,
    .claude/gittasks-run; record this machine's gittasks in the clone's git config."""
    repo = find_repo(output.repo_option())
    result = installer.remove(repo) if remove else installer.install(repo, env=not no_env, mcp=mcp)
    for line in result.done:
        output.echo(f"- {line}")
    if not result.done:
        output.echo("nothing to do")
    elif result.changed and not remove:
        order = (installer.SETTINGS_PATH, installer.LAUNCHER_PATH, installer.MCP_PATH)
        files = ", ".join(f for f in order if f in result.changed)
        output.echo(f"done; commit {files} so that every clone has them; restart Claude Code sessions")
    else:
        output.echo("done; restart Claude Code sessions to pick it up")


@hook_app.command("capture")
def hook_capture() -> None:
    """PostToolUse hook: record TaskCreate / TaskUpdate / TodoWrite (and a Write of a task file) in gittasks."""
    raise typer.Exit(hook_main.main("capture", output.repo_option()))


@hook_app.command("session-start")
def hook_session_start() -> None:
    """SessionStart hook: a quick sync when a remote is set, then the recovery summary on stdout."""
    raise typer.Exit(hook_main.main("session-start", output.repo_option()))


@hook_app.command("session-end")
def hook_session_end() -> None:
    """SessionEnd hook: commit a pending edit of the task files, then start the background sync (detached)."""
    raise typer.Exit(hook_main.main("session-end", output.repo_option()))


COMMANDS = {"recover": recover, "install-claude": install_claude, "hook": hook_app}
