"""The error tree: every refusal is a GittasksError, which the front ends turn into one line and an exit code.

Subclasses name what a caller may want to tell apart (an id that names nothing, an id prefix that names several)
so that no caller has to read a message to decide what to do. `explain` is that turning, written once for the
command line, the hooks, the merge driver and the MCP server.
"""

from __future__ import annotations

import os

DEBUG_VARIABLE = "GITTASKS_DEBUG"
INTERRUPTED = 130  # the shells' code for a command ended by Ctrl-C (128 + SIGINT)


class GittasksError(Exception):
    """A refused request: the message is one line saying what is wrong and what to do."""

    exit_code = 1


class UnknownId(GittasksError):
    """No task has this id, and no id starts with it."""


class AmbiguousId(GittasksError):
    """More than one id starts with this prefix."""


def explain(exc: BaseException) -> tuple[str, int]:
    """What a front end says about `exc` (one line, without the program's name; the printer makes it safe) and
    the exit code of a command that ended with it. A refusal says itself; a file the system refused is named; an
    interruption and a bug say that nothing half-done was kept (every write is one atomic step)."""
    if isinstance(exc, GittasksError):
        return str(exc), exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; nothing half-done is left (re-run the command)", INTERRUPTED
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename or ''}; nothing was changed", 1
    return (
        f"internal error ({type(exc).__name__}: {exc}); nothing half-done was kept. "
        f"Set {DEBUG_VARIABLE}=1 to see the traceback and please report it",
        1,
    )


def traceback_wanted(exc: BaseException) -> bool:
    """`exc` is a bug (no refusal, no failing file, no interruption) and the user asked for tracebacks: the front
    end lets it through instead of explaining it."""
    is_bug = not isinstance(exc, GittasksError | OSError | KeyboardInterrupt)
    return is_bug and bool(os.environ.get(DEBUG_VARIABLE))
