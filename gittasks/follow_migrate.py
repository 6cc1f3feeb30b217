"""An inline clone following a migrate: the task list moved to a task branch (`gittasks migrate` here, interrupted,
or on another clone), and this clone follows it in one step: its own inline tasks merged onto the task branch
(pushed by the next sync), the current branch made to stop tracking the task files as migrate's own commit does,
the layout switched to the own branch.
"""

from __future__ import annotations

from gittasks import rules, taskbranch, taskset, trailers
from gittasks.document import DocumentError
from gittasks.errors import GittasksError
from gittasks.git import Repo
from gittasks.layout import BRANCH, TASK_PATHS, BranchMoved, Host, commit_on
from gittasks.layout_branch import BranchLayout, not_a_task_branch
from gittasks.outside_edits import files_changed_ids, keeping_base, merge_edit, same_files


def moved_list(host: Host) -> tuple[str, str | None] | None:
    """Inline layout: has the task list moved to a task branch (`gittasks migrate` on another clone, or here and
    interrupted)? (the task-branch commit to follow, the inline commit its list came from when a migrate made
    it); None when it has not. A migrate commit pulled without the task branch (`git pull origin main` fetches
    main alone) fetches the task branch from the remote."""
    repo = host.repo
    remote = host.remote_task_branch()
    found = repo.ref(host.branch_ref) or (remote[1] if remote else None)
    if found is not None:
        origin = repo.root_trailer(found, trailers.MIGRATED_FROM)
        if origin:
            return found, origin
        # a task branch that no migrate made: followed once the current branch no longer tracks the list
        head_tracks = repo.show("HEAD", rules.ACTIVE_PATH) is not None
        return (found, None) if repo.head() is not None and not head_tracks else None
    if not came_in(repo):  # a migrate commit that came in without the task branch: fetch it
        return None
    fetched = _fetch_task_branch(host)
    origin = repo.root_trailer(fetched, trailers.MIGRATED_FROM)
    return fetched, origin or None


def _migrated_at(repo: Repo, rev: str) -> bool:
    """Does the commit `rev` lack the task list because a migrate commit removed it?"""
    if repo.show(rev, rules.ACTIVE_PATH) is not None or repo.rev(rev) is None:
        return False
    action = "--format=%(trailers:key=Action,valueonly,separator=)"
    return repo.out("log", "-1", action, rev, "--", rules.ACTIVE_PATH).strip() == "migrate"


def _fetch_task_branch(host: Host) -> str:
    """The task branch fetched from the remote (the configured one, else origin, else the only one); refused in
    one line when it cannot be."""
    names = host.repo.remotes()
    name = host.setting("remote") or ("origin" if "origin" in names else (names[0] if len(names) == 1 else None))
    moved = f"the task list moved to the branch {host.branch} (a commit of `gittasks migrate` came in)"
    if name is None or name not in names:
        raise GittasksError(f"{moved} and no remote is set to fetch it from; `gittasks sync --remote NAME` takes it")
    tracking = f"refs/remotes/{name}/{host.branch}"
    fetched = host.repo.fetch(name, host.branch_ref, tracking, host.sync_timeout)
    tip = host.repo.ref(tracking) if fetched.kind == "ok" else None
    if tip is None:
        raise GittasksError(not_there_yet(host.branch, name, reached=fetched.kind in ("ok", "missing")))
    return tip


def came_in(repo: Repo) -> bool:
    """Did a migrate commit come in with the code branch (HEAD, or the side a stopped `git pull` merges)?"""
    came = ["HEAD", *(["MERGE_HEAD"] if (repo.git_dir / "MERGE_HEAD").exists() else [])]
    return any(_migrated_at(repo, rev) for rev in came)


def not_there_yet(branch: str, remote: str, *, reached: bool) -> str:
    """Why an inline clone that pulled a migrate commit cannot follow it yet; the list stays where it is meanwhile
    (never committed on the code branch again)."""
    moved = f"the task list moved to the branch {branch} (a commit of `gittasks migrate` came in)"
    if reached:
        return (
            f"{moved}, but {remote} has no branch {branch} yet: run `gittasks sync` on the machine that migrated, "
            "then here; nothing was changed"
        )
    return f"{moved} and {remote} could not be reached to fetch it; run `gittasks sync` when it is; nothing was changed"


