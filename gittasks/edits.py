"""The edit engine: what changes a task, as pure data in and out; the one home of an edit's rules.

`Edit` says what an update changes and `apply_edit` applies it to a document (the fields, the task's objects, the
links, the status along its legal path); `result_edit` and `from_metadata` read an agent's result and a native
tool's metadata into an edit. `Editor` is one transaction's edits of a document (create, apply, update, delete),
each refusing a task the schema keeps as it is: `operations` (the facade every front end calls) hands it to the
change, and the capture hook makes several edits with one. No I/O here; what the shell knows (the archive's size)
comes in as a function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gittasks import document, ids, model, rules, schedule, taskcheck, work_items
from gittasks.document import Document, Task
from gittasks.errors import GittasksError
from gittasks.model import NewTask

# the action recorded in the commit when a change is a status change alone
STATUS_ACTIONS = {
    rules.IN_PROGRESS: "start",
    rules.COMPLETED: "complete",
    rules.BLOCKED: "block",
    rules.CANCELLED: "cancel",
    rules.PENDING: "update",
}
KEEP = object()  # "leave this field as it is" where None is a value (parent)


@dataclass
class Edit:
    """What an update changes; None (or an empty list) leaves a field as it is."""

    subject: str | None = None
    description: str | None = None
    active_form: str | None = None
    owner: str | None = None
    task_type: str | None = None
    parent: Any = KEEP  # an id (or prefix), "" or None to clear
    metadata: dict[str, Any] = field(default_factory=dict)  # a None value removes the key
    context: dict[str, Any] = field(default_factory=dict)  # the same, for the task's context
    context_paths: dict[str, Any] = field(default_factory=dict)  # dotted paths into the context; None removes
    context_lists: dict[str, list[str]] = field(default_factory=dict)  # appended to the context's lists
    add_blocked_by: list[str] = field(default_factory=list)
    remove_blocked_by: list[str] = field(default_factory=list)
    add_blocks: list[str] = field(default_factory=list)
    remove_blocks: list[str] = field(default_factory=list)
    status: str | None = None
    reason: str | None = None
    reopen: bool = False
    walk: bool = False  # take the legal path to `status` (pending -> in_progress -> completed), as native tools do
    implicit_reopen: bool = False  # leaving completed/cancelled counts as a reopen (the capture hook)
    force: bool = False  # start (or complete) a task whose blockers are not all completed; complete a parent whose
    # subtasks are not all ended (they stay open)
    warn_blockers: bool = False  # the capture hook: the assistant's tool did it already, so warn instead of refusing
    force_hint: str = "--force"  # how a refusal names `force` at the door the edit came through (MCP: force=true)
    outcome: str | None = None
    minutes: int | None = None


INHERITED_METADATA = ("client", "project")  # what a subtask takes from its parent unless given


def set_fields(doc: Document, task_id: str, values: dict[str, Any], change: model.Change) -> Task:
    """Set top-level fields of a task (the subject never empty; an owner change tracked as work)."""
    task = model.task_index(doc)[task_id]
    old_owner = task.get("owner")
    changed = False
    for key, value in values.items():
        if key == "subject" and not (value or "").strip():
            raise GittasksError("the subject is empty; give the task a subject")
        if task.get(key) != value or key not in task:
            task[key] = value
            changed = True
    if changed:
        if task.get("owner") != old_owner:
            model.track_work(task, task.get("status", rules.PENDING), old_owner, change)
        change.stamp(task)
    return task


# the context's lists that a change appends to, never replaces
CONTEXT_LISTS = ("files_modified", "files_created", "requirements", "constraints", "dependencies_added")


def with_paths(value: dict[str, Any], updates: dict[str, Any | None], name: str = "context") -> dict[str, Any]:
    """`value` with each dotted path of `updates` set (None removes it); objects on the way are made as needed."""
    out = dict(value)
    for path, new in updates.items():
        parts = [p for p in path.split(".") if p]
        if not parts:
            raise GittasksError(f"{name}: an empty key; write KEY=VALUE")
        target = out
        for depth, part in enumerate(parts[:-1]):
            inner = target.get(part)
            if inner is None and new is None:
                break
            if inner is None:
                inner = {}
            if not isinstance(inner, dict):
                where = ".".join(parts[: depth + 1])
                raise GittasksError(f"{name}.{where} is not an object; it cannot hold {path!r}")
            target[part] = inner = dict(inner)
            target = inner
        else:
            if new is None:
                target.pop(parts[-1], None)
            else:
                target[parts[-1]] = new
    return out


def appended(value: dict[str, Any], additions: dict[str, list[str]]) -> dict[str, Any]:
    """`value` with each list of `additions` appended to its own (an item already there is not repeated)."""
    out = dict(value)
    for key, items in additions.items():
        current = out.get(key)
        listed = list(current) if isinstance(current, list) else []
        listed += [item for item in dict.fromkeys(items) if item not in listed]
        out[key] = listed
    return out


def set_context(
    doc: Document, task_id: str, paths: dict[str, Any | None], additions: dict[str, list[str]], change: model.Change
) -> Task:
    """Set dotted paths of a task's context (None removes) and append to its lists."""
    task = model.task_index(doc)[task_id]
    current = document.as_object(task.get("context"))
    new = appended(with_paths(current, paths), additions)
    if new != current or "context" not in task:
        task["context"] = new
        change.stamp(task)
    return task


