"""`gittasks watch`: sync round after round and print, one line each, what other machines changed."""

from __future__ import annotations

import gc
import sys
from typing import Annotated

import orjson
import typer

from gittasks import render
from gittasks import sync as sync_module
from gittasks import watch as watch_module
from gittasks.cli import output
from gittasks.errors import GittasksError
from gittasks.streams import stdout_closed
from gittasks.workspace import Workspace

# printed on stderr in text mode: stdout carries only other machines' changes (a Claude Code monitor hands every
# stdout line to the model)
_ASIDE = ("offline", "online", "message")


def watch(
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            metavar="SECONDS",
            min=0.1,
            help="Seconds between syncs (longer when idle for a while or offline).",
        ),
    ] = watch_module.INTERVAL,
    remote: Annotated[
        str | None, typer.Option("--remote", help="The remote to sync with (default: as `sync` picks it).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object a line on stdout.")] = False,
    once: Annotated[bool, typer.Option("--once", help="Run one round (sync, print what came in) and exit.")] = False,
    prefix: Annotated[str, typer.Option("--prefix", metavar="TEXT", help="Begin each printed change with TEXT.")] = "",
) -> None:
    """Sync every --interval seconds and print each change another machine made (who, what, which task)."""
    where = output.repo_option()
    ws = Workspace.open(where)
    if not ws.inline and ws.task_branch_tip() is None and ws.remote_task_branch() is None:
        # (a plugin's monitor starts in every project: one that keeps no task list is not fetched from forever)
        raise GittasksError(
            "no task list in this repository (no task branch, none fetched); `gittasks init` starts one, "
            "`gittasks sync` takes one another clone pushed"
        )
    sync_module.pick_remote(ws, remote)  # no remote to watch: one line and exit 1 before anything runs
    gc.enable()  # (the command line turns the cycle collector off for its short runs; a watch runs for hours)
    watcher = watch_module.Watch(lambda: Workspace.open(where), interval, remote)
    try:
        with watch_module.ending_cleanly():
            for event in watcher.rounds(once=once):
                _print(event, as_json, prefix)
    except watch_module.Stopped:
        return
    except BrokenPipeError:  # the reader went away (a session that ended): nothing more to say
        stdout_closed()


def _print(event: watch_module.Event, as_json: bool, prefix: str) -> None:
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(event.as_json()) + b"\n")
        sys.stdout.flush()
    elif isinstance(event, watch_module.Notice) and event.kind in _ASIDE:
        output.note(event.line())
        sys.stderr.flush()
    else:
        print(render.safe(prefix + event.line()), flush=True)


COMMANDS = {"watch": watch}
