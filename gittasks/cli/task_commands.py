"""Task commands: create, update, the status shortcuts, delete, list, show, ready, checklist."""

from __future__ import annotations

import itertools
from typing import Annotated, Any

import typer

from gittasks import archive, document, edits, handover, history, operations, render, rules, task_commits, tasktext
from gittasks.cli import completion, output, values
from gittasks.cli.values import context_lists, parse_context, parse_meta, read_json, schedule_meta, utf8_edit, utf8_only
from gittasks.edits import Edit
from gittasks.errors import GittasksError
from gittasks.model import NewTask
from gittasks.query import ListQuery
from gittasks.workspace import Outcome, Workspace

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
IdArg = Annotated[str, typer.Argument(help="Task id or a unique prefix of one.", autocompletion=completion.task_ids)]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Go on although a blocker (for done: a subtask) is not completed.")
]


ContextOpt = Annotated[
    list[str],
    typer.Option(
        "--context",
        metavar="KEY=VALUE",
        help="Set KEY in the task's context to VALUE, read as JSON when it is JSON (a dotted KEY reaches inside; "
        "KEY= removes it).",
    ),
]
FileOpt = Annotated[list[str], typer.Option("--file", help="A file the work touched (context.files_modified).")]
RequirementOpt = Annotated[
    list[str], typer.Option("--requirement", help="A requirement, appended to context.requirements.")
]
ConstraintOpt = Annotated[
    list[str], typer.Option("--constraint", help="A constraint, appended to context.constraints.")
]
DependencyOpt = Annotated[
    list[str], typer.Option("--dependency", help="A dependency the work added, appended to context.dependencies_added.")
]
PriorityOpt = Annotated[
    str | None,
    typer.Option(
        "--priority",
        metavar="0-4|H|M|L",
        help='The priority: 0 critical, 1 high, 2 medium, 3 low, 4 backlog, or H, M, L as in Taskwarrior ("" '
        "removes it).",
    ),
]
DueOpt = Annotated[
    str | None,
    typer.Option(
        "--due",
        metavar="DATE",
        help='The due date: YYYY-MM-DD, today, tomorrow, a weekday, +3d or +2w ("" removes it).',
    ),
]
OwnerOpt = Annotated[
    str | None,
    typer.Option("--owner", help="The agent or person who owns the task.", autocompletion=completion.owners),
]
DescriptionOpt = Annotated[
    str | None, typer.Option("-d", "--description", help="What the task is about, in more words than the subject.")
]
ActiveFormOpt = Annotated[
    str | None,
    typer.Option(
        "--active-form", help="What the assistant shows while the task is in progress, e.g. 'Designing the schema'."
    ),
]
TypeOpt = Annotated[
    str | None,
    typer.Option(
        "--type",
        help=f"The kind of work. One of: {', '.join(rules.TASK_TYPES)}.",
        autocompletion=completion.task_types,
    ),
]


def _ids(name: str, help: str | None = None) -> Any:
    """An option naming tasks: ids complete in the shell."""
    return typer.Option(name, help=help, autocompletion=completion.task_ids)


ClientOpt = Annotated[
    str | None,
    typer.Option(
        "--client", help="The client the work is billed to (metadata.client).", autocompletion=completion.clients
    ),
]
MinutesOpt = Annotated[
    int | None, typer.Option("--minutes", min=0, help="Billable minutes (context.billable_minutes).")
]


