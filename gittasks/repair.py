"""Repair (a line merge's damage fixed): task files that a plain line merge (git without the driver) left unmerged or
broken. Not `recover` (a new session's summary) nor `restore` (a task out of the archive).

The three index stages (base, ours, theirs) go through the same field-level merge as the driver and sync; a file
committed with conflict markers (or a "clean" line merge that is not valid JSON) is rebuilt from the merge of the
parents of the commit that broke it.
"""

from __future__ import annotations

from gittasks import document, follow_migrate, merge, rules, store
from gittasks.document import DocumentError
from gittasks.errors import GittasksError
from gittasks.workspace import Workspace

# how the user finishes each operation by hand once nothing is unmerged
FINISH = {"merge": "git commit", "rebase": "git rebase --continue", "cherry-pick": "git cherry-pick --continue",
          "revert": "git revert --continue"}  # fmt: skip


def unmerged_paths(ws: Workspace) -> tuple[list[str], list[str]]:
    """(unmerged task files, other unmerged paths)."""
    paths = ws.repo.unmerged()
    tasks = [p for p in paths if p == rules.ACTIVE_PATH or p.startswith(rules.TASKS_DIR + "/")]
    return tasks, [p for p in paths if p not in tasks]


def merge_stages(ws: Workspace, path: str) -> bytes:
    repo = ws.repo
    base = repo.show(":1", path)
    ours = repo.show(":2", path) or b""
    theirs = repo.show(":3", path) or b""
    if not ours.strip():
        return theirs
    if not theirs.strip():
        return ours
    try:
        return merge.merge_bytes(base, ours, theirs, path, lenient_base=True)
    except DocumentError as exc:
        raise GittasksError(f"cannot merge {path}: {exc}") from None


def repair_unmerged(ws: Workspace, paths: list[str]) -> list[str]:
    """Merge each unmerged task file from its index stages, write it and stage it; says what it did."""
    ws.check_links()
    done = []
    for path in paths:
        store.write_atomic(ws.repo.root / path, merge_stages(ws, path))
        ws.repo.stage([path])
        done.append(f"merged {path} field by field from the line merge's three versions and staged it")
    operation = ws.repo.operation_in_progress()
    _, others = unmerged_paths(ws)
    if operation in FINISH and not others:
        done.append(f"finish the {operation} with: {FINISH[operation]}")
    elif others:
        done.append(f"still unmerged (not task files): {', '.join(others)}; resolve them with git")
    elif operation is None:
        ws.repo.reset_paths(paths)
        done[-1] = done[-1].replace(" and staged it", "; it is left as a change in the work tree")
    return done


def repair_and_finish(ws: Workspace) -> list[str]:
    """Repair unmerged task files and, when nothing else is unmerged, finish the merge (rebase, cherry-pick,
    revert) that stopped on them; what `sync` and `doctor --fix` both do. Says what it did."""
    tasks, others = unmerged_paths(ws)
    if not tasks:
        return []
    moved_away = ws.task_branch_tip() is None and ws.remote_task_branch() is None  # (else the follow takes over)
    if moved_away and follow_migrate.came_in(ws.repo):  # merging would track the list on the code branch again
        raise GittasksError(
            f"{', '.join(tasks)} is unmerged because a commit of `gittasks migrate` moved the task list to the branch "
            f"{ws.branch}; it is not merged back onto the code branch: once {ws.branch} is on the remote, "
            "`gittasks sync` follows the move with this clone's tasks kept"
        )
    done = repair_unmerged(ws, tasks)
    operation = ws.repo.operation_in_progress()
    if others or operation not in FINISH:
        return done
    if not ws.repo.continue_operation(operation):
        raise GittasksError(f"merged the task files but `{FINISH[operation]}` failed; finish it by hand")
    done = [d for d in done if not d.startswith("finish the")]
    done.append(f"finished the {operation}")
    # a rebase may stop again on the next commit: repair that one too
    return done + repair_and_finish(ws)


def repair_for_sync(ws: Workspace) -> list[str]:
    """Before a sync: repair unmerged task files and finish the merge/rebase; refused while other files are
    unmerged."""
    tasks, others = unmerged_paths(ws)
    if not tasks and others:
        raise GittasksError(f"{', '.join(others)} unmerged; resolve them with git first, then run `gittasks sync`")
    done = repair_and_finish(ws)
    tasks, others = unmerged_paths(ws)
    if others:
        raise GittasksError(
            f"merged the task files; {', '.join(others)} still unmerged: resolve them with git, then "
            "run `gittasks sync` again"
        )
    return done


def find_broken_commit(ws: Workspace, path: str = rules.ACTIVE_PATH) -> str | None:
    """The newest commit whose version of `path` is invalid while a parent's was valid, if the task history's tip
    (HEAD inline, the task branch otherwise) has it invalid."""
    repo = ws.repo
    tip = ws.history_rev()
    if tip is None or not _invalid(ws, tip, path):
        return None
    revs = repo.commits_touching(tip, [path], limit=200)
    for rev in revs:
        if _invalid(ws, rev, path):
            parents = repo.parents(rev)
            if any(not _invalid(ws, p, path) for p in parents):
                return rev
    return None


def _invalid(ws: Workspace, rev: str, path: str) -> bool:
    raw = ws.repo.show(rev, path)
    if raw is None:
        return False
    try:
        document.load_document(raw, path)
    except DocumentError:
        return True
    return False


def repair_committed(ws: Workspace, path: str = rules.ACTIVE_PATH) -> list[str]:
    """Rebuild a task file that was committed broken (markers, invalid JSON) from its merge commit's parents."""
    broken = find_broken_commit(ws, path)
    if broken is None:
        return []
    repo = ws.repo
    parents = repo.parents(broken)
    if len(parents) < 2:
        restore = (
            f"`git checkout {broken[:10]}~1 -- {path}`"
            if ws.inline
            else f"`git show {broken[:10]}~1:{path} > {path}` (any gittasks command then commits it on {ws.branch})"
        )
        raise GittasksError(
            f"{path} was committed broken in {broken[:10]}, which is not a merge; restore it with {restore} and redo "
            "that commit's change"
        )
    base_rev = repo.merge_base(parents[0], parents[1])
    base = repo.show(base_rev, path) if base_rev else None
    ours = repo.show(parents[0], path) or b""
    theirs = repo.show(parents[1], path) or b""
    data = merge.merge_bytes(base, ours, theirs, path, lenient_base=True)
    with ws.lock:
        ws.commit_files("repair", [], {}, {path: data})
    return [f"rebuilt {path} from the parents of {broken[:10]} (committed with conflict markers) and committed it"]
