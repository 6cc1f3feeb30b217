"""The task model as pure operations: the state machine, the dependency and parent rules, and what a change is.

Documents stay plain parsed JSON (dicts) so that every field gittasks does not know passes through untouched.
Operations here do no I/O: they take a document and a `Change` (who and when) and record the ids they touched.
What an edit of a task's fields, objects and status asks of them is the edit engine's (`edits`).
The full schema check (pydantic) is `schema.validate_full`, run by the write transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gittasks import document, rules, work_items
from gittasks.document import Document, DocumentError, Task
from gittasks.errors import GittasksError
from gittasks.ids import new_id


def check_relations(doc: Document, name: str, only: Collection[str] | None = None) -> None:
    """No task blocked by itself, no dependency cycle, no task its own ancestor; with `only` (the ids a change
    touched), those that go through these tasks: a change makes no cycle that misses every task it changed."""
    tasks = doc["tasks"]
    by_id = {t["id"]: t for t in tasks}
    # (`only` may be a set: in order, so that the cycle named is the same whatever the process's hash seed)
    checked = tasks if only is None else [by_id[tid] for tid in sorted(only) if tid in by_id]
    for task in checked:
        tid = task["id"]
        for dep in task.get("blockedBy") or ():
            if dep == tid:
                raise DocumentError(f"{name}: task {tid!r} is blocked by itself; remove it from its blockedBy")
    cycle = find_cycle(tasks, None if only is None else [t["id"] for t in checked])
    if cycle:
        raise DocumentError(f"{name}: dependency cycle {' -> '.join(cycle)}; remove one of these blockedBy links")
    for task in checked:
        seen = {task["id"]}
        parent = task.get("parent")
        while isinstance(parent, str) and parent in by_id:
            if parent in seen:
                raise DocumentError(f"{name}: task {task['id']!r} is its own ancestor through 'parent'")
            seen.add(parent)
            parent = by_id[parent].get("parent")


def link_problems(
    doc: Document, name: str, known_elsewhere: Collection[str] = (), only: Collection[str] | None = None
) -> list[str]:
    """What `validate` says of the links between tasks, one line each: a dependency one task names and the other
    lacks (one-sided), a task named in blockedBy or blocks or as a parent that is neither in the list nor in
    `known_elsewhere` (the archive). With `only`, the problems of those tasks (either side of a link)."""
    index = task_index(doc)
    found: list[str] = []
    for task in doc["tasks"]:
        tid = task["id"]
        for field_name, mirror in (("blockedBy", "blocks"), ("blocks", "blockedBy")):
            values = task.get(field_name)
            if not isinstance(values, list):
                continue
            for other in values:
                if only is not None and tid not in only and other not in only:
                    continue
                if other in index:
                    if tid not in (index[other].get(mirror) or []):
                        found.append(
                            f"{name}: task {tid!r} has {other!r} in {field_name} "
                            f"but {other!r} lacks {tid!r} in {mirror} (one-sided dependency)"
                        )
                elif other not in known_elsewhere:
                    found.append(f"{name}: task {tid!r} names unknown task {other!r} in {field_name}")
        parent = task.get("parent")
        if only is not None and tid not in only:
            continue
        if isinstance(parent, str) and parent not in index and parent not in known_elsewhere:
            found.append(f"{name}: task {tid!r} has unknown parent {parent!r}")
    return list(dict.fromkeys(found))


def changed_tasks(doc: Document, before: Document | None) -> tuple[list[tuple[int, Task]], list[Task]]:
    """What a change did to the tasks of `before` (None: a new file): the tasks of `doc` that are new or differ
    from their copy in `before`, with their place in the list, and the tasks of `before` that `doc` lacks. The
    write check looks at these alone: a task left as it was passes as it was committed."""
    if before is None:
        return list(enumerate(doc["tasks"])), []
    earlier = {_id_of(t): t for t in before["tasks"] if _id_of(t) is not None}
    changed = [(i, t) for i, t in enumerate(doc["tasks"]) if _id_of(t) is None or earlier.get(_id_of(t)) != t]
    present = {_id_of(t) for t in doc["tasks"]}
    return changed, [t for tid, t in earlier.items() if tid not in present]


def _id_of(task: Any) -> str | None:
    tid = task.get("id") if isinstance(task, dict) else None
    return tid if isinstance(tid, str) else None


# -- operations ------------------------------------------------------------------------------------------------


@dataclass
class Change:
    """Who makes a change and when; collects the ids it touched."""

    machine: str
    now: datetime
    touched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    work_items: list[dict[str, Any]] = field(default_factory=list)
    complete_parents: bool = True  # the last open subtask completed completes its parent (gittasks.autoCompleteParents)
    action: str | None = None  # what the commit calls the change, when only the change itself can tell (a capture)

    def stamp(self, task: Task) -> None:
        task["updated_at"] = rules.next_stamp(task.get("updated_at"), self.now)
        task["updated_by"] = self.machine
        if task["id"] not in self.touched:
            self.touched.append(task["id"])


def task_index(doc: Document) -> dict[str, Task]:
    return {t["id"]: t for t in doc["tasks"]}


def find_cycle(tasks: Iterable[Task], starts: Iterable[str] | None = None) -> list[str] | None:
    """A dependency cycle over `blockedBy` as a list of ids, or None; with `starts`, a cycle reachable from them."""
    graph = {t["id"]: [d for d in (t.get("blockedBy") or []) if isinstance(d, str)] for t in tasks}
    state: dict[str, int] = {}
    for start in graph if starts is None else starts:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            deps = graph.get(node, [])
            if i < len(deps):
                stack.append((node, i + 1))
                nxt = deps[i]
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if not state.get(nxt) and nxt in graph:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return None


def _append_unique(task: Task, field_name: str, value: str) -> bool:
    values = task.get(field_name)
    if not isinstance(values, list):
        values = []
    if value in values:
        task[field_name] = values
        return False
    task[field_name] = [*values, value]
    return True


def _remove(task: Task, field_name: str, value: str) -> bool:
    values = task.get(field_name)
    if isinstance(values, list) and value in values:
        task[field_name] = [v for v in values if v != value]
        return True
    return False


def add_dependency(doc: Document, blocker: str, blocked: str, change: Change) -> None:
    """`blocked` is blocked by `blocker` (both directions kept); refuses self-links and cycles."""
    index = task_index(doc)
    if blocker == blocked:
        raise GittasksError(f"task {blocked!r} cannot block itself")
    if blocked not in index:
        raise GittasksError(f"no task with id {blocked!r}")
    if blocker not in index:
        raise GittasksError(f"no task with id {blocker!r}; see `gittasks list --all`")
    before = list(index[blocked].get("blockedBy") or [])
    if _append_unique(index[blocked], "blockedBy", blocker):
        cycle = find_cycle(doc["tasks"])
        if cycle:
            index[blocked]["blockedBy"] = before
            raise GittasksError(f"that dependency would make a cycle: {' -> '.join(cycle)}; nothing was changed")
        change.stamp(index[blocked])
    if blocker in index and _append_unique(index[blocker], "blocks", blocked):
        change.stamp(index[blocker])


def remove_dependency(doc: Document, blocker: str, blocked: str, change: Change) -> None:
    index = task_index(doc)
    if blocked in index and _remove(index[blocked], "blockedBy", blocker):
        change.stamp(index[blocked])
    if blocker in index and _remove(index[blocker], "blocks", blocked):
        change.stamp(index[blocker])


@dataclass(frozen=True)
class NewTask:
    """A task to add, passed whole from a front end to `create_task`. The ids it names (`parent`, `blocked_by`,
    `blocks`) may be prefixes or native ids until `edits.Editor.create` reads them (and adds what a subtask
    inherits); `create_task` takes task ids."""

    subject: str
    description: str | None = None
    active_form: str | None = None
    owner: str | None = None
    task_type: str | None = None
    parent: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    blocked_by: tuple[str, ...] | list[str] = ()
    blocks: tuple[str, ...] | list[str] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # fields gittasks does not model (the capture's native ids)
    minutes: int | None = None  # billable minutes (context.billable_minutes), as `update --minutes` sets them


def create_task(doc: Document, change: Change, new: NewTask, *, archived_count: int = 0) -> Task:
    """Add `new` as a pending task; `archived_count` (about how many ids the archive holds) sizes its id."""
    if not new.subject.strip():
        raise GittasksError("the subject is empty; give the task a subject")
    index = task_index(doc)
    task_id = new_id(index, archived_count)
    if new.task_type is not None and new.task_type not in rules.TASK_TYPES:
        raise GittasksError(f"unknown type {new.task_type!r}; use one of: {', '.join(rules.TASK_TYPES)}")
    if new.parent is not None and new.parent not in index:
        raise GittasksError(f"no parent task with id {new.parent!r}")
    now = rules.format_stamp(change.now)
    task: Task = dict(new.extra)
    task.update(
        {
            "id": task_id,
            "subject": new.subject,
            "description": new.description or "",
            "activeForm": new.active_form or "",
            "status": rules.PENDING,
            "owner": new.owner,
            "created_at": now,
            "started_at": None,
            "completed_at": None,
            "blocks": [],
            "blockedBy": [],
            "blocked_reason": None,
            "parent": new.parent,
            "type": new.task_type,
            "metadata": dict(new.metadata),
            "context": dict(new.context),
        }
    )
    doc["tasks"].append(task)
    change.stamp(task)
    try:
        for blocker in new.blocked_by:
            add_dependency(doc, blocker, task_id, change)
        for blocked in new.blocks:
            add_dependency(doc, task_id, blocked, change)
    except GittasksError:
        doc["tasks"].remove(task)
        raise
    return task


def set_status(
    doc: Document,
    task_id: str,
    status: str,
    change: Change,
    *,
    reason: str | None = None,
    reopen: bool = False,
    owner: str | None = None,
    outcome: str | None = None,
    settle: bool = False,
    index: dict[str, Task] | None = None,
    subtasks: dict[str, list[Task]] | None = None,
) -> Task:
    """Move a task to `status` with the stamps that go with it (and a work item for a completed client task).
    `settle`: a status conflict is settled (`gittasks resolve ID status`): the status was reached on one machine
    already, so the transition is not checked. `index` and `subtasks` (`task_index`, `_subtasks` of `doc`): made
    once by a caller that moves many tasks, instead of once a task."""
    index = index if index is not None else task_index(doc)
    task = index[task_id]
    old = task.get("status", rules.PENDING)
    old_owner = task.get("owner")
    if status not in rules.STATUSES:
        raise GittasksError(f"unknown status {status!r}; use one of: {', '.join(rules.STATUSES)}")
    if status == rules.BLOCKED and not (reason or "").strip():
        raise GittasksError("blocking a task needs a reason: give --reason TEXT")
    if old == status and not reopen:
        if status == rules.BLOCKED and reason != task.get("blocked_reason"):
            task["blocked_reason"] = reason
            change.stamp(task)
        if owner is not None and owner != task.get("owner"):
            task["owner"] = owner
            track_work(task, old, old_owner, change)
            change.stamp(task)
        return task
    if not settle and not rules.is_legal_transition(old, status, reopen=reopen):
        if old in rules.TERMINAL:
            hint = f"it is {old}; reopen it first with `gittasks reopen {task_id}`"
        else:
            allowed = ", ".join(sorted(rules.TRANSITIONS.get(old, ()))) or "none"
            hint = f"from {old} it can go to: {allowed}"
        raise GittasksError(f"task {task_id!r} cannot go from {old} to {status}: {hint}")
    now = rules.format_stamp(change.now)
    task["status"] = status
    if status == rules.IN_PROGRESS:
        if not task.get("started_at") or old in rules.TERMINAL:
            task["started_at"] = now
        task["completed_at"] = None
        task["blocked_reason"] = None
    elif status == rules.PENDING:
        task["completed_at"] = None
        task["blocked_reason"] = None
    elif status == rules.BLOCKED:
        task["blocked_reason"] = reason
    elif status in rules.TERMINAL:
        task["completed_at"] = now
        task["blocked_reason"] = None
        if outcome is not None:
            task["context"] = {**document.as_object(task.get("context")), "outcome": outcome}
    if owner is not None:
        task["owner"] = owner
    track_work(task, old, old_owner, change)
    change.stamp(task)
    if status == rules.COMPLETED:
        _note_completion(doc, task, change, index, subtasks)
        item = work_items.work_item(task, change.machine, change.now)
        if item is not None:
            change.work_items.append(item)
    return task


def _note_completion(
    doc: Document, task: Task, change: Change, index: dict[str, Task], subtasks: dict[str, list[Task]] | None
) -> None:
    blocks = task.get("blocks") or []
    waiting = rules.open_parents(doc["tasks"]) if blocks else set()
    for blocked_id in blocks:
        blocked = index.get(blocked_id)
        if blocked is not None and rules.is_ready(blocked, index, waiting):
            change.notes.append(f"now ready: {blocked_id} {blocked.get('subject', '')}")
    parent_id = task.get("parent")
    if not (isinstance(parent_id, str) and parent_id in index):
        return
    siblings = (
        subtasks[parent_id] if subtasks is not None else [t for t in doc["tasks"] if t.get("parent") == parent_id]
    )
    children = _finished_subtasks(index[parent_id], siblings)
    if children is None:
        return
    if not change.complete_parents:
        change.notes.append(f"every subtask of {parent_id} is completed: it is ready to complete")
        return
    _complete_parent(doc, index[parent_id], children, change, index, subtasks)


def _subtasks(doc: Document) -> dict[str, list[Task]]:
    """Each parent's subtasks, by the parent's id, in list order (one pass over the tasks)."""
    out: dict[str, list[Task]] = {}
    for task in doc["tasks"]:
        parent = task.get("parent")
        if isinstance(parent, str):
            out.setdefault(parent, []).append(task)
    return out


def _finished_subtasks(parent: Task, subtasks: list[Task]) -> list[Task] | None:
    """The `subtasks` of an open parent that count (cancelled ones do not) when all of them are completed, else
    None."""
    if parent.get("status") in rules.TERMINAL:
        return None
    children = [t for t in subtasks if t.get("status") != rules.CANCELLED]
    if not children or any(t.get("status") != rules.COMPLETED for t in children):
        return None
    return children


def _complete_parent(
    doc: Document,
    parent: Task,
    children: list[Task],
    change: Change,
    index: dict[str, Task] | None = None,
    subtasks: dict[str, list[Task]] | None = None,
) -> None:
    parent["context"] = {**document.as_object(parent.get("context")), "subtasks_completed": len(children)}
    if parent.get("status") != rules.IN_PROGRESS:
        set_status(doc, parent["id"], rules.IN_PROGRESS, change, index=index, subtasks=subtasks)
    set_status(doc, parent["id"], rules.COMPLETED, change, index=index, subtasks=subtasks)
    change.notes.append(f"completed {parent['id']} {parent.get('subject', '')}: {subtask_summary(children)}")


def settle_parents(doc: Document) -> Change | None:
    """Complete the open parents whose subtasks were completed on different machines (none saw the last one): what
    a merge does when `gittasks.autoCompleteParents` is on. The stamps and the machine are those of the subtask
    completed last, so every machine that merges the same versions writes the same bytes. The Change (its touched
    ids, notes, work items) or None when no parent was waiting."""
    subtasks = _subtasks(doc)
    if not any(_finished_subtasks(p, subtasks[p["id"]]) for p in doc["tasks"] if p["id"] in subtasks):
        return None
    doc["tasks"] = [dict(t) for t in doc["tasks"]]  # a merge's tasks may be the very objects of its inputs
    subtasks = _subtasks(doc)  # the copies: a parent completed below is seen completed by its own parent
    index = task_index(doc)
    settled: Change | None = None
    for parent in [p for p in doc["tasks"] if p["id"] in subtasks]:
        children = _finished_subtasks(parent, subtasks[parent["id"]])
        if children is None:  # not waiting, or completed meanwhile as the parent of one settled before it
            continue
        last = max(children, key=lambda t: (rules.ordering_stamp(t.get("completed_at")), t["id"]))
        moment = rules.parse_stamp(last.get("completed_at")) or rules.parse_stamp(last.get("updated_at"))
        change = Change(str(last.get("updated_by") or "unknown"), moment or rules.utc_now())
        if settled is not None:
            change.touched, change.notes, change.work_items = settled.touched, settled.notes, settled.work_items
        _complete_parent(doc, parent, children, change, index, subtasks)
        settled = change
    return settled


def subtask_summary(children: list[Task]) -> str:
    """One line on a parent's completed subtasks: how many, their time, billable minutes and files."""
    seconds = 0.0
    minutes = 0
    files: set[str] = set()
    for child in children:
        started, ended = rules.parse_stamp(child.get("started_at")), rules.parse_stamp(child.get("completed_at"))
        if started is not None and ended is not None and ended > started:
            seconds += (ended - started).total_seconds()
        context = document.as_object(child.get("context"))
        billable = context.get("billable_minutes")
        if isinstance(billable, int | float) and not isinstance(billable, bool):
            minutes += int(billable)
        listed = context.get("files_modified")
        files |= {f for f in listed if isinstance(f, str)} if isinstance(listed, list) else set()
    return (
        f"all {len(children)} subtasks completed in {round(seconds / 60)} min of work, "
        f"{minutes} billable min, {len(files)} file(s)"
    )


