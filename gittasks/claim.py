"""Claiming a task across machines: `gittasks start` (and MCP `task_update` to in_progress) with a remote.

A claim is a start commit that reached the remote. Each attempt fetches the remote's task branch, brings it in
(fast-forward or the field-level merge, under the repository lock), checks the task, and builds the start commit on
that tip without moving the local branch; then pushes it as a fast-forward. The push is the compare-and-swap: the
remote takes it only while its branch is still the tip the check read. A lost race leaves nothing behind (the commit
was never on a branch) and the next attempt checks again, now seeing the winner. The local branch moves only after
the push landed. No network step runs under the lock, all of them within one `gittasks.syncTimeout`; when the remote
cannot be reached the task starts here only, as without claims, and says so.

Who holds a task: the task's `claimed_by` record ({machine, owner, session, since}) when it belongs to the task's
current start (`since` not before `started_at`), else the machine that changed it last. The same machine with the
same owner and session (each when known on both sides) is the same claimant: starting one's own task again is fine.
No printing here: the front ends print the notes and the one-line refusal.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gittasks import document, model, operations, render, rules, sync, taskcheck, trailers
from gittasks.document import Document
from gittasks.edits import Edit, Editor
from gittasks.errors import GittasksError
from gittasks.gitwords import Transfer
from gittasks.layout import CAS_ATTEMPTS, commit_files
from gittasks.workspace import Outcome, Workspace, yes_no

FIELD = "claimed_by"  # the task field that records who started it: {machine, owner?, session?, since}
TOOK_OVER = "took_over_from"  # inside it: whom a forced start took the task from
TRAILER = "Taken-Over-From"  # the commit trailer of a take-over: the previous holder's machine
ATTEMPTS = 10
ENV = "GITTASKS_CLAIMS"  # 0/false/no/off turns claims off for this process, as `gittasks.claims false` does
OFFLINE = "offline: started here only; a sync will record a conflict if another machine started it too"


@dataclass(frozen=True)
class Claimant:
    """Who starts a task: this machine, and the owner and the session when they are known."""

    machine: str
    owner: str | None = None
    session: str | None = None


@dataclass(frozen=True)
class Holder:
    """Who has a task in progress, and since when (a stamp; None when unknown)."""

    machine: str
    owner: str | None
    session: str | None
    since: str | None

    def record(self) -> dict[str, Any]:
        values = {"machine": self.machine, "owner": self.owner, "session": self.session, "since": self.since}
        return {k: v for k, v in values.items() if v is not None}


class ClaimRefused(GittasksError):
    """The task is in progress elsewhere: not started; the message names the holder and how to take it over."""

    def __init__(self, task_id: str, held: Holder, me: Claimant, force_hint: str) -> None:
        super().__init__(
            f"task {task_id} is in progress {describe(held, me)}; not started here: "
            f"{force_hint.format(id=task_id)} takes it over"
        )
        self.task_id = task_id
        self.holder = held


def enabled(ws: Workspace) -> bool:
    """Are claims on (`gittasks.claims`, on by default; `GITTASKS_CLAIMS=0` turns them off too)?"""
    if not yes_no(os.environ.get(ENV), True):
        return False
    return ws.flag("claims", True)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _recorded(task: dict[str, Any]) -> Holder | None:
    """The holder the task's `claimed_by` record names, when it belongs to the task's current start."""
    record = task.get(FIELD)
    if not isinstance(record, dict) or _text(record.get("machine")) is None:
        return None
    started, since = _text(task.get("started_at")), _text(record.get("since"))
    # a record from an earlier start (the task ended and was started again without a claim) says nothing now
    if started is not None and (since is None or since < started):
        return None
    return Holder(record["machine"], _text(record.get("owner")), _text(record.get("session")), since)


def holder(task: dict[str, Any]) -> Holder | None:
    """Who has `task` in progress (its claim record, else the machine that changed it last); None when it is not in
    progress."""
    if task.get("status") != rules.IN_PROGRESS:
        return None
    recorded = _recorded(task)
    if recorded is not None:
        return recorded
    machine = _text(task.get("updated_by")) or "an unknown machine"
    return Holder(machine, _text(task.get("owner")), None, _text(task.get("started_at")))


def same_claimant(held: Holder, me: Claimant) -> bool:
    if held.machine != me.machine:
        return False
    if held.owner and me.owner and held.owner != me.owner:
        return False
    return not (held.session and me.session and held.session != me.session)


def held_elsewhere(task: dict[str, Any], me: Claimant) -> Holder | None:
    """The holder of `task` when it is in progress and held by another claimant than `me`, else None."""
    held = holder(task)
    return held if held is not None and not same_claimant(held, me) else None


def describe(held: Holder, me: Claimant, now: Any = None) -> str:
    """'on PC-A (owner alice) since 2026-...Z (5 minutes ago)': where, by whom, since when, on one line."""
    where = "on this machine" if held.machine == me.machine else f"on {render.safe(held.machine)}"
    who = [f"owner {render.safe(held.owner)}"] if held.owner else []
    who += [f"session {render.safe(held.session)}"] if held.session else []
    text = where + (f" ({', '.join(who)})" if who else "")
    if held.since:
        text += f" since {render.safe(held.since)} ({render.humanize_age(held.since, now or rules.utc_now())})"
    return text


def mark(task: dict[str, Any], me: Claimant, change: model.Change, previous: Holder | None = None) -> None:
    """Record in `task` that `me` holds it from now (and, for a take-over, whom from); stamps the task."""
    record: dict[str, Any] = {"machine": me.machine, "since": rules.format_stamp(change.now)}
    owner = _text(task.get("owner")) or me.owner
    if owner:
        record["owner"] = owner
    if me.session:
        record["session"] = me.session
    if previous is not None:
        record[TOOK_OVER] = previous.record()
    task[FIELD] = record
    change.stamp(task)


@dataclass
class _Start:
    """What one start found: the holder a forced start took the task over from."""

    previous: Holder | None = None


def _starter(
    ws: Workspace, given: str, edit: Edit, me: Claimant, *, check: bool, force_hint: str, found: _Start
) -> Callable[[Document, model.Change], dict[str, Any]]:
    """The change a start makes: refuse (when `check`) a task held by another claimant unless the edit forces it,
    apply the edit, record the claim. Without `check` (offline) a task known to be held elsewhere keeps its
    holder's record: the start is as without claims, and a sync shows both."""

    def run(doc: Document, change: model.Change) -> dict[str, Any]:
        tid = ws.resolve(given, doc, changing=True)
        index = model.task_index(doc)
        was = index[tid].get("status", rules.PENDING)
        other = held_elsewhere(index[tid], me)
        if other is not None and check and not edit.force:
            raise ClaimRefused(tid, other, me, force_hint)
        task = Editor(doc, change).update(tid, edit)
        if task.get("status") != rules.IN_PROGRESS:
            return task
        owner = _text(task.get("owner"))
        claimant = dataclasses.replace(me, owner=owner or me.owner)
        recorded = _recorded(task)
        if other is not None and edit.force:
            found.previous = other
            change.action = "take-over"
            mark(task, claimant, change, other)
            change.notes.append(f"took task {tid} over from the holder {describe(other, me, change.now)}")
        elif other is not None:
            pass  # (offline) the holder's record stays
        elif was != rules.IN_PROGRESS or recorded is None or recorded.machine != me.machine or recorded.owner != owner:
            mark(task, claimant, change)  # a start, a new owner, or a task in progress with no record of this claimant
        return task

    return run


