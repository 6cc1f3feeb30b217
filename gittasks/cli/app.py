"""The typer application: the global `--repo` option and the command modules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gittasks.cli import (
    claude_commands,
    history_commands,
    mcp_command,
    output,
    setup_commands,
    sync_commands,
    task_commands,
)

app = typer.Typer(
    name="gittasks",
    help="A task list for AI coding assistants, kept in git and merged field by field across machines.",
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
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
) -> None:
    output.set_repo(repo)
    if no_secret_check:
        os.environ["GITTASKS_NO_SECRET_CHECK"] = "1"


task_commands.register(app)
setup_commands.register(app)
sync_commands.register(app)
history_commands.register(app)
history_commands.register_report(app)
claude_commands.register(app)
mcp_command.register(app)
