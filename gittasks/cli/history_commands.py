"""History, archive and report commands: log, archive, restore, report, stats."""

from __future__ import annotations

import itertools
from typing import Annotated

import typer

from gittasks import archive, operations, render, rules, stats, work_report
from gittasks.cli import output

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def log(
    task_id: Annotated[str | None, typer.Argument(help="Task id or unique prefix (default: all tasks).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N entries.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """History from git: when, which machine, which action, what changed."""
    ws = output.workspace()
    entries, cut = operations.history_page(ws, task_id, limit)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(
            [{k: e[k] for k in ("commit", "when", "machine", "action", "task", "changes")} for e in entries]
        )
        return
    for entry in entries:
        for line in render.log_lines(entry, output.log_paint(entry["action"])):
            output.echo(line)
    if cut is not None:
        output.note(f"showing the last {cut} changes; --limit N for more")
    elif not entries:
        output.note("no history found")


def archive_cmd(
    older_than: Annotated[str | None, typer.Option("--older-than", help="e.g. 7d: only tasks ended before.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move completed and cancelled tasks to .claude/tasks/archive/ (one commit)."""
    ws = output.workspace()
    delta = rules.parse_duration(older_than) if older_than else None
    outcome = operations.archive_ended(ws, delta)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(outcome.value)
        return
    for task in outcome.value:
        output.echo(f"archived {render.safe(task['id'])} {render.safe(task.get('subject'))}")
    if not outcome.value:
        output.note("nothing to archive")


def restore(
    task_id: Annotated[str, typer.Argument(help="Archived task id or unique prefix.")], as_json: JsonOpt = False
) -> None:
    """Bring an archived task back to the active list (one commit)."""
    ws = output.workspace()
    outcome = operations.restore(ws, task_id)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(outcome.value)
    else:
        output.echo(f"restored {render.list_line(outcome.value)}")


def report(
    client: Annotated[str | None, typer.Option("--client")] = None,
    project: Annotated[str | None, typer.Option("--project")] = None,
    since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD (inclusive).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="YYYY-MM-DD (exclusive).")] = None,
    by: Annotated[str, typer.Option("--by", help="week or month.")] = "month",
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for export.")] = False,
    items: Annotated[bool, typer.Option("--items", help="The work items as invoice lines.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Work done: tasks completed, time spent, billable minutes per client and project; --items: the work items
    as invoice lines (void ones marked, not counted)."""
    ws = output.workspace()
    if items:
        lines = work_report.invoice(
            ws.work_item_files(),
            client=client,
            project=project,
            since=work_report.parse_date(since, "--since"),
            until=work_report.parse_date(until, "--until"),
        )
        output.flush_messages(ws)
        if as_json:
            output.emit_json(lines)
        elif as_csv:
            output.echo(work_report.invoice_csv(lines))
        elif not lines["items"]:
            output.note("no work items" + (" match" if client or project or since or until else " yet"))
        else:
            output.echo(work_report.invoice_table(lines))
        return
    tasks = itertools.chain(ws.tasks(), archive.iter_archived(ws.repo.root))
    data = work_report.build(
        tasks,
        client=client,
        project=project,
        since=work_report.parse_date(since, "--since"),
        until=work_report.parse_date(until, "--until"),
        by=by,
    )
    output.flush_messages(ws)
    if as_json:
        output.emit_json(data)
    elif as_csv:
        output.echo(work_report.as_csv(data))
    else:
        output.echo(work_report.as_table(data))


def stats_cmd(
    since: Annotated[
        str | None, typer.Option("--since", help="YYYY-MM-DD: tasks ended since, and open tasks changed since.")
    ] = None,
    client: Annotated[str | None, typer.Option("--client", help="Only tasks whose metadata.client is NAME.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Insights from the task history (active and archived tasks, one read of the task branch's log), in minutes.

    \b
    cycle time      started_at (else created_at) to completed_at of completed tasks, per type ("-": none);
                    median and p90 (nearest rank)
    time in status  each task's statuses from its history (commit Timestamp, status after), summed per open
                    status; a task still open counts up to now
    bottlenecks     per task in others' blockedBy: how long they waited on it (from the later creation of the
                    two to its completion or now, ended when the waiting task started or ended); time blocked
    estimates       per complexity (metadata/context.complexity): completed tasks with a number in
                    metadata/context.estimated_minutes; mean estimate, mean actual (cycle time), ratio
    reviews         completed type=review tasks that pass: none of their blockedBy reopened after the review
    throughput      completed tasks per agent (owner at completion, agents of closed context.assigned_agents
                    entries) and per machine (Machine: of the completing commit)
    """
    ws = output.workspace()
    data = operations.task_stats(ws, since, client)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(data)
    else:
        output.echo(stats.as_table(data))


COMMANDS = {"log": log, "archive": archive_cmd, "restore": restore, "report": report, "stats": stats_cmd}