def update(ws: Workspace, given: str, edit: Edit, *, force_hint: str = "`gittasks start {id} --force`") -> Outcome:
    """Task `given` changed by `edit`, whichever door: a start (status in_progress, not a reopen) is claimed as
    `start` claims it; every other edit is a plain change."""
    if edit.status == rules.IN_PROGRESS and not edit.reopen:
        return start(ws, given, edit, force_hint=force_hint)
    return operations.update(ws, given, edit)


def start(
    ws: Workspace,
    given: str,
    edit: Edit,
    *,
    session: str | None = None,
    force_hint: str = "`gittasks start {id} --force`",
) -> Outcome:
    """Start task `given` with `edit` (its status in_progress): claimed on the remote when claims are on, the layout
    is the own branch and a remote is set; else as a plain change. Raises ClaimRefused when another machine or
    session holds the task and the edit does not force it; `force_hint` names the way to force it in the refusal
    (`{id}` stands for the task's id)."""
    me = Claimant(ws.machine, _text(edit.owner), session)
    if ws.layout.on_code_branch or not enabled(ws):  # a claim is pushed onto a task branch of its own
        return operations.update(ws, given, edit)
    try:
        name, branch, _ = sync.pick_remote(ws, None)
    except GittasksError:  # no remote (or no single one): nothing to claim against
        return operations.update(ws, given, edit)
    return _claim(ws, given, edit, me, name, branch, force_hint)


