"""The board command: the tasks, their dependencies, who did what and the conflicts as one HTML page."""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from gittasks import board_server
from gittasks.cli import output
from gittasks.errors import GittasksError

DEFAULT_NAME = "gittasks-board.html"  # in the repository's .git folder: never in the work tree, never committed


def board(
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help=f"Write the page here (default: .git/{DEFAULT_NAME})."),
    ] = None,
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve the page on 127.0.0.1; it reloads when a task or code branch moves.")
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The port for --serve (0: any free port).")
    ] = 8421,
) -> None:
    """Write the board as one self-contained HTML page: status columns, a panel per task, the dependency graph,
    the timelines and the open conflicts.

    The page opens a task at the address #task=ID; j/k move between cards, Enter opens one, Esc closes it.
    """
    if serve and out is not None:
        raise GittasksError("--out writes a file and --serve serves the page; give one of them")
    ws = output.workspace()
    ws.load()  # bring in what moved first: a fresh clone's first command takes the remote's task branch
    if serve:

        def announce(url: str) -> None:
            output.echo(f"serving the board at {url} (read-only; Ctrl-C stops)")
            sys.stdout.flush()  # the address is read by whoever started the server
            if open_page:
                webbrowser.open(url)

        board_server.serve(ws, port, announce)
        return
    path = board_server.write(ws, out if out is not None else ws.repo.common_dir / DEFAULT_NAME)
    output.flush_messages(ws)
    output.echo(f"wrote {path}")
    if open_page:
        webbrowser.open(path.as_uri())


COMMANDS = {"board": board}