def track_work(task: Task, old_status: str, old_owner: Any, change: Change) -> None:
    """Who worked on a task and what held it up, in its context (as the seed's orchestrator records it): an owner
    starting work opens an `assigned_agents` entry (`agent`, `started`), which an owner change or the task's end
    closes (`completed`, `status`); blocking adds a `blockers_encountered` entry (`reason`, `at`), which going on
    closes (`resolved`). Lists that are not lists are left alone."""
    context = document.as_object(task.get("context"))
    agents, blockers = context.get("assigned_agents", []), context.get("blockers_encountered", [])
    if not isinstance(agents, list) or not isinstance(blockers, list):
        return
    now = rules.format_stamp(change.now)
    status, owner = task.get("status", rules.PENDING), task.get("owner")
    agents = [dict(a) if isinstance(a, dict) else a for a in agents]
    blockers = [dict(b) if isinstance(b, dict) else b for b in blockers]
    ended = status in rules.TERMINAL or (isinstance(old_owner, str) and owner != old_owner)
    for entry in agents:
        if isinstance(entry, dict) and entry.get("agent") == old_owner and "completed" not in entry and ended:
            entry.update(completed=now, status=status if owner == old_owner else "reassigned")
    if (
        isinstance(owner, str)
        and owner
        and status == rules.IN_PROGRESS
        and not any(isinstance(e, dict) and e.get("agent") == owner and "completed" not in e for e in agents)
    ):
        agents.append({"agent": owner, "started": now})
    if status == rules.BLOCKED and old_status != rules.BLOCKED:
        blockers.append({"reason": task.get("blocked_reason"), "at": now})
    if old_status == rules.BLOCKED and status != rules.BLOCKED:
        for entry in blockers:
            if isinstance(entry, dict) and "resolved" not in entry:
                entry["resolved"] = now
    updates = {k: v for k, v in (("assigned_agents", agents), ("blockers_encountered", blockers))
               if v != context.get(k, [])}  # fmt: skip
    if updates:
        task["context"] = {**context, **updates}


