"""The command line: parsing and printing only; the work is done by the library (`gittasks.workspace` & co)."""

from __future__ import annotations

import contextlib
import os
import sys

from gittasks.errors import GittasksError


def utf8_streams() -> None:
    """stdout and stderr in UTF-8 whatever the console's encoding (task text may hold any character)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(encoding="utf-8", errors="replace")


def run(args: list[str]) -> int:
    utf8_streams()
    from gittasks.cli.app import register

    app = register(args)

    try:
        app(args=args, prog_name="gittasks")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except GittasksError as exc:
        print(f"gittasks: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"gittasks: {exc.strerror or exc}: {exc.filename or ''}; nothing was changed", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("GITTASKS_DEBUG"):
            raise
        print(
            f"gittasks: internal error ({type(exc).__name__}: {exc}); nothing half-done was kept. "
            "Set GITTASKS_DEBUG=1 to see the traceback and please report it",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("gittasks: interrupted; nothing half-done is left (re-run the command)", file=sys.stderr)
        return 130
    return 0
