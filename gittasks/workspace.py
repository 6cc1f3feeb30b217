"""The library's front door: a git work tree holding gittasks files, and every operation on it.

Two layouts (task-format.md, "Where tasks live"):
- own branch (the default): the task files are committed to the branch `gittasks` with plumbing and a private index;
  the work tree holds a copy that assistants and editors use as plain files. The user's branch, index and HEAD are
  never read for tasks nor written. A read whose branch tip and files are as this work tree last wrote them starts
  no git process; otherwise the branch is brought into the files, merged with any edit made outside gittasks.
- inline: the task files are committed on the current branch (0.1's way), for repositories whose whole purpose is
  the task list; no change is committed while a rebase, merge, cherry-pick or bisect is stopped or HEAD is detached.

Every change runs as one transaction under the repository-wide lock: bring in what moved, read, change, validate,
commit, write the files atomically.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gittasks import (
    archive,
    clone,
    document,
    failpoints,
    ids,
    model,
    render,
    rules,
    secrets_check,
    store,
    taskbranch,
    taskcheck,
    taskset,
    trailers,
    work_items,
)
from gittasks.document import Document, DocumentError
from gittasks.errors import GittasksError, UnknownId
from gittasks.git import Repo, find_repo

T = TypeVar("T")

TASK_PATHS = (rules.ACTIVE_PATH, rules.TASKS_DIR)
BRANCH = "branch"
INLINE = "inline"
CAS_ATTEMPTS = 8
CHECKED_FILE = "gittasks-checked"  # inline layout: the commit whose task files were last checked (_inline_settle)
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
MOVE_HINT = "`gittasks migrate` moves them to a branch of their own"
_DATE_WORDS = re.compile(
    r"\d|\b(ago|yesterday|today|now|noon|midnight|tea|last|week|day|month|year|hour|minute|second)s?\b", re.I
)


@dataclass
class Outcome:
    """What a change did: the commit (None when nothing changed), the ids touched and notes for the user."""

    commit: str | None
    touched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    value: Any = None


class BranchMoved(GittasksError):
    """The task branch moved between reading it and committing on it (the compare-and-swap failed)."""


def changed_ids(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The ids whose task differs between two {id: task} maps (added, changed or removed), in natural order."""
    ids = [i for i in new if old.get(i) != new[i]] + [i for i in old if i not in new]
    return sorted(ids, key=document.natural_key)


def changed_task_ids(before: Document | None, after: Document) -> list[str]:
    old = {t["id"]: t for t in (before or {}).get("tasks", [])}
    return changed_ids(old, {t["id"]: t for t in after.get("tasks", [])})


def same_files(one: dict[str, bytes], other: dict[str, bytes]) -> bool:
    """Do two sets of task files hold the same content? (line ends, a BOM or key order alone are no change)"""
    if one.keys() != other.keys():
        return False
    for rel, data in one.items():
        if data == other[rel]:
            continue
        try:
            if rel == rules.ACTIVE_PATH:
                a, b = document.load_document(data, rel), document.load_document(other[rel], rel)
                if document.canonical(a) != document.canonical(b):
                    return False
            else:
                if [document.canonical_task(t) for t in taskset.parse_archive(data, rel)] != [
                    document.canonical_task(t) for t in taskset.parse_archive(other[rel], rel)
                ]:
                    return False
        except DocumentError:
            return False
    return True


def bad_file(files: dict[str, bytes]) -> tuple[str, str] | None:
    """(path, problem) of the first of `files` that is not a valid task file (`document.check_file`), the problem
    without the advice its message ends with (that one is about the work tree's copy); None when all are valid."""
    for rel, raw in sorted(files.items()):
        try:
            document.check_file(raw, rel)
        except DocumentError as exc:
            return rel, str(exc).split("; ", 1)[0]
    return None


def made_by(repo: Repo, rev: str, rel: str) -> tuple[str, str]:
    """(commit, machine) of the last commit of `rev` that changed `rel`: its `Machine:` trailer, else its author;
    both one safe line."""
    fields = repo.log(rev, "%H%x1f%an%x1f%(trailers:key=Machine,valueonly,separator=)", "-1", "--", rel)
    commit, author, machine = [*fields.strip().split("\x1f"), "", "", ""][:3]
    return commit or repo.rev(rev) or rev, trailers.one_line(trailers.read_value(machine) or author or "unknown", 60)


def last_good(repo: Repo, tip: str, limit: int = 200) -> str | None:
    """The newest commit on `tip`'s first-parent line (the tip excluded) whose task files are all valid, looking at
    `limit` commits at most; None when none is."""
    known: dict[bytes, bool] = {}  # most files are the same from one commit to the next: each is checked once

    def valid(rel: str, raw: bytes) -> bool:
        if raw not in known:
            known[raw] = bad_file({rel: raw}) is None
        return known[raw]

    for commit in repo.out("rev-list", "--first-parent", "-n", str(limit + 1), tip).split()[1:]:
        if all(valid(rel, raw) for rel, raw in taskbranch.files_at(repo, commit, keep=False).items()):
            return commit
    return None


