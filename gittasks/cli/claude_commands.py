"""Session commands: recover, install-claude, and what the hooks run (hook capture, session-start, session-end, ping
for Claude Code; hook prepare-commit-msg for git, installed by `link-commits`)."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from gittasks import activity_spool, commit_links, rules
from gittasks import recover as recover_module
from gittasks.claude import hook_main, hooks, installer
from gittasks.cli import output
from gittasks.git import find_repo

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]

hook_app = typer.Typer(
    help="What the hooks run: Claude Code's (a JSON payload on stdin) and git's prepare-commit-msg.",
    no_args_is_help=True,
    rich_markup_mode=None,
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


@hook_app.command("capture", short_help="Record the assistant's task tools (PostToolUse).")
def hook_capture() -> None:
    """PostToolUse hook: record TaskCreate / TaskUpdate / TodoWrite (and a Write of a task file) in gittasks."""
    raise typer.Exit(hook_main.main("capture", output.repo_option()))


@hook_app.command("session-start", short_help="Sync, then say what a new session should know.")
def hook_session_start() -> None:
    """SessionStart hook: a quick sync when a remote is set, then the recovery summary on stdout."""
    raise typer.Exit(hook_main.main("session-start", output.repo_option()))


@hook_app.command("session-end", short_help="Commit a pending edit, then sync in the background.")
def hook_session_end() -> None:
    """SessionEnd hook: commit a pending edit of the task files, then start the background sync (detached)."""
    raise typer.Exit(hook_main.main("session-end", output.repo_option()))


@hook_app.command("ping", short_help="Mark a turn's start or end in the session's active time.")
def hook_ping() -> None:
    """UserPromptSubmit and Stop hook: append the time and the turn's start or end to the session's active-time file
    (once the session has worked on a task). It prints nothing and always exits 0."""
    activity_spool.hook_ping(sys.stdin, output.repo_option())


@hook_app.command("prepare-commit-msg", short_help="Name the task in progress in a commit (git's hook).")
def hook_prepare_commit_msg(
    args: Annotated[
        list[str] | None,
        typer.Argument(metavar="FILE [SOURCE [COMMIT]]", help="What git passes its prepare-commit-msg hook."),
    ] = None,
) -> None:
    """git's prepare-commit-msg hook, installed by `gittasks link-commits`: add a `Task: ID` trailer naming the task
    in progress on this machine to the commit message in FILE. It never stops a commit."""
    folder = output.repo_option()
    with contextlib.chdir(folder) if folder is not None else contextlib.nullcontext():
        raise typer.Exit(commit_links.run_hook(list(args or [])))


COMMANDS = {"recover": recover, "install-claude": install_claude, "hook": hook_app}
