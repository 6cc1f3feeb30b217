"""`gittasks sync`: commit what is pending, fetch, merge the task files field by field, push; retry lost races.

The merge never depends on this clone's git config: the task files are merged in-process (one keyed set of active
and archived tasks) and written into the merge commit through git's plumbing; every other file is merged by git's
own machinery (`git merge-tree`). Nothing touches the work tree until the merge commit exists; then a fast-forward
moves the branch, so an interrupted or refused sync leaves no merge in progress and can simply be re-run.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gittasks import (
    document,
    failpoints,
    follow_migrate,
    history,
    processes,
    render,
    repair,
    rules,
    sync_status,
    taskbranch,
    trailers,
)
from gittasks.bad_files import bad_file, made_by
from gittasks.document import DocumentError
from gittasks.errors import GittasksError
from gittasks.git import GitError, Repo
from gittasks.gitwords import HELD_LOCK, Transfer, lock_left_behind
from gittasks.layout import MOVE_HINT, MoveRefused, commit_files
from gittasks.merge import incoming, merge_task_files
from gittasks.sync_status import pick_remote
from gittasks.trailers import one_line
from gittasks.workspace import FETCH_CODE, Workspace

MAX_ATTEMPTS = 10
END_GRACE = 2.0  # seconds a bounded sync that ran out of time has to end its git steps before it is killed
CODE_SHARE = 0.5  # of what is left of the deadline, the most the fetch that also carries the code branches may take


@dataclass
class SyncResult:
    """What one sync did (`sync --json` prints it): the remote and branch, whether it got through and pushed, the
    merge commit or fast-forward, the tasks that came in, the conflicts recorded, what is not pushed yet."""

    remote: str = ""
    branch: str = ""
    ok: bool = False
    pushed: bool = False
    merge_commit: str | None = None
    fast_forward: bool = False
    incoming: list[dict[str, Any]] = field(default_factory=list)
    outgoing: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    not_pushed: int = 0
    attempts: int = 0
    repaired: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)  # what the merge did besides merging (a parent completed)
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class SyncFailed(GittasksError):
    """A sync that did not get through; `kind` says why in a word: offline (the remote not reached in time),
    credentials, refused (the remote turned the push down), or error (anything to fix here first)."""

    def __init__(self, message: str, result: SyncResult, kind: str = "error", reason: str | None = None) -> None:
        super().__init__(message)
        result.message = message
        self.result = result
        self.kind = kind
        self.reason = reason or message  # the why alone, without the advice (a status line, `watch`)


@dataclass(frozen=True)
class Deadline:
    """The one bound on a whole sync's network steps (`gittasks.syncTimeout`): every fetch and push waits only for
    what is left of it, so a silent remote costs that long in all, however many steps the layout takes."""

    seconds: float
    ends: float

    @classmethod
    def of(cls, ws: Workspace) -> Deadline:
        seconds = network_timeout(ws)
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def fetch(self, repo: Repo, remote: str, source: str, target: str) -> Transfer:
        left = self.left()
        return repo.fetch(remote, source, target, left) if left else Transfer("unreachable")

    def push(self, repo: Repo, remote: str, refspec: str, *, set_upstream: bool) -> Transfer:
        left = self.left()
        return repo.push(remote, refspec, left, set_upstream=set_upstream) if left else Transfer("unreachable")

    def why(self, transfer: Transfer) -> str:
        """Why a step could not reach the remote: its silence once the deadline has passed, else git's words."""
        return (
            f"offline: no answer within {self.seconds:g} s, gittasks.syncTimeout"
            if not self.left()
            else transfer.detail
        )


# -- writing the merge --------------------------------------------------------------------------------------------


