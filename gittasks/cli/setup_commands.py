"""Set-up commands: init, migrate, doctor, validate, schema, demo, merge-driver."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gittasks import demo as demo_module
from gittasks import init as init_module
from gittasks import migrate as migrate_module
from gittasks.cli import output
from gittasks.driver import main as driver_main


def init(
    remote: Annotated[str | None, typer.Option("--remote", help="URL of the git remote to sync with.")] = None,
    path: Annotated[
        Path | None, typer.Argument(help="Folder (default: here); made a git repository if need be.")
    ] = None,
    inline: Annotated[
        bool, typer.Option("--inline", help="Commit the task files on the current branch (0.1's layout).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Repoint an existing origin to --remote.")] = False,
) -> None:
    """Set up gittasks here: the task branch (or the remote's), the task files, the merge driver. Idempotent."""
    target = path or output.repo_option()
    ws, done = init_module.init(target, remote, inline=inline, force=force)
    output.opened.append(ws)  # (what init committed goes to the remote with the background sync)
    output.flush_messages(ws)
    for line in done:
        output.echo(f"- {line}")
    output.echo(f"gittasks is set up in {ws.repo.root}" if done else "gittasks was already set up; nothing to do")


def migrate(
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking.")] = False,
) -> None:
    """Move an inline task list onto a branch of its own (one commit there, one on the current branch)."""
    ws = output.workspace()
    plan = migrate_module.plan(ws)
    output.flush_messages(ws)
    for line in plan:
        output.echo(line)
    if not yes:
        if not sys.stdin.isatty():
            output.note("nothing was changed; run `gittasks migrate --yes` to do it")
            raise typer.Exit(1)
        if not typer.confirm("Go ahead?", default=False):
            output.note("nothing was changed")
            raise typer.Exit(1)
    for line in migrate_module.migrate(ws):
        output.echo(f"- {line}")
    output.flush_messages(ws)


def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Repair what can be repaired losslessly.")] = False,
) -> None:
    """Check the task files, the merge driver, locks, clocks and the git state."""
    from gittasks import doctor as doctor_module

    ws = output.workspace()
    findings = doctor_module.run(ws, fix=fix)
    for line in findings.lines:
        output.echo(line)
    if findings.failed:
        raise typer.Exit(1)


def validate(
    files: Annotated[list[Path] | None, typer.Argument(help="Task files (default: this repository's).")] = None,
) -> None:
    """Validate task files; one line per problem, exit 1 if any."""
    from gittasks import doctor as doctor_module

    found = doctor_module.validate_files(files or [], output.repo_option())
    for line in found:
        output.echo(line)
    if found:
        raise typer.Exit(1)


def demo(keep: Annotated[bool, typer.Option("--keep", help="Keep the temporary folder.")] = False) -> None:
    """Two workstations and a bare remote on local repos: concurrent edits, sync, the merged result."""
    demo_module.run(keep=keep, echo=output.echo)


def merge_driver(
    args: Annotated[
        list[str], typer.Argument(help="The files git passes its merge driver: %O %A %B %P (base, ours, theirs, path).")
    ],
) -> None:
    """What git runs to merge task files (registered by `init`)."""
    raise typer.Exit(driver_main(args))


def schema_command() -> None:
    """Print the JSON Schema of .claude/active-tasks.json, for an editor to check the file as you type."""
    from gittasks import schema  # pydantic: only this command, doctor and validate load it

    output.emit_json(schema.json_schema())


COMMANDS = {"init": init, "migrate": migrate, "doctor": doctor, "validate": validate, "schema": schema_command,
            "demo": demo, "merge-driver": merge_driver}  # fmt: skip
CONTEXT_SETTINGS = {"merge-driver": {"ignore_unknown_options": True}}  # git's paths may start with a dash
