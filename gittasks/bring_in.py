"""The own-branch layout's bring-in: the task branch made the work tree's files, with what happened meanwhile.

A fresh clone's first command takes the remote's task branch (from its last good commit when the tip holds a bad
file); a branch renamed by `gittasks.branch` starts from the one used before; a branch that moved is written into
the files, merged with an edit made outside gittasks since they were last written (committed as its own change); a
copy git wrote (a stopped merge, a code branch that still tracks the file) is merged without deleting a task; a task
kept twice is settled; a file a branch holds that is not valid is refused in one line naming who made it.
"""

from __future__ import annotations

import shlex

from gittasks import document, rules, store, taskbranch, trailers
from gittasks.bad_files import bad_file, last_good, made_by
from gittasks.document import DocumentError
from gittasks.git import Repo
from gittasks.layout import CAS_ATTEMPTS, TASK_PATHS, BranchMoved, Host
from gittasks.layout_branch import BranchLayout, not_a_task_branch
from gittasks.outside_edits import (
    files_changed_ids,
    keeping_base,
    merge_edit,
    same_files,
    settle_duplicates,
    stamp_edit,
)


def bring_in(host: Host, branch: BranchLayout) -> None:
    """(lock held) Bring the task branch into the work tree: a fresh clone's first command takes the remote's
    task branch; a branch that moved is written into the files, merged with an edit made outside gittasks since
    the files were last written (then committed as its own change); a missing file is written again."""
    repo = host.repo
    host.check_links()
    store.remove_stale_temp_files(host.active_path.parent)
    for _ in range(CAS_ATTEMPTS):
        state = taskbranch.load_record(repo.git_dir)
        tip = branch.tip()
        if tip is None:
            remote = host.remote_task_branch()
            if remote is not None:
                target = _good_start(host, branch, *remote)
                if not repo.update_ref(host.branch_ref, target, None, f"gittasks: from {remote[0]}"):
                    continue
                tip = target
        if tip is None:
            tip = _start_renamed(host, branch, state)
        if tip is None:
            return
        if branch.files_current(state, tip):
            return
        theirs = branch.files_at(tip)
        if state is None and rules.ACTIVE_PATH not in theirs:
            raise not_a_task_branch(host.branch)
        current = taskbranch.read_worktree(repo.root)
        # a file missing here is written from the branch: "delete it to get the last committed version back"
        # must not bring back a bad one (a branch an older gittasks fast-forwarded onto a remote's bad file);
        # a file present is left to the edit and the merge below, which name its problem or replace it
        _refuse_bad_tip(host, tip, {rel: data for rel, data in theirs.items() if rel not in current})
        if (
            rules.ACTIVE_PATH in current
            and repo.show("HEAD", rules.ACTIVE_PATH) is not None
            and not any(taskbranch.is_task_path(path) for path in repo.unmerged())
        ):
            # the checked-out commit tracks the task file (it predates `gittasks migrate`): git wrote that file,
            # not the user; leave it alone, read the task branch, refuse changes until HEAD moves on (a copy a
            # stopped merge or rebase left unmerged is merged in below instead: it may hold a teammate's tasks)
            branch.head_tracks_list = True
            host.reads_show(document.load_document(theirs[rules.ACTIVE_PATH], f"{host.branch}:{rules.ACTIVE_PATH}"))
            return
        base_rev = state.commit if state is not None and state.commit and repo.rev(state.commit) else None
        if base_rev is None and state is None:
            origin = repo.root_trailer(tip, "Migrated-From")  # an inline clone following a migrate
            base_rev = origin if origin and repo.rev(origin) else None
        base = branch.files_at(base_rev) if base_rev else None
        ours = dict(current)
        if base is not None:
            # a file that is missing (sparse checkout, deleted, never written here) is no edit
            for rel in state.files if state is not None else base:
                if rel not in ours and rel in base:
                    ours[rel] = base[rel]
        edited = not same_files(ours, base) if base is not None else bool(current) and not same_files(ours, theirs)
        result = theirs
        said: str | None = None
        if edited:
            held = _git_holds_task_file(repo)
            if held is None:
                edit = stamp_edit(host.machine, base, ours, host.complete_parents, host.messages)
                result = merge_edit(base, edit, theirs, host.complete_parents)
            else:
                result, said = _merge_git_copy(host, held, base, ours, theirs)
            if not same_files(result, theirs):
                ids, subjects = files_changed_ids(theirs, result)
                stamp = rules.format_stamp(rules.utc_now())
                title = "tasks from git's copy of the task file" if held and held[0] != "stopped" else None
                message = trailers.message("external-edit", ids, subjects, host.machine, stamp, title=title)
                changes: dict[str, bytes | None] = {rel: None for rel in theirs if rel not in result}
                changes.update({rel: data for rel, data in result.items() if theirs.get(rel) != data})
                commit = branch.commit(tip, changes, message)
                if commit is None:
                    continue
                tip = commit
                if said is None:
                    host.messages.append(
                        f"committed an edit made outside gittasks ({len(ids)} task(s)) as its own commit"
                    )
            if said is not None:
                host.messages.append(said)
        settled = settle_duplicates(result, base, host.machine, host.messages)
        if settled is not None:
            changes, message = settled
            commit = branch.commit(tip, changes, message)
            if commit is None:
                continue
            tip = commit
            result = {rel: data for rel, data in {**result, **changes}.items() if data is not None}
        branch.write_worktree(current, result, tip)
        return
    raise BranchMoved(f"the task branch {host.branch} kept moving while gittasks read it; run the command again")