def set_keys(
    doc: Document, task_id: str, updates: dict[str, Any | None], change: model.Change, field_name: str = "metadata"
) -> Task:
    """Set keys of one of a task's objects (`metadata`, `context`); a value of None removes the key."""
    task = model.task_index(doc)[task_id]
    current = document.as_object(task.get(field_name))
    values = dict(current)
    for key, value in updates.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    if values != current or field_name not in task:
        task[field_name] = values
        change.stamp(task)
    return task


# what an agent's result object says of its work: the status a task takes ("blocked" when the agent could not finish)
RESULT_STATUSES = {
    "success": rules.COMPLETED, "succeeded": rules.COMPLETED, "completed": rules.COMPLETED, "complete": rules.COMPLETED,
    "done": rules.COMPLETED, "ok": rules.COMPLETED, "partial": rules.IN_PROGRESS, "in_progress": rules.IN_PROGRESS,
    "failed": rules.BLOCKED, "failure": rules.BLOCKED, "error": rules.BLOCKED, "blocked": rules.BLOCKED,
}  # fmt: skip
RESULT_REASONS = ("blocker", "reason", "error", "outcome")  # where a failed result says why, first found wins


def result_edit(result: Any, edit: Edit | None = None, *, status_from_result: bool = True) -> Edit:
    """`edit` (default: complete the task) with an agent's result object taken in, as the seed's orchestrator
    records it: `status` sets the task's status (success/completed/done: completed; partial: in_progress;
    failed/error/blocked: blocked, with the `blocker`, `reason` or `error` as the reason); `outcome` becomes
    context.outcome; `billable_minutes` the billable minutes; `files_created`, `files_modified` and the other
    lists of `CONTEXT_LISTS` are appended to the context's own; every other key is set in the context.
    What `edit` gives itself (an --outcome, --minutes) wins over the result; without `status_from_result` (the
    call gave a status of its own: MCP `task_update`'s status, the capture hook's TaskUpdate status) the status stays
    the edit's."""
    edit = edit or Edit(status=rules.COMPLETED, walk=True)
    if not isinstance(result, dict):
        raise GittasksError('the result is not a JSON object; give {"status": ..., "outcome": ..., ...}')
    given = result.get("status", "success")
    status = RESULT_STATUSES.get(given.strip().lower()) if isinstance(given, str) else None
    if status is None:
        raise GittasksError(f"the result's status {given!r} is not one of: {', '.join(RESULT_STATUSES)}")
    if not status_from_result:
        status = edit.status
    paths: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    outcome, minutes, reason = edit.outcome, edit.minutes, edit.reason
    for key, value in result.items():
        if key == "status" or value is None:
            continue
        if key in CONTEXT_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise GittasksError(f"the result's {key!r} is not a list of strings")
            lists[key] = value
        elif key == "outcome" and isinstance(value, str):
            outcome = outcome if outcome is not None else value
        elif key == "billable_minutes":
            number = work_items.as_minutes(value)  # ("45" is 45, as through every door)
            if not isinstance(number, int):
                raise GittasksError("the result's 'billable_minutes' is not a whole number of minutes, zero or more")
            minutes = minutes if minutes is not None else number
        else:
            paths[key] = value
    if status == rules.BLOCKED and reason is None:
        found = [result[k] for k in RESULT_REASONS if isinstance(result.get(k), str) and result[k].strip()]
        reason = found[0] if found else f"the agent reported {given}"
    if status != rules.COMPLETED:  # set_status records these only when the work is completed
        paths.update({k: v for k, v in (("outcome", outcome), ("billable_minutes", minutes)) if v is not None})
    return dataclasses.replace(
        edit,
        status=status,
        walk=edit.walk or status_from_result,
        reason=reason if status == rules.BLOCKED else edit.reason,
        outcome=outcome if status == rules.COMPLETED else None,
        minutes=minutes if status == rules.COMPLETED else None,
        context_paths={**edit.context_paths, **paths},
        context_lists={**lists, **{k: [*lists.get(k, []), *v] for k, v in edit.context_lists.items()}},
    )


