"""The inline layout: the task files committed on the current branch (0.1's way), for repositories whose whole
purpose is the task list. git's own checkouts and merges write the files (the merge driver merges them field by
field); no change is committed while a rebase, merge, cherry-pick or bisect is stopped or HEAD is detached; an edit
made outside gittasks is committed as its own change before the next one.
"""

from __future__ import annotations

from gittasks import (
    document,
    failpoints,
    follow_migrate,
    model,
    rules,
    store,
    taskbranch,
    taskcheck,
    taskset,
    trailers,
    work_items,
)
from gittasks.document import Document, DocumentError
from gittasks.errors import GittasksError
from gittasks.git import Repo
from gittasks.gitwords import HELD_LOCK, lock_left_behind
from gittasks.layout import INLINE, MOVE_HINT, TASK_PATHS, Host, MoveRefused
from gittasks.outside_edits import changed_task_ids, settle_duplicates, take_in
from gittasks.trailers import one_line

CHECKED_FILE = "gittasks-checked"  # the commit whose task files were last checked for a task kept twice


def stopped_operation(repo: Repo) -> str | None:
    """Why no change may be committed on the current branch now (a stopped rebase, merge, ... or a detached HEAD)."""
    operation = repo.operation_in_progress()
    if operation is not None:
        finish = "git bisect reset" if operation == "bisect" else f"git {operation} --continue or --abort"
        return (
            f"a {operation} is in progress on the current branch, which holds the task list (inline layout); "
            f"finish it ({finish}) and retry, or {MOVE_HINT}"
        )
    if repo.head_detached():
        return (
            "HEAD is detached and the task list lives on the current branch (inline layout); check out a "
            f"branch (`git switch main`) and retry, or {MOVE_HINT}"
        )
    return None


