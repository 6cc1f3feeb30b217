"""The library's front door: a git work tree holding gittasks files, and every operation on it.

Reads answer from the files with at most one git process. Every change runs as one transaction under the
repository-wide lock: commit a pending external edit, read, change, validate, write atomically, commit the task
files alone; on any failure the files, the index and HEAD are put back as they were.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gittasks import document, failpoints, rules, store
from gittasks.document import Document, DocumentError
from gittasks.errors import GittasksError
from gittasks.git import Repo, find_repo

T = TypeVar("T")

TASK_PATHS = (rules.ACTIVE_PATH, rules.TASKS_DIR)
GITATTRIBUTES_LINES = (
    f"{rules.ACTIVE_PATH} merge=gittasks text eol=lf",
    f"{rules.ARCHIVE_DIR}/*.jsonl merge=gittasks text eol=lf",
    f"{rules.WORK_ITEMS_DIR}/*.jsonl merge=gittasks text eol=lf",
)
# actions about many tasks alike; the others are about their first task (the rest changed through links)
BULK_ACTIONS = frozenset({"external-edit", "archive", "sync", "reconcile", "repair", "capture-todowrite"})
_UNSAFE_TRAILER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class Outcome:
    """What a change did: the commit (None when nothing changed), the ids touched and notes for the user."""

    commit: str | None
    touched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    value: Any = None


def driver_command() -> str:
    """The merge driver command registered in git config: an absolute interpreter path, forward slashes, quoted."""
    exe = Path(sys.executable).as_posix()
    return f"{shlex.quote(exe)} -m gittasks merge-driver %O %A %B %P"


def trailer_value(text: str) -> str:
    """A value that cannot break out of its trailer line (control characters and newlines are escaped)."""
    if _UNSAFE_TRAILER.search(text) or text != text.strip() or not text:
        return document.orjson.dumps(text).decode()
    return text


def one_line(text: str, limit: int = 72) -> str:
    flat = " ".join(_UNSAFE_TRAILER.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def commit_message(
    action: str, ids: list[str], subjects: dict[str, str], machine: str, stamp: str, title: str | None = None
) -> str:
    if title is not None:
        title = f"gittasks: {one_line(title, 100)}" + (f" ({len(ids)} task{'s' * (len(ids) != 1)})" if ids else "")
    elif not ids:
        title = f"gittasks: {action}"
    elif len(ids) == 1 or action not in BULK_ACTIONS:
        title = f'gittasks: {action} {one_line(ids[0], 40)} "{one_line(subjects.get(ids[0], ""), 60)}"'
        if len(ids) > 1:
            title += f" (+{len(ids) - 1} linked)"
    else:
        title = f"gittasks: {action} {len(ids)} tasks"
    trailers = [f"Task: {trailer_value(i)}" for i in ids]
    trailers += [f"Action: {trailer_value(action)}", f"Machine: {trailer_value(machine)}", f"Timestamp: {stamp}"]
    return title + "\n\n" + "\n".join(trailers) + "\n"


def changed_task_ids(before: Document | None, after: Document) -> list[str]:
    old = {t["id"]: t for t in (before or {}).get("tasks", [])}
    new = {t["id"]: t for t in after.get("tasks", [])}
    ids = [i for i in new if old.get(i) != new[i]] + [i for i in old if i not in new]
    return sorted(ids, key=document.natural_key)


class Workspace:
    """A git work tree with gittasks files in it."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.active_path = repo.root / rules.ACTIVE_PATH
        self._lock = store.RepoLock(repo.common_dir)
        self._checked = False
        self._doc: Document | None = None  # the active list as read after the preflight, for this process
        self.network_allowed = True  # False where the caller must never touch the network (the capture hook)
        self.messages: list[str] = []  # one-line notices for stderr (driver registered, external edit committed)

    @classmethod
    def open(cls, path: Path | None = None) -> Workspace:
        return cls(find_repo(path))

    # -- settings --------------------------------------------------------------------------------------------------
    @property
    def machine(self) -> str:
        name = os.environ.get("GITTASKS_MACHINE") or self.repo.config_get("gittasks.machine") or socket.gethostname()
        return name.strip() or "unknown"

    def setting(self, key: str) -> str | None:
        return self.repo.config_get(f"gittasks.{key}")

    # -- arming and checks -----------------------------------------------------------------------------------------
    def arm(self) -> bool:
        """Register the merge driver in this clone's own config when it lacks it; True when it did."""
        if self.repo.has_merge_driver():
            return False
        self.register_driver()
        self.messages.append("registered the gittasks merge driver in this clone's git config (.git/config)")
        return True

    def register_driver(self) -> None:
        self.repo.config_set_local("merge.gittasks.name", "gittasks field-level merge of task files")
        self.repo.config_set_local("merge.gittasks.driver", driver_command())

    def preflight(self) -> None:
        """Arm the clone, refuse an unmerged task file, commit a pending external edit. Runs once per process."""
        if self._checked:
            return
        self.arm()
        entries = self.repo.status(TASK_PATHS)
        unmerged = [p for kind, p in entries if kind == "unmerged"]
        if unmerged:
            raise GittasksError(
                f"{unmerged[0]} is unmerged (a line merge stopped on it); run `gittasks doctor --fix` to merge it "
                "field by field"
            )
        if entries or store.has_temp_files(self.active_path.parent):
            with self._lock:
                # only gittasks writes temp files, always under this lock: any found now were left by a crash
                store.remove_stale_temp_files(self.active_path.parent)
                if entries:
                    self._commit_external_edit(entries)
        self._checked = True

    def _commit_external_edit(self, entries: list[tuple[str, str]]) -> None:
        """Commit, as its own commit, valid task files that someone else changed since the last commit."""
        from gittasks import model, taskset

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
                model.validate_full(after, rules.ACTIVE_PATH)
                ids = changed_task_ids(before, after)
                subjects = {t["id"]: t.get("subject", "") for t in after["tasks"]}
                paths.append(rules.ACTIVE_PATH)
            elif before_raw is not None and store.read_bytes(self.active_path) != before_raw:
                # the same tasks in other bytes (CRLF from an editor, a BOM, another key order): put back git's copy
                store.write_atomic(self.active_path, before_raw)
        for rel in sorted({p for _, p in entries if taskset.is_archive_path(p) or taskset.is_work_items_path(p)}):
            raw = store.read_bytes(self.repo.root / rel)
            if raw is None:
                if self.repo.show("HEAD", rel) is not None:
                    raise GittasksError(
                        f"{rel} was deleted outside gittasks; restore it with `git checkout HEAD -- {rel}`"
                    )
                continue
            problems = model.problems(raw, rel)
            if problems:
                raise DocumentError(problems[0])
            paths.append(rel)
        if not paths:
            return
        message = commit_message("external-edit", ids, subjects, self.machine, rules.format_stamp(rules.utc_now()))
        self.repo.commit_paths(paths, message)
        self.messages.append(f"committed an edit made outside gittasks ({len(ids)} task(s)) as its own commit")

    # -- reading ---------------------------------------------------------------------------------------------------
    def _read_active(self) -> Document | None:
        return store.load_file(self.active_path, rules.ACTIVE_PATH)

    def load(self) -> Document:
        """The active task list (structural check only), after the preflight."""
        self.preflight()
        if self._doc is None:
            doc = self._read_active()
            self._doc = doc if doc is not None else {"tasks": []}
        return self._doc

    def invalidate(self) -> None:
        """Forget what was read: the files changed under this process (sync, repair)."""
        self._doc = None
        self._checked = False

    def tasks(self) -> list[document.Task]:
        return list(document.canonical(self.load())["tasks"])

    def resolve(self, given: str, doc: Document | None = None) -> str:
        from gittasks.ids import resolve_id

        doc = doc if doc is not None else self.load()
        return resolve_id((t["id"] for t in doc["tasks"]), given)

    def get(self, given: str) -> document.Task:
        doc = self.load()
        task_id = self.resolve(given, doc)
        return next(t for t in doc["tasks"] if t["id"] == task_id)

    def ready(self) -> list[document.Task]:
        tasks = self.tasks()
        by_id = {t["id"]: t for t in tasks}
        return [t for t in tasks if rules.is_ready(t, by_id)]

    # -- changing --------------------------------------------------------------------------------------------------
    def change(self, action: str, apply: Callable[[Document, Any], T]) -> Outcome:
        """Run `apply(doc, change)` as one transaction and one commit (none when it touched nothing)."""
        from gittasks import model

        with self._lock:
            self._checked = False
            self._doc = None
            self.preflight()
            store.remove_stale_temp_files(self.active_path.parent)
            before_raw = store.read_bytes(self.active_path)
            doc = self._read_active() or {"tasks": []}
            change = model.Change(machine=self.machine, now=rules.utc_now())
            value = apply(doc, change)
            if not change.touched:
                return Outcome(None, [], change.notes, value)
            model.finish(doc, change)
            model.validate_full(doc, rules.ACTIVE_PATH)
            self._check_secrets(doc, change.touched)
            subjects = {t["id"]: t.get("subject", "") for t in doc["tasks"]}
            for tid in change.touched:
                subjects.setdefault(tid, "")
            message = commit_message(action, change.touched, subjects, change.machine, rules.format_stamp(change.now))
            new: dict[str, bytes | None] = {rules.ACTIVE_PATH: document.dumps(doc)}
            old: dict[str, bytes | None] = {rules.ACTIVE_PATH: before_raw}
            for rel, data in self._work_item_files(change.work_items).items():
                new[rel], old[rel] = data, store.read_bytes(self.repo.root / rel)
            commit = self._write_and_commit(new, old, message)
            outcome = Outcome(commit, change.touched, change.notes, value)
            self._follow_up(outcome)
            return outcome

    def _follow_up(self, outcome: Outcome) -> None:
        """The optional settings acted on after each change: `gittasks.autoarchive` (a duration: archive tasks that
        ended longer ago, in a commit of its own) and `gittasks.autosync` (push in the background, never waiting)."""
        if not (self.repo.may_have("autoarchive") or self.repo.may_have("autosync")):
            return
        auto_archive = self.setting("autoarchive")
        if auto_archive:
            from gittasks import archive

            try:
                done = archive.archive(self, archive.parse_duration(auto_archive))
                if done.commit is not None:
                    outcome.notes.append(f"archived {len(done.touched)} ended task(s) (gittasks.autoarchive)")
            except GittasksError as exc:
                outcome.notes.append(f"autoarchive skipped: {exc}")
        if self.network_allowed and (self.setting("autosync") or "").lower() in ("true", "yes", "on", "1"):
            start_background_sync(self.repo.root)

    def _check_secrets(self, doc: Document, ids: list[str]) -> None:
        from gittasks import secrets_check

        if secrets_check.disabled():
            return
        wanted = set(ids)
        self.messages += secrets_check.warnings_for([t for t in doc["tasks"] if t["id"] in wanted])

    def _work_item_files(self, items: list[dict[str, Any]]) -> dict[str, bytes]:
        """The work-item files with `items` added (an item with the same id is replaced), one record a line."""
        files: dict[str, bytes] = {}
        for item in items:
            moment = rules.parse_stamp(item.get("time")) or rules.utc_now()
            rel = f"{rules.WORK_ITEMS_DIR}/{moment.strftime('%Y-%m')}.jsonl"
            raw = files.get(rel) or store.read_bytes(self.repo.root / rel) or b""
            records = [document.parse_bytes(line, rel) for line in raw.splitlines() if line.strip()]
            records = [r for r in records if not (isinstance(r, dict) and r.get("id") == item["id"])] + [item]
            lines = sorted(document.dump_line(r) for r in records)
            files[rel] = b"".join(lines)
        return files

    def _write_and_commit(self, new: dict[str, bytes | None], old: dict[str, bytes | None], message: str) -> str:
        paths = list(new)
        failpoints.hit("before-write")
        try:
            for rel, data in new.items():
                target = self.repo.root / rel
                if data is None:
                    store.remove_file(target)
                else:
                    store.write_atomic(target, data)
            return self.repo.commit_paths(paths, message)
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
        """Write several task files and commit them as one change (caller holds the lock)."""
        self._doc = None
        old = {rel: store.read_bytes(self.repo.root / rel) for rel in new}
        message = commit_message(action, ids, subjects, self.machine, rules.format_stamp(rules.utc_now()))
        return self._write_and_commit(new, old, message)

    @property
    def lock(self) -> store.RepoLock:
        return self._lock


