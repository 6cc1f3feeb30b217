"""Shell completion of the values the commands take: task ids, statuses, types, orders, clients and owners.

A completion runs on every Tab: it reads the active list's file in the work tree once (no git process, no lock, no
bring-in, nothing written) and answers nothing at all where it cannot (outside a repository, no list yet, a file
that does not parse). It never fails: a shell prints whatever a completion writes, so a traceback would land in
the user's command line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gittasks import rules


def _tasks(ctx: click.Context) -> list[dict[str, Any]]:
    """The active tasks of the repository the command line names (`--repo`, else the current folder); [] when
    there is none to read."""
    try:
        import orjson

        from gittasks import gitfiles

        given = ctx.find_root().params.get("repo")
        start = Path(given) if given else Path.cwd()
        found = gitfiles.locate(start.resolve())
        if found is None:
            return []
        raw = (found[0] / rules.ACTIVE_PATH).read_bytes()
        tasks = orjson.loads(raw).get("tasks")
        return [t for t in tasks if isinstance(t, dict)] if isinstance(tasks, list) else []
    except Exception:  # a completion answers nothing rather than fail in the shell
        return []


def _word(value: Any) -> str | None:
    """A value a shell can take as one word (no blanks, no control characters), None otherwise."""
    if not isinstance(value, str) or not value or any(c.isspace() or not c.isprintable() for c in value):
        return None
    return value


def _brief(text: Any) -> str:
    from gittasks.render import safe

    shown = safe(text) if isinstance(text, str) else ""
    return shown if len(shown) <= 60 else shown[:59] + "…"


def task_ids(ctx: click.Context, incomplete: str) -> list[tuple[str, str]]:
    """The ids of the active tasks that start with what was typed (any case), with their subjects (zsh and fish
    show them)."""
    typed = incomplete.lower()
    found = []
    for task in _tasks(ctx):
        tid = _word(task.get("id"))
        if tid is not None and tid.lower().startswith(typed):
            found.append((incomplete + tid[len(incomplete) :], _brief(task.get("subject"))))
    return found


def _values(key: str, in_metadata: bool) -> Callable[[click.Context, str], list[str]]:
    def complete(ctx: click.Context, incomplete: str) -> list[str]:
        seen: dict[str, None] = {}
        for task in _tasks(ctx):
            holder = task.get("metadata") if in_metadata else task
            value = _word(holder.get(key)) if isinstance(holder, dict) else None
            if value is not None and value.startswith(incomplete):
                seen[value] = None
        return sorted(seen)

    return complete


clients = _values("client", in_metadata=True)
projects = _values("project", in_metadata=True)
owners = _values("owner", in_metadata=False)


def statuses(incomplete: str) -> list[str]:
    return [s for s in rules.STATUSES if s.startswith(incomplete)]


def task_types(incomplete: str) -> list[str]:
    return [t for t in rules.TASK_TYPES if t.startswith(incomplete)]


def sorts(incomplete: str) -> list[str]:
    return [s for s in rules.LIST_SORTS if s.startswith(incomplete)]
