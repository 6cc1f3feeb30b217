"""Tasks travel by themselves: after a change, a sync in the background (`gittasks.autosync`).

A change asks for a sync (`request`): it notes the request in the git dir and, unless a background sync is already
running for this repository, starts one detached from the caller (its own session, stdio closed), so neither a
shell nor Claude Code waits on it. The background process (`run`) holds the runner lock for its whole life, so there
is at most one per repository; it syncs, and syncs again while changes keep arriving (a change made while it runs
makes it run once more). Then it lingers a few minutes, pulling now and then, so that while a session works the
other machines' changes reach this work tree too.

A failed attempt (offline, refused, credentials) is tried again with back-off capped at MAX_DELAY for RETRY_WINDOW,
and a new change retries at once. Each attempt is one `sync.sync`, whose network steps are bounded by
`gittasks.syncTimeout` and run outside the repository lock; what the last attempt did is kept in STATE_FILE for
`status`, the session-start summary and the board.

Crash safety comes from the sync itself (nothing is moved until a commit exists) and from OS locks the system
releases when a process dies: a runner killed at any point leaves committed changes committed, and the next change
or session end starts another runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gittasks import processes, rules, store
from gittasks.workspace import FALSE_WORDS, TRUE_WORDS, Workspace

RUNNER_LOCK = "gittasks-autosync.lock"
REQUEST_FILE = "gittasks-autosync.request"
STATE_FILE = "gittasks-autosync.json"
ENV = "GITTASKS_AUTOSYNC"  # true/false: overrides the setting (scripts, CI, tests)
FIRST_DELAY = 2.0  # seconds before the first retry of a failed attempt
MAX_DELAY = 30.0  # the back-off's cap
RETRY_WINDOW = 600.0  # seconds a runner keeps trying after the first failure; then the next change starts again
HOLD_TRIES = 10  # a runner's tries for the runner lock, 20 ms apart
POLL = 0.25  # how often a waiting runner looks for a new change
LAST_MARK = " last"  # ends a request made when a session ended: no pulls after it
SESSION_MARK = " session"  # ends a request made when a session started: pulls for SESSION_LINGER
RETRIED = ("offline", "credentials", "refused")  # what may mend by itself; anything else waits for a person
PULL_INTERVAL = 20.0  # seconds between pulls while the runner lingers (`gittasks.pullInterval`)
LINGER = 300.0  # seconds after the last change that the runner keeps pulling: a session at work hears the others
SESSION_LINGER = 1800.0  # the same after a session started (it may only read for a while: it still hears them)


def enabled(ws: Workspace) -> bool:
    """Does a change start a background sync here? `GITTASKS_AUTOSYNC`, else `gittasks.autosync`, else on in the
    own-branch layout and off in the inline one (there a push carries the code branch); never without a remote."""
    given = (os.environ.get(ENV) or "").strip().lower()
    if given in FALSE_WORDS:
        return False
    if given not in TRUE_WORDS and not ws.flag("autosync", not ws.inline):
        return False
    return bool(ws.repo.remotes())


def after(ws: Workspace) -> None:
    """What a front end calls when it is done with `ws` (a command, an MCP call, a hook): a background sync when it
    committed a change that no sync has carried yet."""
    if ws.to_push:
        ws.to_push = False
        request(ws)


def request(ws: Workspace, *, last: bool = False, session: bool = False) -> bool:
    """Ask for a background sync of `ws` (call after a change committed): note the request and start a runner
    unless one is running. True when this call started one. `last`: nobody is at work here any more (a session
    ended), so the runner ends once it has synced instead of lingering to pull; `session`: a session started, so it
    lingers longer (SESSION_LINGER) even when the session only reads. Never raises: a change is done
    whatever happens here."""
    try:
        if not enabled(ws):
            return False
        common = ws.repo.common_dir
        note = os.urandom(8).hex() + (LAST_MARK if last else SESSION_MARK if session else "")
        # written in place, not synced to disk: only its change is read, and a request lost to a crash loses nothing
        (common / REQUEST_FILE).write_bytes(note.encode("ascii"))
        probe = store.try_hold(common / RUNNER_LOCK)
        if probe is None:
            return False  # a runner holds it: it reads the new request before it ends
        store.let_go(probe)
        start(ws.repo.root)
        return True
    except Exception:  # the change is committed whatever happens here; a sync can always be run by hand
        return False


def start(root: Path) -> None:
    """Start the background runner (`gittasks sync --background`) detached from this process."""
    subprocess.Popen(
        [sys.executable, "-m", "gittasks", "sync", "--background"],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **processes.own_group(detached=True),
    )


# -- the runner ---------------------------------------------------------------------------------------------------


def main(root: Path | None = None) -> int:
    """`gittasks sync --background`: the runner for the repository at `root` (the current folder); always exit 0,
    quietly (its stdio is closed; what happened is in STATE_FILE)."""
    with contextlib.suppress(Exception), processes.stop_on_term():  # SIGTERM: its git steps end with it
        run(Workspace.open(root), sync_attempt)
    return 0


@dataclass
class Attempt:
    """What one background sync attempt ended with: ok, or the kind of failure and its one line."""

    ok: bool
    kind: str = ""  # offline, credentials, refused, error
    message: str = ""


def _read_request(common: Path) -> bytes:
    return store.read_bytes(common / REQUEST_FILE) or b""


def run(
    ws: Workspace,
    attempt: Callable[[Workspace], Attempt],
    *,
    retry_window: float = RETRY_WINDOW,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """The background runner: sync until no change is waiting, retrying failures with back-off; then, for LINGER
    seconds after the last change, sync every `gittasks.pullInterval` seconds so that other machines' changes reach
    this work tree while a session works. Returns at once when another runner holds the lock (that one sees every
    request)."""
    common = ws.repo.common_dir
    handle = _hold(common)
    if handle is None:
        return
    every = pull_interval(ws)
    try:
        quiet_since = time.monotonic()
        while True:
            seen = _read_request(common)
            if not _until_done(ws, attempt, common, retry_window, sleep).ok:
                return  # gave up for now: the next change starts a new runner
            if _read_request(common) != seen:
                quiet_since = time.monotonic()
                continue  # a change came in while it ran: once more
            if every and time.monotonic() - quiet_since < _linger(seen):
                if _wait_for_change(common, seen, every, sleep):
                    quiet_since = time.monotonic()
                continue  # a pull, or the new change
            store.let_go(handle)
            handle = None
            if _read_request(common) == seen:
                return
            handle = _hold(common)  # a change came in as it let go
            if handle is None:
                return  # another runner took it over
    finally:
        if handle is not None:
            store.let_go(handle)


def _hold(common: Path) -> IO[bytes] | None:
    """The runner lock, tried for a moment: `request` and `running` take it for an instant to look, and a runner
    must not take such a look for another runner."""
    for _ in range(HOLD_TRIES):
        handle = store.try_hold(common / RUNNER_LOCK)
        if handle is not None:
            return handle
        time.sleep(0.02)
    return None


def _linger(request_note: bytes) -> float:
    """How long the runner keeps pulling after the request `request_note`: none after a session's end."""
    if request_note.endswith(LAST_MARK.encode()):
        return 0.0
    return SESSION_LINGER if request_note.endswith(SESSION_MARK.encode()) else LINGER


