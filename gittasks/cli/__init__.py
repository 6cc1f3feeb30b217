"""The command line: parsing and printing only; the work is done by the library (`gittasks.workspace` & co)."""

from __future__ import annotations

import contextlib
import os
import sys

from gittasks.errors import GittasksError
from gittasks.render import safe


def utf8_streams() -> None:
    """stdout and stderr in UTF-8 whatever the console's encoding (task text may hold any character)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(encoding="utf-8", errors="replace")


def stdout_closed() -> None:
    """The reader of stdout is gone (`gittasks ... | head`): point stdout at the null device, so that what is still
    buffered goes nowhere quietly, also at the interpreter's last flush."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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
    from gittasks.cli import quick

    call = quick.command(args)
    try:
        if call is None:
            from gittasks.cli.app import register

            register(args)(args=args, prog_name="gittasks")
        else:
            try:
                call()
            except BrokenPipeError:  # the reader went away (`| head`): quietly, with click's exit code for it
                stdout_closed()
                return 1
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except GittasksError as exc:
        error_line(str(exc))
        return exc.exit_code
    except OSError as exc:
        error_line(f"{exc.strerror or exc}: {exc.filename or ''}; nothing was changed")
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("GITTASKS_DEBUG"):
            raise
        error_line(
            f"internal error ({type(exc).__name__}: {exc}); nothing half-done was kept. "
            "Set GITTASKS_DEBUG=1 to see the traceback and please report it"
        )
        return 1
    except KeyboardInterrupt:
        error_line("interrupted; nothing half-done is left (re-run the command)")
        return 130
    return 0
