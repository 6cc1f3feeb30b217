"""The bodies of the task commands the typer application and the quick path (`cli/quick.py`) both run: parse
their values, call the library, print. No typer here: the quick path loads none."""

from __future__ import annotations

import dataclasses
import itertools
import sys
from pathlib import Path
from typing import Any

import orjson

from gittasks import archive, document, history, model, operations, render, rules
from gittasks.cli import output
from gittasks.errors import GittasksError
from gittasks.workspace import Outcome, Workspace


class NotUtf8(GittasksError):
    """A command-line value that is not UTF-8: the command line is at fault, so a usage error."""

    exit_code = 2


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    return []


def _shown(text: str) -> str:
    """`text` with what is not UTF-8 shown as the bytes that came: a Latin-1 é as \\xe9."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "backslashreplace")
    shown = raw.decode("utf-8", "backslashreplace")
    return shown if len(shown) <= 40 else shown[:39] + "…"


def utf8_only(name: str, value: Any) -> None:
    """Refuse `value` (a string, or lists and dicts of them), given on the command line as `name`, when it is not
    UTF-8: on POSIX Python keeps such bytes (a Latin-1 terminal's é) as lone surrogates, which no task file,
    commit message or JSON can hold. Called before the repository is opened, so nothing is written."""
    for text in _texts(value):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise NotUtf8(
                f"{name} '{_shown(text)}' is not UTF-8; the terminal must send UTF-8 (a UTF-8 locale, e.g. "
                "LANG=C.UTF-8); nothing was changed"
            ) from None


# the options an `operations.Edit` field comes from, where the name does not say it
_EDIT_OPTIONS = {"task_type": "--type", "context_paths": "--context", "parent": "--parent"}
_LIST_OPTIONS = {"files_modified": "--file", "requirements": "--requirement", "constraints": "--constraint",
                 "dependencies_added": "--dependency"}  # fmt: skip


def utf8_edit(edit: operations.Edit) -> None:
    """`utf8_only` for every value of an edit made from the command line, named by its option."""
    for item in dataclasses.fields(edit):
        value = getattr(edit, item.name)
        if item.name == "metadata":
            for key, meta in value.items():
                utf8_only(f"--{key}" if key in ("client", "project", "category") else "--meta", {key: meta})
        elif item.name == "context_lists":
            for key, values in value.items():
                utf8_only(_LIST_OPTIONS.get(key, "--file"), values)
        else:
            utf8_only(_EDIT_OPTIONS.get(item.name, "--" + item.name.replace("_", "-")), value)


def parse_meta(items: list[str]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GittasksError(f"--meta {item!r}: write KEY=VALUE (KEY= removes the key)")
        updates[key.strip()] = value if value != "" else None
    return updates


def parse_context(items: list[str]) -> dict[str, Any]:
    """`--context KEY=VALUE` options: dotted keys, the value read as JSON when it is JSON (else as text), `KEY=`
    removes the key."""
    updates: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GittasksError(f"--context {item!r}: write KEY=VALUE (a dotted KEY reaches inside; KEY= removes it)")
        try:
            parsed: Any = orjson.loads(value) if value != "" else None  # (never recurses: deep input is refused)
        except ValueError:
            parsed = value
        updates[key.strip()] = parsed
    return updates


def read_json(source: str, option: str) -> Any:
    """The JSON value in file `source` (`-`: standard input)."""
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise GittasksError(f"{option} {source}: cannot read it ({exc.strerror or exc})") from None
    try:
        value = orjson.loads(raw)
    except ValueError as exc:
        raise GittasksError(f"{option} {source}: not JSON ({exc})") from None
    for text in _texts(value):  # a lone surrogate escape ("\udce9") is JSON, but not text a task can hold
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise GittasksError(f"{option} {source}: '{_shown(text)}' is not text (a lone \\u escape)") from None
    return value


def context_lists(
    files: list[str], requirements: list[str], constraints: list[str], deps: list[str]
) -> dict[str, list[str]]:
    lists = {"files_modified": files, "requirements": requirements, "constraints": constraints,
             "dependencies_added": deps}  # fmt: skip
    return {k: v for k, v in lists.items() if v}


def report(ws: Workspace, outcome: Outcome, as_json: bool, task: dict[str, Any] | None) -> None:
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


def update(given: str, as_json: bool, edit: Any) -> None:
    utf8_only("the id", given)
    utf8_edit(edit)
    ws = output.workspace()
    outcome = operations.update(ws, given, edit)
    report(ws, outcome, as_json, outcome.value)


def start(given: str, as_json: bool, edit: operations.Edit) -> None:
    """`start`: the task in progress, claimed on the remote when one is set (`claim.start`)."""
    from gittasks import claim  # (the claim and the sync modules it uses: a start pays for them, the reads do not)

    utf8_only("the id", given)
    utf8_edit(edit)
    ws = output.workspace()
    outcome = claim.start(ws, given, edit)
    report(ws, outcome, as_json, outcome.value)


def create(
    subject: str,
    *,
    description: str | None = None,
    active_form: str | None = None,
    owner: str | None = None,
    blocked_by: list[str] | None = None,
    blocks: list[str] | None = None,
    parent: str | None = None,
    task_type: str | None = None,
    client: str | None = None,
    project: str | None = None,
    meta: list[str] | None = None,
    context: list[str] | None = None,
    lists: dict[str, list[str]] | None = None,
    as_json: bool = False,
) -> None:
    """`create`: add a pending task; prints its id. `lists`: the context lists given (`context_lists`)."""
    given = {"the subject": subject, "--description": description, "--active-form": active_form, "--owner": owner,
             "--blocked-by": blocked_by, "--blocks": blocks, "--parent": parent, "--type": task_type,
             "--client": client, "--project": project, "--meta": meta, "--context": context}  # fmt: skip
    given.update({_LIST_OPTIONS.get(key, "--file"): values for key, values in (lists or {}).items()})
    for name, value in given.items():
        utf8_only(name, value)
    rich = model.appended(model.with_paths({}, parse_context(context or [])), lists or {})
    ws = output.workspace()
    metadata = {k: v for k, v in parse_meta(meta or []).items() if v is not None}
    if client is not None:
        metadata["client"] = client
    if project is not None:
        metadata["project"] = project
    outcome = operations.create(
        ws,
        subject=subject,
        description=description,
        active_form=active_form,
        owner=owner,
        blocked_by=blocked_by or [],
        blocks=blocks or [],
        parent=parent,
        task_type=task_type,
        metadata=metadata,
        context=rich,
    )
    output.flush_messages(ws)
    if as_json:
        output.emit_json(outcome.value)
    else:
        output.echo(outcome.value["id"])


def list_tasks(
    *,
    status: list[str] | None = None,
    client: str | None = None,
    project: str | None = None,
    owner: str | None = None,
    task_type: str | None = None,
    parent: str | None = None,
    ready: bool = False,
    blocked: bool = False,
    sort: str | None = None,
    include_archive: bool = False,
    as_json: bool = False,
) -> None:
    """`list`: the active tasks (id, status, client, blockers, subject, owner)."""
    for name, value in (("--status", status), ("--client", client), ("--project", project), ("--owner", owner),
                        ("--type", task_type), ("--parent", parent), ("--sort", sort)):  # fmt: skip
        utf8_only(name, value)
    rules.check_sort(sort)
    ws = output.workspace()
    filters = (status, client, project, owner, task_type, parent, ready, blocked, sort, include_archive)
    if as_json and not any(filters):  # the whole list, as this clone's last change wrote it: printed from its bytes
        ws.preflight()
        raw = ws.canonical_active()
        listed = document.tasks_json(raw) if raw is not None else None
        if listed is not None:
            output.flush_messages(ws)
            output.emit_bytes(listed)
            return
    doc = ws.load()
    output.flush_messages(ws)
    active = ws.tasks()
    parent_id = operations.find_task(ws, parent)[0]["id"] if parent is not None else None
    wanted = rules.task_filter(
        active, statuses=status or [], client=client, project=project, owner=owner, task_type=task_type,
        parent=parent_id, ready=ready, blocked=blocked,
    )  # fmt: skip
    tasks = document.listing_order((t for t in active if wanted(t)), sort)
    archived: Any = ()
    if include_archive:
        archived = (t for t in archive.iter_archived(ws.repo.root) if wanted(t))
        if sort is not None:
            archived = document.listing_order(archived, sort)
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
    filtered = ready or blocked or any(v is not None for v in (client, project, owner, task_type, parent))
    if status or filtered:
        output.note("no tasks match" + ("" if include_archive else " (--all: archived ones too)"))
    elif not include_archive and (archived_count := archive.count(ws.repo.root)):
        output.note(f"no active tasks; {archived_count} archived: `gittasks list --all`")
    else:
        output.note("no tasks; add one with `gittasks create SUBJECT`")


def show(task_id: str, *, at: str | None = None, as_json: bool = False) -> None:
    """`show`: one task (active or archived, or as it was at a revision)."""
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
    if as_json:
        output.emit_json(task)
        return
    records = [r for r in doc.get("conflicts") or [] if isinstance(r, dict) and r.get("task") == task["id"]]
    output.print_detail(render.task_detail(task, records) + ("\n(archived)" if archived else ""))


def ready(*, as_json: bool = False) -> None:
    """`ready`: the pending tasks whose blockers are all completed."""
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
