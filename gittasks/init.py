"""`gittasks init`: make a folder a gittasks repository (idempotent): a git repository if it is none, the merge
driver, the remote, and the task list: taken from the remote's task branch, or started (own-branch layout), or
committed on the current branch (inline layout).
"""

from __future__ import annotations

from pathlib import Path

from gittasks import clone, document, git, gitfiles, rules, store, sync, taskbranch, taskcheck
from gittasks.document import Document
from gittasks.errors import GittasksError
from gittasks.layout import BRANCH, INLINE
from gittasks.workspace import Workspace


def init(
    path: Path | None, remote: str | None = None, inline: bool = False, force: bool = False
) -> tuple[Workspace, list[str]]:
    """Make `path` (default: here) a gittasks repository; idempotent. Returns the workspace and what was done."""
    target = (path or Path.cwd()).resolve()
    done: list[str] = []
    if gitfiles.looks_bare(target):
        raise GittasksError(
            f"{target} is a bare repository (no work tree); run `gittasks init` in a clone of it instead"
        )
    try:
        ws = Workspace.open(target)
    except GittasksError:
        git.init_repo(target)
        ws = Workspace.open(target)
        done.append(f"made a git repository in {target}")
    repo = ws.repo
    ws.check_links()
    with ws.lock:
        if not clone.driver_current(repo):
            clone.register_driver(repo)
            done.append("registered the merge driver in .git/config")
        clone.set_remote(repo, remote, done, force)
        names = repo.remotes()
        chosen = ws.setting("remote") or ("origin" if "origin" in names else (names[0] if len(names) == 1 else None))
        if chosen and not inline and ws.task_branch_tip() is None:
            transfer = repo.fetch(
                chosen, f"refs/heads/{ws.branch}", f"refs/remotes/{chosen}/{ws.branch}", sync.network_timeout(ws)
            )
            if transfer.kind == "ok":
                done.append(f"found a task list on {chosen}/{ws.branch}")
        if inline or ws.layout.name == INLINE:
            if ws.layout.name != INLINE:
                if ws.task_branch_tip() is not None or ws.remote_task_branch() is not None:
                    raise GittasksError(
                        f"this repository keeps its tasks on the branch {ws.branch} already; --inline would start a "
                        "second list"
                    )
                ws.use_layout(INLINE)
            _init_inline(ws, done)
        else:
            _init_branch(ws, done)
    ws.to_push = bool(done)  # a new task branch, or a first list, goes to the remote with the background sync
    return ws, done


def _init_branch(ws: Workspace, done: list[str]) -> None:
    """(lock held) The own-branch layout: take the remote's task branch or start one; files into the work tree."""

    repo = ws.repo
    if ws.setting("layout") != BRANCH:
        ws.use_layout(BRANCH)
    if taskbranch.ensure_excluded(repo.common_dir):
        done.append("kept the task files out of the code branches (.git/info/exclude)")
    had_branch = ws.task_branch_tip() is not None
    ws.invalidate()
    ws.bring_in(settled=True)  # init armed the clone itself: no preflight runs after it
    if not had_branch and ws.task_branch_tip() is not None:
        done.append(f"took the task list from the remote's {ws.branch} branch into {rules.ACTIVE_PATH}")
    if ws.task_branch_tip() is None:
        existing = store.load_file(ws.active_path, rules.ACTIVE_PATH)
        if existing is not None:
            taskcheck.check_document(existing, rules.ACTIVE_PATH)
            doc: Document = existing
            done.append(f"took the existing {rules.ACTIVE_PATH} onto the task branch {ws.branch}")
        else:
            doc = {"last_updated": rules.format_stamp(rules.utc_now()), "tasks": []}
            done.append(f"wrote an empty task list {rules.ACTIVE_PATH}")
        ws.commit_files("init", [], {}, {rules.ACTIVE_PATH: document.dumps(doc)})
        done.append(f"started the task branch {ws.branch} (see `git log {ws.branch}`)")


def _init_inline(ws: Workspace, done: list[str]) -> None:
    """(lock held) The inline layout: the task files on the current branch, as in 0.1."""

    repo = ws.repo
    new_files: dict[str, bytes | None] = {}
    old_attr = (store.read_bytes(repo.root / ".gitattributes") or b"").decode("utf-8", "replace")
    new_attr = clone.gitattributes_with_driver(old_attr)
    if new_attr is not None:
        new_files[".gitattributes"] = new_attr.encode("utf-8")
        done.append("routed the task files to the merge driver in .gitattributes")
    existing = store.load_file(ws.active_path, rules.ACTIVE_PATH)
    tracked = repo.show("HEAD", rules.ACTIVE_PATH) is not None
    if existing is None and not tracked:
        doc: Document = {"last_updated": rules.format_stamp(rules.utc_now()), "tasks": []}
        new_files[rules.ACTIVE_PATH] = document.dumps(doc)
        done.append(f"wrote an empty task list {rules.ACTIVE_PATH}")
    elif existing is not None and not tracked:
        taskcheck.check_document(existing, rules.ACTIVE_PATH)
        new_files[rules.ACTIVE_PATH] = document.dumps(existing)
        done.append(f"took the existing {rules.ACTIVE_PATH} into git")
    if new_files:
        ws.commit_files("init", [], {}, new_files)