def _local(ws: Workspace, given: str, edit: Edit, me: Claimant, why: str) -> Outcome:
    """The start made here only (the remote out of reach): as without claims, recorded as this claimant's."""
    found = _Start()
    outcome = operations.change(ws, "update", _starter(ws, given, edit, me, check=False, force_hint="", found=found))
    outcome.notes.append(f"{OFFLINE} ({why})")
    return outcome


def _bring_in(ws: Workspace, theirs: str | None, label: str, notes: list[str]) -> bool:
    """(lock held) Bring the fetched remote tip into the local task branch: fast-forward, or the field-level merge of
    sync; False when the branch moved meanwhile (the caller tries again)."""
    repo = ws.repo
    ours = ws.layout.tip()
    if theirs is None or ours == theirs or (ours is not None and repo.is_ancestor(theirs, ours)):
        return True
    outcome = sync.SyncResult(remote=label)
    if ours is None or repo.is_ancestor(ours, theirs):
        return sync.move(ws, theirs, ours, outcome)
    merged = sync.merge_commit(ws, ours, theirs, label, outcome)
    if not sync.move(ws, merged, ours, outcome):
        return False
    ws.to_push = True  # the merge is a local commit until it is pushed
    if outcome.conflicts:
        notes.append(f"merged {label}: {len(outcome.conflicts)} conflict(s) recorded (`gittasks conflicts`)")
    return True


def _build(
    ws: Workspace, tip: str | None, run: Callable[[Document, model.Change], dict[str, Any]], found: _Start
) -> tuple[str | None, model.Change, dict[str, Any]]:
    """(lock held, files current) The start commit on `tip`, made without moving any branch; (None, ...) when the
    start changes nothing (the task is this claimant's already)."""
    raw = ws.layout.files_at(tip).get(rules.ACTIVE_PATH) if tip else None
    doc = document.load_document(raw, rules.ACTIVE_PATH) if raw is not None else {"tasks": []}
    change = model.Change(ws.machine, rules.utc_now(), complete_parents=ws.complete_parents)
    task = run(doc, change)
    if not change.touched:
        return None, change, task
    model.finish(doc, change)
    before = document.load_document(raw, rules.ACTIVE_PATH) if raw is not None else None
    taskcheck.check_document(doc, rules.ACTIVE_PATH, before=before)
    subjects = {t["id"]: str(t.get("subject", "")) for t in doc["tasks"]}
    extra = dict(ws.door_trailers())
    body: list[str] = []
    if found.previous is not None:
        extra[TRAILER] = found.previous.machine
        body.append(f"Took the task over from the holder {describe(found.previous, Claimant(''), change.now)}.")
    message = trailers.message(
        change.action or "update", change.touched, subjects, ws.machine, rules.format_stamp(change.now),
        extra=extra, body=body,
    )  # fmt: skip
    commit = commit_files(ws.repo, tip, {rules.ACTIVE_PATH: document.dumps(doc)}, [tip] if tip else [], message)
    return commit, change, task