def from_metadata(edit: Edit) -> Edit:
    """`edit` with what its metadata carries for the context taken out of the metadata and into the task: a
    `context` object (its keys set one by one, a null removes) and an agent's `result` object (`result_edit`). The
    capture hook's way in: the native tools carry nothing but metadata. As through MCP, the result's status decides
    (a failed result blocks the task) unless the call gives a status of its own."""
    metadata = dict(edit.metadata)
    context, result = metadata.pop("context", None), metadata.pop("result", None)
    if context is not None and not isinstance(context, dict):
        raise GittasksError("metadata.context is not an object")
    edit = dataclasses.replace(edit, metadata=metadata, context={**edit.context, **(context or {})})
    return edit if result is None else result_edit(result, edit, status_from_result=edit.status is None)


def status_path(old: str, new: str, *, implicit_reopen: bool = False) -> list[tuple[str, bool]] | None:
    """The legal steps (status, is a reopen) from `old` to `new`: the shortest, passing only through in_progress.

    [] when already there; None when there is no such path (in_progress -> pending, or leaving an ended task
    without a reopen).
    """
    if old == new:
        return []
    if old in rules.TERMINAL:
        if not implicit_reopen:
            return None
        if new in rules.REOPEN_TARGETS:
            return [(new, True)]
        return [(rules.IN_PROGRESS, True), (new, False)]
    if rules.is_legal_transition(old, new):
        return [(new, False)]
    if rules.is_legal_transition(old, rules.IN_PROGRESS) and rules.is_legal_transition(rules.IN_PROGRESS, new):
        return [(rules.IN_PROGRESS, False), (new, False)]
    return None


def numbers(objects: dict[str, dict[str, Any]], who: str, change: model.Change, lenient: bool) -> dict[str, Any]:
    """A task's `objects` ({"metadata": ..., "context": ...}, or an edit of them) with minutes written as text taken
    as the number (`work_items.with_numbers`: "45" is 45). Text that is no number of minutes ("soon") is refused;
    with `lenient` (the capture hook, whose tool did it already: refusing would lose the edit) it is kept as given
    and `change` notes it."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, values in objects.items():
        out[name], found = work_items.with_numbers(values, name.removesuffix("_paths"))
        problems += found
    if problems and not lenient:
        raise GittasksError(f"{problems[0]}; give a number, e.g. 45 (nothing was changed)")
    change.notes += [f"{who}: {p}; kept as given, it counts as none until it is a number" for p in problems]
    if out.get("metadata"):
        out["metadata"], found = schedule.with_schedule(out["metadata"])
        if found and not lenient:
            raise GittasksError(f"{found[0]} (nothing was changed)")
        change.notes += [f"{who}: {p}; kept as given, the sorts ignore it" for p in found]
    return out


def billing(client: str | None, project: str | None, *, update: bool = False) -> dict[str, Any]:
    """The metadata `--client` and `--project` (MCP `client`, `project`) set: each given one; on an update an empty
    one removes the key (None)."""
    given = {"client": client, "project": project}
    return {key: (value or None) if update else value for key, value in given.items() if value is not None}


def _billed(minutes: int) -> dict[str, Any]:
    """What `--minutes` sets in a task's context; refused below zero."""
    if minutes < 0:
        raise GittasksError("--minutes must be zero or more")
    return {"billable_minutes": minutes}