def merge_commit(ws: Workspace, ours: str, theirs: str, label: str, result: SyncResult) -> str:
    """Make (not check out) the merge commit of `ours` and `theirs`; raises SyncFailed if other files conflict."""
    repo = ws.repo
    bases = repo.merge_bases(ours, theirs)
    try:
        tree, conflicted = repo.merge_tree(ours, theirs, unrelated=not bases)
    except GitError as exc:
        raise SyncFailed(str(exc), result) from None
    others = [p for p in conflicted if not (p == rules.ACTIVE_PATH or p.startswith(rules.TASKS_DIR + "/"))]
    if others:
        shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        raise SyncFailed(
            f"sync stopped: {shown} changed here and on {label} in ways git cannot merge; nothing was changed. "
            f"Merge them with `git pull` (task files merge by themselves), then run `gittasks sync` again",
            result,
        )
    base_rev = bases[0] if bases else None
    merged = merge_task_files(
        taskbranch.files_at(repo, base_rev),
        taskbranch.files_at(repo, ours),
        taskbranch.files_at(repo, theirs),
        have_base=bool(bases),
        complete_parents=ws.complete_parents,
        deleted_by=(
            lambda tid: history.deletion(repo, tid, ours, base_rev),
            lambda tid: history.deletion(repo, tid, theirs, base_rev),
        ),
        field_time=(history.field_times(repo, ours, base_rev), history.field_times(repo, theirs, base_rev)),
    )
    result.incoming = merged.incoming
    result.conflicts = merged.conflicts
    result.settled = merged.notes
    ids = [item["id"] for item in merged.incoming]
    subjects = {item["id"]: item["subject"] for item in merged.incoming}
    stamp = rules.format_stamp(rules.utc_now())
    body = [f"Conflicts recorded ({len(merged.conflicts)}):"] if merged.conflicts else []
    body += [f"- {render.conflict_line(record)}" for record in merged.conflicts]
    body += [f"Then {note}" for note in merged.notes]
    message = trailers.message("sync", ids, subjects, ws.machine, stamp, title=f"sync: merge {label}", body=body)
    failpoints.hit("before-merge-commit")
    return commit_files(repo, tree, merged.files, [ours, theirs], message)


def move(ws: Workspace, target: str, old: str | None, result: SyncResult) -> bool:
    """Move the local tip from `old` to `target` through the layout (the task branch's compare-and-swap, or the
    current branch's fast-forward) and bring it into the work tree; False when it moved meanwhile."""
    try:
        return ws.layout.move(target, old, f"gittasks: sync {result.remote}")
    except MoveRefused as exc:
        raise SyncFailed(str(exc), result) from None


# -- remote -------------------------------------------------------------------------------------------------------


def unreachable(
    ws: Workspace, local: str | None, tracking: str, detail: str, result: SyncResult, kind: str = "unreachable"
) -> SyncFailed:
    """A fetch or push that did not get through: the remote not reached, or (`kind` 'denied') its credentials."""
    result.not_pushed = count_not_pushed(ws.repo, local, tracking)
    if kind == "denied":
        return SyncFailed(
            f"{result.remote} did not accept the credentials ({one_line(detail, 100)}); {result.not_pushed} changes "
            f"not yet pushed, they stay committed here: fix the password, token or ssh key git uses for "
            f"{result.remote} (`git fetch {result.remote}` shows the same), then run `gittasks sync` again",
            result,
            "credentials",
            f"{result.remote} did not accept the credentials ({one_line(detail, 160)})",
        )
    return SyncFailed(
        f"could not reach {result.remote} ({one_line(detail, 100)}); {result.not_pushed} changes not yet pushed, "
        "they stay committed here: run `gittasks sync` again when the remote is reachable",
        result,
        "offline",
        f"could not reach {result.remote} ({one_line(detail, 160)})",
    )


def unreadable_file(repo: Repo, ours: str, theirs: str | None) -> str | None:
    """The first task file that a push of `ours` would send and another machine could not read or merge (conflict
    markers, invalid JSON, a task without an id, ...: `document.check_file`), None when there is none. Only the files
    that differ from `theirs` (the remote's tip, when known) are read."""
    where = (rules.ACTIVE_PATH, rules.TASKS_DIR)
    paths = repo.changed_paths(theirs, ours, where) if theirs else repo.paths_at(ours, where)
    files = repo.files_at(ours, [p for p in paths if taskbranch.is_task_path(p)])
    for rel, raw in sorted(files.items()):
        try:
            document.check_file(raw, rel)
        except DocumentError as exc:
            return str(exc)
    return None


