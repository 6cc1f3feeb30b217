"""`gittasks link-commits`: a git hook that names the tasks in progress on this machine in a `Task: ID` trailer of
each code commit, chained with the hooks the repository already has; `--remove` takes it out exactly.

Why `prepare-commit-msg` and not `commit-msg`: it runs before the editor opens, so the person sees the trailer and
may change or delete it there (a `commit-msg` hook would add it back after they removed it), and `git commit
--no-verify` (`-n`), which tools and people use to skip slow checks, skips `commit-msg` but not this hook, so those
commits are named too. git applies `git commit --trailer` before this hook runs: a trailer written by hand is seen
and kept, never doubled.

The hook file is a small POSIX sh script, the same on every machine: the repository's own hook, if there was one,
is kept beside it (`prepare-commit-msg.pre-gittasks`, moved, so its bytes and mode stay as they were) and runs first,
deciding about the commit as before; then gittasks is looked for the way the Claude Code launcher looks for it
(`installer.LAUNCHER_SEARCH`) and runs as `gittasks hook prepare-commit-msg FILE [SOURCE [SHA]]`, its output and
exit code ignored, so that a missing, broken or slow gittasks never stops a commit: it ends itself after
`GITTASKS_COMMIT_HOOK_TIMEOUT` seconds (3 by default) and writes the message file atomically (all or nothing).

Which tasks: those in progress whose holder (`claim.holder`: the claim record, else the machine that changed it
last) is this machine. Inside a Claude Code session the assistant's Bash tool has `CLAUDE_CODE_SESSION_ID` (Claude
Code 2.1.132 and later: the `session_id` its hooks get, which the capture hook records in the claim and the native
ids): that session's tasks are named; when it holds none, the tasks held here by no session. Merges, rebases,
cherry-picks and reverts are left alone (their commits keep their own trailers), as is an amend of a commit that
names a task already, and gittasks' own commits of its task files.

The install also sets this clone's `gittasks.fetchCode` (unless set already, by hand or globally): `gittasks sync`
then updates the remote-tracking refs of the remote's code branches in its fetch, so the commits other machines
pushed show in `log ID` after a sync (`Workspace.fetches_code`); `--remove` unsets it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gittasks import gitfiles, ids, rules, store, trailers
from gittasks.activity_spool import SESSION_VARIABLE  # (Claude Code sets it in its Bash tool's environment too)
from gittasks.claude import installer
from gittasks.claude.installer import LAUNCHER_SEARCH
from gittasks.errors import GittasksError
from gittasks.git import Repo

HOOK = "prepare-commit-msg"
SAVED = f"{HOOK}.pre-gittasks"  # the repository's own hook, kept by the install, run first by ours
LEGACY = f"{HOOK}.legacy"  # where the pre-commit framework moves a hook it replaces (and runs it from)
MARK = "# gittasks link-commits hook"
TIMEOUT_VARIABLE = "GITTASKS_COMMIT_HOOK_TIMEOUT"
DEFAULT_TIMEOUT = 3.0
STALL_POINT = "commit-hook-stall"  # GITTASKS_FAILPOINT value that makes the hook hang (tests of its time bound)
SKIPPED_OPERATIONS = frozenset({"merge", "rebase", "cherry-pick", "revert"})
SKIPPED_SOURCES = frozenset({"merge"})

SCRIPT = (
    f"""#!/bin/sh
{MARK}: names the gittasks tasks in progress on this machine in a `Task: ID`
# trailer of the commit; `gittasks link-commits --remove` takes it out and puts back the hook it replaced.
# It never stops a commit: the repository's own hook ({SAVED}, if any) runs first and
# decides as before; then gittasks, if it is found (as the Claude Code launcher finds it), its output and
# exit code ignored. Each command line ends in `#` so that a checkout with CRLF line endings still runs.
hooks=$(dirname -- "$0") #
if [ -f "$hooks/{SAVED}" ] && [ -x "$hooks/{SAVED}" ]; then #
  "$hooks/{SAVED}" "$@" || exit $? #
fi #
if [ -f "{rules.ACTIVE_PATH}" ] && ! grep -q '"{rules.IN_PROGRESS}"' "{rules.ACTIVE_PATH}" 2>/dev/null; then #
  exit 0 #  no task in progress: the common case, decided without starting gittasks
