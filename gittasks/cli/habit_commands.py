"""The commands users of Taskwarrior and beads reach for: note, edit, undo."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gittasks import operations, render
from gittasks.cli import completion, output
from gittasks.cli.values import utf8_only

IdArg = Annotated[str, typer.Argument(help="Task id or a unique prefix of one.", autocompletion=completion.task_ids)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def note(
    task_id: IdArg,
    text: Annotated[str, typer.Argument(help="The note (quote it if it has spaces).")],
    as_json: JsonOpt = False,
) -> None:
    """Add a timestamped note to a task. The note keeps this machine's name and is kept in the task's
    context.notes; notes added on two machines are both kept by sync. `show` lists them."""
    utf8_only("the id", task_id)
    utf8_only("the note", text)
    ws = output.workspace()
    outcome = operations.note(ws, task_id, text)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(outcome.value)
    else:
        output.echo(render.list_line(outcome.value))


def edit(task_id: IdArg, as_json: JsonOpt = False) -> None:
    """Edit a task's JSON in your editor. The editor is $VISUAL, else $EDITOR, else vi. What you save is checked
    as a direct write of the task file would be and refused in one line if it is not valid; the fields you changed
    are committed in one commit."""
    from gittasks import edit_in_editor

    utf8_only("the id", task_id)
    ws = output.workspace()
    outcome = edit_in_editor.edit(ws, task_id)
    _report(ws, outcome.commit is not None, outcome.value, as_json)


def undo(as_json: JsonOpt = False) -> None:
    """Take back this machine's last change. It is undone by a new commit, field by field; refused when a later
    change built on it, and an undo is never undone."""
    from gittasks import undo as undoing

    ws = output.workspace()
    outcome = undoing.undo(ws)
    output.flush_messages(ws)
    undone = outcome.value
    if as_json:
        output.emit_json({"undone": undone["commit"], "subject": undone["subject"], "tasks": outcome.touched})
        return
    output.echo(f"undid {undone['commit'][:8]} {undone['subject']}")
    for task in ws.tasks():
        if task["id"] in outcome.touched:
            output.echo(render.list_line(task))


def _report(ws: Any, changed: bool, task: dict[str, Any], as_json: bool) -> None:
    output.flush_messages(ws)
    if as_json:
        output.emit_json(task)
    elif changed:
        output.echo(render.list_line(task))
    else:
        output.echo(f"{render.safe(task['id'])}: nothing changed")


COMMANDS = {"note": note, "edit": edit, "undo": undo}
