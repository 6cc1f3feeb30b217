"""The typer application: the global options and the command functions of the `*_commands.py` modules.

Each command module defines its commands as functions at module level (tests call them in-process), names them in
`COMMANDS` and gives a command's click context settings, if it needs any, in `CONTEXT_SETTINGS`. `build` registers
them on a new app with typer's own `app.command(name)(function)`, as typer's decorator does. typer reads the
signature and type hints of every registered command on each start, so a call registers only the command it runs;
`--help`, a name that is no command (for typer to suggest one) and shell completion register them all.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from gittasks.cli import output
from gittasks.version import version_line

# typer escapes the `[required]`, `[default: ...]` and range notes of every parameter's help for rich markup whenever
# rich is installed, also in an app that prints its help without rich, which then shows the backslashes (typer issue
# 1058). gittasks' help is plain text (rich_markup_mode=None): tell typer's help records that rich is not in play.
typer.core.HAS_RICH = False

# Which module defines which commands (its COMMANDS; `--help` lists them in this order): read before any module is
# imported, so that a call imports only the module of the command it runs.
GROUPS: dict[str, tuple[str, ...]] = {
    "task_commands": ("create", "update", "start", "done", "block", "cancel", "reopen", "delete", "list", "show",
                      "ready", "checklist"),
    "habit_commands": ("note", "edit", "undo"),
    "setup_commands": ("init", "migrate", "doctor", "validate", "schema", "demo", "merge-driver"),
    "sync_commands": ("sync", "status", "conflicts", "resolve"),
    "history_commands": ("log", "archive", "restore", "report", "stats"),
    "next_command": ("next",),
    "link_commands": ("link-commits", "export"),
    "claude_commands": ("recover", "install-claude", "hook"),
    "mcp_command": ("mcp",),
    "board_command": ("board",),
    "watch_command": ("watch",),
}  # fmt: skip
GLOBAL_OPTIONS_WITH_VALUE = ("--repo",)
# `--help`'s one line per command, a whole sentence that fits beside the names in 80 columns, where the first
# sentence of the command's own help would not (click cuts that mid-sentence with "...")
SHORT_HELP: dict[str, str] = {
    "start": "Mark a task in progress.",
    "done": "Mark a task completed.",
    "list": "List the tasks, filtered and sorted.",
    "show": "Show one task in full.",
    "checklist": "The progress checklist.",
    "init": "Set up gittasks in this repository.",
    "migrate": "Move an inline task list onto its own branch.",
    "doctor": "Check the task files, the merge driver and git.",
    "schema": "Print the JSON Schema of the task list.",
    "demo": "A demo: two workstations, one remote, a merge.",
    "sync": "Commit, fetch, merge field by field, push.",
    "conflicts": "The conflicts that merges recorded.",
    "resolve": "Settle a recorded conflict.",
    "log": "The history of the tasks, from git.",
    "archive": "Move ended tasks to the archive.",
    "restore": "Bring an archived task back.",
    "report": "Work done: time spent and billable minutes.",
    "stats": "Cycle times, bottlenecks and throughput.",
    "link-commits": "Link code commits to the tasks in progress.",
    "export": "A task's history as a Markdown summary.",
    "next": "What to take up next, and why.",
    "recover": "What a new session should know.",
    "install-claude": "Set up the Claude Code hooks in this clone.",
    "hook": "What Claude Code's hooks and git's commit hook run.",
    "board": "The board as one self-contained HTML page.",
    "watch": "Sync every few seconds and print what changed.",
}


class Commands(typer.core.TyperGroup):
    """The command group: a word that names no command is refused in one line, naming the command probably meant
    (`suggest`), instead of click's usage block."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            from gittasks.cli.suggest import unknown_command

            raise unknown_command(name, self.list_commands(ctx))
        return super().resolve_command(ctx, args)


def print_version(wanted: bool) -> None:
    if wanted:
        output.echo(version_line())
        raise typer.Exit()


def main(
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo", metavar="DIR", help="Work on the repository containing DIR instead of the current folder."
        ),
    ] = None,
    no_secret_check: Annotated[
        bool, typer.Option("--no-secret-check", help="Do not warn about task text that looks like a credential.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=print_version, help="Print the installed version and exit."),
    ] = False,
) -> None:
    output.set_repo(repo)
    if no_secret_check:
        os.environ["GITTASKS_NO_SECRET_CHECK"] = "1"


def command_name(args: list[str]) -> str | None:
    """The command an argument list asks for (after the global options), None if there is none."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def build(args: list[str]) -> typer.Typer:
    """A new app with the commands `args` need (new each call, so that one process can run several)."""
    app = typer.Typer(
        name="gittasks",
        help="A task list for AI coding assistants, kept in git and merged field by field across machines.",
        add_completion=True,  # --install-completion, --show-completion; completing runs with no command: all of them
        pretty_exceptions_enable=False,
        no_args_is_help=True,
        rich_markup_mode=None,
        cls=Commands,
    )
    app.callback()(main)
    name = command_name(args)
    called = [group for group, names in GROUPS.items() if name in names]
    for group in called or GROUPS:
        module = importlib.import_module(f"gittasks.cli.{group}")
        settings: dict[str, dict[str, Any]] = getattr(module, "CONTEXT_SETTINGS", {})
        for command, function in module.COMMANDS.items():
            if called and command != name:
                continue
            if isinstance(function, typer.Typer):
                app.add_typer(function, name=command, short_help=SHORT_HELP.get(command))
            else:
                short = SHORT_HELP.get(command)
                app.command(command, context_settings=settings.get(command), short_help=short)(function)
    return app
