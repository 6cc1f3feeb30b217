"""`gittasks sync`: commit what is pending, fetch, merge the task files field by field, push; retry lost races.

The merge never depends on this clone's git config: the task files are merged in-process (one keyed set of active
and archived tasks) and written into the merge commit through git's plumbing; every other file is merged by git's
own machinery (`git merge-tree`). Nothing touches the work tree until the merge commit exists; then a fast-forward
moves the branch, so an interrupted or refused sync leaves no merge in progress and can simply be re-run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from gittasks import document, failpoints, merge, rules, store, taskset
from gittasks.errors import GittasksError
from gittasks.git import GitError, Repo
from gittasks.workspace import Workspace, commit_message, one_line

MAX_ATTEMPTS = 10
STATE_FILE = "gittasks-sync.json"
_UNREACHABLE_HINTS = (
    "could not read from remote",
    "does not appear to be a git repository",
    "could not resolve host",
    "unable to access",
    "connection",
    "timed out",
    "not found",
)


@dataclass
class SyncReport:
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
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class SyncFailed(GittasksError):
    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        report.message = message
        self.report = report


# -- reading versions ---------------------------------------------------------------------------------------------


def task_files_at(repo: Repo, rev: str | None) -> dict[str, bytes]:
    """{path: bytes} of every task file in the commit `rev` (empty for None)."""
    if rev is None:
        return {}
    listing = repo.run("ls-tree", "-r", "-z", "--name-only", rev, "--", rules.ACTIVE_PATH, rules.TASKS_DIR)
    paths = [p for p in listing.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
    wanted = [p for p in paths if p == rules.ACTIVE_PATH or taskset.is_archive_path(p) or taskset.is_work_items_path(p)]
    return read_blobs(repo, rev, wanted)


def read_blobs(repo: Repo, rev: str, paths: list[str]) -> dict[str, bytes]:
    blobs = repo.blobs([f"{rev}:{p}" for p in paths])
    return {path: blob for path, blob in zip(paths, blobs, strict=True) if blob is not None}


@dataclass
class Merged:
    files: dict[str, bytes | None]
    conflicts: list[dict[str, Any]]
    incoming: list[dict[str, Any]]


def merge_task_files(
    base: dict[str, bytes], ours: dict[str, bytes], theirs: dict[str, bytes], *, have_base: bool = True
) -> Merged:
    """Merge three versions of all task files as one keyed set; the files to write (None: delete)."""
    b, o, t = taskset.fold(base), taskset.fold(ours), taskset.fold(theirs)
    result = merge.merge_documents(b.doc if have_base else None, o.doc, t.doc)
    files: dict[str, bytes | None] = dict(taskset.split(result.document))
    for path in sorted(set(b.work_items) | set(o.work_items) | set(t.work_items)):
        files[path] = merge.merge_bytes(
            b.work_items.get(path, b""), o.work_items.get(path, b""), t.work_items.get(path, b""), path
        )
    for path in set(ours) | set(theirs):
        files.setdefault(path, None)
    if rules.ACTIVE_PATH not in ours and rules.ACTIVE_PATH not in theirs and not result.document["tasks"]:
        files.pop(rules.ACTIVE_PATH, None)
    before = taskset.task_map(o.doc)
    after = taskset.task_map(result.document)
    incoming = []
    for tid, task in after.items():
        old = before.get(tid)
        if old != task:
            incoming.append(
                {
                    "id": tid,
                    "subject": task.get("subject", ""),
                    "change": "added" if old is None else "changed",
                    "machine": task.get("updated_by"),
                    "status": task.get("status"),
                }
            )
    for tid, task in before.items():
        if tid not in after:
            incoming.append({"id": tid, "subject": task.get("subject", ""), "change": "removed", "machine": None})
    incoming.sort(key=lambda item: document.natural_key(item["id"]))
    return Merged(files, result.conflicts, incoming)


# -- writing the merge --------------------------------------------------------------------------------------------


def tree_with_files(repo: Repo, tree: str, files: dict[str, bytes | None]) -> str:
    """The tree `tree` with the given files replaced (None: removed), built in a temporary index."""
    index = repo.git_dir / f"gittasks-index-{os.getpid()}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        repo.run("read-tree", tree, env=env)
        lines = []
        for path, data in sorted(files.items()):
            if data is None:
                lines.append(f"0 {'0' * len(tree)}\t{path}")
            else:
                blob = repo.out("hash-object", "-w", "--stdin", input=data)
                lines.append(f"100644 {blob}\t{path}")
        if lines:
            repo.run("update-index", "--index-info", input=("\n".join(lines) + "\n").encode("utf-8"), env=env)
        return repo.out("write-tree", env=env)
    finally:
        store.remove_file(index)


def merge_commit(ws: Workspace, theirs: str, label: str, report: SyncReport) -> str:
    """Make (not check out) the merge commit of HEAD and `theirs`; raises SyncFailed if other files conflict."""
    repo = ws.repo
    ours = repo.head()
    assert ours is not None
    bases = repo.run("merge-base", "--all", ours, theirs, check=False).stdout.decode().split()
    args = ["merge-tree", "--write-tree", "-z", "--name-only", "--no-messages"]
    if not bases:
        args.append("--allow-unrelated-histories")
    proc = repo.run(*args, ours, theirs, check=False, config=["merge.gittasks.driver=false"])
    if proc.returncode not in (0, 1):
        raise SyncFailed(f"git merge-tree failed ({one_line(proc.stderr.decode('utf-8', 'replace'), 120)}); "
                         "gittasks sync needs git 2.38 or later", report)  # fmt: skip
    parts = [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
    tree, conflicted = parts[0], sorted(set(parts[1:]))
    others = [p for p in conflicted if not (p == rules.ACTIVE_PATH or p.startswith(rules.TASKS_DIR + "/"))]
    if others:
        shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        raise SyncFailed(
            f"sync stopped: {shown} changed here and on {label} in ways git cannot merge; nothing was changed. "
            f"Merge them with `git pull` (task files merge by themselves), then run `gittasks sync` again",
            report,
        )
    base_rev = bases[0] if bases else None
    merged = merge_task_files(
        task_files_at(repo, base_rev), task_files_at(repo, ours), task_files_at(repo, theirs), have_base=bool(bases)
    )
    report.incoming = merged.incoming
    report.conflicts = merged.conflicts
    new_tree = tree_with_files(repo, tree, merged.files)
    ids = [item["id"] for item in merged.incoming]
    subjects = {item["id"]: item["subject"] for item in merged.incoming}
    stamp = rules.format_stamp(rules.utc_now())
    message = commit_message("sync", ids, subjects, ws.machine, stamp, title=f"sync: merge {label}")
    failpoints.hit("before-merge-commit")
    proc = repo.run(
        "commit-tree", "--no-gpg-sign", new_tree, "-p", ours, "-p", theirs, "-F", "-", input=message.encode("utf-8"),
        config=repo.identity_config(),
    )  # fmt: skip
    return proc.stdout.decode().strip()


def fast_forward(ws: Workspace, target: str, report: SyncReport) -> None:
    proc = ws.repo.run("merge", "--ff-only", "--quiet", "--no-stat", target, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        files = [ln.strip() for ln in err.splitlines() if ln.startswith(("\t", "    "))]
        shown = ", ".join(files[:5]) if files else one_line(err, 120)
        raise SyncFailed(
            f"sync stopped: your uncommitted changes to {shown} would be overwritten by what came in; nothing was "
            "changed. Commit or stash them, then run `gittasks sync` again",
            report,
        )


# -- remote -------------------------------------------------------------------------------------------------------


def pick_remote(ws: Workspace, remote: str | None) -> tuple[str, str, bool]:
    """(remote, branch, has upstream)."""
    repo = ws.repo
    branch = repo.branch()
    if branch is None:
        raise GittasksError("HEAD is detached; check out a branch (`git switch main`) before syncing")
    upstream_remote = repo.config_get(f"branch.{branch}.remote")
    upstream_merge = repo.config_get(f"branch.{branch}.merge")
    remotes = repo.out("remote").split()
    name = remote or ws.setting("remote") or upstream_remote
    if name is None:
        name = "origin" if "origin" in remotes else (remotes[0] if len(remotes) == 1 else None)
    if name is None:
        raise GittasksError(
            "no remote to sync with; add one with `git remote add origin URL` (or `gittasks init --remote URL`)"
            if not remotes
            else f"several remotes ({', '.join(remotes)}) and no upstream; choose one with --remote NAME"
        )
    if name not in remotes:
        raise GittasksError(f"no remote named {name!r}; see `git remote -v`")
    remote_branch = branch
    if upstream_merge and name == upstream_remote and upstream_merge.startswith("refs/heads/"):
        remote_branch = upstream_merge[len("refs/heads/") :]
    return name, remote_branch, bool(upstream_merge and name == upstream_remote)


def fetch(repo: Repo, remote: str, branch: str, report: SyncReport) -> str | None:
    """Fetch the remote branch; its tip, or None when the remote has no such branch yet."""
    tracking = f"refs/remotes/{remote}/{branch}"
    proc = repo.run("fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{branch}:{tracking}", check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "couldn't find remote ref" in err.lower():
            return None
        raise unreachable(repo, remote, branch, err, report)
    return repo.out("rev-parse", "--verify", "-q", tracking)


def unreachable(repo: Repo, remote: str, branch: str, err: str, report: SyncReport) -> SyncFailed:
    report.not_pushed = count_not_pushed(repo, remote, branch)
    return SyncFailed(
        f"could not reach {remote} ({one_line(err, 100)}); {report.not_pushed} changes not yet pushed, "
        "they stay committed here: run `gittasks sync` again when the remote is reachable",
        report,
    )


def count_not_pushed(repo: Repo, remote: str, branch: str) -> int:
    if repo.head() is None:
        return 0
    tracking = f"refs/remotes/{remote}/{branch}"
    has_tracking = repo.run("rev-parse", "--verify", "-q", tracking, check=False).returncode == 0
    spec = [f"{tracking}..HEAD"] if has_tracking else ["HEAD"]
    return int(repo.out("rev-list", "--count", *spec) or 0)


def push(repo: Repo, remote: str, branch: str, set_upstream: bool) -> tuple[str, str]:
    """('ok' | 'race' | 'refused' | 'unreachable', stderr)."""
    args = ["push", "--porcelain", "--quiet"]
    if set_upstream:
        args.append("--set-upstream")
    proc = repo.run(*args, remote, f"HEAD:refs/heads/{branch}", check=False)
    err = proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace")
    if proc.returncode == 0:
        return "ok", err
    low = err.lower()
    race_signs = ("[rejected]", "fetch first", "non-fast-forward", "stale info", "cannot lock ref", "but expected")
    if any(sign in low for sign in race_signs):
        return "race", err
    if "[remote rejected]" in low or "declined" in low or "protected" in low:
        return "refused", err
    if any(h in low for h in _UNREACHABLE_HINTS):
        return "unreachable", err
    return "refused", err


# -- the whole sync -----------------------------------------------------------------------------------------------


def sync(ws: Workspace, remote: str | None = None, progress: Callable[[str], None] | None = None) -> SyncReport:
    say = progress or (lambda _msg: None)
    report = SyncReport()
    repo = ws.repo
    with ws.lock:
        from gittasks import repair

        report.repaired = repair.repair_for_sync(ws)
        ws.preflight()
        name, branch, has_upstream = pick_remote(ws, remote)
        report.remote, report.branch = name, branch
        label = f"{name}/{branch}"
        delay = 0.05
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report.attempts = attempt
            say(f"fetching {label}")
            theirs = fetch(repo, name, branch, report)
            ours = repo.head()
            if theirs is not None and ours is None:
                fast_forward(ws, theirs, report)
                report.fast_forward = True
                report.incoming = merge_task_files({}, {}, task_files_at(repo, theirs)).incoming
            elif theirs is not None and ours is not None and ours != theirs:
                if _is_ancestor(repo, theirs, ours):  # we are ahead: nothing to merge
                    pass
                elif _is_ancestor(repo, ours, theirs):
                    before = task_files_at(repo, ours)
                    fast_forward(ws, theirs, report)
                    report.fast_forward = True
                    report.incoming = merge_task_files(before, before, task_files_at(repo, theirs)).incoming
                else:
                    say(f"merging {label}")
                    commit = merge_commit(ws, theirs, label, report)
                    failpoints.hit("after-merge-commit")
                    fast_forward(ws, commit, report)
                    failpoints.hit("after-merge-checkout")
                    report.merge_commit = commit
            ours = repo.head()
            if ours is None or ours == theirs:
                report.ok = True
                break
            report.outgoing = int(repo.out("rev-list", "--count", ours, *([f"^{theirs}"] if theirs else [])) or 0)
            say(f"pushing {report.outgoing} commit(s) to {label}")
            failpoints.hit("before-push")
            outcome, err = push(repo, name, branch, set_upstream=not has_upstream)
            failpoints.hit("after-push")
            if outcome == "ok":
                report.pushed = True
                report.ok = True
                break
            if outcome == "race":
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
                continue
            if outcome == "unreachable":
                raise unreachable(repo, name, branch, err, report)
            report.not_pushed = count_not_pushed(repo, name, branch)
            raise SyncFailed(
                f"{name} refused the push ({one_line(err, 100)}); {report.not_pushed} changes not yet pushed, "
                "they stay committed here",
                report,
            )
        else:
            report.not_pushed = count_not_pushed(repo, name, branch)
            raise SyncFailed(
                f"the remote kept moving: gave up after {MAX_ATTEMPTS} attempts; {report.not_pushed} changes not yet "
                "pushed, run `gittasks sync` again",
                report,
            )
        save_state(repo, report)
    ws.invalidate()
    return report


def _is_ancestor(repo: Repo, older: str, newer: str) -> bool:
    return repo.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


# -- machine-local state and status --------------------------------------------------------------------------------


def save_state(repo: Repo, report: SyncReport) -> None:
    state = {"last_sync": rules.format_stamp(rules.utc_now()), "remote": report.remote, "branch": report.branch}
    with contextlib.suppress(OSError):
        (repo.git_dir / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")


def load_state(repo: Repo) -> dict[str, Any]:
    try:
        value = json.loads((repo.git_dir / STATE_FILE).read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def status(ws: Workspace) -> dict[str, Any]:
    """Ahead/behind the remote-tracking branch (as of the last fetch), last sync time, open conflicts."""
    repo = ws.repo
    doc = ws.load()
    out: dict[str, Any] = {
        "machine": ws.machine,
        "remote": None,
        "branch": repo.branch(),
        "ahead": None,
        "behind": None,
        "last_sync": load_state(repo).get("last_sync"),
        "conflicts": len(doc.get("conflicts") or []),
        "tasks": len(doc["tasks"]),
    }
    try:
        name, branch, _ = pick_remote(ws, None)
    except GittasksError:
        return out
    out["remote"] = f"{name}/{branch}"
    tracking = f"refs/remotes/{name}/{branch}"
    head = repo.head()
    if head and repo.run("rev-parse", "--verify", "-q", tracking, check=False).returncode == 0:
        counts = repo.out("rev-list", "--left-right", "--count", f"HEAD...{tracking}").split()
        out["ahead"], out["behind"] = int(counts[0]), int(counts[1])
    elif head:
        out["ahead"] = int(repo.out("rev-list", "--count", "HEAD"))
        out["behind"] = 0
    return out


__all__ = ["GitError", "SyncFailed", "SyncReport", "status", "sync"]