def follow(host: Host, found: str, origin: str | None) -> None:
    """(lock held) Follow the task list to the task branch `found` (`moved_list`; `origin`: the inline commit its
    list came from, when a migrate made it) in one step: this clone's own inline tasks merged onto the task branch
    (pushed by the next sync), the current branch made to stop tracking the task files as migrate's own commit
    does, the layout switched."""
    repo = host.repo
    branch = BranchLayout(host)
    head = repo.head()
    base_rev = repo.merge_base(head, origin) if head and origin and repo.rev(origin) else None
    base = branch.files_at(base_rev) if base_rev else None
    ours = _inline_files(repo, head, base)
    tip = branch.tip()
    if tip is None:
        if not repo.update_ref(host.branch_ref, found, None, "gittasks: follow the task list"):
            raise BranchMoved("the task branch moved while gittasks read it; run the command again")
        tip = found
    theirs = branch.files_at(tip)
    if rules.ACTIVE_PATH not in theirs:
        raise not_a_task_branch(host.branch)
    merged = merge_edit(
        base if base is not None else keeping_base(None, ours, theirs), ours, theirs, host.complete_parents
    )
    ids: list[str] = []
    if not same_files(merged, theirs):
        ids, subjects = files_changed_ids(theirs, merged)
        stamp = rules.format_stamp(rules.utc_now())
        title = f"migrate: the tasks of {host.machine}'s inline list"
        message = trailers.message("migrate", ids, subjects, host.machine, stamp, title=title)
        changes: dict[str, bytes | None] = {rel: None for rel in theirs if rel not in merged}
        changes.update({rel: data for rel, data in merged.items() if theirs.get(rel) != data})
        commit = branch.commit(tip, changes, message)
        if commit is None:
            raise BranchMoved("the task branch moved while gittasks read it; run the command again")
        tip, theirs = commit, merged
    code = _stop_tracking(host, head)
    host.use_layout(BRANCH)
    taskbranch.ensure_excluded(repo.common_dir)
    branch.write_worktree(taskbranch.read_worktree(repo.root), theirs, tip)
    mine = f"{len(ids)} task(s) of this clone merged onto it" if ids else "nothing of this clone's was missing there"
    host.messages.append(
        f"the task list moved to the branch {host.branch} (`gittasks migrate`); this clone follows it: {mine}"
        + (f"; {code}" if code else "")
        + ("; `gittasks sync` pushes them" if ids else "")
    )


def _inline_files(repo: Repo, head: str | None, base: dict[str, bytes] | None) -> dict[str, bytes]:
    """The inline list as this clone holds it: the work-tree files (an edit not committed yet, or the copy a
    stopped `git pull` left), else HEAD's; a file missing from both (git removed it with the migrate commit)
    is taken as unchanged from `base`."""
    files = taskbranch.read_worktree(repo.root)
    try:
        taskset.fold(files)
    except DocumentError:  # (conflict markers) the committed list instead: the line merge is git's to finish
        files = taskbranch.files_at(repo, head) if head else {}
    for rel, data in (base or {}).items():
        files.setdefault(rel, data)
    return files


def _stop_tracking(host: Host, head: str | None) -> str | None:
    """The current branch stops tracking the task files, as migrate's own commit does; the user's other staged
    and unstaged work stays as it is. Says what it did."""
    repo = host.repo
    in_head = [p for p in repo.paths_at(head, TASK_PATHS) if taskbranch.is_task_path(p)] if head else []
    in_index = [p for p in repo.tracked(TASK_PATHS) if taskbranch.is_task_path(p)]
    operation = repo.operation_in_progress()
    branch = repo.branch()
    if branch is None and operation is None:
        return None  # a detached HEAD (an old checkout): left as it is; the branches stop when checked out
    said = None
    if in_head and operation is None and head is not None:
        stamp = rules.format_stamp(rules.utc_now())
        message = trailers.message(
            "migrate", [], {}, host.machine, stamp, title=f"migrate: task files move to the branch {host.branch}",
            extra={"Migrated-To": host.branch},
        )  # fmt: skip
        commit = commit_on(repo, "HEAD", head, dict.fromkeys(in_head), message, "gittasks: migrate")
        if commit is None:
            raise GittasksError("the current branch moved meanwhile; run the command again")
        said = f"{branch} stops tracking the task files ({commit[:10]})"
    if in_index:
        repo.untrack(sorted(set(in_index)))
    if operation is not None and (in_head or in_index):
        said = _finish_operation(repo, operation)
    return said


def _finish_operation(repo: Repo, operation: str) -> str:
    """After the task files were dropped from the index of a stopped merge, rebase or cherry-pick: finish it when
    nothing else is unmerged (a rebase stops again on each commit that changed the task list)."""
    for _ in range(200):
        tracked = sorted({p for p in repo.tracked(TASK_PATHS) if taskbranch.is_task_path(p)})
        if tracked:
            repo.untrack(tracked)
        others = repo.unmerged()
        if others or operation not in ("merge", "rebase", "cherry-pick", "revert"):
            what = f"{', '.join(others[:3])} still unmerged: resolve them and finish" if others else "finish"
            return f"the {operation} in progress no longer tracks the task files; {what} it with git"
        if not repo.continue_operation(operation):
            skip = " (`--skip` for a commit that changed the task list alone)" if operation == "rebase" else ""
            return (
                f"the {operation} in progress no longer tracks the task files; finish it with "
                f"`git {operation} --continue`{skip}"
            )
        operation = repo.operation_in_progress() or ""
        if not operation:
            return "the stopped git operation no longer tracks the task files and was finished"
    return f"finish the {operation} with `git {operation} --continue`"