class InlineLayout:
    """The `Layout` of a task list committed on the current branch."""

    name = INLINE
    ref = "HEAD"
    on_code_branch = True
    without_link = "goes on without it"
    log_command = "git log"

    def __init__(self, host: Host) -> None:
        self.host = host
        self.repo = host.repo

    # -- the history -----------------------------------------------------------------------------------------------
    def tip(self) -> str | None:
        return self.repo.head()

    def files_at(self, rev: str | None) -> dict[str, bytes]:
        return taskbranch.files_at(self.repo, rev)

    def history_rev(self) -> str | None:
        return "HEAD" if self.repo.head() else None

    def revision_name(self, given: str) -> str:
        return given

    def branch_name(self) -> str | None:
        return self.repo.branch()

    def upstream(self, branch: str) -> tuple[str | None, str | None]:
        return self.repo.config_get(f"branch.{branch}.remote"), self.repo.config_get(f"branch.{branch}.merge")

    def moved(self) -> tuple[str, str | None] | None:
        return follow_migrate.moved_list(self.host)

    def move(self, target: str, old: str | None, reason: str) -> bool:
        """A fast-forward of the current branch and its work tree (git's checkout writes the files)."""
        err = self.repo.fast_forward(target)
        held = HELD_LOCK.search(err) if err is not None else None
        if held is not None:  # not the user's changes: a git lock file that stays
            raise MoveRefused(lock_left_behind(held.group(1)))
        if err is not None:
            files = [ln.strip() for ln in err.splitlines() if ln.startswith(("\t", "    "))]
            shown = ", ".join(files[:5]) if files else one_line(err, 120)
            raise MoveRefused(
                f"sync stopped: your uncommitted changes to {shown} would be overwritten by what came in; nothing was "
                "changed. Commit or stash them, then run `gittasks sync` again"
            )
        return True

    def refusal(self) -> str | None:
        reason = stopped_operation(self.repo)
        if reason is not None:
            return reason
        if not self.host.active_path.exists() and self.repo.show("HEAD", rules.ACTIVE_PATH) is not None:
            return (
                f"{rules.ACTIVE_PATH} is committed but not in this work tree (a sparse checkout?); add it with "
                f"`git sparse-checkout add .claude`, or {MOVE_HINT}"
            )
        return None

    def write(self, new: dict[str, bytes | None], old: dict[str, bytes | None], message: str, canonical: bool) -> str:
        """The files written, then committed with git (the user's other staged work stays as it is); on any failure
        the work tree and the index are put back as they were."""
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
            self.host.to_push = True
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

    # -- the work tree ---------------------------------------------------------------------------------------------
    def canonical_active(self) -> bytes | None:
        return None  # git's checkouts write the file: no record says whose bytes it holds

    def fallback_list(self) -> Document | None:
        raw = self.repo.show("HEAD", rules.ACTIVE_PATH)  # not in this (sparse) work tree: read git's copy
        return document.load_document(raw, f"HEAD:{rules.ACTIVE_PATH}") if raw is not None else None

    def preflight(self) -> None:
        """Refuse an unmerged task file, commit a pending external edit (not while an operation is stopped: then the
        file is read as it is), settle a task kept twice."""
        entries = self.repo.status(TASK_PATHS)
        unmerged = [p for kind, p in entries if kind == "unmerged"]
        if unmerged:
            raise GittasksError(
                f"{unmerged[0]} is unmerged (a line merge stopped on it); run `gittasks doctor --fix` to merge it "
                "field by field"
            )
        if (entries or store.has_temp_files(self.host.active_path.parent)) and stopped_operation(self.repo) is None:
            with self.host.lock:
                # only gittasks writes temp files, always under this lock: any found now were left by a crash
                store.remove_stale_temp_files(self.host.active_path.parent)
                if entries:
                    self._commit_external_edit(entries)
        self._settle()

    def _checked_head(self) -> str | None:
        """The commit whose task files were last checked for a task kept twice (`_settle`)."""
        raw = store.read_bytes(self.repo.git_dir / CHECKED_FILE)
        return raw.decode("ascii", "replace").strip() or None if raw else None

    def _settle(self) -> None:
        """When HEAD moved since the task files were last checked (a pull, a hand commit), keep once each task found
        both in the active list and in the archive, committed as its own change."""
        head = self.repo.head_from_files() or self.repo.head()
        if head is None or head == self._checked_head() or stopped_operation(self.repo) is not None:
            return
        with self.host.lock:
            recorded = self._checked_head()
            base = taskbranch.files_at(self.repo, recorded) if recorded and self.repo.rev(recorded) else None
            files = taskbranch.read_worktree(self.repo.root)
            settled = settle_duplicates(files, base, self.host.machine, self.host.messages)
            if settled is not None:
                changes, message = settled
                head = self.write(changes, {rel: files.get(rel) for rel in changes}, message, canonical=False)
            store.write_atomic(self.repo.git_dir / CHECKED_FILE, head.encode("ascii"))

    def _commit_external_edit(self, entries: list[tuple[str, str]]) -> None:
        """Commit, as its own commit, valid task files that someone else changed since the last commit."""
        paths: list[str] = []
        ids: list[str] = []
        subjects: dict[str, str] = {}
        before_raw = self.repo.show("HEAD", rules.ACTIVE_PATH)
        after = store.load_file(self.host.active_path, rules.ACTIVE_PATH)
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
                take_in(before, after, self.host.machine, self.host.complete_parents, self.host.messages)
                taskcheck.check_document(after, rules.ACTIVE_PATH, before=before, archived=self._archived_ids)
                store.write_atomic(self.host.active_path, document.dumps(after))
                ids = changed_task_ids(before, after)
                subjects = {t["id"]: t.get("subject", "") for t in after["tasks"]}
                paths.append(rules.ACTIVE_PATH)
                for rel, data in work_items.reconcile(
                    self.host.work_item_files(), model.task_index(after), ids
                ).items():
                    store.write_atomic(self.repo.root / rel, data)  # a task completed (or reopened) by the edit
                    paths.append(rel)
            elif before_raw is not None and store.read_bytes(self.host.active_path) != before_raw:
                # the same tasks in other bytes (CRLF from an editor, a BOM, another key order): put back git's copy
                store.write_atomic(self.host.active_path, before_raw)
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
        self.repo.commit_paths(paths, trailers.message("external-edit", ids, subjects, self.host.machine, stamp))
        self.host.to_push = True
        self.host.messages.append(f"committed an edit made outside gittasks ({len(ids)} task(s)) as its own commit")

    def _archived_ids(self) -> set[str]:
        """The ids in the work tree's archive files."""
        files = taskbranch.read_worktree(self.repo.root)
        return taskset.archived_ids({rel: data for rel, data in files.items() if taskset.is_archive_path(rel)})
