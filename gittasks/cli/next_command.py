"""`gittasks next`: what to take up next, in order, each with its reason (`next_work`)."""

from __future__ import annotations

from typing import Annotated

import typer

from gittasks import next_read, next_work
from gittasks.cli import output


def next_cmd(
    limit: Annotated[
        int, typer.Option("--limit", min=1, help=f"At most N tasks (default {next_work.LIMIT}).")
    ] = next_work.LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """What to take up next: stale work in progress here to resume, then the ready tasks, the work that most others
    wait on first (the longest chain of open work it heads, in time at each type's median cycle time when completed
    tasks give one; then how many tasks wait on it); each with its reason. Tasks in progress on other machines are
    left out and counted."""
    ws = output.workspace()
    data = next_work.limited(next_read.advice(ws), limit)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(data)
        return
    for line in next_work.as_lines(data):
        output.echo(line)


COMMANDS = {"next": next_cmd}
