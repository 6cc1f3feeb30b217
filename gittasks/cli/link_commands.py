"""Commands that tie code commits to tasks: link-commits (the commit hook) and export (a task's history as
Markdown)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gittasks import commit_links, store, task_commits
from gittasks.cli import output
from gittasks.errors import GittasksError
from gittasks.git import find_repo


def link_commits(
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the hook out; the hook it replaced goes back as it was.")
    ] = False,
) -> None:
    """Install a git hook (prepare-commit-msg) that adds a `Task: ID` trailer to each code commit for the tasks in
    progress on this machine (a Claude Code session's own tasks inside that session). A hook the repository has
    already (core.hooksPath, the pre-commit framework's) is kept and runs first; the hook never stops a commit.
    `git log --all --grep "Task: ID"`, `gittasks log ID` and `gittasks show ID` then list a task's commits."""
    repo = find_repo(output.repo_option())
    result = commit_links.remove(repo) if remove else commit_links.install(repo)
    for line in result.done:
        output.echo(f"- {line}")


def export(
    task_ids: Annotated[list[str], typer.Argument(help="Task ids or unique prefixes (a deleted task: its whole id).")],
    out: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write the Markdown to FILE.")
    ] = None,
) -> None:
    """A task's history as a Markdown summary, for a handover or a client report: what was asked and done, by
    whom, on which machines, the status changes, the code commits that name it, how long it took."""
    if out is not None:  # checked before anything is read: a mistyped path makes no folder and writes nothing
        if not str(out).strip() or out.is_dir():
            raise GittasksError(f"{out} is a folder; give --output a file name such as summary.md")
        if not out.parent.is_dir():
            raise GittasksError(f"the folder {out.parent} does not exist; create it or choose another --output")
    ws = output.workspace()
    text = task_commits.export(ws, task_ids)
    output.flush_messages(ws)
    if out is None:
        output.echo(text.rstrip("\n"))
        return
    store.write_atomic(out, text.encode("utf-8"))
    output.note(f"wrote {out}")


COMMANDS = {"link-commits": link_commits, "export": export}