def apply_edit(
    doc: Document, tid: str, edit: Edit, change: model.Change, resolve: Callable[[str], str], *, lenient: bool = False
) -> None:
    """Apply `edit` to task `tid`; `resolve` turns the ids the caller gave (prefixes, native ids) into task ids. A task
    the schema refuses as it is (from a newer gittasks, a hand edit) is refused with the reason (`taskcheck.KEPT`).
    Minutes given as text are taken as numbers (`numbers`; `lenient`: kept with a note when they are none)."""
    taskcheck.refuse_kept(model.task_index(doc)[tid])
    given = numbers({"metadata": edit.metadata, "context": edit.context, "context_paths": edit.context_paths},
                    f"task {tid}", change, lenient)  # fmt: skip
    edit = dataclasses.replace(edit, **given)
    if edit.task_type is not None and edit.task_type not in rules.TASK_TYPES:
        raise GittasksError(f"unknown type {edit.task_type!r}; use one of: {', '.join(rules.TASK_TYPES)}")
    fields: dict[str, Any] = {
        key: value
        for key, value in (
            ("subject", edit.subject),
            ("description", edit.description),
            ("activeForm", edit.active_form),
            ("owner", edit.owner),
            ("type", edit.task_type),
        )
        if value is not None
    }
    if edit.parent is not KEEP:
        parent = resolve(edit.parent) if edit.parent else None
        if parent == tid:
            raise GittasksError("a task cannot be its own parent")
        fields["parent"] = parent
    if fields:
        set_fields(doc, tid, fields, change)
    if edit.metadata:
        set_keys(doc, tid, edit.metadata, change)
    if edit.context:
        set_keys(doc, tid, edit.context, change, "context")
    if edit.context_paths or edit.context_lists:
        set_context(doc, tid, edit.context_paths, edit.context_lists, change)
    if edit.minutes is not None:  # (`update --minutes`, or with the completion: where `done --minutes` puts them)
        set_context(doc, tid, _billed(edit.minutes), {}, change)
    for other in edit.add_blocked_by:
        model.add_dependency(doc, resolve(other), tid, change)
    for other in edit.remove_blocked_by:
        model.remove_dependency(doc, resolve(other), tid, change)
    for other in edit.add_blocks:
        model.add_dependency(doc, tid, resolve(other), change)
    for other in edit.remove_blocks:
        model.remove_dependency(doc, tid, resolve(other), change)
    _apply_status(doc, tid, edit, change)
    if edit.parent is not KEEP:
        model.check_relations(doc, rules.ACTIVE_PATH)


def _check_blockers(doc: Document, tid: str, edit: Edit, change: model.Change) -> None:
    """Work on a task starts only when its blockers are completed: refused naming them, unless `force`; the capture
    hook (`warn_blockers`) records what already happened and warns."""
    index = model.task_index(doc)
    waiting = rules.open_blockers(index[tid], index)
    if not waiting or edit.force:
        return
    names = ", ".join(f"{b} ({index[b].get('subject', '')})" for b in waiting)
    if edit.warn_blockers:
        change.notes.append(f"task {tid} went on while it waits for {names}")
        return
    raise GittasksError(f"task {tid!r} waits for {names}; finish those first, or give {edit.force_hint}")


def _check_subtasks(doc: Document, tid: str, edit: Edit, change: model.Change) -> None:
    """A parent completes once its subtasks have ended (completed or cancelled): refused naming the open ones, unless
    `force`; then (and in the capture hook, `warn_blockers`, whose tool completed it already) the parent completes,
    its open subtasks stay as they are, nothing of their work lost, and the note names them."""
    waiting = [t for t in doc["tasks"] if t.get("parent") == tid and t.get("status", rules.PENDING) in rules.OPEN]
    if not waiting:
        return
    names = ", ".join(f"{t['id']} ({t.get('subject', '')})" for t in waiting[:3])
    names += f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
    if edit.force or edit.warn_blockers:
        change.notes.append(f"completed {tid} with {len(waiting)} open subtask(s) left open: {names}")
        return
    raise GittasksError(
        f"task {tid!r} has {len(waiting)} open subtask(s): {names}; complete or cancel them first, or give "
        f"{edit.force_hint} (they stay open)"
    )


def check_move(doc: Document, tid: str, old: str, edit: Edit, change: model.Change) -> None:
    """What a move of task `tid` from `old` to `edit.status` asks first: its blockers completed before work on it
    starts or ends, its subtasks ended before it completes (refused, or with `force`/`warn_blockers` noted). An
    edit made outside gittasks asks it of a move the file holds already (`outside_edits.take_in`: warned)."""
    if edit.status in (rules.IN_PROGRESS, rules.COMPLETED) and old not in (rules.IN_PROGRESS, edit.status):
        _check_blockers(doc, tid, edit, change)
    if edit.status == rules.COMPLETED and old != rules.COMPLETED and not edit.reopen:
        _check_subtasks(doc, tid, edit, change)


