"""A name that is no command: one line saying which command was probably meant, exit 2.

Two sources, the alias table first: the words Taskwarrior and beads users type for what gittasks calls otherwise
(`add` is `create`, `close` is `done`), then a close spelling of a command's name (`difflib`).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

from gittasks.errors import GittasksError

# what other task tools call a gittasks command (Taskwarrior: add, modify, annotate, info, delete; beads: create,
# close, dep, comment, show); a value may carry the option that does it
ALIASES: dict[str, str] = {
    "add": "create",
    "new": "create",
    "close": "done",
    "complete": "done",
    "finish": "done",
    "modify": "update",
    "mod": "update",
    "set": "update",
    "rm": "delete",
    "remove": "delete",
    "del": "delete",
    "purge": "delete",
    "ls": "list",
    "tasks": "list",
    "search": "list --search",
    "find": "list --search",
    "query": "list --search",
    "overdue": "list --overdue",
    "blocked": "list --blocked",
    "info": "show",
    "view": "show",
    "get": "show",
    "annotate": "note",
    "comment": "note",
    "comments": "note",
    "history": "log",
    "dep": "update --add-blocked-by",
    "block-on": "update --add-blocked-by",
    "begin": "start",
    "claim": "start",
    "revert": "undo",
    "pull": "sync",
    "push": "sync",
}


class UnknownCommand(GittasksError):
    """A command-line word that names no command: a usage error."""

    exit_code = 2


def unknown_command(name: str, commands: Collection[str]) -> UnknownCommand:
    """The refusal of `name`, naming the command meant when the alias table or a close spelling says which."""
    lowered = name.lower()
    meant = ALIASES.get(lowered)
    if meant is not None and meant.split()[0] not in commands:
        meant = None
    if meant is None:
        if lowered in commands:
            meant = lowered
        else:
            close = difflib.get_close_matches(lowered, sorted(commands), n=1, cutoff=0.6)
            meant = close[0] if close else None
    if meant is None:
        return UnknownCommand(f"unknown command {name!r}; see `gittasks --help` for the commands")
    return UnknownCommand(f"unknown command {name!r}; did you mean {meant!r}?")