class Workspace:
    """A git work tree with gittasks files in it."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.active_path = repo.root / rules.ACTIVE_PATH
        self._lock = store.RepoLock(repo.common_dir)
        self._checked = False
        self._doc: Document | None = None  # the active list as read after the preflight, for this process
        self._layout: str | None = None
        self._layout_settled = False  # inline: no move of the task list found by this process (follow_moved_list)
        self.head_tracks_list = False  # own branch: the checked-out commit tracks the task file (predates a migrate)
        self.via: str | None = None  # the door a change came through when not the CLI: claude-hook, mcp (a trailer)
        self.messages: list[str] = []  # one-line notices for stderr (driver registered, external edit committed)
        self.to_push = False  # this process committed a change that no sync of it has carried yet (autosync)

    @classmethod
    def open(cls, path: Path | None = None) -> Workspace:
        return cls(find_repo(path))

    # -- settings --------------------------------------------------------------------------------------------------
    @property
    def machine(self) -> str:
        name = os.environ.get("GITTASKS_MACHINE") or self.setting("machine") or platform.node()
        return name.strip() or "unknown"

    def setting(self, key: str) -> str | None:
        return self.repo.gittasks_setting(key)

    @property
    def complete_parents(self) -> bool:
        """Does a parent complete with its last open subtask (`gittasks.autoCompleteParents`, on by default)?"""
        return self.flag("autoCompleteParents", True)

    def flag(self, key: str, default: bool) -> bool:
        """A yes/no setting (`gittasks.KEY`: true/yes/on/1 or false/no/off/0); `default` when unset or neither."""
        value = (self.setting(key) or "").strip().lower()
        return True if value in TRUE_WORDS else False if value in FALSE_WORDS else default

    @property
    def branch(self) -> str:
        """The task branch's name (`gittasks.branch`, `gittasks` by default)."""
        return (self.setting("branch") or taskbranch.DEFAULT_BRANCH).strip() or taskbranch.DEFAULT_BRANCH

    @property
    def branch_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    # -- the layout ------------------------------------------------------------------------------------------------
    @property
    def layout(self) -> str:
        """'branch' or 'inline': `gittasks.layout` when set, else found (inline when the current branch already
        tracks the task list and no task branch exists)."""
        if self._layout is None:
            configured = (self.setting("layout") or "").strip().lower()
            if configured in (BRANCH, INLINE):
                self._layout = configured
            elif (
                taskbranch.load_state(self.repo.git_dir) is not None
                or self.task_branch_tip() is not None
                or self.remote_task_branch() is not None
            ):
                self._layout = BRANCH
            elif self.repo.head_from_files() and self.repo.show("HEAD", rules.ACTIVE_PATH) is not None:
                self._layout = INLINE
                self.messages.append(
                    f"this repository keeps its tasks on the current branch (the inline layout); {MOVE_HINT}"
                )
                with contextlib.suppress(GittasksError):
                    self.repo.config_set_local("gittasks.layout", INLINE)
            else:
                self._layout = BRANCH
        return self._layout

    @property
    def inline(self) -> bool:
        return self.layout == INLINE

    def set_up(self) -> bool:
        """Does this repository keep a gittasks list (a task branch here or on a remote, a work tree gittasks wrote,
        a configured layout, a list on the current branch)? Read from git's files; nothing is set up by asking."""
        return (
            (self.setting("layout") or "").strip().lower() in (BRANCH, INLINE)
            or taskbranch.load_state(self.repo.git_dir) is not None
            or self.task_branch_tip() is not None
            or self.remote_task_branch() is not None
            or (self.repo.head_from_files() is not None and self.repo.show("HEAD", rules.ACTIVE_PATH) is not None)
        )

    def task_branch_tip(self) -> str | None:
        return self.repo.ref(self.branch_ref)

    def remote_task_branch(self) -> tuple[str, str] | None:
        """(remote, commit) of a remote-tracking task branch (`refs/remotes/R/gittasks`): the configured remote's,
        else origin's, else the only one."""
        found = self.repo.refs_named("refs/remotes/", self.branch)
        by_remote = {name.split("/")[2]: sha for name, sha in found.items() if name.count("/") == 3}
        if not by_remote:
            return None
        for preferred in (self.setting("remote"), "origin"):
            if preferred and preferred in by_remote:
                return preferred, by_remote[preferred]
        if len(by_remote) == 1:
            return next(iter(by_remote.items()))
        return None

    def stopped_operation(self) -> str | None:
        """Inline layout: why no change may be committed now (a stopped rebase, merge, ... or a detached HEAD)."""
        operation = self.repo.operation_in_progress()
        if operation is not None:
            finish = "git bisect reset" if operation == "bisect" else f"git {operation} --continue or --abort"
            return (
                f"a {operation} is in progress on the current branch, which holds the task list (inline layout); "
                f"finish it ({finish}) and retry, or {MOVE_HINT}"
            )
        if self.repo.head_detached():
            return (
                "HEAD is detached and the task list lives on the current branch (inline layout); check out a "
                f"branch (`git switch main`) and retry, or {MOVE_HINT}"
            )
        return None

    # -- arming and checks -----------------------------------------------------------------------------------------
    def arm(self) -> bool:
        """Register the merge driver in this clone's own config when it lacks it (inline layout) or when the program
        registered no longer exists (both layouts: gittasks installed elsewhere); True when it did. Reads the config
        files only: no git process when the registration is sound."""
        registered = clone.registered_driver(self.repo)
        if registered is not None and clone.command_runs(registered):
            return False
        if registered is None and not self.inline:
            return False  # the own-branch layout merges its files itself; `init` registers the driver
        clone.register_driver(self.repo)
        self.messages.append(
            "registered the gittasks merge driver in this clone's git config (.git/config)"
            if registered is None
            else f"registered the gittasks merge driver again: the program of `{render.safe(registered)}` no longer "
            "exists"
        )
        return True

    def outside_link(self) -> str | None:
        """Why no task file may be read or written now: one of them (or a folder holding them) is a symbolic link out
        of the repository, which would read another file into the task list or write over it. None when none is."""
        root = self.repo.root
        found = store.outside_link(root, (rules.ACTIVE_PATH, rules.ARCHIVE_DIR, rules.WORK_ITEMS_DIR))
        found = found or store.outside_link(root, taskbranch.worktree_paths(root))
        if found is None:
            return None
        rel, target = found
        committed = self.repo.mode_at("HEAD", rel)
        then = "goes on without it" if self.inline else f"writes the task files from the branch {self.branch}"
        arg = render.safe(shlex.quote(rel))
        if committed == "120000":
            fix = f"the current branch commits that link: `git rm {arg}` and commit; the next command then {then}"
        elif committed is not None and self.inline:
            fix = f"remove it and put back the committed files: `rm {arg} && git checkout HEAD -- {arg}`"
        else:
            fix = f"remove it (`rm {arg}`); the next command then {then}"
        return (
            f"{render.safe(rel)} is a symbolic link to {target}, outside the repository; gittasks never reads or "
            f"writes task files through it: {fix}"
        )

    def check_links(self) -> None:
        """Refuse, in one line, to touch the task files while one is a symbolic link out of the repository."""
        reason = self.outside_link()
        if reason is not None:
            raise GittasksError(reason)

    def preflight(self) -> None:
        """Make the work-tree files current (bring in a moved branch, commit a pending external edit). Runs once per
        process; starts no git process when nothing moved (own-branch layout)."""
        if self._checked:
            return
        self.check_links()
        if self.inline:
            self.follow_moved_list()
        if self.inline:
            self._inline_preflight()
        else:
            self._branch_preflight()
        self._checked = True

    # -- following a migrate ---------------------------------------------------------------------------------------
    def moved_list(self) -> tuple[str, str | None] | None:
        """Inline layout: has the task list moved to a task branch (`gittasks migrate` on another clone, or here and
        interrupted)? (the task-branch commit to follow, the inline commit its list came from when a migrate made
        it); None when it has not. A migrate commit pulled without the task branch (`git pull origin main` fetches
        main alone) fetches the task branch from the remote."""
        repo = self.repo
        remote = self.remote_task_branch()
        found = self.task_branch_tip() or (remote[1] if remote else None)
        if found is not None:
            origin = repo.root_trailer(found, trailers.MIGRATED_FROM)
            if origin:
                return found, origin
            # a task branch that no migrate made: followed once the current branch no longer tracks the list
            head_tracks = repo.show("HEAD", rules.ACTIVE_PATH) is not None
            return (found, None) if repo.head() is not None and not head_tracks else None
        # a migrate commit that came in (HEAD, or the side a stopped `git pull` merges) without the task branch
        came = ["HEAD", *(["MERGE_HEAD"] if (repo.git_dir / "MERGE_HEAD").exists() else [])]
        if not any(self._migrated_at(rev) for rev in came):
            return None
        fetched = self._fetch_task_branch()
        origin = repo.root_trailer(fetched, trailers.MIGRATED_FROM)
        return fetched, origin or None

    def _migrated_at(self, rev: str) -> bool:
        """Does the commit `rev` lack the task list because a migrate commit removed it?"""
        repo = self.repo
        if repo.show(rev, rules.ACTIVE_PATH) is not None or repo.rev(rev) is None:
            return False
        action = "--format=%(trailers:key=Action,valueonly,separator=)"
        return repo.out("log", "-1", action, rev, "--", rules.ACTIVE_PATH).strip() == "migrate"

    def _fetch_task_branch(self) -> str:
        """The task branch fetched from the remote (the configured one, else origin, else the only one); refused in
        one line when it cannot be."""
        names = self.repo.remotes()
        name = self.setting("remote") or ("origin" if "origin" in names else (names[0] if len(names) == 1 else None))
        moved = f"the task list moved to the branch {self.branch} (a commit of `gittasks migrate` came in)"
        if name is None or name not in names:
            raise GittasksError(
                f"{moved} and no remote is set to fetch it from; `gittasks sync --remote NAME` takes it"
            )
        try:
            timeout = max(0.5, float(self.setting("syncTimeout") or os.environ.get("GITTASKS_SYNC_TIMEOUT") or 30))
        except ValueError:
            timeout = 30.0
        tracking = f"refs/remotes/{name}/{self.branch}"
        fetched = self.repo.fetch(name, self.branch_ref, tracking, timeout)
        tip = self.repo.ref(tracking) if fetched.outcome == "ok" else None
        if tip is None:
            raise GittasksError(
                f"{moved} and it could not be fetched from {name}; run `gittasks sync` when {name} is reachable"
            )
        return tip

    def follow_moved_list(self) -> bool:
        """Inline layout: when the task list moved to a task branch (`moved_list`), follow it in one step: this
        clone's own inline tasks merged onto the task branch (pushed by the next sync), the current branch made to
        stop tracking the task files as migrate's own commit does, the layout switched. True when it followed."""
        if not self.inline or self._layout_settled:
            return False
        if self.moved_list() is None:  # (read without the lock: the common case takes none)
            self._layout_settled = True
            return False
        with self._lock:
            moved = self.moved_list()
            if moved is None:
                return False
            found, origin = moved
            repo = self.repo
            head = repo.head()
            base_rev = repo.merge_base(head, origin) if head and origin and repo.rev(origin) else None
            base = self.branch_files(base_rev) if base_rev else None
            ours = self._inline_files(head, base)
            tip = self.task_branch_tip()
            if tip is None:
                if not repo.update_ref(self.branch_ref, found, None, "gittasks: follow the task list"):
                    raise BranchMoved("the task branch moved while gittasks read it; run the command again")
                tip = found
            theirs = self.branch_files(tip)
            if rules.ACTIVE_PATH not in theirs:
                raise GittasksError(
                    f"a branch {self.branch} exists and holds no task list (is it one of yours?); gittasks leaves it "
                    f"alone: name the task branch otherwise with `git config gittasks.branch NAME`"
                )
            merged = self._merge_edit(
                base if base is not None else self._keeping_base(None, ours, theirs), ours, theirs
            )
            ids: list[str] = []
            if not same_files(merged, theirs):
                ids, subjects = self._changed_ids(theirs, merged)
                stamp = rules.format_stamp(rules.utc_now())
                title = f"migrate: the tasks of {self.machine}'s inline list"
                message = trailers.message("migrate", ids, subjects, self.machine, stamp, title=title)
                changes: dict[str, bytes | None] = {rel: None for rel in theirs if rel not in merged}
                changes.update({rel: data for rel, data in merged.items() if theirs.get(rel) != data})
                commit = self._branch_commit(tip, changes, message)
                if commit is None:
                    raise BranchMoved("the task branch moved while gittasks read it; run the command again")
                tip, theirs = commit, merged
            code = self._stop_tracking(head)
            repo.config_set_local("gittasks.layout", BRANCH)
            self._layout = BRANCH
            taskbranch.ensure_excluded(repo.common_dir)
            self._write_worktree(taskbranch.read_worktree(repo.root), theirs, tip)
        mine = (
            f"{len(ids)} task(s) of this clone merged onto it" if ids else "nothing of this clone's was missing there"
        )
        self.messages.append(
            f"the task list moved to the branch {self.branch} (`gittasks migrate`); this clone follows it: {mine}"
            + (f"; {code}" if code else "")
            + ("; `gittasks sync` pushes them" if ids else "")
        )
        return True

    def _inline_files(self, head: str | None, base: dict[str, bytes] | None) -> dict[str, bytes]:
        """The inline list as this clone holds it: the work-tree files (an edit not committed yet, or the copy a
        stopped `git pull` left), else HEAD's; a file missing from both (git removed it with the migrate commit)
        is taken as unchanged from `base`."""
        files = taskbranch.read_worktree(self.repo.root)
        try:
            taskset.fold(files)
        except DocumentError:  # (conflict markers) the committed list instead: the line merge is git's to finish
            files = taskbranch.files_at(self.repo, head) if head else {}
        for rel, data in (base or {}).items():
            files.setdefault(rel, data)
        return files

    def _stop_tracking(self, head: str | None) -> str | None:
        """The current branch stops tracking the task files, as migrate's own commit does; the user's other staged
        and unstaged work stays as it is. Says what it did."""
        repo = self.repo
        in_head = [p for p in repo.paths_at(head, TASK_PATHS) if taskbranch.is_task_path(p)] if head else []
        in_index = [p for p in repo.tracked(TASK_PATHS) if taskbranch.is_task_path(p)]
        operation = repo.operation_in_progress()
        branch = repo.branch()
        if branch is None and operation is None:
            return None  # a detached HEAD (an old checkout): left as it is; the branches stop when checked out
        said = None
        if in_head and operation is None and head is not None:
            tree = repo.tree_with_files(head, dict.fromkeys(in_head))
            stamp = rules.format_stamp(rules.utc_now())
            message = trailers.message(
                "migrate", [], {}, self.machine, stamp, title=f"migrate: task files move to the branch {self.branch}",
                extra={"Migrated-To": self.branch},
            )  # fmt: skip
            commit = repo.commit_tree(tree, [head], message)
            if not repo.update_ref("HEAD", commit, head, "gittasks: migrate"):
                raise GittasksError("the current branch moved meanwhile; run the command again")
            said = f"{branch} stops tracking the task files ({commit[:10]})"
        if in_index:
            repo.untrack(sorted(set(in_index)))
        if operation is not None and (in_head or in_index):
            said = self._finish_operation(operation)
        return said

    def _finish_operation(self, operation: str) -> str:
        """After the task files were dropped from the index of a stopped merge, rebase or cherry-pick: finish it when
        nothing else is unmerged (a rebase stops again on each commit that changed the task list)."""
        repo = self.repo
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

    # -- own-branch layout -----------------------------------------------------------------------------------------
    def files_current(self, state: taskbranch.State | None, tip: str | None) -> bool:
        """Does the work tree hold exactly the files of the task-branch tip, as its record says (no git)?"""
        return (
            state is not None
            and state.branch == self.branch
            and tip == state.commit
            and taskbranch.unchanged(self.repo.root, state)
        )

    def _branch_preflight(self) -> None:
        self.arm()
        state = taskbranch.load_state(self.repo.git_dir)
        tip = self.task_branch_tip()
        if self.files_current(state, tip):
            return
        if (
            state is None
            and tip is None
            and self.remote_task_branch() is None
            and self._previous_task_branch(state) is None
        ):
            self._say_unfetched()
            return  # no task branch anywhere yet: the first change starts one
        with self._lock:
            self.bring_in()

    def _previous_task_branch(self, state: taskbranch.State | None) -> tuple[str, str] | None:
        """(name, commit) of the task branch this clone used before `gittasks.branch` named another one (the work
        tree's record says which; else the default name), here or as a remote-tracking branch, when it holds a task
        list; None when there is none."""
        names = [
            state.branch if state is not None else "",
            self.setting("previousBranch") or "",
            taskbranch.DEFAULT_BRANCH,
        ]
        for name in dict.fromkeys(n.strip() for n in names):
            if not name or name == self.branch:
                continue
            found = self.repo.ref(f"refs/heads/{name}")
            if found is None:
                remote = self.repo.refs_named("refs/remotes/", name)
                found = next((sha for ref, sha in sorted(remote.items()) if ref.count("/") == 3), None)
            if found is not None and rules.ACTIVE_PATH in self.branch_files(found):
                return name, found
        return None

    def _start_renamed(self, state: taskbranch.State | None) -> str | None:
        """(lock held) The task branch under its new name (`gittasks.branch`), started from the one used before so that
        its history (`gittasks log ID`) carries over; None when there was none."""
        previous = self._previous_task_branch(state)
        if previous is None:
            return None
        name, commit = previous
        if not self.repo.update_ref(self.branch_ref, commit, None, f"gittasks: renamed from {name}"):
            return self.task_branch_tip()
        self.repo.config_set_local("gittasks.previousBranch", name)
        self.messages.append(
            f"the task branch is now {self.branch} (`gittasks.branch`), started from {name} with its history; other "
            f"machines keep using {name} until they set `git config gittasks.branch {self.branch}` (sync tells them)"
        )
        return commit

    def _say_unfetched(self) -> None:
        """No task branch here nor as a remote-tracking branch: in a shallow or single-branch clone the remote may
        well have one that was never fetched; say how to take it (reads no more than the config and `.git/shallow`)."""
        remotes = self.repo.remotes()
        if not remotes:
            return
        shallow = (self.repo.common_dir / "shallow").exists()
        fetches = [self.repo.file_setting(f"remote.{name}", "fetch") or "" for name in remotes]
        single = any(f and "*" not in f and not f.endswith(f"/{self.branch}") for f in fetches)
        if shallow or single:
            how = "a shallow clone" if shallow else "a single-branch clone"
            self.messages.append(
                f"this is {how}: it never fetched the task branch {self.branch}; run `gittasks sync` to take the "
                "task list from the remote"
            )

    def branch_files(self, rev: str | None) -> dict[str, bytes]:
        """The task files (not `.gitattributes`) in the task-branch commit `rev`."""
        return taskbranch.files_at(self.repo, rev)

    def bring_in(self) -> None:
        """(lock held) Bring the task branch into the work tree: a fresh clone's first command takes the remote's
        task branch; a branch that moved is written into the files, merged with an edit made outside gittasks since
        the files were last written (then committed as its own change); a missing file is written again."""
        repo = self.repo
        self.check_links()
        store.remove_stale_temp_files(self.active_path.parent)
        for _ in range(CAS_ATTEMPTS):
            state = taskbranch.load_state(repo.git_dir)
            tip = self.task_branch_tip()
            if tip is None:
                remote = self.remote_task_branch()
                if remote is not None:
                    target = self._good_start(*remote)
                    if not repo.update_ref(self.branch_ref, target, None, f"gittasks: from {remote[0]}"):
                        continue
                    tip = target
            if tip is None:
                tip = self._start_renamed(state)
            if tip is None:
                return
            if self.files_current(state, tip):
                return
            theirs = self.branch_files(tip)
            if state is None and rules.ACTIVE_PATH not in theirs:
                raise GittasksError(
                    f"a branch {self.branch} exists and holds no task list (is it one of yours?); gittasks leaves it "
                    f"alone: name the task branch otherwise with `git config gittasks.branch NAME`"
                )
            current = taskbranch.read_worktree(repo.root)
            # a file missing here is written from the branch: "delete it to get the last committed version back"
            # must not bring back a bad one (a branch an older gittasks fast-forwarded onto a remote's bad file);
            # a file present is left to the edit and the merge below, which name its problem or replace it
            self._refuse_bad_tip(tip, {rel: data for rel, data in theirs.items() if rel not in current})
            if (
                rules.ACTIVE_PATH in current
                and repo.show("HEAD", rules.ACTIVE_PATH) is not None
                and not any(taskbranch.is_task_path(path) for path in repo.unmerged())
            ):
                # the checked-out commit tracks the task file (it predates `gittasks migrate`): git wrote that file,
                # not the user; leave it alone, read the task branch, refuse changes until HEAD moves on (a copy a
                # stopped merge or rebase left unmerged is merged in below instead: it may hold a teammate's tasks)
                self.head_tracks_list = True
                self._doc = document.load_document(theirs[rules.ACTIVE_PATH], f"{self.branch}:{rules.ACTIVE_PATH}")
                return
            base_rev = state.commit if state is not None and state.commit and repo.rev(state.commit) else None
            if base_rev is None and state is None:
                origin = repo.root_trailer(tip, "Migrated-From")  # an inline clone following a migrate
                base_rev = origin if origin and repo.rev(origin) else None
            base = self.branch_files(base_rev) if base_rev else None
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
                held = self._git_holds_task_file()
                if held is None:
                    result = self._merge_edit(base, self._stamp_edit(base, ours), theirs)
                else:
                    result, said = self._merge_git_copy(held, base, ours, theirs)
                if not same_files(result, theirs):
                    ids, subjects = self._changed_ids(theirs, result)
                    stamp = rules.format_stamp(rules.utc_now())
                    title = "tasks from git's copy of the task file" if held and held[0] != "stopped" else None
                    message = trailers.message("external-edit", ids, subjects, self.machine, stamp, title=title)
                    changes: dict[str, bytes | None] = {rel: None for rel in theirs if rel not in result}
                    changes.update({rel: data for rel, data in result.items() if theirs.get(rel) != data})
                    commit = self._branch_commit(tip, changes, message)
                    if commit is None:
                        continue
                    tip = commit
                    if said is None:
                        self.messages.append(
                            f"committed an edit made outside gittasks ({len(ids)} task(s)) as its own commit"
                        )
                if said is not None:
                    self.messages.append(said)
            settled = self._settle_duplicates(result, base)
            if settled is not None:
                changes, message = settled
                commit = self._branch_commit(tip, changes, message)
                if commit is None:
                    continue
                tip = commit
                result = {rel: data for rel, data in {**result, **changes}.items() if data is not None}
            self._write_worktree(current, result, tip)
            return
        raise BranchMoved(f"the task branch {self.branch} kept moving while gittasks read it; run the command again")

    def _git_holds_task_file(self) -> tuple[str, str | None] | None:
        """(own-branch layout) Did git, not a user, write the work-tree task files? ('unmerged', operation) when the
        index holds an unmerged task file (a merge, rebase, cherry-pick or stash pop stopped on it), ('tracked',
        operation) when the index tracks one (the code branch still carries it), ('stopped', operation) when a merge,
        rebase or cherry-pick is stopped; None otherwise. Such a copy is never an edit that deletes tasks."""
        operation = self.repo.operation_in_progress()
        listed = self.repo.out("ls-files", "-s", "-z", "--", *TASK_PATHS).split("\0")
        stages = {entry.split("\t", 1)[0].split(" ")[-1] for entry in listed if "\t" in entry}
        if stages - {"0"}:
            return "unmerged", operation
        if stages:
            return "tracked", operation
        return ("stopped", operation) if operation in ("merge", "rebase", "cherry-pick", "revert") else None

    def _merge_git_copy(
        self,
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
        finish = (
            f" and `git {operation} --continue`" if operation in ("merge", "rebase", "cherry-pick", "revert") else ""
        )
        origin: dict[str, bytes] | None = base
        if kind == "unmerged":
            staged = {rel: self.repo.show(":1", rel) for rel in ours if taskbranch.is_task_path(rel)}
            origin = {rel: data for rel, data in staged.items() if data is not None} or None
        elif kind == "tracked":
            origin = None
        try:
            keeping = self._keeping_base(origin, ours, theirs)
            copy = self._stamp_edit(base, ours) if kind == "stopped" else ours
            result = self._merge_edit(keeping, copy, theirs)
        except DocumentError:
            if kind == "stopped":
                raise  # an edit made during the stopped operation: refused with the file's own message
            where = "a stopped git operation" if kind == "unmerged" else "the index"
            return dict(theirs), (
                f"{rules.ACTIVE_PATH} held a copy written by git ({where}) that is not a valid task list; it was set "
                f"aside (git keeps it in the index) and the file written again from the branch {self.branch}; "
                f"`git rm --cached {arg}`{finish} stops the code branch tracking it"
            )
        if kind == "stopped":
            return result, None
        why = "a stopped git operation left" if kind == "unmerged" else "the index tracks"
        return result, (
            f"{why} an older copy of {rules.ACTIVE_PATH} from the code branch: its tasks were merged into the "
            f"branch {self.branch} (none deleted) and the file written again from it; finish with "
            f"`git rm --cached {arg}`{finish}"
        )

    @staticmethod
    def _keeping_base(
        origin: dict[str, bytes] | None, ours: dict[str, bytes], theirs: dict[str, bytes]
    ) -> dict[str, bytes]:
        """A merge base under which `ours` deletes no task: `origin` cut to the tasks `ours` holds, or when there is
        no origin, `ours` cut to the tasks `theirs` holds (a task both hold then takes `theirs`'s version)."""
        kept = set(taskset.task_map(taskset.fold(ours).doc))
        if origin is None:
            source, kept = ours, kept & set(taskset.task_map(taskset.fold(theirs).doc))
        else:
            source = origin
        folded = taskset.fold(source)
        doc = {**folded.doc, "tasks": [t for t in folded.doc["tasks"] if t["id"] in kept]}
        doc.pop("conflicts", None)
        return {**taskset.split(doc), **folded.work_items}

    def _good_start(self, remote: str, tip: str) -> str:
        """(a clone's first command) The commit of the remote's task branch to start from: its tip, else (a task
        file there is not valid) the last commit whose task files are; `sync` takes the rest once it is fixed."""
        found = bad_file(self.branch_files(tip))
        if found is None:
            self.messages.append(f"took the task list from {remote}/{self.branch}")
            return tip
        rel, problem = found
        commit, machine = made_by(self.repo, tip, rel)
        good = last_good(self.repo, tip)
        if good is None:
            raise DocumentError(
                f"{problem}: {remote}/{self.branch} holds it since commit {commit[:10]} (made on {machine}) and no "
                "earlier commit holds valid task files; fix the file there, then run the command again"
            )
        self.messages.append(
            f"took the task list from {remote}/{self.branch} as of {good[:10]}, its last commit whose task files are "
            f"valid: {problem} since commit {commit[:10]} (made on {machine}); `gittasks sync` takes the rest once "
            "the file is fixed there"
        )
        return good

    def _refuse_bad_tip(self, tip: str, files: dict[str, bytes]) -> None:
        """Refuse, in one line naming the commit and the machine that made it and the last good commit, to write a
        task file of the task branch `tip` that is not valid."""
        found = bad_file(files)
        if found is None:
            return
        rel, problem = found
        commit, machine = made_by(self.repo, tip, rel)
        good = last_good(self.repo, tip)
        back = (
            f"the last commit whose task files are valid is {good[:10]}: put the branch back there with "
            f"`git branch -f {self.branch} {good[:10]}` (`git log {self.branch}` shows what that leaves out); "
            "`gittasks sync` then waits for the file to be fixed"
            if good is not None
            else "no earlier commit holds valid task files: fix the file on the machine that made it"
        )
        raise DocumentError(
            f"{problem}: the task branch {self.branch} holds it since commit {commit[:10]} (made on {machine}); {back}"
        )

    def _settle_duplicates(
        self, files: dict[str, bytes], base: dict[str, bytes] | None
    ) -> tuple[dict[str, bytes | None], str] | None:
        """The change that keeps once each task found both in the active list and in the archive of `files`
        (`taskset.settle_duplicates`; `base`: files known to hold none) and its commit message; None when there is
        none, or when a file cannot be read (its reader names the problem)."""
        try:
            changes, ids = taskset.settle_duplicates(files, base)
        except DocumentError:
            return None
        if not ids:
            return None
        active = model.task_index(document.load_document(files[rules.ACTIVE_PATH], rules.ACTIVE_PATH))
        subjects = {i: str(active[i].get("subject", "")) for i in ids}
        self.messages.append(
            f"kept {render.safe(', '.join(ids))} once: in the active list and in the archive too (a plain-git merge "
            "or a hand commit); the copy changed last stays, committed as its own change"
        )
        return changes, trailers.message("reconcile", ids, subjects, self.machine, rules.format_stamp(rules.utc_now()))

    def _stamp_edit(self, base: dict[str, bytes] | None, ours: dict[str, bytes]) -> dict[str, bytes]:
        """The edited active list stamped (`model.stamp_edit`), so that the edit counts as the newest change of the
        tasks it changed when it is merged (an editor does not stamp them)."""
        raw = ours.get(rules.ACTIVE_PATH)
        if raw is None or (base is not None and base.get(rules.ACTIVE_PATH) == raw):
            return ours
        try:
            doc = document.load_document(raw, rules.ACTIVE_PATH)
            old = (
                document.load_document(base[rules.ACTIVE_PATH], rules.ACTIVE_PATH)
                if base and rules.ACTIVE_PATH in base
                else None
            )
        except DocumentError:
            return ours  # refused with the file's own message by the merge's check
        change = model.Change(self.machine, rules.utc_now())
        model.stamp_edit(old, doc, change)
        return {**ours, rules.ACTIVE_PATH: document.dumps(doc)} if change.touched else ours

    def _merge_edit(
        self, base: dict[str, bytes] | None, ours: dict[str, bytes], theirs: dict[str, bytes]
    ) -> dict[str, bytes]:
        """The external edit `ours` merged with the branch `theirs` by the one merge function; refused when the edit
        is not a valid task file."""
        for rel, data in sorted(ours.items()):
            if base is not None and base.get(rel) == data:
                continue
            problem = taskcheck.file_problem(
                data, rel, base.get(rel) if base else None, archived=lambda: taskset.archived_ids(ours)
            )
            if problem is not None:
                raise DocumentError(problem)
        from gittasks import merge  # only a moved task branch or an edit made outside gittasks is merged

        try:
            merged = merge.merge_task_files(
                base or {}, ours, theirs, have_base=base is not None, complete_parents=self.complete_parents
            )
        except DocumentError:
            if base is None or base != theirs:
                raise
            return dict(ours)  # the branch holds a file that cannot be read and has not moved: the edit replaces it
        return {rel: data for rel, data in merged.files.items() if data is not None}

    @staticmethod
    def _changed_ids(before: dict[str, bytes], after: dict[str, bytes]) -> tuple[list[str], dict[str, str]]:
        """The ids of the tasks that differ between two sets of files, and their subjects."""
        try:
            old = taskset.task_map(taskset.fold(before).doc)
        except DocumentError:  # the edit replaced a file that could not be read
            old = {}
        new = taskset.task_map(taskset.fold(after).doc)
        ids = changed_ids(old, new)
        return ids, {i: str((new.get(i) or old.get(i) or {}).get("subject", "")) for i in ids}

    def _branch_commit(self, tip: str | None, changes: dict[str, bytes | None], message: str) -> str | None:
        """One commit on the task branch with `changes` (None: remove) on top of `tip`; None when the branch moved
        meanwhile (compare-and-swap)."""
        if tip is None:
            changes = {".gitattributes": clone.BRANCH_GITATTRIBUTES, **changes}
        tree = self.repo.tree_with_files(tip, changes)
        commit = self.repo.commit_tree(tree, [tip] if tip else [], message)
        subject = message.split("\n", 1)[0]
        if not self.repo.update_ref(self.branch_ref, commit, tip, subject):
            return None
        self.to_push = True
        failpoints.hit("after-commit")
        return commit

    def _write_worktree(self, current: dict[str, bytes], files: dict[str, bytes], commit: str) -> None:
        """Make the work tree hold exactly `files` (from `commit`) and record it."""
        root = self.repo.root
        for rel, data in sorted(files.items()):
            if current.get(rel) != data:
                store.write_atomic(root / rel, data)
        for rel in current:
            if rel not in files:
                store.remove_file(root / rel)
        taskbranch.save_state(self.repo.git_dir, root, self.branch, commit, files)
        taskbranch.ensure_excluded(self.repo.common_dir)
        self._doc = None

    def _branch_change(self, files: dict[str, bytes | None], message: str, canonical: bool = False) -> str:
        """(lock held, files current) Commit `files` on the task branch, then write them into the work tree."""
        state = taskbranch.load_state(self.repo.git_dir)
        tip = self.task_branch_tip()
        if tip is not None and (state is None or state.commit != tip):
            raise BranchMoved("the task branch moved while gittasks changed it; run the command again")
        if tip is None:
            taskbranch.ensure_excluded(self.repo.common_dir)
            state = taskbranch.State(self.branch, None, {})
        failpoints.hit("before-write")
        commit = self._branch_commit(tip, files, message)
        if commit is None:
            raise BranchMoved("the task branch moved while gittasks changed it; run the command again")
        for rel, data in sorted(files.items()):
            if data is None:
                store.remove_file(self.repo.root / rel)
            else:
                store.write_atomic(self.repo.root / rel, data)
        canonical_paths = (rules.ACTIVE_PATH,) if canonical else ()
        taskbranch.record_written(self.repo.git_dir, self.repo.root, state, self.branch, commit, files, canonical_paths)
        self._doc = None
        return commit

    # -- inline layout ---------------------------------------------------------------------------------------------
    def _inline_preflight(self) -> None:
        """Arm the clone, refuse an unmerged task file, commit a pending external edit (not while an operation is
        stopped: then the file is read as it is)."""
        self.arm()
        entries = self.repo.status(TASK_PATHS)
        unmerged = [p for kind, p in entries if kind == "unmerged"]
        if unmerged:
            raise GittasksError(
                f"{unmerged[0]} is unmerged (a line merge stopped on it); run `gittasks doctor --fix` to merge it "
                "field by field"
            )
        if (entries or store.has_temp_files(self.active_path.parent)) and self.stopped_operation() is None:
            with self._lock:
                # only gittasks writes temp files, always under this lock: any found now were left by a crash
                store.remove_stale_temp_files(self.active_path.parent)
                if entries:
                    self._commit_external_edit(entries)
        self._inline_settle()

    def _checked_head(self) -> str | None:
        """Inline layout: the commit whose task files were last checked for a task kept twice (`_inline_settle`)."""
        raw = store.read_bytes(self.repo.git_dir / CHECKED_FILE)
        return raw.decode("ascii", "replace").strip() or None if raw else None

    def _inline_settle(self) -> None:
        """Inline layout: when HEAD moved since the task files were last checked (a pull, a hand commit), keep once
        each task found both in the active list and in the archive, committed as its own change."""
        head = self.repo.head_from_files() or self.repo.head()
        if head is None or head == self._checked_head() or self.stopped_operation() is not None:
            return
        with self._lock:
            recorded = self._checked_head()
            base = taskbranch.files_at(self.repo, recorded) if recorded and self.repo.rev(recorded) else None
            files = taskbranch.read_worktree(self.repo.root)
            settled = self._settle_duplicates(files, base)
            if settled is not None:
                changes, message = settled
                head = self._commit(changes, {rel: files.get(rel) for rel in changes}, message)
            store.write_atomic(self.repo.git_dir / CHECKED_FILE, head.encode("ascii"))

    def _commit_external_edit(self, entries: list[tuple[str, str]]) -> None:
        """Commit, as its own commit, valid task files that someone else changed since the last commit."""
        paths: list[str] = []
        ids: list[str] = []
        subjects: dict[str, str] = {}
        before_raw = self.repo.show("HEAD", rules.ACTIVE_PATH)
        after = self._read_active()
        if after is None and before_raw is not None:
            raise GittasksError(
                f"{rules.ACTIVE_PATH} was deleted outside gittasks; restore it with "
                f"`git checkout HEAD -- {rules.ACTIVE_PATH}` (gittasks never drops a task list)"
            )
        if after is not None:
            before = None
            if before_raw is not None:
                try:
                    before = document.load_document(before_raw, f"HEAD:{rules.ACTIVE_PATH}")
                except DocumentError:
                    before = None
            if before is None or document.canonical(before) != document.canonical(after):
                model.stamp_edit(before, after, model.Change(self.machine, rules.utc_now()))
                taskcheck.check_document(after, rules.ACTIVE_PATH, before=before, archived=self._archived_ids)
                store.write_atomic(self.active_path, document.dumps(after))
                ids = changed_task_ids(before, after)
                subjects = {t["id"]: t.get("subject", "") for t in after["tasks"]}
                paths.append(rules.ACTIVE_PATH)
                for rel, data in work_items.reconcile(self.work_item_files(), model.task_index(after), ids).items():
                    store.write_atomic(self.repo.root / rel, data)  # a task completed (or reopened) by the edit
                    paths.append(rel)
            elif before_raw is not None and store.read_bytes(self.active_path) != before_raw:
                # the same tasks in other bytes (CRLF from an editor, a BOM, another key order): put back git's copy
                store.write_atomic(self.active_path, before_raw)
        for rel in sorted({p for _, p in entries if taskset.is_archive_path(p) or taskset.is_work_items_path(p)}
                          - set(paths)):  # fmt: skip
            raw = store.read_bytes(self.repo.root / rel)
            if raw is None:
                if self.repo.show("HEAD", rel) is not None:
                    raise GittasksError(
                        f"{rel} was deleted outside gittasks; restore it with `git checkout HEAD -- {rel}`"
                    )
                continue
            problem = taskcheck.file_problem(raw, rel, self.repo.show("HEAD", rel))
            if problem is not None:
                raise DocumentError(problem)
            paths.append(rel)
        if not paths:
            return
        stamp = rules.format_stamp(rules.utc_now())
        self.repo.commit_paths(paths, trailers.message("external-edit", ids, subjects, self.machine, stamp))
        self.to_push = True
        self.messages.append(f"committed an edit made outside gittasks ({len(ids)} task(s)) as its own commit")

    def _archived_ids(self) -> set[str]:
        """The ids in the work tree's archive files."""
        files = taskbranch.read_worktree(self.repo.root)
        return taskset.archived_ids({rel: data for rel, data in files.items() if taskset.is_archive_path(rel)})

    def _inline_missing_list(self) -> bool:
        """Inline layout: is the task list committed on HEAD but absent from the work tree (a sparse checkout)?"""
        return not self.active_path.exists() and self.repo.show("HEAD", rules.ACTIVE_PATH) is not None

    # -- reading ---------------------------------------------------------------------------------------------------
    def file_bytes(self, rel: str) -> bytes | None:
        """The bytes of the work-tree file at `rel` (a path in the repository), None when there is none."""
        return store.read_bytes(self.repo.root / rel)

    def work_item_files(self) -> dict[str, bytes]:
        """Every work-item file: {path in the repository: bytes}, by month."""
        folder = self.repo.root / rules.WORK_ITEMS_DIR
        names = sorted(f"{rules.WORK_ITEMS_DIR}/{p.name}" for p in folder.glob("*.jsonl"))
        return {rel: self.file_bytes(rel) or b"" for rel in names}

    def _read_active(self) -> Document | None:
        return store.load_file(self.active_path, rules.ACTIVE_PATH)

    def load(self) -> Document:
        """The active task list (structural check only), after the preflight."""
        self.preflight()
        if self._doc is None:
            doc = self._read_active()
            if doc is None and self.inline:
                raw = self.repo.show("HEAD", rules.ACTIVE_PATH)  # not in this (sparse) work tree: read git's copy
                doc = document.load_document(raw, f"HEAD:{rules.ACTIVE_PATH}") if raw is not None else None
            self._doc = doc if doc is not None else {"tasks": []}
        return self._doc

    def invalidate(self) -> None:
        """Forget what was read: the files changed under this process (sync, repair)."""
        self._doc = None
        self._checked = False
        self._layout_settled = False

    def canonical_active(self) -> bytes | None:
        """(after the preflight) The active list's bytes when a change of this clone wrote them in canonical form
        and the work tree still holds them (own-branch layout); else None."""
        if self.inline:
            return None
        state = taskbranch.load_state(self.repo.git_dir)
        if state is None or state.commit != self.task_branch_tip():
            return None
        return taskbranch.canonical_active(self.repo.root, state)

    def tasks(self) -> list[document.Task]:
        """The active tasks in canonical order and form, to read (a task already canonical is the loaded one)."""
        return list(document.canonical_view(self.load())["tasks"])

    def resolve(self, given: str, doc: Document | None = None, *, changing: bool = False) -> str:
        """The id of the active task `given` names (an id or a unique prefix, `ids.resolve_id`; `changing`: for a
        change); an archived one is named as such."""
        doc = doc if doc is not None else self.load()
        known = [t["id"] for t in doc["tasks"]]
        if given not in known and not any(ids.is_prefix(given, i) for i in known) and given:
            found = None
            with contextlib.suppress(GittasksError):  # an ambiguous or broken archive: the plain message below
                found = archive.find_archived(self.repo.root, given)
            if found is not None:  # not an active task: UnknownId, so that callers may look in the archive
                raise UnknownId(
                    f"task {found['id']!r} is archived; bring it back with `gittasks restore {found['id']}`"
                )
        return ids.resolve_id(known, given, changing=changing)

    def get(self, given: str) -> document.Task:
        doc = self.load()
        task_id = self.resolve(given, doc)
        return next(t for t in doc["tasks"] if t["id"] == task_id)

    def ready(self) -> list[document.Task]:
        tasks = self.tasks()
        by_id = {t["id"]: t for t in tasks}
        waiting = rules.open_parents(tasks)
        return [t for t in tasks if rules.is_ready(t, by_id, waiting)]

    # -- history ---------------------------------------------------------------------------------------------------
    def history_rev(self) -> str | None:
        """Where the task history is: the task branch (own-branch layout) or HEAD (inline); None before any."""
        if self.inline:
            return "HEAD" if self.repo.head() else None
        return self.branch_ref if self.task_branch_tip() else None

    def revision(self, spec: str) -> str:
        """The commit `show --at SPEC` means: a revision of the task history (`HEAD` stands for its tip in the
        own-branch layout), or a date (`2 days ago`, `@{yesterday}`, `2026-11-30`): the last commit before it."""
        rev = self.history_rev()
        if rev is None:
            raise GittasksError("there is no task history yet; make a change first")
        given = spec.strip()
        mapped = given
        if not self.inline and (given == "HEAD" or given.startswith(("HEAD~", "HEAD^", "HEAD@"))):
            mapped = self.branch_ref + given[4:]
        if not given.startswith("@{") and (found := self.repo.rev(mapped)) is not None:
            return found
        when = given[2:-1] if given.startswith("@{") and given.endswith("}") else given
        looks_like_rev = bool(re.search(r"[~^:]", when)) or when.startswith(("HEAD", self.branch, "refs/"))
        if looks_like_rev or not _DATE_WORDS.search(when) or when.startswith("-"):
            where = "git log" if self.inline else f"git log {self.branch}"
            raise GittasksError(
                f"unknown revision or date {spec!r}; give a commit of `{where}` or a date such as '2 days ago' "
                "or 2026-11-30"
            )
        found_rev = self.repo.last_before(when, rev)
        if not found_rev:
            raise GittasksError(f"the task history has no commit before {when!r}")
        return found_rev

    # -- changing --------------------------------------------------------------------------------------------------
    def check_can_commit(self) -> None:
        """Refuse, in one line, a change that cannot be committed now."""
        if self.inline:
            self.follow_moved_list()  # a list that moved is never committed on the code branch again
        if self.head_tracks_list and not self.inline:
            raise GittasksError(
                f"the checked-out commit tracks {rules.ACTIVE_PATH} (it predates the move of the tasks to the branch "
                f"{self.branch}); gittasks leaves git's copy alone: switch to a newer branch (`git switch -`) to "
                "change tasks; reads show the task branch"
            )
        if not self.inline:
            try:
                head = (self.repo.git_dir / "HEAD").read_text(encoding="utf-8").strip()
            except OSError:
                head = ""
            if head == f"ref: {self.branch_ref}":
                raise GittasksError(
                    f"the task branch {self.branch} is checked out in this work tree; switch back to your code "
                    "branch (`git switch -`) and retry: gittasks writes that branch itself"
                )
            return
        reason = self.stopped_operation()
        if reason is not None:
            raise GittasksError(reason)
        if self._inline_missing_list():
            raise GittasksError(
                f"{rules.ACTIVE_PATH} is committed but not in this work tree (a sparse checkout?); add it with "
                f"`git sparse-checkout add .claude`, or {MOVE_HINT}"
            )

    def change(self, action: str, apply: Callable[[Document, Any], T]) -> Outcome:
        """Run `apply(doc, change)` as one transaction and one commit (none when it touched nothing). In the
        own-branch layout a branch that moved meanwhile is read again and the change redone."""
        for attempt in range(CAS_ATTEMPTS):
            try:
                return self._change_once(action, apply)
            except BranchMoved:
                if attempt == CAS_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _change_once(self, action: str, apply: Callable[[Document, Any], T]) -> Outcome:
        with self._lock:
            self.check_can_commit()
            self._checked = False
            self._doc = None
            self.preflight()
            self.check_can_commit()
            store.remove_stale_temp_files(self.active_path.parent)
            before_raw = store.read_bytes(self.active_path)  # read once: the list changed and its text compared
            doc = store.load_bytes(before_raw, rules.ACTIVE_PATH) if before_raw is not None else {"tasks": []}
            earlier = {t["id"]: t.get("subject", "") for t in doc["tasks"]}  # a deleted task keeps its subject
            earlier_done = {t["id"] for t in doc["tasks"] if t.get("status") == rules.COMPLETED}
            change = model.Change(self.machine, rules.utc_now(), complete_parents=self.complete_parents)
            value = apply(doc, change)
            if not change.touched:
                return Outcome(None, [], change.notes, value)
            model.finish(doc, change)
            rewrite = document.dumps_changed(doc, before_raw) if before_raw is not None else None
            if rewrite is None:  # (a list not in the canonical layout, or none yet) compared as parsed objects
                before = document.load_document(before_raw, rules.ACTIVE_PATH) if before_raw is not None else None
                taskcheck.check_document(doc, rules.ACTIVE_PATH, before=before)
            else:
                taskcheck.check_document(doc, rules.ACTIVE_PATH, rewrite=rewrite)
            self._check_secrets(doc, change.touched)
            subjects = {**earlier, **{t["id"]: t.get("subject", "") for t in doc["tasks"]}}
            for tid in change.touched:
                subjects.setdefault(tid, "")
            stamp = rules.format_stamp(change.now)
            message = trailers.message(
                change.action or action, change.touched, subjects, change.machine, stamp, extra=self.door_trailers()
            )
            new: dict[str, bytes | None] = {rules.ACTIVE_PATH: rewrite.data if rewrite else document.dumps(doc)}
            old: dict[str, bytes | None] = {rules.ACTIVE_PATH: before_raw}
            for rel, data in self._work_item_files(earlier_done, doc, change).items():
                new[rel], old[rel] = data, self.file_bytes(rel)
            commit = self._commit(new, old, message, canonical=True)
            outcome = Outcome(commit, change.touched, change.notes, value)
            return outcome

    def _work_item_files(self, completed: set[str], doc: Document, change: model.Change) -> dict[str, bytes]:
        """The work-item files a change writes: the items of the tasks it completed, and where it touched a task
        that was completed (reopened, edited, deleted), the items reconciled with it (`work_items.reconcile`)."""
        files = work_items.with_items(change.work_items, self.file_bytes)
        again = completed & set(change.touched)
        if not again:
            return files
        current = {**self.work_item_files(), **files}
        files.update(work_items.reconcile(current, model.task_index(doc), again))
        return files

    def door_trailers(self) -> dict[str, str]:
        """The trailers of a change made through the assistant's doors: `Via:` (claude-hook, mcp) and, when
        `gittasks.coauthor` names one (`Claude <noreply@anthropic.com>`), `Co-Authored-By:`."""
        if self.via is None:
            return {}
        coauthor = (self.setting("coauthor") or "").strip()
        return {"Via": self.via, **({"Co-Authored-By": coauthor} if coauthor else {})}

    def _check_secrets(self, doc: Document, ids: list[str]) -> None:
        if secrets_check.disabled():
            return
        wanted = set(ids)
        self.messages += secrets_check.warnings_for([t for t in doc["tasks"] if t["id"] in wanted])

    def _commit(
        self, new: dict[str, bytes | None], old: dict[str, bytes | None], message: str, canonical: bool = False
    ) -> str:
        """(lock held) Commit the task files `new` as one change in this repository's layout; `canonical`: the
        active list's bytes are `document.dumps` of it."""
        if not self.inline:
            return self._branch_change(new, message, canonical)
        paths = list(new)
        failpoints.hit("before-write")
        try:
            for rel, data in new.items():
                target = self.repo.root / rel
                if data is None:
                    store.remove_file(target)
                else:
                    store.write_atomic(target, data)
            checked = self._checked_head()
            previous = self.repo.head_from_files()
            commit = self.repo.commit_paths(paths, message)
            self.to_push = True
            if checked is not None and checked == previous:  # a gittasks change keeps no task twice
                store.write_atomic(self.repo.git_dir / CHECKED_FILE, commit.encode("ascii"))
            return commit
        except BaseException:
            for rel, data in old.items():
                target = self.repo.root / rel
                try:
                    if data is None:
                        store.remove_file(target)
                    else:
                        store.write_atomic(target, data)
                except GittasksError:
                    pass
            self.repo.unstage(paths)
            raise

    def commit_files(self, action: str, ids: list[str], subjects: dict[str, str], new: dict[str, bytes | None]) -> str:
        """Write several task files and commit them as one change (caller holds the lock, files current)."""
        self.check_can_commit()
        self._doc = None
        old = {rel: store.read_bytes(self.repo.root / rel) for rel in new}
        message = trailers.message(
            action, ids, subjects, self.machine, rules.format_stamp(rules.utc_now()), extra=self.door_trailers()
        )
        return self._commit(new, old, message)

    @property
    def lock(self) -> store.RepoLock:
        return self._lock