def check_incoming(repo: Repo, ours: str | None, theirs: str, label: str, result: SyncResult) -> None:
    """Refuse (SyncFailed, one line) to move to or merge the remote's commit `theirs` while one of its task files
    that differ from the local tip `ours` is not a valid task file (`document.check_file`: conflict markers, JSON
    the reader refuses, a task without an id, ...): no branch moves, so this clone keeps its last good list and the
    next sync asks again. Only the tip's files count: they are all a move or a merge takes in, and a later commit
    that fixes the file is taken as soon as it comes; a bad commit in between stays in the history only."""
    where = (rules.ACTIVE_PATH, rules.TASKS_DIR)
    paths = repo.changed_paths(ours, theirs, where) if ours else repo.paths_at(theirs, where)
    found = bad_file(repo.files_at(theirs, [p for p in paths if taskbranch.is_task_path(p)]))
    if found is None:
        return
    rel, problem = found
    commit, machine = made_by(repo, theirs, rel)
    result.not_pushed = count_not_pushed(repo, ours, f"refs/remotes/{label}")
    raise SyncFailed(
        one_line(
            f"not synced: {problem}: this task file came from {label} in commit {commit[:10]}, made on {machine}. "
            f"Nothing was taken in: this clone keeps working on its last good list{f' ({ours[:10]})' if ours else ''}. "
            f"Fix the file on {machine} (`gittasks doctor` there says how), then run `gittasks sync` again",
            1000,
        ),
        result,
    )


def count_not_pushed(repo: Repo, local: str | None, tracking: str) -> int:
    if local is None:
        return 0
    known = repo.ref(tracking)
    return repo.count(local, f"^{known}") if known else repo.count(local)


def _foreign_commits(repo: Repo, ours: str | None, theirs: str | None) -> list[str]:
    """Subjects of commits that a sync of `ours` with `theirs` would push or merge and that are not task changes."""
    specs = []
    if ours and theirs:
        specs = [[ours, f"^{theirs}"], [theirs, f"^{ours}"]]
    elif ours:
        specs = [[ours]]
    found = []
    for spec in specs:
        found += [line for line in repo.subjects(*spec) if line and not trailers.is_gittasks_subject(line)]
    return found


def _check_lock(transfer: Transfer, remote: str, result: SyncResult, *, there: bool) -> None:
    """A fetch or push that failed on a git lock file that exists is neither offline nor a lost race: retrying never
    gets past a lock a killed git left behind. Named in one line (`there`: the remote's own lock, a push's)."""
    held = HELD_LOCK.search(transfer.detail) if transfer.kind != "ok" else None
    if held is None:
        return
    if there:
        raise SyncFailed(
            f"{remote} could not lock its branch: {held.group(1)} exists there (a git process on the remote holds "
            "it, or one was killed and left it behind); once no git runs there, whoever runs the remote removes it; "
            "then run `gittasks sync` again",
            result,
            "refused",
        )
    raise SyncFailed(lock_left_behind(held.group(1)), result)


def _check_task_branch(ws: Workspace, theirs: str, label: str, result: SyncResult) -> None:
    """Refuse, in one line, a remote branch under the task branch's name that is not a task branch (another tool's,
    someone's code): `init` would have refused it, so sync neither merges it nor pushes over it. A task branch holds
    the task list at its tip, and shares history with this one or starts with a gittasks commit (another machine's
    own start, merged as unrelated histories)."""
    repo = ws.repo
    checked: set[str] = repo.cache.setdefault("task-branches-checked", set())
    ours = ws.task_branch_tip()
    if theirs in checked or theirs == ours or (ours is not None and repo.is_ancestor(theirs, ours)):
        return
    why = None
    if rules.ACTIVE_PATH not in taskbranch.files_at(repo, theirs):
        why = f"it holds no {rules.ACTIVE_PATH}"
    elif ours is not None and not repo.merge_bases(ours, theirs):
        roots = repo.out("rev-list", "--max-parents=0", "--format=%s", theirs).splitlines()
        if not any(trailers.is_gittasks_subject(line) for line in roots if not line.startswith("commit ")):
            why = f"it shares no history with {ws.branch} here and no gittasks commit starts it"
    if why is not None:
        raise SyncFailed(
            f"{label} is not a task branch ({why}); gittasks neither merges it nor pushes over it: name the task "
            f"branch otherwise on every machine with `git config gittasks.branch NAME`",
            result,
        )
    checked.add(theirs)


