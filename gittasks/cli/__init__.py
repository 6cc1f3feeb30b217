"""The command line: parsing and printing only; the work is done by the library (`gittasks.workspace` & co).

`run` is the one dispatcher: the typer application of `cli/app.py` parses the arguments and calls a command
function of a `*_commands.py` module; what a command raises becomes one line and an exit code (`errors.explain`).
"""

from __future__ import annotations

import sys

from gittasks import errors
from gittasks.render import safe
from gittasks.streams import utf8_streams


def error_line(text: str) -> None:
    """A refusal or failure: one line on stderr, made safe (a message may quote a file or a commit)."""
    print(f"gittasks: {safe(text)}", file=sys.stderr)


def run(args: list[str]) -> int:
    try:
        return _run(args)
    finally:
        _start_autosync()


def _start_autosync() -> None:
    """A background sync for what the command committed (`autosync.after`), whether it ended well or not."""
    output = sys.modules.get("gittasks.cli.output")  # (loaded by every command that opens a repository)
    opened = getattr(output, "opened", None) or []
    if any(ws.to_push for ws in opened):
        from gittasks import autosync

        for ws in opened:
            autosync.after(ws)
    opened.clear()


def _run(args: list[str]) -> int:
    utf8_streams()
    try:
        from gittasks.cli.app import build

        # standalone: click prints usage errors and help itself and ends with SystemExit; a reader gone (`| head`)
        # is exit 1, Ctrl-C inside a command exit 130
        build(args)(args=args, prog_name="gittasks")
    except SystemExit as exc:
        code = exc.code
        if code == 130:  # Ctrl-C inside a command: click ends it quietly; say what was left, as for any other stop
            error_line(errors.explain(KeyboardInterrupt())[0])
        return code if isinstance(code, int) else (0 if code is None else 1)
    except (Exception, KeyboardInterrupt) as exc:
        if errors.traceback_wanted(exc):
            raise
        line, code = errors.explain(exc)
        error_line(line)
        return code
    return 0
