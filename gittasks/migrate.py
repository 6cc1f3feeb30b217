"""`gittasks migrate`: move an inline task list (committed on the current branch) onto a branch of its own.

The task branch starts from the current task files, as an orphan commit whose `Migrated-From:` trailer names the
inline commit it came from, so `gittasks log` goes on into the inline history. The current branch gets one commit
that stops tracking the task files (they stay in the work tree, excluded from then on); nothing else of the user's
branch, index or work tree changes.

Each step leaves a state the next run finishes: a task branch made by a migrate is followed as any clone follows
one (`Workspace.follow_moved_list`), and the last steps (the index, the exclude lines, the work-tree record) are
done again when found undone.
"""

from __future__ import annotations

from gittasks import failpoints, rules, store, taskbranch, trailers
from gittasks.clone import BRANCH_GITATTRIBUTES
from gittasks.errors import GittasksError
from gittasks.layout import BRANCH, INLINE, TASK_PATHS, commit_files
from gittasks.layout_inline import stopped_operation
from gittasks.workspace import Workspace


def _check(ws: Workspace) -> str | None:
    """The inline commit to migrate from; None when a migrate begun earlier is to be finished. Refuses what cannot be
    migrated now."""
    if ws.layout.name != INLINE:
        if _unfinished(ws):
            return None
        raise GittasksError(f"the tasks live on their own branch already (`git log {ws.branch}`); nothing to migrate")
    if ws.layout.moved() is not None:
        return None  # a task branch a migrate made (here, interrupted, or on another clone): followed
    reason = stopped_operation(ws.repo)
    if reason is not None:
        raise GittasksError(reason.replace(", or `gittasks migrate` moves them to a branch of their own", ""))
    if ws.task_branch_tip() is not None or ws.remote_task_branch() is not None:
        raise GittasksError(f"a task branch {ws.branch} exists already; rename it or set `git config gittasks.branch`")
    head = ws.repo.head()
    if head is None:
        raise GittasksError("the current branch has no commit yet; there is nothing to migrate")
    return head


def _unfinished(ws: Workspace) -> list[str]:
    """(own-branch layout) The steps a migrate killed midway left undone: the index still tracking the task files
    the current branch no longer has, the exclude lines, the work-tree record."""
    repo = ws.repo
    tip = ws.task_branch_tip()
    if tip is None or not repo.root_trailer(tip, trailers.MIGRATED_FROM):
        return []
    left = []
    head = repo.head()
    staged = [p for p in repo.tracked(TASK_PATHS) if taskbranch.is_task_path(p)]
    if staged and head is not None and not repo.paths_at(head, TASK_PATHS):
        left.append("index")
    exclude = (store.read_bytes(repo.common_dir / "info" / "exclude") or b"").decode("utf-8", "replace")
    if taskbranch.with_lines(exclude, taskbranch.EXCLUDE_LINES) is not None:
        left.append("exclude")
    if taskbranch.load_record(repo.git_dir) is None:
        left.append("files")
    return left


def plan(ws: Workspace) -> list[str]:
    """What `migrate` will do, for the user to confirm; changes nothing."""
    head = _check(ws)
    if head is None:
        return [
            "gittasks migrate will:",
            f"- finish the move of the task list to the branch {ws.branch} begun earlier (a migrate that was "
            "interrupted, or one made on another clone): this clone's own tasks merged onto it, the current branch "
            "no longer tracking the task files",
        ]
    files = taskbranch.files_at(ws.repo, head)
    branch = ws.repo.branch() or "HEAD"
    return [
        "gittasks migrate will:",
        "- commit first, as its own change, an edit of the task files not yet committed (if there is one)",
        f"- start the branch {ws.branch} from the task files committed on {branch} ({', '.join(sorted(files))})",
        f"- commit on {branch} one change that stops tracking those files; they stay in the work tree, kept out of "
        "the code branches through .git/info/exclude",
        "- other clones take the list from the task branch at their next gittasks command after `git pull`",
    ]


def migrate(ws: Workspace) -> list[str]:
    repo = ws.repo
    done: list[str] = []
    with ws.lock:
        ws.invalidate()
        head = _check(ws)
        if head is None:
            return _finish(ws)
        ws.load()  # commits first a pending edit of the task files (inline)
        head = _check(ws)
        if head is None:
            return _finish(ws)
        files = taskbranch.files_at(repo, head)
        if rules.ACTIVE_PATH not in files:
            raise GittasksError(f"{rules.ACTIVE_PATH} is not committed on the current branch; nothing to migrate")
        stamp = rules.format_stamp(rules.utc_now())
        message = trailers.message(
            "migrate", [], {}, ws.machine, stamp, title=f"migrate: the task list from {head[:10]}",
            extra={"Migrated-From": head},
        )  # fmt: skip
        task_commit = commit_files(repo, None, {**files, ".gitattributes": BRANCH_GITATTRIBUTES}, [], message)
        code_message = trailers.message(
            "migrate", [], {}, ws.machine, stamp, title=f"migrate: task files move to the branch {ws.branch}",
            extra={"Migrated-To": ws.branch},
        )  # fmt: skip
        code_commit = commit_files(repo, head, dict.fromkeys(files), [head], code_message)
        if not repo.update_ref(ws.branch_ref, task_commit, None, "gittasks: migrate"):
            raise GittasksError(f"a task branch {ws.branch} appeared meanwhile; nothing was changed")
        failpoints.hit("migrate-task-branch")
        if not repo.update_ref("HEAD", code_commit, head, "gittasks: migrate"):
            repo.delete_ref(ws.branch_ref, task_commit)
            raise GittasksError("the current branch moved meanwhile; nothing was changed, run `gittasks migrate` again")
        failpoints.hit("migrate-code-commit")
        repo.untrack(sorted(files))
        failpoints.hit("migrate-index")
        done.append(f"started the branch {ws.branch} with the task list ({task_commit[:10]})")
        done.append(f"the current branch stops tracking the task files ({code_commit[:10]})")
        ws.use_layout(BRANCH)
        failpoints.hit("migrate-layout")
        if taskbranch.ensure_excluded(repo.common_dir):
            done.append("kept the task files out of the code branches (.git/info/exclude)")
        failpoints.hit("migrate-exclude")
        ws.invalidate()
        ws.bring_in()
        ws.to_push = True  # the new task branch goes to the remote with the background sync (or `gittasks sync`)
    done.append(f"`git log {ws.branch}` is the task history from now on; `gittasks sync` pushes the task branch")
    return done


def _finish(ws: Workspace) -> list[str]:
    """(lock held) Finish a move of the task list begun earlier: follow it (inline), then the steps left undone."""
    repo = ws.repo
    done: list[str] = []
    ws.follow_moved_list()  # (inline: says what it did on its own line)
    left = _unfinished(ws)
    if "index" in left:
        repo.untrack(sorted(p for p in repo.tracked(TASK_PATHS) if taskbranch.is_task_path(p)))
        done.append("the index no longer tracks the task files")
    if "exclude" in left and taskbranch.ensure_excluded(repo.common_dir):
        done.append("kept the task files out of the code branches (.git/info/exclude)")
    ws.invalidate()
    ws.bring_in()
    done.insert(0, f"finished the move of the task list to the branch {ws.branch}")
    done.append(f"push the task branch with `gittasks sync`; `git log {ws.branch}` is the task history from now on")
    return done
