"""History, archive and report commands: log, archive, restore, report, stats."""

from __future__ import annotations

from typing import Annotated

import typer

from gittasks import handover, journal, operations, render, rules, stats, task_commits, work_report
from gittasks.cli import output
from gittasks.cli.values import utf8_only

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def log(
    task_id: Annotated[str | None, typer.Argument(help="Task id or unique prefix (default: all tasks).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N entries.")] = None,
    machine: Annotated[str | None, typer.Option("--machine", help="Only changes made on this machine.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", "--agent", help="Only changes of tasks this owner held then.")
    ] = None,
    client: Annotated[str | None, typer.Option("--client", help="Only tasks of this client (as now).")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Only tasks of this project (as now).")] = None,
    task_type: Annotated[str | None, typer.Option("--type", help="Only tasks of this type (as now).")] = None,
    action: Annotated[
        list[str],
        typer.Option(
            "--action",
            help="Only changes with this action (a comma list or the option repeated; created, done and the like "
            f"read as the action). One of: {', '.join(journal.ACTIONS)}.",
        ),
    ] = [],  # noqa: B006
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only changes from this moment on: YYYY-MM-DD, a stamp, a time ago (30m, 12h, 7d, 2w, '3 days ago'), "
            "today or yesterday.",
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only changes before this moment, written as for --since.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """History from git: when, which machine, which action, what changed. Without an id, the journal of all tasks,
    narrowed by the filters (each given must hold; client, project and type as the task is now, owner as it was at
    the change)."""
    given = {"--machine": machine, "--owner": owner, "--client": client, "--project": project, "--type": task_type,
             "--action": action, "--since": since, "--until": until}  # fmt: skip
    for name, value in given.items():
        utf8_only(name, value)
    query = journal.query_of(machine=machine, owner=owner, client=client, project=project, task_type=task_type,
                             actions=action, since=since, until=until, now=rules.utc_now())  # fmt: skip
    ws = output.workspace()
    entries, cut = operations.journal_page(ws, query, task_id, limit)
    if task_id is not None and not query.narrows:  # the code commits naming the task, among its changes
        entries, cut = task_commits.log_with_commits(ws, task_id, entries, limit, cut)
    output.flush_messages(ws)
    if as_json:
        keys = ("commit", "when", "machine", "action", "task", "changes", "branch", "author", "subject")
        output.emit_json(
            [{k: e[k] for k in keys if k in e and (k in keys[:6] or e["action"] == handover.CODE_COMMIT)}
             for e in entries]
        )  # fmt: skip
        return
    for entry in entries:
        shown = handover.commit_log_lines if entry["action"] == handover.CODE_COMMIT else render.log_lines
        for line in shown(entry, output.log_paint(entry["action"])):
            output.echo(line)
    if cut is not None:
        output.note(f"showing the last {cut} changes; --limit N for more")
    elif not entries:
        output.note("no change matches the filters" if query.narrows else "no history found")


def archive_cmd(
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than", metavar="DURATION", help="Only tasks ended longer ago than this: 30m, 12h, 7d or 2w."
        ),
    ] = None,
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
    client: Annotated[
        str | None, typer.Option("--client", help='Only this client\'s work ("" selects the work of no client).')
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="Only this project's work.")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only work from this moment on, written as for `log --since` (YYYY-MM-DD, 7d, today)."
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only work before this moment (not included), written as for --since.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="The period of a row. One of: week, month.")] = "month",
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, for a spreadsheet.")] = False,
    items: Annotated[bool, typer.Option("--items", help="List the work items as invoice lines.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Work done: tasks completed, time spent, billable and active minutes per client and project; --items: the work
    items as invoice lines (void ones marked, not counted). Hours: each task's minutes / 60, rounded half up to the
    hundredth (one invoice line); a row and a total are the sums of their lines, so every filter and both views show
    the same figures; minutes are exact. Minutes on a task with no client show under "(no client)" (--client ""
    selects them)."""
    ws = output.workspace()
    if items:
        lines = operations.invoice(ws, client=client, project=project, since=since, until=until)
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
    data = operations.report(ws, client=client, project=project, since=since, until=until, by=by)
    output.flush_messages(ws)
    for line in data["problems"]:
        output.note(line)
    if as_json:
        output.emit_json(data)
    elif as_csv:
        output.echo(work_report.as_csv(data))
    else:
        output.echo(work_report.as_table(data))


def stats_cmd(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only tasks ended on or after this moment (YYYY-MM-DD, 7d, today) and open tasks changed since.",
        ),
    ] = None,
    client: Annotated[str | None, typer.Option("--client", help="Only this client's tasks (metadata.client).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Insights from the task history (active and archived tasks, one read of the task branch's log), in minutes.

    \b
    cycle time      started_at (else created_at) to completed_at of completed
                    tasks, per type ("-": none); median and p90 (nearest rank)
    time in status  each task's statuses from its history (commit Timestamp,
                    status after), summed per open status; a task still open
                    counts up to now
    bottlenecks     per task in others' blockedBy: how long they waited on it
                    (from the later creation of the two to its completion or
                    now, ended when the waiting task started or ended); time
                    blocked
    estimates       per complexity (metadata/context.complexity): completed
                    tasks with a number in metadata/context.estimated_minutes;
                    mean estimate, mean actual (cycle time), ratio
    reviews         completed type=review tasks that pass: none of their
                    blockedBy reopened after the review
    throughput      completed tasks per agent (owner at completion, agents of
                    closed context.assigned_agents entries) and per machine
                    (Machine: of the completing commit)
    """
    ws = output.workspace()
    data = operations.task_stats(ws, since, client)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(data)
    else:
        output.echo(stats.as_table(data))


COMMANDS = {"log": log, "archive": archive_cmd, "restore": restore, "report": report, "stats": stats_cmd}
