"""Commands across machines: sync, status, conflicts, resolve."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gittasks import autosync, render, rules
from gittasks import conflicts as conflicts_module
from gittasks import sync as sync_module
from gittasks.cli import output
from gittasks.cli.values import utf8_only
from gittasks.errors import GittasksError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def sync(
    remote: Annotated[
        str | None, typer.Option("--remote", help="The remote to sync with (default: upstream, else origin).")
    ] = None,
    as_json: JsonOpt = False,
    tasks_only: Annotated[
        bool, typer.Option("--tasks-only", hidden=True, help="Push or merge gittasks commits only (inline).")
    ] = False,
    background: Annotated[
        bool, typer.Option("--background", hidden=True, help="Run as the background sync does, quietly.")
    ] = False,
) -> None:
    """Commit what is pending, fetch, merge field by field, push (the task branch alone)."""
    if background:
        from gittasks import autosync

        autosync.main(output.repo_option())
        return
    ws = output.workspace()
    progress = None
    if sys.stderr.isatty() and not as_json:

        def progress(text: str) -> None:
            output.note(f"{text}…")

    try:
        outcome = sync_module.sync(ws, remote, progress, only_task_commits=tasks_only)
    except sync_module.SyncFailed as exc:
        output.flush_messages(ws)
        if as_json:
            output.emit_json(exc.result.as_json())
        raise
    output.flush_messages(ws)
    if as_json:
        output.emit_json(outcome.as_json())
        return
    for line in outcome.repaired:
        output.echo(f"repaired: {line}")
    for item in outcome.incoming:
        machine = f" (from {render.safe(item['machine'])})" if item.get("machine") else ""
        output.echo(f"in   {item['change']:<8} {render.safe(item['id'])}  {render.safe(item['subject'])}{machine}")
    for record in outcome.conflicts:
        output.echo(f"conflict recorded: {render.conflict_line(record)}")
    for note in outcome.settled:
        output.echo(f"then {render.safe(note)}")
    target = f"{outcome.remote}/{outcome.branch}"
    if outcome.pushed:
        output.echo(f"out  pushed {outcome.outgoing} commit(s) to {target}")
    if not outcome.incoming and not outcome.pushed:
        output.echo(f"up to date with {target}")


def status(as_json: JsonOpt = False) -> None:
    """Ahead/behind the remote, last sync, open conflicts."""
    ws = output.workspace()
    info = autosync.status(ws)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(info)
        return
    output.echo(f"machine:    {render.safe(info['machine'])}")
    output.echo(f"tasks:      {info['tasks']} active")
    if info["remote"] is None:
        output.echo("remote:     none (add one with `git remote add origin URL`)")
    elif info["ahead"] is None:
        output.echo(f"remote:     {info['remote']}: not synced yet (run `gittasks sync`)")
    else:
        output.echo(f"remote:     {info['remote']}: {info['ahead']} ahead, {info['behind']} behind (as of last fetch)")
    output.echo(f"last sync:  {info['last_sync'] or 'never'}")
    if info["remote"] is not None:
        background = "on" if info["autosync"] else "off (`git config gittasks.autosync true` turns it on)"
        output.echo(f"autosync:   {background}{', running now' if info['autosync_running'] else ''}")
        standing = render.sync_standing(info)
        if standing is not None and (info["ahead"] or info["push_error"]):
            output.echo(f"standing:   {standing}")
    output.echo(
        "conflicts:  "
        + output.paint(f"{info['conflicts']} open", "conflict" if info["conflicts"] else rules.COMPLETED)
        + (" (see `gittasks conflicts`)" if info["conflicts"] else "")
    )


def conflicts(as_json: JsonOpt = False) -> None:
    """The recorded conflicts: task, field, the values seen, the value kept."""
    ws = output.workspace()
    records = ws.load().get("conflicts") or []
    output.flush_messages(ws)
    if as_json:
        output.emit_json(records)
        return
    for record in records:
        output.echo(render.conflict_line(record))
    if not records:
        output.note("no conflicts recorded")


def resolve(
    task_id: Annotated[str, typer.Argument(help="Task id or unique prefix.")],
    field_name: Annotated[
        str | None, typer.Argument(metavar="[FIELD]", help="The field, e.g. owner or metadata.client (or --all).")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Settle every conflict recorded for the task at once.")] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the value the merge kept.")] = False,
    ours: Annotated[bool, typer.Option("--ours", help="Keep this machine's value.")] = False,
    theirs: Annotated[bool, typer.Option("--theirs", help="Keep the other machine's value.")] = False,
    value: Annotated[str | None, typer.Option("--value", help="Set this value instead (JSON or text).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Settle a recorded conflict, or with --all every conflict of a task (one commit); the records go away on every
    machine after sync. A status settled takes the stamps of the side that recorded it."""
    if field_name is not None and every:
        raise GittasksError("name the FIELD to settle or give --all for every conflict of the task, not both")
    if field_name is None and not every:
        raise GittasksError("name the FIELD to settle, or give --all for every conflict of the task")
    if [keep, ours, theirs, value is not None].count(True) != 1:
        raise GittasksError("give exactly one of --keep, --ours, --theirs or --value VALUE")
    utf8_only("the id", task_id)
    utf8_only("--value", value)
    utf8_only("the field", field_name)
    ws = output.workspace()
    side = "ours" if ours else "theirs" if theirs else "kept"
    outcome = conflicts_module.resolve(ws, task_id, field_name, value=value, keep=side)
    output.flush_messages(ws)
    for line in outcome.notes:
        output.note(line)
    if as_json:
        output.emit_json(outcome.value)
    else:
        what = render.safe(field_name) if field_name is not None else "every conflict"
        output.echo(f"resolved {what} of {render.safe(outcome.value['id'])}")


COMMANDS = {"sync": sync, "status": status, "conflicts": conflicts, "resolve": resolve}
