"""Task commands: create, update, the status shortcuts, delete, list, show, ready, checklist."""

from __future__ import annotations

from typing import Annotated

import typer

from gittasks import document, operations, render, rules
from gittasks.cli import output, task_actions

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
IdArg = Annotated[str, typer.Argument(help="Task id or a unique prefix of one.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Go on although a blocker is not completed.")]


ContextOpt = Annotated[
    list[str], typer.Option("--context", help="KEY=JSON into the task's context (dotted keys; KEY= removes).")
]
FileOpt = Annotated[list[str], typer.Option("--file", help="A file the work touched (context.files_modified).")]
RequirementOpt = Annotated[list[str], typer.Option("--requirement", help="Appended to context.requirements.")]
ConstraintOpt = Annotated[list[str], typer.Option("--constraint", help="Appended to context.constraints.")]
DependencyOpt = Annotated[list[str], typer.Option("--dependency", help="Appended to context.dependencies_added.")]


def register(app: typer.Typer) -> None:
    @app.command()
    def create(
        subject: Annotated[str, typer.Argument(help="Imperative title, e.g. 'Design authentication schema'.")],
        description: Annotated[str | None, typer.Option("-d", "--description")] = None,
        active_form: Annotated[str | None, typer.Option("--active-form")] = None,
        owner: Annotated[str | None, typer.Option("--owner")] = None,
        blocked_by: Annotated[list[str], typer.Option("--blocked-by", help="Id of a task this one waits for.")] = [],  # noqa: B006
        blocks: Annotated[list[str], typer.Option("--blocks", help="Id of a task that waits for this one.")] = [],  # noqa: B006
        parent: Annotated[str | None, typer.Option("--parent")] = None,
        task_type: Annotated[str | None, typer.Option("--type", help=", ".join(rules.TASK_TYPES))] = None,
        client: Annotated[str | None, typer.Option("--client")] = None,
        project: Annotated[str | None, typer.Option("--project")] = None,
        meta: Annotated[list[str], typer.Option("--meta", help="KEY=VALUE metadata.")] = [],  # noqa: B006
        context: ContextOpt = [],  # noqa: B006
        file: FileOpt = [],  # noqa: B006
        requirement: RequirementOpt = [],  # noqa: B006
        constraint: ConstraintOpt = [],  # noqa: B006
        dependency: DependencyOpt = [],  # noqa: B006
        as_json: JsonOpt = False,
    ) -> None:
        """Add a pending task; prints its id."""
        task_actions.create(
            subject, description=description, active_form=active_form, owner=owner, blocked_by=blocked_by,
            blocks=blocks, parent=parent, task_type=task_type, client=client, project=project, meta=meta,
            context=context, lists=task_actions.context_lists(file, requirement, constraint, dependency),
            as_json=as_json,
        )  # fmt: skip

    @app.command()
    def update(
        task_id: IdArg,
        status: Annotated[str | None, typer.Option("--status", help=", ".join(rules.STATUSES))] = None,
        subject: Annotated[str | None, typer.Option("--subject")] = None,
        description: Annotated[str | None, typer.Option("-d", "--description")] = None,
        active_form: Annotated[str | None, typer.Option("--active-form")] = None,
        owner: Annotated[str | None, typer.Option("--owner")] = None,
        add_blocked_by: Annotated[list[str], typer.Option("--add-blocked-by")] = [],  # noqa: B006
        remove_blocked_by: Annotated[list[str], typer.Option("--remove-blocked-by")] = [],  # noqa: B006
        add_blocks: Annotated[list[str], typer.Option("--add-blocks")] = [],  # noqa: B006
        remove_blocks: Annotated[list[str], typer.Option("--remove-blocks")] = [],  # noqa: B006
        reason: Annotated[str | None, typer.Option("--reason", help="Why it is blocked.")] = None,
        task_type: Annotated[str | None, typer.Option("--type")] = None,
        parent: Annotated[str | None, typer.Option("--parent")] = None,
        meta: Annotated[list[str], typer.Option("--meta", help="KEY=VALUE; KEY= removes the key.")] = [],  # noqa: B006
        client: Annotated[str | None, typer.Option("--client", help='The client billed ("" removes it).')] = None,
        project: Annotated[str | None, typer.Option("--project", help='The project ("" removes it).')] = None,
        context: ContextOpt = [],  # noqa: B006
        file: FileOpt = [],  # noqa: B006
        requirement: RequirementOpt = [],  # noqa: B006
        constraint: ConstraintOpt = [],  # noqa: B006
        dependency: DependencyOpt = [],  # noqa: B006
        as_json: JsonOpt = False,
    ) -> None:
        """Change fields of a task."""
        metadata = task_actions.parse_meta(meta)
        for key, value in (("client", client), ("project", project)):
            if value is not None:
                metadata[key] = value or None
        edit = operations.Edit(
            subject=subject,
            description=description,
            active_form=active_form,
            owner=owner,
            task_type=task_type,
            parent=operations.KEEP if parent is None else parent,
            metadata=metadata,
            context_paths=task_actions.parse_context(context),
            context_lists=task_actions.context_lists(file, requirement, constraint, dependency),
            add_blocked_by=add_blocked_by,
            remove_blocked_by=remove_blocked_by,
            add_blocks=add_blocks,
            remove_blocks=remove_blocks,
            status=status,
            reason=reason,
        )
        task_actions.update(task_id, as_json, edit)

    @app.command()
    def start(
        task_id: IdArg,
        owner: Annotated[str | None, typer.Option("--owner")] = None,
        force: ForceOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Mark a task in progress (refused while a blocker is not completed, unless --force). With a remote, the
        start is claimed there: refused while another machine or session has the task in progress (--force takes it
        over)."""
        task_actions.start(task_id, as_json, operations.Edit(status=rules.IN_PROGRESS, owner=owner, force=force))

    @app.command()
    def done(
        task_id: IdArg,
        outcome: Annotated[str | None, typer.Option("--outcome", help="What was done.")] = None,
        minutes: Annotated[
            int | None, typer.Option("--minutes", min=0, help="Billable minutes (client tasks).")
        ] = None,
        category: Annotated[
            str | None, typer.Option("--category", help="The work item's category (default: the task's type).")
        ] = None,
        result: Annotated[
            str | None,
            typer.Option(
                "--result", metavar="FILE|-", help="An agent's result object (JSON: status, outcome, files_created...)."
            ),
        ] = None,
        file: FileOpt = [],  # noqa: B006
        force: ForceOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Mark a task completed, from pending too (a client task with billable minutes also gets a work item); the
        parent completes with its last open subtask. With --result, an agent's result decides: a failed one blocks
        the task with its reason."""
        edit = operations.Edit(
            status=rules.COMPLETED, outcome=outcome, minutes=minutes, walk=True, force=force,
            metadata={"category": category} if category else {},
            context_lists=task_actions.context_lists(file, [], [], []),
        )  # fmt: skip
        if result is not None:
            edit = operations.result_edit(task_actions.read_json(result, "--result"), edit)
        task_actions.update(task_id, as_json, edit)

    @app.command()
    def block(
        task_id: IdArg,
        reason: Annotated[str, typer.Option("--reason", help="Why it is blocked.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Mark a task blocked, with the reason."""
        task_actions.update(task_id, as_json, operations.Edit(status=rules.BLOCKED, reason=reason))

    @app.command()
    def cancel(task_id: IdArg, as_json: JsonOpt = False) -> None:
        """Cancel a task."""
        task_actions.update(task_id, as_json, operations.Edit(status=rules.CANCELLED))

    @app.command()
    def reopen(
        task_id: IdArg,
        start_it: Annotated[bool, typer.Option("--start", help="Reopen as in progress, not pending.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Reopen a completed or cancelled task."""
        target = rules.IN_PROGRESS if start_it else rules.PENDING
        task_actions.update(task_id, as_json, operations.Edit(status=target, reopen=True))

    @app.command()
    def delete(task_id: IdArg, as_json: JsonOpt = False) -> None:
        """Remove a task (its dependency links go with it)."""
        task_actions.utf8_only("the id", task_id)
        ws = output.workspace()
        outcome = operations.delete(ws, task_id)
        output.flush_messages(ws)
        if as_json:
            output.emit_json(outcome.value)
        else:
            output.echo(f"deleted {render.safe(outcome.value['id'])} {render.safe(outcome.value.get('subject'))}")

    @app.command("list")
    def list_tasks(
        status: Annotated[list[str], typer.Option("--status", help="Only tasks with this status.")] = [],  # noqa: B006
        client: Annotated[str | None, typer.Option("--client", help="Only tasks of this client.")] = None,
        project: Annotated[str | None, typer.Option("--project", help="Only tasks of this project.")] = None,
        owner: Annotated[str | None, typer.Option("--owner", help="Only tasks with this owner.")] = None,
        task_type: Annotated[str | None, typer.Option("--type", help="Only tasks of this type.")] = None,
        parent: Annotated[str | None, typer.Option("--parent", help="Only the subtasks of this task.")] = None,
        ready: Annotated[bool, typer.Option("--ready", help="Only tasks ready to start (as `ready`).")] = False,
        blocked: Annotated[
            bool, typer.Option("--blocked", help="Only blocked tasks and tasks waiting for a blocker.")
        ] = False,
        sort: Annotated[
            str | None, typer.Option("--sort", metavar="status|updated|id", help="Order (default: as created).")
        ] = None,
        include_archive: Annotated[bool, typer.Option("--all", help="Archived tasks too.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """List the active tasks: id, status, client, blockers, subject (owner)."""
        task_actions.list_tasks(
            status=status, client=client, project=project, owner=owner, task_type=task_type, parent=parent,
            ready=ready, blocked=blocked, sort=sort, include_archive=include_archive, as_json=as_json,
        )  # fmt: skip

    @app.command()
    def show(
        task_id: IdArg,
        at: Annotated[str | None, typer.Option("--at", help="Show the task as it was at this git revision.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Show one task (active or archived, or as it was at a revision)."""
        task_actions.show(task_id, at=at, as_json=as_json)

    @app.command()
    def ready(as_json: JsonOpt = False) -> None:
        """Pending tasks whose blockers are all completed."""
        task_actions.ready(as_json=as_json)

    @app.command()
    def checklist(
        parent: Annotated[
            str | None, typer.Argument(help="Only this task's subtasks (an id or a unique prefix of one).")
        ] = None,
        detailed: Annotated[
            bool, typer.Option("--detailed", help="Overall status, sections by status, durations, who, blockers.")
        ] = False,
    ) -> None:
        """The progress checklist (of one task's subtasks with PARENT)."""
        task_actions.utf8_only("the parent", parent)
        ws = output.workspace()
        doc = ws.load()
        output.flush_messages(ws)
        parent_id = ws.resolve(parent, doc) if parent is not None else None
        output.print_checklist(render.checklist(document.canonical(doc), detailed=detailed, parent=parent_id))
