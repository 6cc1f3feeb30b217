"""The library's front door: a git work tree holding gittasks files, and every operation on it.

`Workspace` keeps the settings (`gittasks.NAME`), the reads and the one write transaction; where the task files are
committed is its layout (`layout.py`: the own branch by default, or inline), chosen once (`Workspace.layout`,
`use_layout`). Every change runs as one transaction under the repository-wide lock: bring in what moved, read,
change, validate, commit, write the files atomically.
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
    bring_in,
    clone,
    document,
    follow_migrate,
    ids,
    model,
    render,
    rules,
    secrets_check,
    store,
    taskbranch,
    taskcheck,
    trailers,
    work_items,
)
from gittasks.document import Document
from gittasks.errors import GittasksError, UnknownId
from gittasks.git import Repo, find_repo
from gittasks.layout import BRANCH, CAS_ATTEMPTS, INLINE, MOVE_HINT, BranchMoved, Layout
from gittasks.layout_branch import BranchLayout
from gittasks.layout_inline import InlineLayout, stopped_operation

T = TypeVar("T")

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
FETCH_CODE = "fetchCode"  # `gittasks.fetchCode`: sync's fetch also brings the remote's code branches (link-commits)
_DATE_WORDS = re.compile(
    r"\d|\b(ago|yesterday|today|now|noon|midnight|tea|last|week|day|month|year|hour|minute|second)s?\b", re.I
)


def yes_no(value: str | None, default: bool) -> bool:
    """How a yes/no setting reads: true/yes/on/1 or false/no/off/0, any case; `default` when unset or neither."""
    word = (value or "").strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else default


@dataclass
class Outcome:
    """What a change did: the commit (None when nothing changed), the ids touched and notes for the user."""

    commit: str | None
    touched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    value: Any = None


class Workspace:
    """A git work tree with gittasks files in it."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.active_path = repo.root / rules.ACTIVE_PATH
        self._lock = store.RepoLock(repo.common_dir)
        self._checked = False
        self._doc: Document | None = None  # the active list as read after the preflight, for this process
        self._layout: Layout | None = None
        self._branch_layout: BranchLayout | None = None
        self._layout_settled = False  # no move of the task list away from the layout found by this process
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
        """A yes/no setting (`gittasks.KEY`); `default` when unset or neither (`yes_no`)."""
        return yes_no(self.setting(key), default)

    @property
    def fetches_code(self) -> bool:
        """Does sync's fetch also update the remote-tracking refs of the remote's code branches (`gittasks.fetchCode`,
        which `link-commits` sets; off by default), so that the code commits other machines pushed show in `log ID`?"""
        return self.flag(FETCH_CODE, False)

    @property
    def sync_timeout(self) -> float:
        """How long a sync's network steps may take in all (`gittasks.syncTimeout`, seconds; 30 by default)."""
        try:
            return max(0.5, float(self.setting("syncTimeout") or os.environ.get("GITTASKS_SYNC_TIMEOUT") or 30))
        except ValueError:
            return 30.0

    @property
    def branch(self) -> str:
        """The task branch's name (`gittasks.branch`, `gittasks` by default)."""
        return (self.setting("branch") or taskbranch.DEFAULT_BRANCH).strip() or taskbranch.DEFAULT_BRANCH

    @property
    def branch_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    # -- the layout ------------------------------------------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        """Where the task files are committed: `gittasks.layout` when set, else found (inline when the current
        branch already tracks the task list and no task branch exists)."""
        if self._layout is None:
            self._layout = self._make_layout(self._found_layout())
        return self._layout

    def _found_layout(self) -> str:
        configured = self._configured_layout()
        if configured is not None:
            return configured
        found = self._found_in_git()
        if found == INLINE:
            self.messages.append(
                f"this repository keeps its tasks on the current branch (the inline layout); {MOVE_HINT}"
            )
            with contextlib.suppress(GittasksError):
                self.repo.config_set_local("gittasks.layout", INLINE)
        return found or BRANCH

    def _configured_layout(self) -> str | None:
        configured = (self.setting("layout") or "").strip().lower()
        return configured if configured in (BRANCH, INLINE) else None

    def _found_in_git(self) -> str | None:
        """Where git's files show a task list: BRANCH (a task branch here or on a remote, or a work tree gittasks
        wrote from one), INLINE (the current branch tracks the list), None (no list anywhere)."""
        if (
            taskbranch.load_record(self.repo.git_dir) is not None
            or self.task_branch_tip() is not None
            or self.remote_task_branch() is not None
        ):
            return BRANCH
        if self.repo.head_from_files() and self.repo.show("HEAD", rules.ACTIVE_PATH) is not None:
            return INLINE
        return None

    def _make_layout(self, name: str) -> Layout:
        """The factory: the layout object of `name` (the own branch's is made once: it remembers what it found)."""
        return InlineLayout(self) if name == INLINE else self._own_branch()

    def use_layout(self, name: str) -> None:
        """Keep the tasks in the layout `name` (BRANCH or INLINE) from now on, in this clone's config too: `init`,
        `migrate` and the follow of a migrate choose it so."""
        self.repo.config_set_local("gittasks.layout", name)
        self._layout = self._make_layout(name)
        self._layout_settled = False

    @property
    def inline(self) -> bool:
        """Is the task list committed on the current branch? (for front ends that say which layout is in use)"""
        return self.layout.name == INLINE

    def set_up(self) -> bool:
        """Does this repository keep a gittasks list (a configured layout, or one git's files show)? Nothing is set
        up by asking."""
        return self._configured_layout() is not None or self._found_in_git() is not None

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
        return stopped_operation(self.repo)

    # -- arming and checks -----------------------------------------------------------------------------------------
    def arm(self) -> bool:
        """Register the merge driver in this clone's own config when it lacks it (inline layout) or when the program
        registered no longer exists (both layouts: gittasks installed elsewhere); True when it did. Reads the config
        files only: no git process when the registration is sound."""
        registered = clone.registered_driver(self.repo)
        if registered is not None and clone.command_runs(registered):
            return False
        if registered is None and not self.layout.on_code_branch:
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
        then = self.layout.without_link
        arg = render.safe(shlex.quote(rel))
        if committed == "120000":
            fix = f"the current branch commits that link: `git rm {arg}` and commit; the next command then {then}"
        elif committed is not None and self.layout.on_code_branch:
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
        self.follow_moved_list()
        self.arm()
        self.layout.preflight()
        self._checked = True

    # -- following a migrate ---------------------------------------------------------------------------------------
    def moved_list(self) -> tuple[str, str | None] | None:
        """Has the task list moved to a task branch (`follow_migrate.moved_list`)? None when it has not."""
        return follow_migrate.moved_list(self)

    def follow_moved_list(self) -> bool:
        """When the task list moved away from this layout (a migrate), follow it in one step (`follow_migrate`).
        True when it followed."""
        if self._layout_settled:
            return False
        if self.layout.moved() is None:  # (read without the lock: the common case takes none)
            self._layout_settled = True
            return False
        with self._lock:
            moved = self.layout.moved()
            if moved is None:
                return False
            follow_migrate.follow(self, *moved)
        return True

    # -- the own branch's work tree (`bring_in.py`) ----------------------------------------------------------------
    def _own_branch(self) -> BranchLayout:
        if self._branch_layout is None:
            self._branch_layout = BranchLayout(self)
        return self._branch_layout

    def files_current(self, state: taskbranch.WorktreeRecord | None, tip: str | None) -> bool:
        """Does the work tree hold exactly the files of the task-branch tip, as its record says (no git)?"""
        return self._own_branch().files_current(state, tip)

    def branch_files(self, rev: str | None) -> dict[str, bytes]:
        """The task files (not `.gitattributes`) in the task-branch commit `rev`."""
        return taskbranch.files_at(self.repo, rev)

    def bring_in(self, *, settled: bool = False) -> None:
        """(lock held) Bring the task branch into the work tree, with what happened meanwhile (`bring_in.py`);
        `settled`: the files then count as current for this process (no preflight runs again)."""
        bring_in.bring_in(self, self._own_branch())
        if settled:
            self._checked = True

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
            if doc is None:
                doc = self.layout.fallback_list()
            self._doc = doc if doc is not None else {"tasks": []}
        return self._doc

    def reads_show(self, doc: Document | None) -> None:
        """What reads show until the files change: `doc` (the task branch's list, while git owns the work tree's
        copy), or None: the work tree's file, read again."""
        self._doc = doc

    def invalidate(self) -> None:
        """Forget what was read: the files changed under this process (sync, repair)."""
        self._doc = None
        self._checked = False
        self._layout_settled = False

    def canonical_active(self) -> bytes | None:
        """(after the preflight) The active list's bytes when a change of this clone wrote them in canonical form
        and the work tree still holds them (own-branch layout); else None."""
        return self.layout.canonical_active()

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
        return self.layout.history_rev()

    def revision(self, spec: str) -> str:
        """The commit `show --at SPEC` means: a revision of the task history (`HEAD` stands for its tip in the
        own-branch layout), or a date (`2 days ago`, `@{yesterday}`, `2026-11-30`): the last commit before it."""
        rev = self.history_rev()
        if rev is None:
            raise GittasksError("there is no task history yet; make a change first")
        given = spec.strip()
        mapped = self.layout.revision_name(given)
        if not given.startswith("@{") and (found := self.repo.rev(mapped)) is not None:
            return found
        when = given[2:-1] if given.startswith("@{") and given.endswith("}") else given
        looks_like_rev = bool(re.search(r"[~^:]", when)) or when.startswith(("HEAD", self.branch, "refs/"))
        if looks_like_rev or not _DATE_WORDS.search(when) or when.startswith("-"):
            where = self.layout.log_command
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
        self.follow_moved_list()  # a list that moved is never committed on the code branch again
        reason = self.layout.refusal()
        if reason is not None:
            raise GittasksError(reason)

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
        return self.layout.write(new, old, message, canonical)

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
