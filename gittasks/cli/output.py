"""Printing helpers shared by the command modules. Every text they print passes `render.safe` once more on its way
out, so that no escape sequence or control character from a file, a commit or a setting reaches the terminal even
where a view forgot a value (JSON output is data, written as it is)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import orjson

from gittasks import document, render, rules
from gittasks.workspace import Workspace

_state: dict[str, Any] = {"repo": None}


def set_repo(path: Path | None) -> None:
    _state["repo"] = path


def repo_option() -> Path | None:
    """The folder given with the global `--repo` option (None: the current folder)."""
    return _state["repo"]


def workspace() -> Workspace:
    ws = Workspace.open(_state["repo"])
    opened.append(ws)
    return ws


opened: list[Workspace] = []  # what this command opened: `cli.run` starts a background sync for what it committed


def flush_messages(ws: Workspace) -> None:
    for line in ws.messages:
        note(line)
    ws.messages.clear()


def emit_json(value: Any) -> None:
    emit_bytes(document.dump_json(value))


def emit_bytes(data: bytes) -> None:
    """JSON already in its printed form (`document.dump_json`'s) on stdout."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
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
    print(render.safe(text, multiline=True, colours=use_colour()))


def note(text: str) -> None:
    """One line on stderr."""
    print(f"gittasks: {render.safe(text)}", file=sys.stderr)


def use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


# colours on a terminal, for every view (plain ANSI through click, which typer brings):
# a status, and the parts of a line that `list`, `show`, `status` and `log` mark
STYLES: dict[str, dict[str, Any]] = {
    rules.COMPLETED: {"fg": "green"},
    rules.IN_PROGRESS: {"fg": "yellow"},
    rules.BLOCKED: {"fg": "red"},
    rules.CANCELLED: {"dim": True},
    "id": {"fg": "cyan"},
    "commit": {"fg": "yellow"},
    "heading": {"bold": True},
    "conflict": {"fg": "red", "bold": True},
    "dim": {"dim": True},
}
ACTION_STYLES = {"start": rules.IN_PROGRESS, "complete": rules.COMPLETED, "block": rules.BLOCKED,
                 "cancel": rules.CANCELLED, "delete": "conflict"}  # fmt: skip


def log_paint(action: str) -> render.Paint:
    """How `log` colours an entry: its action in the colour of the status it moved to."""
    style = ACTION_STYLES.get(action)
    return lambda text, kind: paint(text, style if kind == "action" else kind)


def paint(text: str, style: str | None) -> str:
    """`text` in the colour of `style` (STYLES) on a terminal; as it is when piped, with NO_COLOR or TERM=dumb."""
    spec = STYLES.get(style) if style is not None else None
    if spec is None or not use_colour():
        return text
    return click.style(text, **spec)


def print_detail(text: str) -> None:
    """`show`'s text, its status and conflicts in colour on a terminal (the fields: the lines before the first blank
    one, which starts the description)."""
    fields = True
    for line in text.splitlines() or [""]:
        fields = fields and bool(line)
        key, _, value = line.partition(":")
        if fields and key == "status" and value:
            spaces = len(value) - len(value.lstrip())
            line = f"{key}:{value[:spaces]}{paint(value[spaces:], value.strip())}"
        elif fields and key == "id" and value:
            line = paint(line, "heading")
        elif line.startswith("conflict on "):
            line = paint(line, "conflict")
        echo(line)


def print_checklist(text: str) -> None:
    """The checklist, its headings and items in the colour of their status on a terminal (`paint`)."""
    echo(render.painted_checklist(render.safe(text, multiline=True), paint))