fi #
root=$(pwd) #
( #
set -- hook {HOOK} "$@" #
"""
    + LAUNCHER_SEARCH
    + """) </dev/null >/dev/null 2>&1 || : #
exit 0 #
"""
).encode("ascii")


@dataclass
class Result:
    """What an install or a removal did, a line each."""

    done: list[str] = field(default_factory=list)


def is_ours(raw: bytes | None) -> bool:
    """Is this a hook `link-commits` wrote (this version's or an older one)?"""
    return raw is not None and MARK.encode("ascii") in raw[:200]


def _shown(repo: Repo, path: Path) -> str:
    try:
        return path.relative_to(repo.root).as_posix()
    except ValueError:
        return str(path)


def _write_script(path: Path) -> None:
    store.write_atomic(path, SCRIPT)
    with contextlib.suppress(OSError):  # (Windows: git for Windows runs hooks through its sh whatever the mode)
        path.chmod(0o755)


def _where(repo: Repo, folder: Path) -> list[str]:
    """A note when the hooks folder is not this repository's own (`core.hooksPath` set outside it)."""
    scope = repo.config_scope("core.hooksPath")
    if scope in (None, "local", "worktree"):
        return []
    return [
        f"core.hooksPath is set in the {scope} git config: the hook is in {folder}, so it runs for every repository "
        "using that folder (it does nothing where there is no gittasks list)"
    ]


def install(repo: Repo) -> Result:
    """Install the hook in the folder git runs hooks from; an existing hook there is kept and run first."""
    folder = repo.hooks_dir()
    path, saved, legacy = folder / HOOK, folder / SAVED, folder / LEGACY
    result = Result()
    raw = store.read_bytes(path)
    for place in (path, legacy):  # the pre-commit framework may have moved ours to .legacy: it runs it from there
        found = store.read_bytes(place)
        if is_ours(found):
            if found != SCRIPT:
                _write_script(place)
                result.done.append(f"updated the gittasks commit hook {_shown(repo, place)}")
            else:
                result.done.append(f"the gittasks commit hook is installed already ({_shown(repo, place)})")
            _record_program(repo, result)
            _fetch_code(repo, result)
            return result
    if raw is not None or path.is_symlink():
        if folder.resolve().is_relative_to(repo.root.resolve()) and repo.tracked([_shown(repo, path)]):
            raise GittasksError(
                f"{_shown(repo, path)} is part of this repository (git tracks it): link-commits would change it "
                f'for everyone; nothing was changed. Call `gittasks hook {HOOK} "$@"` from it instead (its '
                "output and exit code ignored)"
            )
        if saved.exists() or saved.is_symlink():
            raise GittasksError(
                f"{_shown(repo, saved)} exists already (a hook an earlier link-commits kept); put it back as "
                f"{_shown(repo, path)} or delete it, then run link-commits again; nothing was changed"
            )
        os.replace(path, saved)  # the file itself moves: its bytes, mode and times stay as they were
        result.done.append(f"kept your {HOOK} hook as {_shown(repo, saved)}: the gittasks hook runs it first")
    _write_script(path)
    result.done.append(f"installed the gittasks commit hook {_shown(repo, path)}")
    result.done += _where(repo, folder)
    _record_program(repo, result)
    _fetch_code(repo, result)
    return result


def _record_program(repo: Repo, result: Result) -> None:
    """Record this gittasks for the hook as `install-claude` does (per clone and machine, never committed): git runs
    the hook with its own PATH, where a gittasks run by its path (a venv not activated) is not found."""
    wanted = installer.program()
    if installer.local_program(repo) != wanted:
        repo.config_set_local(installer.PROGRAM_SETTING, wanted)
        result.done.append(f"the hook runs {wanted} (git config --local {installer.PROGRAM_SETTING}; this machine)")


def _fetch_setting() -> str:
    from gittasks.workspace import FETCH_CODE  # (loaded here only, never by the hook itself)

    return FETCH_CODE


def _fetch_code(repo: Repo, result: Result) -> None:
    """Have `sync` (and the background sync) fetch the remote's code branches too, in this clone (its own git
    config, never committed): the commits other machines push then show in `log ID` without a `git fetch`. A value
    set by hand, `false` included, is kept."""
    name = _fetch_setting()
    if repo.gittasks_setting(name) is None:
        repo.config_set_local(f"gittasks.{name}", "true")
        result.done.append(
            "`gittasks sync` also fetches the remote's code branches now, so commits pushed from other machines show "
            f"in `gittasks log ID` (git config --local gittasks.{name} true)"
        )


def remove(repo: Repo) -> Result:
    """Take the hook out (the hook it replaced goes back where it was, as it was) and this clone's
    `gittasks.fetchCode`."""
    result = Result()
    _remove_hook(repo, result)
    key = f"gittasks.{_fetch_setting()}"
    if repo.config_scope(key) == "local":
        repo.config_unset_local(key)
        result.done.append(f"`gittasks sync` fetches the task branch alone again (unset {key} here)")
    return result


def _remove_hook(repo: Repo, result: Result) -> None:
    folder = repo.hooks_dir()
    path, saved, legacy = folder / HOOK, folder / SAVED, folder / LEGACY
    for place in (path, legacy):
        if not is_ours(store.read_bytes(place)):
            continue
        if saved.exists() or saved.is_symlink():
            os.replace(saved, place)
            result.done.append(f"put back your {HOOK} hook as {_shown(repo, place)}, as it was")
        else:
            place.unlink()
            result.done.append(f"removed the gittasks commit hook {_shown(repo, place)}")
        return
    result.done.append(f"no gittasks commit hook in {_shown(repo, folder)}; nothing to remove")
    if saved.exists():
        result.done.append(f"{_shown(repo, saved)} is left as it is (no gittasks hook runs it now)")


def state(repo: Repo) -> tuple[str, str]:
    """The hook's state for `doctor`: ("ok" or "note", a line)."""
    folder = repo.hooks_dir()
    for place in (folder / HOOK, folder / LEGACY):
        raw = store.read_bytes(place)
        if is_ours(raw):
            if raw != SCRIPT:
                return (
                    "note",
                    f"the commit hook {_shown(repo, place)} is an older version; `gittasks link-commits` updates it",
                )
            from gittasks.workspace import yes_no

            name = _fetch_setting()
            if not yes_no(repo.gittasks_setting(name), False):
                return (
                    "note",
                    f"code commits name the tasks in progress here (commit hook {_shown(repo, place)}), but "
                    f"`gittasks sync` does not fetch the remote's code branches (gittasks.{name} is off): other "
                    "machines' commits show in `log ID` after a `git fetch`",
                )
            return "ok", f"code commits name the tasks in progress here (commit hook {_shown(repo, place)})"
    return "note", "code commits do not name their tasks: `gittasks link-commits` installs the commit hook"


# -- the hook itself: `gittasks hook prepare-commit-msg FILE [SOURCE [SHA]]` ------------------------------------------


def run_hook(args: list[str]) -> int:
    """The hook's work, always ending 0 within the time bound: nothing here may stop a commit."""
    try:
        seconds = float(os.environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT)
    except ValueError:
        seconds = DEFAULT_TIMEOUT
    timer = threading.Timer(max(0.1, seconds), os._exit, args=(0,))  # the message file is replaced whole or not
    timer.daemon = True
    timer.start()
    try:
        with contextlib.suppress(Exception):
            link(Path.cwd(), args)
    finally:
        timer.cancel()  # run in-process (`hook prepare-commit-msg` under a test runner), it must not end the caller
    return 0


def link(cwd: Path, args: list[str]) -> bool:
    """Add the `Task:` trailers to the message file `args[0]` of a commit being made in `cwd`; True when it did."""
    if not args or (len(args) > 1 and args[1] in SKIPPED_SOURCES):
        return False
    if os.environ.get("GITTASKS_FAILPOINT") == STALL_POINT:
        time.sleep(3600)
    found = gitfiles.locate(cwd)
    if found is None:
        return False
    repo = Repo(*found)
    if repo.operation_in_progress() in SKIPPED_OPERATIONS:
        return False
    from gittasks.workspace import Workspace  # (its rules for the task branch's and this machine's names)

    ws = Workspace(repo)
    raw = store.read_bytes(repo.root / rules.ACTIVE_PATH)
    if raw is None:  # (a linked worktree gittasks has not written into yet)
        raw = repo.show(ws.branch_ref, rules.ACTIVE_PATH)
    if not raw or f'"{rules.IN_PROGRESS}"'.encode() not in raw:
        return False  # (the hook's script decides this case without starting gittasks when the file is there)
    if repo.branch() == ws.branch:
        return False  # a commit on the task branch itself is no code commit
    tasks = _tasks(raw)
    named = chosen_tasks(tasks, ws.machine, os.environ.get(SESSION_VARIABLE) or None)
    if not named:
        return False
    message_path = Path(args[0]) if Path(args[0]).is_absolute() else cwd / args[0]
    message = message_path.read_bytes()
    known = [str(t["id"]) for t in tasks]
    new = with_task_trailers(repo, message, named, known, amend=len(args) > 1 and args[1] == "commit")
    if new is None:
        return False
    store.write_atomic(message_path, new)
    return True


def _tasks(raw: bytes) -> list[dict[str, Any]]:
    try:
        listed = orjson.loads(raw).get("tasks")
    except (orjson.JSONDecodeError, AttributeError):
        return []
    if not isinstance(listed, list):
        return []
    return [t for t in listed if isinstance(t, dict) and isinstance(t.get("id"), str) and t["id"]]


def chosen_tasks(tasks: list[dict[str, Any]], machine: str, session: str | None) -> list[str]:
    """The ids of the tasks a commit made here names: those in progress held by this machine; with a Claude Code
    `session`, the ones that session holds (its claim, or a native id it made), else those held here by no
    session."""
    from gittasks import claim  # who holds a task: its one rule

    held = []
    for task in tasks:
        holder = claim.holder(task)
        if holder is not None and holder.machine == machine:
            held.append((task, holder))
    if session is None:
        return [str(t["id"]) for t, _ in held]

    from gittasks.claude.hooks import NATIVE  # the native ids a session made

    def of_session(task: dict[str, Any], holder: claim.Holder) -> bool:
        refs = task.get(NATIVE)
        made = isinstance(refs, list) and any(
            isinstance(r, dict) and r.get("session") == session and r.get("machine") == machine for r in refs
        )
        return holder.session == session or (holder.session is None and made)

    mine = [str(t["id"]) for t, h in held if of_session(t, h)]
    return mine or [str(t["id"]) for t, h in held if h.session is None]


def with_task_trailers(
    repo: Repo, message: bytes, named: list[str], known: list[str], *, amend: bool = False
) -> bytes | None:
    """`message` with a `Task:` trailer for each id of `named` it does not name yet (a trailer written by hand
    names a task by its id or a prefix of at least `ids.MIN_CHANGE_PREFIX` characters, any case, among `known`);
    None when nothing is to be added: all named, gittasks' own commit, or an amend of a commit naming a task."""
    pairs = trailers.parsed_trailers(repo.interpret_trailers(message, "--parse").decode("utf-8", "replace"))
    if trailers.is_gittasks_change(pairs):
        return None
    written = trailers.named_tasks(pairs)
    if amend and written:
        return None
    have = set()
    for given in written:
        try:
            have.add(ids.resolve_id(known, given, changing=True))
        except GittasksError:
            have.add(given)
    adding = [task_id for task_id in dict.fromkeys(named) if task_id not in have]
    if not adding:
        return None
    lines = [trailers.task_trailer(task_id) for task_id in adding]
    above = trailers.before_scissors(message)
    if above[:1] in (b"", b"\n", b"\r", b"#", b";") and not repo.stripped_message(above).strip():
        # nothing but comments yet (the editor opens next): the trailers below an empty subject line and a blank
        # line, as `git commit -s` leaves its sign-off, so that the subject typed on the first line stays apart
        return b"\n\n" + "".join(f"{line}\n" for line in lines).encode("utf-8") + message.lstrip(b"\r\n")
    if not message.endswith(b"\n"):
        message += b"\n"
    args = ["--no-divider", "--if-exists", "addIfDifferent"]  # (--no-divider: as `git commit --trailer` does)
    for line in lines:
        args += ["--trailer", line]
    return repo.interpret_trailers(message, *args)