def _apply_status(doc: Document, tid: str, edit: Edit, change: model.Change) -> None:
    old = model.task_index(doc)[tid].get("status", rules.PENDING)
    check_move(doc, tid, old, edit, change)
    if edit.reopen:
        target = edit.status or rules.PENDING
        if old not in rules.TERMINAL:
            raise GittasksError(f"task {tid!r} is {old}, not completed or cancelled; nothing to reopen")
        if target not in rules.REOPEN_TARGETS:
            raise GittasksError(f"a task is reopened as pending or in_progress, not {target}")
        model.set_status(doc, tid, target, change, reopen=True)
        return
    if edit.status is None:
        if edit.reason is not None:
            if old != rules.BLOCKED:
                raise GittasksError("a blocked reason goes with a blocked task: set the status to blocked")
            model.set_status(doc, tid, rules.BLOCKED, change, reason=edit.reason)
        return
    steps = status_path(old, edit.status, implicit_reopen=edit.implicit_reopen) if edit.walk else None
    if not steps:  # not walking, already there, or no legal path: the model decides (and names what is allowed)
        model.set_status(doc, tid, edit.status, change, reason=edit.reason, outcome=edit.outcome)
        return
    for step, reopen in steps:
        reason = edit.reason if step == rules.BLOCKED else None
        if step == rules.BLOCKED and not (reason or "").strip():
            reason = "blocked (no reason given)"
        last = step == edit.status
        model.set_status(
            doc,
            tid,
            step,
            change,
            reason=reason,
            reopen=reopen,
            outcome=edit.outcome if last else None,
        )


def status_action(old: Any, new: Any) -> str:
    """What the commit calls a change of a task from status `old` to `new`: reopen, start, complete, block, cancel;
    update when the status stayed."""
    if old == new:
        return "update"
    if old in rules.TERMINAL and new in rules.OPEN:
        return "reopen"
    return STATUS_ACTIONS.get(new, "update")


def edit_of(**given: Any) -> Edit:
    """An edit of the fields given a value, as a front end's arguments mean it: None leaves a field as it is (the
    parent too, which None would otherwise clear)."""
    return Edit(**{name: value for name, value in given.items() if value is not None})


def context_of(paths: dict[str, Any], lists: dict[str, list[str]]) -> dict[str, Any]:
    """A new task's context from dotted paths and the lists appended to (the command line's --context, --file...)."""
    return appended(with_paths({}, paths), lists)


def _no_archive() -> int:
    return 0


@dataclass
class Editor:
    """One transaction's edits of `doc`, recorded in `change`. `resolve` reads the ids a caller gives (default: an id
    or unique prefix of a task in `doc`, as for a change); `archived_count` says about how many ids the archive
    holds (asked only when a task is created: it sizes the new id)."""

    doc: Document
    change: model.Change
    resolve: Callable[[str], str] | None = None
    archived_count: Callable[[], int] = _no_archive
    lenient: bool = False  # the capture hook: minutes that are no number are kept with a note (`numbers`)

    def id_of(self, given: str) -> str:
        if self.resolve is not None:
            return self.resolve(given)
        return ids.resolve_id([t["id"] for t in self.doc["tasks"]], given, changing=True)

    def task(self, tid: str) -> Task:
        return model.task_index(self.doc)[tid]

    def create(self, new: NewTask) -> Task:
        """Add `new` (the ids it names read by `id_of`); a subtask bills to its parent's client and project unless it
        says otherwise; a None in its metadata or context is dropped."""
        parent = self.id_of(new.parent) if new.parent else None
        context = {k: v for k, v in new.context.items() if v is not None}
        if new.minutes is not None:
            context.update(_billed(new.minutes))
        given = numbers({"metadata": new.metadata, "context": context}, f"new task {new.subject!r}", self.change,
                        self.lenient)  # fmt: skip
        metadata = {k: v for k, v in given["metadata"].items() if v is not None}
        if parent is not None:
            inherited = document.as_object(self.task(parent).get("metadata"))
            metadata = {**{k: inherited[k] for k in INHERITED_METADATA if k in inherited}, **metadata}
        resolved = dataclasses.replace(
            new,
            parent=parent,
            metadata=metadata,
            context=given["context"],
            minutes=None,
            blocked_by=[self.id_of(b) for b in new.blocked_by],
            blocks=[self.id_of(b) for b in new.blocks],
        )
        return model.create_task(self.doc, self.change, resolved, archived_count=self.archived_count())

    def apply(self, tid: str, edit: Edit) -> Task:
        """Apply `edit` to task `tid` (`apply_edit`); the task as it is now."""
        apply_edit(self.doc, tid, edit, self.change, self.id_of, lenient=self.lenient)
        return self.task(tid)

    def update(self, tid: str, edit: Edit) -> Task:
        """`apply`, and the commit named by what the edit did to the task's status (`status_action`)."""
        was = self.task(tid).get("status", rules.PENDING)
        task = self.apply(tid, edit)
        self.change.action = status_action(was, task.get("status", rules.PENDING))
        return task

    def delete(self, tid: str) -> Task:
        """Remove task `tid` and its links; the removed task."""
        taskcheck.refuse_kept(self.task(tid))
        return model.delete_task(self.doc, tid, self.change)