def create(
    subject: Annotated[str, typer.Argument(help="Imperative title, e.g. 'Design authentication schema'.")],
    description: DescriptionOpt = None,
    active_form: ActiveFormOpt = None,
    owner: OwnerOpt = None,
    blocked_by: Annotated[list[str], _ids("--blocked-by", "Id of a task this one waits for.")] = [],  # noqa: B006
    blocks: Annotated[list[str], _ids("--blocks", "Id of a task that waits for this one.")] = [],  # noqa: B006
    parent: Annotated[str | None, _ids("--parent", "Id of the task this one is a subtask of.")] = None,
    task_type: TypeOpt = None,
    client: ClientOpt = None,
    project: Annotated[
        str | None, typer.Option("--project", help="The project the task belongs to (metadata.project).")
    ] = None,
    meta: Annotated[
        list[str], typer.Option("--meta", metavar="KEY=VALUE", help="Set the metadata key KEY to VALUE.")
    ] = [],  # noqa: B006
    minutes: MinutesOpt = None,
    context: ContextOpt = [],  # noqa: B006
    file: FileOpt = [],  # noqa: B006
    requirement: RequirementOpt = [],  # noqa: B006
    constraint: ConstraintOpt = [],  # noqa: B006
    dependency: DependencyOpt = [],  # noqa: B006
    priority: PriorityOpt = None,
    due: DueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a pending task; prints its id."""
    given = {"the subject": subject, "--description": description, "--active-form": active_form, "--owner": owner,
             "--blocked-by": blocked_by, "--blocks": blocks, "--parent": parent, "--type": task_type,
             "--client": client, "--project": project, "--meta": meta, "--context": context, "--file": file,
             "--requirement": requirement, "--constraint": constraint, "--dependency": dependency}  # fmt: skip
    for name, value in given.items():
        utf8_only(name, value)
    rich = edits.context_of(parse_context(context), context_lists(file, requirement, constraint, dependency))
    ws = output.workspace()
    metadata = {k: v for k, v in parse_meta(meta).items() if v is not None} | edits.billing(client, project)
    metadata.update({k: v for k, v in schedule_meta(priority, due).items() if v is not None})
    new = NewTask(
        subject, description=description, active_form=active_form, owner=owner, task_type=task_type, parent=parent,
        metadata=metadata, context=rich, blocked_by=blocked_by, blocks=blocks, minutes=minutes,
    )  # fmt: skip
    outcome = operations.create(ws, new)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(outcome.value)
    else:
        output.echo(outcome.value["id"])


def update(
    task_id: IdArg,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help=f"The new status. One of: {', '.join(rules.STATUSES)}.",
            autocompletion=completion.statuses,
        ),
    ] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="The new subject.")] = None,
    description: DescriptionOpt = None,
    active_form: ActiveFormOpt = None,
    owner: OwnerOpt = None,
    add_blocked_by: Annotated[list[str], _ids("--add-blocked-by", "Id of a task this one now waits for.")] = [],  # noqa: B006
    remove_blocked_by: Annotated[
        list[str], _ids("--remove-blocked-by", "Id of a task this one no longer waits for.")
    ] = [],  # noqa: B006
    add_blocks: Annotated[list[str], _ids("--add-blocks", "Id of a task that now waits for this one.")] = [],  # noqa: B006
    remove_blocks: Annotated[
        list[str], _ids("--remove-blocks", "Id of a task that no longer waits for this one.")
    ] = [],  # noqa: B006
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is blocked (with --status blocked).")] = None,
    task_type: TypeOpt = None,
    parent: Annotated[
        str | None, _ids("--parent", 'Id of the task this one becomes a subtask of ("" makes it a top-level task).')
    ] = None,
    meta: Annotated[
        list[str],
        typer.Option("--meta", metavar="KEY=VALUE", help="Set the metadata key KEY to VALUE (KEY= removes the key)."),
    ] = [],  # noqa: B006
    client: Annotated[
        str | None,
        typer.Option("--client", help='The client billed ("" removes it).', autocompletion=completion.clients),
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help='The project ("" removes it).')] = None,
    minutes: MinutesOpt = None,
    context: ContextOpt = [],  # noqa: B006
    file: FileOpt = [],  # noqa: B006
    requirement: RequirementOpt = [],  # noqa: B006
    constraint: ConstraintOpt = [],  # noqa: B006
    dependency: DependencyOpt = [],  # noqa: B006
    priority: PriorityOpt = None,
    due: DueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of a task."""
    metadata = {**parse_meta(meta), **schedule_meta(priority, due), **edits.billing(client, project, update=True)}
    lists = context_lists(file, requirement, constraint, dependency)
    edit = edits.edit_of(
        subject=subject, description=description, active_form=active_form, owner=owner, task_type=task_type,
        parent=parent, metadata=metadata, context_paths=parse_context(context), context_lists=lists,
        add_blocked_by=add_blocked_by, remove_blocked_by=remove_blocked_by, add_blocks=add_blocks,
        remove_blocks=remove_blocks, status=status, reason=reason, minutes=minutes,
    )  # fmt: skip
    _edit(task_id, as_json, edit)


def start(
    task_id: IdArg,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Who takes the task, recorded as its owner.", autocompletion=completion.owners),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Mark a task in progress (refused while a blocker is not completed, unless --force). With a remote, the
    start is claimed there: refused while another machine or session has the task in progress (--force takes it
    over)."""
    from gittasks import claim  # (the claim and the sync modules it uses: a start pays for them, the reads do not)

    edit = Edit(status=rules.IN_PROGRESS, owner=owner, force=force)
    utf8_only("the id", task_id)
    utf8_edit(edit)
    ws = output.workspace()
    outcome = claim.start(ws, task_id, edit)
    _report(ws, outcome, as_json, outcome.value)


def done(
    task_id: IdArg,
    outcome: Annotated[str | None, typer.Option("--outcome", help="What was done.")] = None,
    minutes: Annotated[int | None, typer.Option("--minutes", min=0, help="Billable minutes (client tasks).")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="The work item's category (default: the task's type).")
    ] = None,
    result: Annotated[
        str | None,
        typer.Option(
            "--result",
            metavar="FILE|-",
            help="An agent's result object, a JSON file or - for standard input (status, outcome, files_created and "
            "so on).",
        ),
    ] = None,
    file: FileOpt = [],  # noqa: B006
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Mark a task completed, from pending too (a client task with billable minutes also gets a work item); the
    parent completes with its last open subtask. With --result, an agent's result decides: a failed one blocks
    the task with its reason."""
    edit = Edit(
        status=rules.COMPLETED, outcome=outcome, minutes=minutes, walk=True, force=force,
        metadata={"category": category} if category else {}, context_lists=context_lists(file, [], [], []),
    )  # fmt: skip
    if result is not None:
        edit = edits.result_edit(read_json(result, "--result"), edit)
    _edit(task_id, as_json, edit)


def block(
    task_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is blocked.")],
    as_json: JsonOpt = False,
) -> None:
    """Mark a task blocked, with the reason."""
    _edit(task_id, as_json, Edit(status=rules.BLOCKED, reason=reason))


def cancel(task_id: IdArg, as_json: JsonOpt = False) -> None:
    """Cancel a task."""
    _edit(task_id, as_json, Edit(status=rules.CANCELLED))


def reopen(
    task_id: IdArg,
    start_it: Annotated[bool, typer.Option("--start", help="Reopen as in progress, not pending.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Reopen a completed or cancelled task."""
    target = rules.IN_PROGRESS if start_it else rules.PENDING
    _edit(task_id, as_json, Edit(status=target, reopen=True))


def _edit(given: str, as_json: bool, edit: Edit) -> None:
    """`update` and the status shortcuts: one edit of the task `given` names."""
    utf8_only("the id", given)
    utf8_edit(edit)
    ws = output.workspace()
    if edit.status == rules.IN_PROGRESS:  # (a start is claimed: the claim module's cost only then)
        from gittasks import claim

        outcome = claim.update(ws, given, edit)
    else:
        outcome = operations.update(ws, given, edit)
    _report(ws, outcome, as_json, outcome.value)


def _report(ws: Workspace, outcome: Outcome, as_json: bool, task: dict[str, Any] | None) -> None:
    output.flush_messages(ws)
    for line in outcome.notes:
        output.note(line)
    if as_json:
        output.emit_json(task)
    elif task is not None:
        if outcome.commit is None:
            output.echo(f"{render.safe(task['id'])}: nothing to change")
        else:
            output.echo(render.list_line(task))


def delete(task_id: IdArg, as_json: JsonOpt = False) -> None:
    """Remove a task (its dependency links go with it)."""
    utf8_only("the id", task_id)
    ws = output.workspace()
    outcome = operations.delete(ws, task_id)
    output.flush_messages(ws)
    if as_json:
        output.emit_json(outcome.value)
    else:
        output.echo(f"deleted {render.safe(outcome.value['id'])} {render.safe(outcome.value.get('subject'))}")


def list_tasks(
    status: Annotated[
        list[str],
        typer.Option(
            "--status",
            help=f"Only tasks with this status (repeat it for several). One of: {', '.join(rules.STATUSES)}.",
            autocompletion=completion.statuses,
        ),
    ] = [],  # noqa: B006
    client: Annotated[
        str | None, typer.Option("--client", help="Only tasks of this client.", autocompletion=completion.clients)
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Only tasks of this project.", autocompletion=completion.projects)
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only tasks with this owner.", autocompletion=completion.owners)
    ] = None,
    task_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help=f"Only tasks of this type. One of: {', '.join(rules.TASK_TYPES)}.",
            autocompletion=completion.task_types,
        ),
    ] = None,
    parent: Annotated[str | None, _ids("--parent", "Only the subtasks of this task.")] = None,
    ready: Annotated[bool, typer.Option("--ready", help="Only tasks ready to start (as `ready`).")] = False,
    blocked: Annotated[
        bool, typer.Option("--blocked", help="Only blocked tasks and tasks waiting for a blocker.")
    ] = False,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="status|updated|id|priority|due",
            help=f"The order (default: as created). One of: {', '.join(rules.LIST_SORTS)}.",
            autocompletion=completion.sorts,
        ),
    ] = None,
    include_archive: Annotated[bool, typer.Option("--all", help="Include the archived tasks too.")] = False,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only open tasks (pending, in_progress, blocked), not completed/cancelled.")
    ] = False,
    search: Annotated[
        str | None,
        typer.Option("--search", metavar="TEXT", help="Only tasks whose subject, description or id holds TEXT."),
    ] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open tasks due before today.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the active tasks: every task not archived, completed ones too (--open: only those not completed or
    cancelled; --all: the archived ones too). Columns: id, status, client, blockers, subject (owner)."""
    for name, value in (("--status", status), ("--client", client), ("--project", project), ("--owner", owner),
                        ("--type", task_type), ("--parent", parent), ("--sort", sort)):  # fmt: skip
        utf8_only(name, value)
    utf8_only("--search", search)
    rules.check_sort(sort)
    ws = output.workspace()
    filters = (status, client, project, owner, task_type, parent, ready, blocked, sort, include_archive, open_only)
    # with no filter, the whole list, as this clone's last change wrote it: printed from its bytes
    if as_json and not any((*filters, search is not None, overdue)):
        ws.preflight()
        raw = ws.canonical_active()
        listed = tasktext.tasks_json(raw) if raw is not None else None
        if listed is not None:
            output.flush_messages(ws)
            output.emit_bytes(listed)
            return
    doc = ws.load()
    output.flush_messages(ws)
    active = ws.tasks()
    parent_id = operations.find_task(ws, parent)[0]["id"] if parent is not None else None
    query = ListQuery(
        tuple(status), client, project, owner, task_type, parent_id, ready, blocked, sort, open_only=open_only,
        search=search, overdue_on=values.overdue_day(overdue),
    )  # fmt: skip
    tasks, archived = query.select(active, archive.iter_archived(ws.repo.root) if include_archive else ())
    if as_json:
        if not include_archive:
            output.emit_json(tasks)
            return
        output.emit_json_stream(itertools.chain(tasks, archived))
        return
    conflicted = render.conflicted_ids(doc)
    by_id = {t["id"]: t for t in active}
    rows = [render.list_row(t, by_id, conflicted=t["id"] in conflicted) for t in tasks]
    table = render.ListTable(rows, client=include_archive, paint=output.paint)
    count = 0
    for row in itertools.chain(rows, (render.list_row(t, by_id, archived=True) for t in archived)):
        if not count:
            output.echo(table.header())
        output.echo(table.line(row))
        count += 1
    if count:
        return
    if query.narrows:
        output.note("no tasks match" + ("" if include_archive else " (--all: archived ones too)"))
    elif not include_archive and (archived_count := archive.count(ws.repo.root)):
        output.note(f"no active tasks; {archived_count} archived: `gittasks list --all`")
    else:
        output.note("no tasks; add one with `gittasks create SUBJECT`")


def show(
    task_id: IdArg,
    at: Annotated[str | None, typer.Option("--at", help="Show the task as it was at this git revision.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one task (active or archived, or as it was at a revision)."""
    utf8_only("the id", task_id)
    utf8_only("--at", at)
    ws = output.workspace()
    doc = ws.load()
    output.flush_messages(ws)
    archived = False
    if at is not None:
        task = history.task_at(ws.repo, task_id, ws.revision(at))
        if task is None:
            raise GittasksError(f"no task {task_id!r} at {at}")
    else:
        task, archived = operations.find_task(ws, task_id)
    commits = task_commits.naming(ws, str(task["id"]))
    output.flush_messages(ws)
    if as_json:
        output.emit_json({**task, "code_commits": commits})
        return
    records = [r for r in doc.get("conflicts") or [] if isinstance(r, dict) and r.get("task") == task["id"]]
    shown = render.task_detail(task, records) + ("\n(archived)" if archived else "")
    output.print_detail(shown + (f"\n\n{handover.commits_block(commits)}" if commits else ""))


def ready(as_json: JsonOpt = False) -> None:
    """Pending tasks whose blockers are all completed."""
    ws = output.workspace()
    tasks = ws.ready()
    output.flush_messages(ws)
    if as_json:
        output.emit_json(tasks)
        return
    for task in tasks:
        output.echo(render.list_line(task))
    if not tasks:
        output.note(render.nothing_ready(ws.tasks()))


def checklist(
    parent: Annotated[
        str | None, typer.Argument(help="Only this task's subtasks (an id or a unique prefix of one).")
    ] = None,
    detailed: Annotated[
        bool,
        typer.Option("--detailed", help="Add the overall status, sections by status, durations, who and blockers."),
    ] = False,
) -> None:
    """The progress checklist (of one task's subtasks with PARENT)."""
    utf8_only("the parent", parent)
    ws = output.workspace()
    doc = ws.load()
    output.flush_messages(ws)
    parent_id = ws.resolve(parent, doc) if parent is not None else None
    output.print_checklist(render.checklist(document.canonical(doc), detailed=detailed, parent=parent_id))


COMMANDS = {"create": create, "update": update, "start": start, "done": done, "block": block, "cancel": cancel,
            "reopen": reopen, "delete": delete, "list": list_tasks, "show": show, "ready": ready,
            "checklist": checklist}  # fmt: skip
