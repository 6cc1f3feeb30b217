"""The own-branch layout (the default): the task files committed to a branch of their own (`gittasks`) with plumbing
and a private index; the work tree holds a copy that assistants and editors use as plain files. The user's branch,
index and HEAD are never read for tasks nor written. A read whose branch tip and files are as this work tree last
wrote them starts no git process; otherwise the branch is brought into the files (`bring_in.py`).
"""

from __future__ import annotations

from gittasks import clone, failpoints, rules, store, taskbranch
from gittasks.document import Document
from gittasks.errors import GittasksError
from gittasks.layout import BRANCH, BranchMoved, Host, commit_on


def not_a_task_branch(branch: str) -> GittasksError:
    """The refusal of a branch under the task branch's name that holds no task list: someone else's, left alone."""
    return GittasksError(
        f"a branch {branch} exists and holds no task list (is it one of yours?); gittasks leaves it alone: name the "
        "task branch otherwise with `git config gittasks.branch NAME`"
    )


class BranchLayout:
    """The `Layout` of a task branch of its own."""

    name = BRANCH
    on_code_branch = False

    def __init__(self, host: Host) -> None:
        self.host = host
        self.repo = host.repo
        # the checked-out commit tracks the task file (it predates a migrate): reads show the branch, changes wait
        self.head_tracks_list = False

    @property
    def ref(self) -> str:
        return self.host.branch_ref

    @property
    def without_link(self) -> str:
        return f"writes the task files from the branch {self.host.branch}"

    @property
    def log_command(self) -> str:
        return f"git log {self.host.branch}"

    # -- the history -----------------------------------------------------------------------------------------------
    def tip(self) -> str | None:
        return self.repo.ref(self.host.branch_ref)

    def files_at(self, rev: str | None) -> dict[str, bytes]:
        return taskbranch.files_at(self.repo, rev)

    def history_rev(self) -> str | None:
        return self.host.branch_ref if self.tip() else None

    def revision_name(self, given: str) -> str:
        if given == "HEAD" or given.startswith(("HEAD~", "HEAD^", "HEAD@")):
            return self.host.branch_ref + given[4:]
        return given

    def branch_name(self) -> str | None:
        return self.host.branch

    def upstream(self, branch: str) -> tuple[str | None, str | None]:
        return None, None  # the task branch is never checked out: no upstream is configured for it

    def moved(self) -> tuple[str, str | None] | None:
        return None  # a task branch is where a migrate moves the list to

    def commit(self, tip: str | None, changes: dict[str, bytes | None], message: str) -> str | None:
        """One commit on the task branch with `changes` (None: remove) on top of `tip`; None when the branch moved
        meanwhile (compare-and-swap)."""
        if tip is None:
            changes = {".gitattributes": clone.BRANCH_GITATTRIBUTES, **changes}
        commit = commit_on(self.repo, self.host.branch_ref, tip, changes, message)
        if commit is None:
            return None
        self.host.to_push = True
        failpoints.hit("after-commit")
        return commit

    def move(self, target: str, old: str | None, reason: str) -> bool:
        if not self.repo.update_ref(self.host.branch_ref, target, old, reason):
            return False
        self.host.invalidate()
        self.host.bring_in()
        return True

    def refusal(self) -> str | None:
        if self.head_tracks_list:
            return (
                f"the checked-out commit tracks {rules.ACTIVE_PATH} (it predates the move of the tasks to the branch "
                f"{self.host.branch}); gittasks leaves git's copy alone: switch to a newer branch (`git switch -`) to "
                "change tasks; reads show the task branch"
            )
        try:
            head = (self.repo.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            head = ""
        if head == f"ref: {self.host.branch_ref}":
            return (
                f"the task branch {self.host.branch} is checked out in this work tree; switch back to your code "
                "branch (`git switch -`) and retry: gittasks writes that branch itself"
            )
        return None

    def write(self, new: dict[str, bytes | None], old: dict[str, bytes | None], message: str, canonical: bool) -> str:
        """(lock held, files current) Commit `new` on the task branch, then write it into the work tree; `old` is
        not needed: nothing is written before the commit exists."""
        state = taskbranch.load_record(self.repo.git_dir)
        tip = self.tip()
        if tip is not None and (state is None or state.commit != tip):
            raise BranchMoved("the task branch moved while gittasks changed it; run the command again")
        if tip is None:
            taskbranch.ensure_excluded(self.repo.common_dir)
            state = taskbranch.WorktreeRecord(self.host.branch, None, {})
        failpoints.hit("before-write")
        commit = self.commit(tip, new, message)
        if commit is None:
            raise BranchMoved("the task branch moved while gittasks changed it; run the command again")
        for rel, data in sorted(new.items()):
            if data is None:
                store.remove_file(self.repo.root / rel)
            else:
                store.write_atomic(self.repo.root / rel, data)
        canonical_paths = (rules.ACTIVE_PATH,) if canonical else ()
        taskbranch.record_written(
            self.repo.git_dir, self.repo.root, state, self.host.branch, commit, new, canonical_paths
        )
        self.host.reads_show(None)
        return commit

    # -- the work tree ---------------------------------------------------------------------------------------------
    def files_current(self, state: taskbranch.WorktreeRecord | None, tip: str | None) -> bool:
        """Does the work tree hold exactly the files of the task-branch tip, as its record says (no git)?"""
        return (
            state is not None
            and state.branch == self.host.branch
            and tip == state.commit
            and taskbranch.unchanged(self.repo.root, state)
        )

    def write_worktree(self, current: dict[str, bytes], files: dict[str, bytes], commit: str) -> None:
        """Make the work tree hold exactly `files` (from `commit`) and record it."""
        root = self.repo.root
        for rel, data in sorted(files.items()):
            if current.get(rel) != data:
                store.write_atomic(root / rel, data)
        for rel in current:
            if rel not in files:
                store.remove_file(root / rel)
        taskbranch.save_record(self.repo.git_dir, root, self.host.branch, commit, files)
        taskbranch.ensure_excluded(self.repo.common_dir)
        self.host.reads_show(None)

    def preflight(self) -> None:
        state = taskbranch.load_record(self.repo.git_dir)
        tip = self.tip()
        if self.files_current(state, tip):
            return
        if (
            state is None
            and tip is None
            and self.host.remote_task_branch() is None
            and self.previous_task_branch(state) is None
        ):
            self._say_unfetched()
            return  # no task branch anywhere yet: the first change starts one
        with self.host.lock:
            self.host.bring_in()

    def canonical_active(self) -> bytes | None:
        state = taskbranch.load_record(self.repo.git_dir)
        if state is None or state.commit != self.tip():
            return None
        return taskbranch.canonical_active(self.repo.root, state)

    def fallback_list(self) -> Document | None:
        return None  # the work tree's copy is gittasks' own: a missing one is written again by the bring-in

    def previous_task_branch(self, state: taskbranch.WorktreeRecord | None) -> tuple[str, str] | None:
        """(name, commit) of the task branch this clone used before `gittasks.branch` named another one (the work
        tree's record says which; else the default name), here or as a remote-tracking branch, when it holds a task
        list; None when there is none."""
        names = [
            state.branch if state is not None else "",
            self.host.setting("previousBranch") or "",
            taskbranch.DEFAULT_BRANCH,
        ]
        for name in dict.fromkeys(n.strip() for n in names):
            if not name or name == self.host.branch:
                continue
            found = self.repo.ref(f"refs/heads/{name}")
            if found is None:
                remote = self.repo.refs_named("refs/remotes/", name)
                found = next((sha for ref, sha in sorted(remote.items()) if ref.count("/") == 3), None)
            if found is not None and rules.ACTIVE_PATH in self.files_at(found):
                return name, found
        return None

    def _say_unfetched(self) -> None:
        """No task branch here nor as a remote-tracking branch: in a shallow or single-branch clone the remote may
        well have one that was never fetched; say how to take it (reads no more than the config and `.git/shallow`)."""
        remotes = self.repo.remotes()
        if not remotes:
            return
        branch = self.host.branch
        shallow = (self.repo.common_dir / "shallow").exists()
        fetches = [self.repo.file_setting(f"remote.{name}", "fetch") or "" for name in remotes]
        single = any(f and "*" not in f and not f.endswith(f"/{branch}") for f in fetches)
        if shallow or single:
            how = "a shallow clone" if shallow else "a single-branch clone"
            self.host.messages.append(
                f"this is {how}: it never fetched the task branch {branch}; run `gittasks sync` to take the "
                "task list from the remote"
            )
