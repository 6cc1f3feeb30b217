"""Printing helpers shared by the command modules. Every text they print passes `render.safe` once more on its way
out, so that no escape sequence or control character from a file, a commit or a setting reaches the terminal even
where a view forgot a value (JSON output is data, written as it is)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from gittasks import document, render
from gittasks.workspace import Workspace

_state: dict[str, Any] = {"repo": None}


def set_repo(path: Path | None) -> None:
    _state["repo"] = path


def repo_option() -> Path | None:
    """The folder given with the global `--repo` option (None: the current folder)."""
    return _state["repo"]


def workspace() -> Workspace:
    return Workspace.open(_state["repo"])


def flush_messages(ws: Workspace) -> None:
    for line in ws.messages:
        note(line)
    ws.messages.clear()


def emit_json(value: Any) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(document.dump_json(value))
    sys.stdout.flush()


def emit_json_stream(items: Iterable[Any]) -> None:
    """A JSON list written item by item, so a long listing starts at once and never sits in memory whole."""
    out = sys.stdout.buffer
    sys.stdout.flush()
    out.write(b"[")
    for n, item in enumerate(items):
        out.write((b",\n" if n else b"\n") + orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
    out.write(b"\n]\n")
    sys.stdout.flush()


def echo(text: str = "") -> None:
    print(render.safe(text, multiline=True))


def note(text: str) -> None:
    """One line on stderr."""
    print(f"gittasks: {render.safe(text)}", file=sys.stderr)


def use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def print_checklist(text: str) -> None:
    if not use_colour():
        echo(text)
        return
    from rich.console import Console
    from rich.text import Text

    marks = {"[✓]": "green", "[→]": "yellow", "[!]": "red", "[✗]": "dim"}
    console = Console(highlight=False)
    for line in render.safe(text, multiline=True).splitlines():
        if line.startswith(("## ", "### ", "Overall Status")):
            style = "bold"
        else:
            style = next((s for key, s in marks.items() if line.lstrip().startswith(f"- {key}")), "")
        console.print(Text(line, style=style))
