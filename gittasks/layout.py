"""Where the task files are committed, behind one interface (task-format.md, "Where tasks live").

Two layouts implement `Layout`: the own branch (`layout_branch.py`, the default: a branch of its own written with
plumbing) and inline (`layout_inline.py`: the current branch, as in 0.1). `Workspace` picks one (`Workspace.layout`,
`Workspace.use_layout`) and reads, changes and syncs through it; a layout reaches back to its workspace only through
`Host`. The one plumbing commit (a tree, `commit-tree`, a compare-and-swap `update-ref`) is assembled here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from gittasks import rules, store
from gittasks.document import Document
from gittasks.errors import GittasksError
from gittasks.git import Repo

BRANCH = "branch"
INLINE = "inline"
TASK_PATHS = (rules.ACTIVE_PATH, rules.TASKS_DIR)
CAS_ATTEMPTS = 8
MOVE_HINT = "`gittasks migrate` moves them to a branch of their own"


class BranchMoved(GittasksError):
    """The task branch moved between reading it and committing on it (the compare-and-swap failed)."""


class MoveRefused(GittasksError):
    """git would not move the current branch and its work tree (inline layout): a lock file, uncommitted changes."""


def commit_files(
    repo: Repo, base: str | None, changes: Mapping[str, bytes | None], parents: Sequence[str], message: str
) -> str:
    """One commit made with plumbing: the tree of `base` (a commit or tree; None: empty) with `changes` (None:
    removed), on `parents`. No ref moves and the user's index is never touched."""
    return repo.commit_tree(repo.tree_with_files(base, changes), list(parents), message)


def commit_on(
    repo: Repo, ref: str, tip: str | None, changes: Mapping[str, bytes | None], message: str, reason: str | None = None
) -> str | None:
    """`commit_files` on `tip`, then `ref` moved from `tip` to it (compare-and-swap; `reason`: the reflog's line,
    the subject by default); None when `ref` moved meanwhile (the commit is then left unreferenced)."""
    commit = commit_files(repo, tip, changes, [tip] if tip else [], message)
    if not repo.update_ref(ref, commit, tip, reason or message.split("\n", 1)[0]):
        return None
    return commit


class Host(Protocol):
    """What a layout needs of its workspace: the repository, the settings, the lock, the notes for the user, and
    the few steps that belong to the workspace (its reads, its choice of layout, bringing the task branch in)."""

    repo: Repo
    active_path: Path
    messages: list[str]
    to_push: bool

    @property
    def lock(self) -> store.RepoLock: ...
    @property
    def machine(self) -> str: ...
    @property
    def branch(self) -> str: ...
    @property
    def branch_ref(self) -> str: ...
    @property
    def complete_parents(self) -> bool: ...
    @property
    def sync_timeout(self) -> float: ...
    def setting(self, key: str) -> str | None: ...
    def remote_task_branch(self) -> tuple[str, str] | None: ...
    def work_item_files(self) -> dict[str, bytes]: ...
    def check_links(self) -> None: ...
    def invalidate(self) -> None: ...
    def bring_in(self) -> None: ...
    def reads_show(self, doc: Document | None) -> None: ...
    def use_layout(self, name: str) -> None: ...


class Layout(Protocol):
    """One way of keeping the task history. The history: `tip`, `files_at`, `write` (a commit of task files on the
    tip, written into the work tree), `move` (the ref moved by compare-and-swap), `refusal` (why no change may be
    committed now), `history_rev`, `revision_name`. The work tree: `preflight` (its files made current),
    `canonical_active`, `fallback_list`. A sync: `ref`, `branch_name`, `upstream`, `moved`."""

    @property
    def name(self) -> str:
        """`gittasks.layout`'s value: BRANCH or INLINE."""
        ...

    @property
    def ref(self) -> str:
        """The ref holding the history, as a push names it."""
        ...

    @property
    def on_code_branch(self) -> bool:
        """Are the task files committed on the checked-out branch? (then git's checkouts and merges write them, a
        merge driver is needed, and a push carries code too)"""
        ...

    @property
    def without_link(self) -> str:
        """What the next command does once a symbolic link out of the repository is removed."""
        ...

    @property
    def log_command(self) -> str:
        """The git command that shows the task history."""
        ...

    def tip(self) -> str | None:
        """The commit the task history is at; None before the first."""
        ...

    def files_at(self, rev: str | None) -> dict[str, bytes]:
        """The task files (not `.gitattributes`) in the commit `rev`."""
        ...

    def write(self, new: dict[str, bytes | None], old: dict[str, bytes | None], message: str, canonical: bool) -> str:
        """(lock held, files current) Commit the task files `new` (None: remove) as one change and write them into
        the work tree; `old` is what the work tree held (put back when the commit fails); `canonical`: the active
        list's bytes are `document.dumps` of it."""
        ...

    def move(self, target: str, old: str | None, reason: str) -> bool:
        """Move the history from `old` to `target` (a descendant or a merge of it) and bring it into the work tree;
        False when it moved meanwhile. Raises MoveRefused when git will not."""
        ...

    def refusal(self) -> str | None:
        """Why no change may be committed now, in one line; None when one may."""
        ...

    def history_rev(self) -> str | None:
        """Where the task history is, as a revision; None before any."""
        ...

    def revision_name(self, given: str) -> str:
        """The revision `given` names in the task history (`HEAD` stands for the history's tip)."""
        ...

    def preflight(self) -> None:
        """Make the work-tree files current: bring in what moved, commit an edit made outside gittasks."""
        ...

    def canonical_active(self) -> bytes | None:
        """(after the preflight) The active list's bytes when a change of this clone wrote them in canonical form and
        the work tree still holds them; else None."""
        ...

    def fallback_list(self) -> Document | None:
        """The active list when the work tree lacks the file: the committed one where git's checkout owns it."""
        ...

    def branch_name(self) -> str | None:
        """The branch holding the history, as a sync pushes it; None on a detached HEAD."""
        ...

    def upstream(self, branch: str) -> tuple[str | None, str | None]:
        """(remote, ref) of the upstream that decides where `branch` syncs; (None, None) when the layout's own rule
        (`gittasks.remote`, origin, the only remote) decides."""
        ...

    def moved(self) -> tuple[str, str | None] | None:
        """Has the task list moved away from this layout (`gittasks migrate`)? (the task-branch commit to follow, the
        commit its list came from when a migrate made it); None when it has not."""
        ...