def _land(ws: Workspace, commit: str, tip: str | None, label: str, notes: list[str]) -> None:
    """(after the push landed) Move the local task branch to the claimed commit, merging what was committed here
    meanwhile, and write the files."""
    with ws.lock:
        for _ in range(CAS_ATTEMPTS):
            ours = ws.layout.tip()
            if ours == tip:
                landed = sync.move(ws, commit, tip, sync.SyncResult(remote=label))
            else:  # committed here meanwhile: merged with the claim (or the claim is in it already)
                landed = _bring_in(ws, commit, label, notes)
            if landed:
                return
    raise GittasksError(f"the task branch {ws.branch} kept moving; the claim is on {label}: run `gittasks sync`")


def _unreached(name: str, deadline: sync.Deadline, transfer: Transfer) -> str:
    return f"could not reach {name}: {trailers.one_line(deadline.why(transfer), 100)}"


def _claim(ws: Workspace, given: str, edit: Edit, me: Claimant, name: str, branch: str, force_hint: str) -> Outcome:
    repo = ws.repo
    deadline = sync.Deadline.of(ws)
    label = f"{name}/{branch}"
    tracking = f"refs/remotes/{name}/{branch}"
    notes: list[str] = []
    for _attempt in range(ATTEMPTS):
        fetched = deadline.fetch(repo, name, f"refs/heads/{branch}", tracking)
        if fetched.kind in ("unreachable", "denied"):
            return _local(
                ws, given, edit, me, f"could not reach {name}: {trailers.one_line(deadline.why(fetched), 100)}"
            )
        theirs = repo.ref(tracking) if fetched.kind == "ok" else None
        found = _Start()
        run = _starter(ws, given, edit, me, check=True, force_hint=force_hint, found=found)
        with ws.lock:
            ws.invalidate()
            ws.preflight()
            ws.check_can_commit()
            if not _bring_in(ws, theirs, label, notes):
                continue
            tip = ws.layout.tip()
            commit, change, task = _build(ws, tip, run, found)
        if commit is None:  # this claimant's already: nothing to push for it
            return Outcome(None, [], [*notes, *change.notes], task)
        problem = sync.unreadable_file(repo, commit, theirs)
        if problem is not None:  # another machine could not read what the push would send
            return _local(ws, given, edit, me, f"not pushed: {problem}")
        pushed = deadline.push(repo, name, f"{commit}:refs/heads/{branch}", set_upstream=False)
        if pushed.kind == "ok":
            known = repo.ref(tracking)
            if known != commit:  # a push by commit id does not move the remote-tracking branch itself
                repo.update_ref(tracking, commit, known, "gittasks: claimed")
            ws.to_push = False  # the push carried every commit of this process (a merge in `_land` is new)
            _land(ws, commit, tip, label, notes)
            ws.invalidate()
            return Outcome(commit, change.touched, [*notes, *change.notes], task)
        if pushed.kind == "race":  # the remote moved since the fetch: fetch again and check again
            time.sleep(min(0.02 + random.random() * 0.1, deadline.left()))
            continue
        if pushed.kind in ("unreachable", "denied"):
            return _local(
                ws, given, edit, me, f"could not reach {name}: {trailers.one_line(deadline.why(pushed), 100)}"
            )
        return _local(ws, given, edit, me, f"{name} refused the push: {trailers.one_line(pushed.detail, 100)}")
    raise GittasksError(f"could not claim the task: {label} kept moving ({ATTEMPTS} attempts); run the command again")