def _start_renamed(host: Host, branch: BranchLayout, state: taskbranch.WorktreeRecord | None) -> str | None:
    """(lock held) The task branch under its new name (`gittasks.branch`), started from the one used before so that
    its history (`gittasks log ID`) carries over; None when there was none."""
    previous = branch.previous_task_branch(state)
    if previous is None:
        return None
    name, commit = previous
    if not host.repo.update_ref(host.branch_ref, commit, None, f"gittasks: renamed from {name}"):
        return branch.tip()
    host.repo.config_set_local("gittasks.previousBranch", name)
    host.messages.append(
        f"the task branch is now {host.branch} (`gittasks.branch`), started from {name} with its history; other "
        f"machines keep using {name} until they set `git config gittasks.branch {host.branch}` (sync tells them)"
    )
    return commit


def _git_holds_task_file(repo: Repo) -> tuple[str, str | None] | None:
    """(own-branch layout) Did git, not a user, write the work-tree task files? ('unmerged', operation) when the
    index holds an unmerged task file (a merge, rebase, cherry-pick or stash pop stopped on it), ('tracked',
    operation) when the index tracks one (the code branch still carries it), ('stopped', operation) when a merge,
    rebase or cherry-pick is stopped; None otherwise. Such a copy is never an edit that deletes tasks."""
    operation = repo.operation_in_progress()
    listed = repo.out("ls-files", "-s", "-z", "--", *TASK_PATHS).split("\0")
    stages = {entry.split("\t", 1)[0].split(" ")[-1] for entry in listed if "\t" in entry}
    if stages - {"0"}:
        return "unmerged", operation
    if stages:
        return "tracked", operation
    return ("stopped", operation) if operation in ("merge", "rebase", "cherry-pick", "revert") else None


def _merge_git_copy(
    host: Host,
    held: tuple[str, str | None],
    base: dict[str, bytes] | None,
    ours: dict[str, bytes],
    theirs: dict[str, bytes],
) -> tuple[dict[str, bytes], str | None]:
    """The task files of a copy git wrote (`_git_holds_task_file`) merged with the branch `theirs` by the one merge
    function, none deleted: the tasks it has that the branch lacks come in, those it lacks stay. Its base is the
    version it descends from (the index's stage 1 of a stopped merge; for a copy that is merely tracked none is
    known, so the branch's version of a task both hold wins). Also the line saying what happened, if any."""
    kind, operation = held
    arg = shlex.quote(rules.ACTIVE_PATH)
    finish = f" and `git {operation} --continue`" if operation in ("merge", "rebase", "cherry-pick", "revert") else ""
    origin: dict[str, bytes] | None = base
    if kind == "unmerged":
        staged = {rel: host.repo.show(":1", rel) for rel in ours if taskbranch.is_task_path(rel)}
        origin = {rel: data for rel, data in staged.items() if data is not None} or None
    elif kind == "tracked":
        origin = None
    try:
        keeping = keeping_base(origin, ours, theirs)
        copy = stamp_edit(host.machine, base, ours, host.complete_parents, host.messages) if kind == "stopped" else ours
        result = merge_edit(keeping, copy, theirs, host.complete_parents)
    except DocumentError:
        if kind == "stopped":
            raise  # an edit made during the stopped operation: refused with the file's own message
        where = "a stopped git operation" if kind == "unmerged" else "the index"
        return dict(theirs), (
            f"{rules.ACTIVE_PATH} held a copy written by git ({where}) that is not a valid task list; it was set "
            f"aside (git keeps it in the index) and the file written again from the branch {host.branch}; "
            f"`git rm --cached {arg}`{finish} stops the code branch tracking it"
        )
    if kind == "stopped":
        return result, None
    why = "a stopped git operation left" if kind == "unmerged" else "the index tracks"
    return result, (
        f"{why} an older copy of {rules.ACTIVE_PATH} from the code branch: its tasks were merged into the "
        f"branch {host.branch} (none deleted) and the file written again from it; finish with "
        f"`git rm --cached {arg}`{finish}"
    )


def _good_start(host: Host, branch: BranchLayout, remote: str, tip: str) -> str:
    """(a clone's first command) The commit of the remote's task branch to start from: its tip, else (a task
    file there is not valid) the last commit whose task files are; `sync` takes the rest once it is fixed."""
    found = bad_file(branch.files_at(tip))
    if found is None:
        host.messages.append(f"took the task list from {remote}/{host.branch}")
        return tip
    rel, problem = found
    commit, machine = made_by(host.repo, tip, rel)
    good = last_good(host.repo, tip)
    if good is None:
        raise DocumentError(
            f"{problem}: {remote}/{host.branch} holds it since commit {commit[:10]} (made on {machine}) and no "
            "earlier commit holds valid task files; fix the file there, then run the command again"
        )
    host.messages.append(
        f"took the task list from {remote}/{host.branch} as of {good[:10]}, its last commit whose task files are "
        f"valid: {problem} since commit {commit[:10]} (made on {machine}); `gittasks sync` takes the rest once "
        "the file is fixed there"
    )
    return good


def _refuse_bad_tip(host: Host, tip: str, files: dict[str, bytes]) -> None:
    """Refuse, in one line naming the commit and the machine that made it and the last good commit, to write a
    task file of the task branch `tip` that is not valid."""
    found = bad_file(files)
    if found is None:
        return
    rel, problem = found
    commit, machine = made_by(host.repo, tip, rel)
    good = last_good(host.repo, tip)
    back = (
        f"the last commit whose task files are valid is {good[:10]}: put the branch back there with "
        f"`git branch -f {host.branch} {good[:10]}` (`git log {host.branch}` shows what that leaves out); "
        "`gittasks sync` then waits for the file to be fixed"
        if good is not None
        else "no earlier commit holds valid task files: fix the file on the machine that made it"
    )
    raise DocumentError(
        f"{problem}: the task branch {host.branch} holds it since commit {commit[:10]} (made on {machine}); {back}"
    )
