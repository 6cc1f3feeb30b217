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
    "setup_commands": ("init", "migrate", "doctor", "validate", "schema", "demo", "merge-driver"),
    "sync_commands": ("sync", "status", "conflicts", "resolve"),
    "history_commands": ("log", "archive", "restore", "report", "stats"),
    "claude_commands": ("recover", "install-claude", "hook"),
    "mcp_command": ("mcp",),
    "board_command": ("board",),
    "watch_command": ("watch",),
}  # fmt: skip
GLOBAL_OPTIONS_WITH_VALUE = ("--repo",)


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
                app.add_typer(function, name=command)
            else:
                app.command(command, context_settings=settings.get(command))(function)
    return app