def start_background_sync(root: Path) -> None:
    """Start `gittasks sync` detached from this process: the command that made the change does not wait for it."""
    import subprocess

    options: dict[str, Any] = {}
    if sys.platform == "win32":
        options["creationflags"] = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(
            subprocess, "CREATE_NEW_PROCESS_GROUP", 0
        )
    else:
        options["start_new_session"] = True
    subprocess.Popen(
        [sys.executable, "-m", "gittasks", "sync"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **options,
    )


def gitattributes_with_driver(text: str) -> str | None:
    """`.gitattributes` text with the lines routing task files to the driver, or None when all are there."""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITATTRIBUTES_LINES if line not in present]
    if not missing:
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "\n".join(missing) + "\n"


def init(path: Path | None, remote: str | None = None) -> tuple[Workspace, list[str]]:
    """Make `path` (default: here) a gittasks repository; idempotent. Returns the workspace and what was done."""
    from gittasks import git, model

    target = (path or Path.cwd()).resolve()
    done: list[str] = []
    try:
        ws = Workspace.open(target)
    except GittasksError:
        git.init_repo(target)
        ws = Workspace.open(target)
        done.append(f"made a git repository in {target}")
    repo = ws.repo
    with ws.lock:
        if not repo.has_merge_driver() or repo.config_get("merge.gittasks.driver") != driver_command():
            ws.register_driver()
            done.append("registered the merge driver in .git/config")
        new_files: dict[str, bytes | None] = {}
        old_attr = (store.read_bytes(repo.root / ".gitattributes") or b"").decode("utf-8", "replace")
        new_attr = gitattributes_with_driver(old_attr)
        if new_attr is not None:
            new_files[".gitattributes"] = new_attr.encode("utf-8")
            done.append("routed the task files to the merge driver in .gitattributes")
        existing = store.load_file(ws.active_path, rules.ACTIVE_PATH)
        tracked = repo.show("HEAD", rules.ACTIVE_PATH) is not None
        if existing is None:
            doc: Document = {"last_updated": rules.format_stamp(rules.utc_now()), "tasks": []}
            new_files[rules.ACTIVE_PATH] = document.dumps(doc)
            done.append(f"wrote an empty task list {rules.ACTIVE_PATH}")
        elif not tracked:
            model.validate_full(existing, rules.ACTIVE_PATH)
            new_files[rules.ACTIVE_PATH] = document.dumps(existing)
            done.append(f"took the existing {rules.ACTIVE_PATH} into git")
        if remote:
            names = repo.out("remote").split()
            if "origin" in names:
                if repo.out("remote", "get-url", "origin") != remote:
                    repo.run("remote", "set-url", "origin", remote)
                    done.append(f"set remote origin to {remote}")
            else:
                repo.run("remote", "add", "origin", remote)
                done.append(f"added remote origin {remote}")
        if new_files:
            ws.commit_files("init", [], {}, new_files)
    return ws, done