def pull_interval(ws: Workspace) -> float:
    """Seconds between the background sync's pulls while it lingers (`gittasks.pullInterval`; 0: no pulls)."""
    with contextlib.suppress(ValueError):
        return max(0.0, float(ws.setting("pullInterval") or PULL_INTERVAL))
    return PULL_INTERVAL


def _wait_for_change(common: Path, seen: bytes, seconds: float, sleep: Callable[[float], None]) -> bool:
    """Wait up to `seconds`; True as soon as a new request comes in."""
    waited = 0.0
    while waited < seconds:
        if _read_request(common) != seen:
            return True
        sleep(min(POLL, seconds - waited))
        waited += POLL
    return _read_request(common) != seen


def _until_done(
    ws: Workspace, attempt: Callable[[Workspace], Attempt], common: Path, window: float, sleep: Callable[[float], None]
) -> Attempt:
    """Attempts until one succeeds or the retry window since the first failure has passed."""
    first_failure: float | None = None
    delay = FIRST_DELAY
    while True:
        record_start(common)
        try:
            result = attempt(ws)
        except BaseException:  # (SIGTERM's SystemExit mid-attempt: the record must not say one is still under way)
            with contextlib.suppress(Exception):
                record_end(common)
            raise
        record(common, result, last_sync(ws))
        if result.ok or result.kind not in RETRIED or not common.is_dir():
            return result  # (a repository deleted meanwhile, a file to fix: trying again would not help)
        now = time.monotonic()
        first_failure = first_failure if first_failure is not None else now
        if now - first_failure >= window:
            return result
        _wait_for_change(common, _read_request(common), delay, sleep)  # a new change retries at once
        delay = min(delay * 2, MAX_DELAY)