def _tell_other_names(ws: Workspace, name: str, deadline: Deadline, result: SyncResult) -> None:
    """Machines on different task-branch names (`gittasks.branch` set on one machine only) keep two lists: after a
    rename, the remote's branch under the old name is fetched too; commits there that this branch lacks are named, and
    a rename marker (`Renamed-To:`) is pushed onto it, from which the machines still on the old name learn the new
    one at their next sync."""
    repo = ws.repo
    ours = ws.task_branch_tip()
    previous = (ws.setting("previousBranch") or "").strip()
    if ours is not None and previous and previous != ws.branch:
        tracking = f"refs/remotes/{name}/{previous}"
        fetched = deadline.fetch(repo, name, f"refs/heads/{previous}", tracking)
        tip = repo.ref(tracking) if fetched.kind == "ok" else None
        if tip is not None and not repo.is_ancestor(tip, ours):
            count = repo.count(tip, f"^{ours}")
            ws.messages.append(
                f"{name}/{previous} has {count} task commit(s) that {ws.branch} lacks (machines still on the name "
                f"{previous}); they are not merged: set `git config gittasks.branch {ws.branch}` there and sync"
            )
        elif (
            tip is not None
            and repo.out("log", "-1", f"--format=%(trailers:key={RENAMED_TO},valueonly)", tip) != ws.branch
        ):
            stamp = rules.format_stamp(rules.utc_now())
            message = trailers.message(
                "rename", [], {}, ws.machine, stamp, title=f"rename: the task branch is now {ws.branch}",
                extra={RENAMED_TO: ws.branch},
            )  # fmt: skip
            marker = repo.commit_tree(f"{tip}^{{tree}}", [tip], message)
            deadline.push(repo, name, f"{marker}:refs/heads/{previous}", set_upstream=False)  # (told next time if not)
        return
    came = repo.out("log", "-n", "50", f"--format=%(trailers:key={RENAMED_TO},valueonly)", ws.branch_ref).split()
    renamed = next((n for n in came if n != ws.branch), None)
    if renamed is not None:
        ws.messages.append(
            f"another machine renamed the task branch to {renamed}; its changes go there from now on: set "
            f"`git config gittasks.branch {renamed}` here too (the next command starts it with this history)"
        )


RENAMED_TO = "Renamed-To"


# -- the whole sync -----------------------------------------------------------------------------------------------


def _fetch(ws: Workspace, deadline: Deadline, name: str, branch: str, tracking: str, *, code: bool) -> Transfer:
    """Fetch the remote's `branch` into `tracking`. With `code`, the same fetch (one network step) also updates the
    remote-tracking refs of the remote's code branches, within CODE_SHARE of what is left of the deadline. When it
    does not get through, unless the task branch is missing there or the credentials were refused (which a second
    fetch would only repeat), the task branch is fetched alone within the rest, exactly as without the setting: a
    code branch's ref git could not write (a lock left behind, `origin/a` kept while the remote now has `a/b`) or a
    first download of the code too long for its share never fails a sync, and a silent remote still costs the one
    deadline in all. The code branches are then told about in a message, not fetched."""
    source = f"refs/heads/{branch}"
    if not code:
        return deadline.fetch(ws.repo, name, source, tracking)
    share = deadline.left() * CODE_SHARE
    ends = time.monotonic() + share
    both = ws.repo.fetch(name, source, tracking, share, code=True) if share else Transfer("unreachable")
    if both.kind in ("ok", "missing", "denied"):
        return both
    why = f"not done within {share:.3g} s" if time.monotonic() >= ends else one_line(both.detail, 160)
    alone = deadline.fetch(ws.repo, name, source, tracking)
    if alone.kind == "ok":
        ws.messages.append(
            f"the code branches of {name} were not fetched ({why}); the task branch was synced alone, so code "
            f"commits pushed from other machines may be missing from `gittasks log ID`: `git fetch {name}` brings "
            f"them or shows why (`git config gittasks.{FETCH_CODE} false` stops fetching them)"
        )
    return alone


