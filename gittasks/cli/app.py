"""The typer application: the global `--repo` option and the command modules."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated

import typer
import typer.core

from gittasks.cli import output
from gittasks.cli.version import version_line

# typer escapes the `[required]`, `[default: ...]` and range notes of every parameter's help for rich markup whenever
# rich is installed, also in an app that prints its help without rich, which then shows the backslashes (typer issue
# 1058). gittasks' help is plain text (rich_markup_mode=None): tell typer's help records that rich is not in play.
typer.core.HAS_RICH = False

# Which module defines which commands: a call builds only the group it needs (typer builds every registered command
# on each start), and all of them for --help or a name it does not know (so typer can list or suggest).
GROUPS: dict[str, tuple[str, ...]] = {
    "task_commands": ("create", "update", "start", "done", "block", "cancel", "reopen", "delete", "list", "show",
                      "ready", "checklist"),
    "setup_commands": ("init", "migrate", "doctor", "validate", "demo", "merge-driver"),
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


def register(args: list[str]) -> typer.Typer:
    """A new app with the commands `args` needs registered (new each call, so one process can run several)."""
    app = typer.Typer(
        name="gittasks",
        help="A task list for AI coding assistants, kept in git and merged field by field across machines.",
        add_completion=True,  # --install-completion, --show-completion: completing builds every group (no command)
        pretty_exceptions_enable=False,
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.callback()(main)
    name = command_name(args)
    wanted = [group for group, names in GROUPS.items() if name in names] or list(GROUPS)
    for group in wanted:
        importlib.import_module(f"gittasks.cli.{group}").register(app)
    only_called(app, name)
    return app


def only_called(app: typer.Typer, name: str | None) -> None:
    """Keep only the command `name` of the registered ones, when it is one of them: typer reads the signature and
    type hints of every registered command on each start (about 1.5 ms each), and a call runs one. A name that is
    no command (`--help`, a typo) keeps them all, for typer to list or suggest."""
    commands = [info for info in app.registered_commands if command_label(info) == name]
    groups = [info for info in app.registered_groups if info.name == name]
    if commands or groups:
        app.registered_commands, app.registered_groups = commands, groups


def command_label(info: typer.models.CommandInfo) -> str:
    """The name typer gives a registered command: its own, else its function's with dashes."""
    if info.name:
        return info.name
    callback = info.callback
    return getattr(callback, "__name__", "").replace("_", "-").lower()