def delete_task(doc: Document, task_id: str, change: Change) -> Task:
    index = task_index(doc)
    task = index.pop(task_id)
    doc["tasks"] = [t for t in doc["tasks"] if t["id"] != task_id]
    for other in doc["tasks"]:
        touched = _remove(other, "blocks", task_id) | _remove(other, "blockedBy", task_id)
        if other.get("parent") == task_id:
            other["parent"] = None
            touched = True
        if touched:
            change.stamp(other)
    if task_id in change.touched:
        change.touched.remove(task_id)
    change.touched.insert(0, task_id)  # the deleted task leads: the commit's subject names it
    return task


def stamp_edit(before: Document | None, after: Document, change: Change) -> None:
    """An edit made outside gittasks (an editor, an assistant's Write) as if gittasks had made it: every task it
    added or changed gets `updated_at`/`updated_by`, and a status it changed gets the stamps that go with it
    (`started_at` when work starts, `completed_at` when it ends, cleared when it is reopened)."""
    old = {t["id"]: document.canonical_task(t) for t in (before or {}).get("tasks", [])}
    now = rules.format_stamp(change.now)
    for task in after["tasks"]:
        previous = old.get(task["id"])
        if previous is not None and previous == document.canonical_task(task):
            continue
        change.notes += work_items.task_numbers(task)  # minutes written as text: "45" is 45, as through every door
        status = task.get("status", rules.PENDING)
        if previous is None or previous.get("status", rules.PENDING) != status:
            if status == rules.IN_PROGRESS and not task.get("started_at"):
                task["started_at"] = now
            if status in rules.TERMINAL and not task.get("completed_at"):
                task["completed_at"] = now
            if status in rules.OPEN and previous is not None and task.get("completed_at"):
                task["completed_at"] = None
        if str(task.get("updated_at") or "") < now:
            task["updated_at"] = now
        task["updated_by"] = change.machine
        change.touched.append(task["id"])


def finish(doc: Document, change: Change) -> None:
    """Bookkeeping after a change: the file's `last_updated` moves forward."""
    if change.touched:
        doc["last_updated"] = rules.next_stamp(doc.get("last_updated"), change.now)
