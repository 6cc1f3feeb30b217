"""The commands an assistant or a script calls most, in their plainest shapes, run without the typer application.

Importing typer and building even one command costs about 30 ms of every start; these shapes take no option but
`--json`, so they need no parser: `list`, `ready`, `show ID`, `create SUBJECT`, each with or without `--json`. Any
other shape (another option, a global option before the command, `--help`, a value that starts with `-`, shell
completion) goes to typer, which defines every command. Both run the same bodies (`cli/task_actions.py`), so a
command prints the same whichever way it came.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from gittasks.cli import output, task_actions

# command: how many positional values it takes (the quick shapes only)
SHAPES: dict[str, int] = {"list": 0, "ready": 0, "show": 1, "create": 1}
JSON = "--json"


def command(args: list[str]) -> Callable[[], None] | None:
    """The call `args` ask for when they are one of the quick shapes, else None (typer then parses them)."""
    if not args or args[0] not in SHAPES or os.environ.get("_GITTASKS_COMPLETE"):
        return None
    rest = args[1:]
    values = [arg for arg in rest if arg != JSON]
    if len(rest) - len(values) > 1 or len(values) != SHAPES[args[0]] or any(v.startswith("-") for v in values):
        return None
    as_json = len(values) < len(rest)
    name = args[0]

    def call() -> None:
        output.set_repo(None)  # no `--repo` in a quick shape (the typer path sets it for every call)
        if name == "list":
            task_actions.list_tasks(as_json=as_json)
        elif name == "ready":
            task_actions.ready(as_json=as_json)
        elif name == "show":
            task_actions.show(values[0], as_json=as_json)
        else:
            task_actions.create(values[0], as_json=as_json)

    return call