def _follow_a_migrate(ws: Workspace, remote: str | None, result: SyncResult, deadline: Deadline) -> None:
    """Inline layout: fetch the remote's task branch too; when the list moved there (`gittasks migrate` on another
    clone), follow it in one step (`Workspace.follow_moved_list`: this clone's inline tasks merged onto it, the
    current branch no longer tracking the task files), then sync the task branch instead of the current branch."""

    try:
        name, _, _ = pick_remote(ws, remote)
    except GittasksError:
        return  # (a stopped rebase, no remote, ...) the inline sync itself says what to do
    tracking = f"refs/remotes/{name}/{ws.branch}"
    fetched = deadline.fetch(ws.repo, name, f"refs/heads/{ws.branch}", tracking)
    if fetched.kind not in ("ok", "missing") or ws.repo.ref(tracking) is None:
        if follow_migrate.came_in(ws.repo):  # never mend git's merge by tracking the list on the code branch again
            reached = fetched.kind in ("ok", "missing")
            raise SyncFailed(follow_migrate.not_there_yet(ws.branch, name, reached=reached), result)
        return
    ws.invalidate()
    ws.follow_moved_list()


def sync(
    ws: Workspace,
    remote: str | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    only_task_commits: bool = False,
) -> SyncResult:
    """Commit what is pending, fetch, merge, push. The network is used only outside the repository lock, all its
    steps within one deadline; the first fetch also brings the remote's code branches when `ws.fetches_code`, except
    for `only_task_commits`. `only_task_commits` (the session-start hook, inline layout) refuses to push or merge a
    commit that is not a gittasks change."""

    say = progress or (lambda _msg: None)
    result = SyncResult()
    repo = ws.repo
    deadline = Deadline.of(ws)
    if ws.layout.on_code_branch:  # a migrate elsewhere may have moved the list to a task branch
        _follow_a_migrate(ws, remote, result, deadline)
    with ws.lock:
        if ws.layout.on_code_branch:  # git's line merges may have left what only a field merge mends
            result.repaired = repair.repair_for_sync(ws)
        ws.invalidate()
        ws.preflight()
        layout = ws.layout  # (as a followed migrate left it)
        name, branch, has_upstream = pick_remote(ws, remote)
    result.remote, result.branch = name, branch
    label = f"{name}/{branch}"
    tracking = f"refs/remotes/{name}/{branch}"
    code = ws.fetches_code and not only_task_commits  # (the session start's bounded sync: the task list alone)
    delay = 0.05
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result.attempts = attempt
        say(f"fetching {label}{' and the code branches' if code and attempt == 1 else ''}")
        fetched = _fetch(ws, deadline, name, branch, tracking, code=code and attempt == 1)  # (a retry: tasks alone)
        _check_lock(fetched, name, result, there=False)
        if fetched.kind in ("unreachable", "denied"):
            raise unreachable(ws, layout.tip(), tracking, deadline.why(fetched), result, fetched.kind)
        theirs = repo.ref(tracking) if fetched.kind == "ok" else None
        if theirs is not None and not layout.on_code_branch:
            _check_task_branch(ws, theirs, label, result)
        with ws.lock:
            ours = layout.tip()
            if only_task_commits and layout.on_code_branch:  # a push of the current branch carries code
                foreign = _foreign_commits(repo, ours, theirs)
                if foreign:
                    raise SyncFailed(
                        f"not synced: {len(foreign)} commit(s) on the current branch are not task changes (e.g. "
                        f"{one_line(foreign[0], 60)!r}); a session start never pushes or merges code. Run "
                        f"`gittasks sync` yourself, or {MOVE_HINT}",
                        result,
                    )
            moved = True
            if theirs is not None and ours is None:
                check_incoming(repo, None, theirs, label, result)
                before: dict[str, bytes] = {}
                moved = move(ws, theirs, None, result)
                result.fast_forward = True
                result.incoming = merge_task_files(before, before, taskbranch.files_at(repo, theirs)).incoming
            elif theirs is not None and ours is not None and ours != theirs:
                if repo.is_ancestor(theirs, ours):  # we are ahead: nothing to merge
                    pass
                elif repo.is_ancestor(ours, theirs):
                    check_incoming(repo, ours, theirs, label, result)
                    before = taskbranch.files_at(repo, ours)
                    moved = move(ws, theirs, ours, result)
                    result.fast_forward = True
                    result.incoming = incoming(before, taskbranch.files_at(repo, theirs))
                else:
                    check_incoming(repo, ours, theirs, label, result)
                    say(f"merging {label}")
                    commit = merge_commit(ws, ours, theirs, label, result)
                    failpoints.hit("after-merge-commit")
                    moved = move(ws, commit, ours, result)
                    failpoints.hit("after-merge-checkout")
                    result.merge_commit = commit
            if not moved:
                continue
            ours = layout.tip()
        if ours is None or ours == theirs:
            result.ok = True
            break
        problem = unreadable_file(repo, ours, theirs)
        if problem is not None:
            result.not_pushed = count_not_pushed(repo, ours, tracking)
            raise SyncFailed(
                f"not pushed: {problem} (committed in {ours[:10]}); every other machine's sync would stop on it, so "
                "nothing was pushed: fix it, then run `gittasks sync` again",
                result,
            )
        result.outgoing = repo.count(ours, *([f"^{theirs}"] if theirs else []))
        say(f"pushing {result.outgoing} commit(s) to {label}")
        failpoints.hit("before-push")
        pushed = deadline.push(
            repo, name, f"{layout.ref}:refs/heads/{branch}", set_upstream=layout.on_code_branch and not has_upstream
        )
        failpoints.hit("after-push")
        _check_lock(pushed, name, result, there=True)
        if pushed.kind == "ok":
            known = repo.ref(tracking)
            if not layout.on_code_branch and known != ours:  # a remote without a fetch refspec: git did not note it
                repo.update_ref(tracking, ours, known, "gittasks: pushed")
            result.pushed = True
            result.ok = True
            break
        if pushed.kind == "race":
            time.sleep(min(delay * (1 + random.random()), deadline.left()))
            delay = min(delay * 2, 2.0)
            continue
        if pushed.kind in ("unreachable", "denied"):
            raise unreachable(ws, layout.tip(), tracking, deadline.why(pushed), result, pushed.kind)
        result.not_pushed = count_not_pushed(repo, layout.tip(), tracking)
        raise SyncFailed(
            f"{name} refused the push ({one_line(pushed.detail, 100)}); {result.not_pushed} changes not yet pushed, "
            f"they stay committed here: run `gittasks sync` again once {name} takes pushes from you",
            result,
            "refused",
            f"{name} refused the push ({one_line(pushed.detail, 160)})",
        )
    else:
        result.not_pushed = count_not_pushed(repo, layout.tip(), tracking)
        raise SyncFailed(
            f"the remote kept moving: gave up after {MAX_ATTEMPTS} attempts; {result.not_pushed} changes not yet "
            "pushed, run `gittasks sync` again",
            result,
            "refused",
            f"the remote kept moving: gave up after {MAX_ATTEMPTS} attempts",
        )
    sync_status.save_last_sync(repo, result.remote, result.branch)
    if not layout.on_code_branch:  # a rename of the task branch is told to the machines still on the old name
        _tell_other_names(ws, name, deadline, result)
    ws.invalidate()
    ws.to_push = False  # what this process committed is on the remote now: no background sync needed for it
    return result


__all__ = ["GitError", "SyncFailed", "SyncResult", "sync"]


def network_timeout(ws: Workspace) -> float:
    """How long a sync's network steps may take in all (`gittasks.syncTimeout`, seconds; 30 by default)."""
    return ws.sync_timeout


def run_in_subprocess(root: Path, timeout: float, *, tasks_only: bool = False) -> str | None:
    """Run `gittasks sync` in a process group of its own and wait at most `timeout` seconds; then the whole group is
    ended, and the git network steps it started in groups of their own with it (`processes.end_group`). None when
    it synced; else why not, in one line (its error, or that the remote did not answer in time)."""
    args = [sys.executable, "-m", "gittasks", "sync", *(["--tasks-only"] if tasks_only else [])]
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: nothing left running can hold this process up
        child = subprocess.Popen(
            args, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, **processes.own_group()
        )
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            processes.end_group(child, grace=END_GRACE)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
            return f"the remote did not answer within {timeout:g} s"
        if code == 0:
            return None
        err.seek(0)
        lines = [ln.strip() for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    last = lines[-1] if lines else f"sync exited {code}"
    return one_line(last.removeprefix("gittasks: "), 300)