def sync_attempt(ws: Workspace) -> Attempt:
    """One sync of `ws`, its failure sorted into a kind for the status line."""
    from gittasks import sync  # (the network's module: loaded by the runner only)
    from gittasks.errors import GittasksError

    try:
        ws.invalidate()
        sync.sync(ws)
    except sync.SyncFailed as exc:
        return Attempt(False, exc.kind, exc.reason)
    except GittasksError as exc:
        return Attempt(False, "error", str(exc))
    return Attempt(True)


# -- what the last attempt did ------------------------------------------------------------------------------------


def record_start(common: Path) -> None:
    state = load_state(common)
    state["attempt_started"] = rules.format_stamp(rules.utc_now())
    _save(common, state)


def record_end(common: Path) -> None:
    """An attempt that ended without a result (the runner stopped mid-way): no longer under way."""
    state = load_state(common)
    if state.pop("attempt_started", None) is not None:
        _save(common, state)


def record(common: Path, result: Attempt, synced: str | None = None) -> None:
    """Keep what an attempt did; `synced`: when a sync last got through (a failure since then starts anew)."""
    state = load_state(common)
    now = rules.format_stamp(rules.utc_now())
    state.pop("attempt_started", None)
    state["last_attempt"] = now
    if result.ok:
        for key in ("error", "kind", "failing_since"):
            state.pop(key, None)
        state["last_ok"] = now
    else:
        state["error"] = result.message
        state["kind"] = result.kind
        since = state.get("failing_since")
        if not isinstance(since, str) or (synced is not None and since < synced):
            state["failing_since"] = now  # (a sync that got through since then ended the earlier failure)
    _save(common, state)


def last_sync(ws: Workspace) -> str | None:
    """When a sync last got through here (by hand or in the background), as the sync's own record says."""
    from gittasks import sync_status

    value = sync_status.read_last_sync(ws.repo).get("last_sync")
    return value if isinstance(value, str) else None


def _save(common: Path, state: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):
        store.write_atomic(common / STATE_FILE, json.dumps(state, sort_keys=True).encode("utf-8"))


def load_state(common: Path) -> dict[str, Any]:
    """What the background sync last did: `last_ok`, `last_attempt`, and while it fails `error` (one line), `kind`
    (offline, credentials, refused, error) and `failing_since`; {} when it never ran."""
    try:
        value = json.loads((common / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def status(ws: Workspace) -> dict[str, Any]:
    """`sync_status.status` (this clone against its remote, its tasks and conflicts) with the background sync's
    part."""
    from gittasks import sync_status

    info = sync_status.status(ws)
    info.update(background(ws, info["last_sync"]))
    return info


def standing(ws: Workspace) -> dict[str, Any]:
    """`sync_status.standing` (read from git's files alone: nothing brought in) with the background sync's part."""
    from gittasks import sync_status

    info = sync_status.standing(ws)
    info.update(background(ws, info["last_sync"]))
    return info


def background(ws: Workspace, last_sync: str | None) -> dict[str, Any]:
    """The background sync's part of the status: on or off, running now, and why its last attempt failed (when it
    failed after the last sync that got through: a later `gittasks sync` settles it)."""
    state = load_state(ws.repo.common_dir)
    failed = state.get("error") if isinstance(state.get("error"), str) else None
    last_attempt = state.get("last_attempt")
    if failed and last_sync and isinstance(last_attempt, str) and last_attempt < last_sync:
        failed = None
    return {
        "autosync": enabled(ws),
        "autosync_running": running(ws.repo.common_dir),
        "push_error": failed,
        "push_error_kind": state.get("kind") if failed else None,
        "failing_since": state.get("failing_since") if failed else None,
    }


def running(common: Path) -> bool:
    """Is a background sync running for this repository now?"""
    probe = store.try_hold(common / RUNNER_LOCK)
    if probe is None:
        return True
    store.let_go(probe)
    return False
