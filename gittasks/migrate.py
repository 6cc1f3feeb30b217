"""`gittasks migrate`: move an inline task list (committed on the current branch) onto a branch of its own.

The task branch starts from the current task files, as an orphan commit whose `Migrated-From:` trailer names the
inline commit it came from, so `gittasks log` goes on into the inline history. The current branch gets one commit
that stops tracking the task files (they stay in the work tree, excluded from then on); nothing else of the user's
branch, index or work tree changes.
"""

from __future__ import annotations

from gittasks import rules, taskbranch, trailers
from gittasks.clone import BRANCH_GITATTRIBUTES
from gittasks.errors import GittasksError
from gittasks.workspace import BRANCH, Workspace


def _check(ws: Workspace) -> str:
    """The inline commit to migrate from; refuses what cannot be migrated now."""
    if not ws.inline:
        raise GittasksError(f"the tasks live on their own branch already (`git log {ws.branch}`); nothing to migrate")
    reason = ws.stopped_operation()
    if reason is not None:
        raise GittasksError(reason.replace(", or `gittasks migrate` moves them to a branch of their own", ""))
    if ws.task_branch_tip() is not None or ws.remote_task_branch() is not None:
        raise GittasksError(f"a task branch {ws.branch} exists already; rename it or set `git config gittasks.branch`")
    head = ws.repo.head()
    if head is None:
        raise GittasksError("the current branch has no commit yet; there is nothing to migrate")
    return head


def plan(ws: Workspace) -> list[str]:
    """What `migrate` will do, for the user to confirm; changes nothing."""
    head = _check(ws)
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
        ws.load()
        head = _check(ws)
        files = taskbranch.files_at(repo, head)
        if rules.ACTIVE_PATH not in files:
            raise GittasksError(f"{rules.ACTIVE_PATH} is not committed on the current branch; nothing to migrate")
        stamp = rules.format_stamp(rules.utc_now())
        tree = repo.tree_with_files(None, {**files, ".gitattributes": BRANCH_GITATTRIBUTES})
        message = trailers.message(
            "migrate", [], {}, ws.machine, stamp, title=f"migrate: the task list from {head[:10]}",
            extra={"Migrated-From": head},
        )  # fmt: skip
        task_commit = repo.commit_tree(tree, [], message)
        code_tree = repo.tree_with_files(head, dict.fromkeys(files))
        code_message = trailers.message(
            "migrate", [], {}, ws.machine, stamp, title=f"migrate: task files move to the branch {ws.branch}"
        )
        code_commit = repo.commit_tree(code_tree, [head], code_message)
        if not repo.update_ref(ws.branch_ref, task_commit, None, "gittasks: migrate"):
            raise GittasksError(f"a task branch {ws.branch} appeared meanwhile; nothing was changed")
        if not repo.update_ref("HEAD", code_commit, head, "gittasks: migrate"):
            repo.delete_ref(ws.branch_ref, task_commit)
            raise GittasksError("the current branch moved meanwhile; nothing was changed, run `gittasks migrate` again")
        repo.untrack(sorted(files))
        done.append(f"started the branch {ws.branch} with the task list ({task_commit[:10]})")
        done.append(f"the current branch stops tracking the task files ({code_commit[:10]})")
        repo.config_set_local("gittasks.layout", BRANCH)
        ws._layout = BRANCH
        if taskbranch.ensure_excluded(repo.common_dir):
            done.append("kept the task files out of the code branches (.git/info/exclude)")
        ws.invalidate()
        ws.bring_in()
    done.append(f"push the task branch with `gittasks sync`; `git log {ws.branch}` is the task history from now on")
    return done
