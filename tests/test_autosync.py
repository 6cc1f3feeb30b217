"""Tasks travel by themselves: a change made through any door on one clone reaches the others with no `sync` typed,
through the background sync (gittasks/autosync.py), against real clones of a bare remote.

The suite turns autosync off (conftest); these tests turn it on for the processes they start, and set
`gittasks.pullInterval 0` where the runner should end as soon as it has pushed (else it lingers, pulling)."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from helpers import Cli, SilentRemote, git, init_repo

from gittasks import autosync, store
from gittasks.workspace import Workspace

PAYLOADS = Path(__file__).parent / "data" / "claude-code"
ON = {"GITTASKS_AUTOSYNC": "1"}
UNSET = {"GITTASKS_AUTOSYNC": ""}  # the default: on in the own-branch layout, off inline


def common_dir(cli: Cli) -> Path:
    return Path(git(cli.root, "rev-parse", "--path-format=absolute", "--git-common-dir"))


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def settled(cli: Cli, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until `cli`'s background sync has ended; what it recorded."""
    common = common_dir(cli)

    def served() -> bool:  # the last request answered by a record at least as new, and no runner at work
        request, record = common / autosync.REQUEST_FILE, common / autosync.STATE_FILE
        if request.exists() and (not record.exists() or record.stat().st_mtime_ns < request.stat().st_mtime_ns):
            return False
        return "attempt_started" not in autosync.load_state(common) and not autosync.running(common)

    wait_for(served, timeout, "the background sync's end")
    return autosync.load_state(common)


def remote_subjects(remote: Path, branch: str = "gittasks") -> list[str]:
    raw = subprocess.run(
        ["git", "--git-dir", str(remote), "show", f"{branch}:.claude/active-tasks.json"], capture_output=True
    )
    if raw.returncode != 0:
        return []
    return [t["subject"] for t in json.loads(raw.stdout)["tasks"]]


def payload(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    return data


def hook(
    cli: Cli, name: str, data: dict[str, Any], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return cli.run("hook", name, input=json.dumps(data), env=env)


def task_create_payload(cli: Cli, subject: str, native: str = "1", session: str = "s-a") -> dict[str, Any]:
    data = payload("posttooluse-taskcreate", session_id=session, cwd=str(cli.root))
    data["tool_input"] = {"subject": subject, "description": f"about {subject}"}
    data["tool_response"] = {"task": {"id": native, "subject": subject, "description": f"about {subject}"}}
    return data


@pytest.fixture
def pair(make_repo: Callable[..., Path], bare_remote: Path) -> tuple[Cli, Cli]:
    """Two workstations of one remote, own-branch layout; A's runner does not linger."""
    a = init_repo(make_repo("a"), "laptop", inline=False)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    a.ok("sync")
    git(a.root, "config", "gittasks.pullInterval", "0")
    b_root = bare_remote.parent / "b"
    git(bare_remote.parent, "clone", "-q", str(bare_remote), str(b_root))
    b = Cli(b_root, "desktop")
    b.ok("list")
    git(b.root, "config", "gittasks.pullInterval", "0")
    return a, b


def session_start_text(cli: Cli) -> str:
    proc = hook(cli, "session-start", payload("sessionstart-startup", cwd=str(cli.root)))
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr
    return proc.stdout


# -- every door ------------------------------------------------------------------------------------------------


def _door_cli(a: Cli, subject: str) -> None:
    a.ok("create", subject, env=UNSET)


def _door_capture(a: Cli, subject: str) -> None:
    proc = hook(a, "capture", task_create_payload(a, subject), env=UNSET)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def _door_direct_write(a: Cli, subject: str) -> None:
    doc = a.doc()
    doc["tasks"].append({"id": "w1", "subject": subject, "status": "pending", "blocks": [], "blockedBy": []})
    path = a.root / ".claude" / "active-tasks.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    data = payload("posttooluse-taskcreate", cwd=str(a.root), tool_name="Write")
    data["tool_input"] = {"file_path": str(path), "content": "..."}
    data["tool_response"] = {"type": "update", "filePath": str(path)}
    proc = hook(a, "capture", data, env=UNSET)
    assert proc.returncode == 0, proc.stderr


def _door_mcp(a: Cli, subject: str) -> None:
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "task_create", "arguments": {"subject": subject}}},
    ]  # fmt: skip
    proc = a.run("mcp", input="".join(json.dumps(line) + "\n" for line in lines), env=UNSET)
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert answers[-1]["result"]["isError"] is False, answers


DOORS = {"cli": _door_cli, "capture": _door_capture, "direct-write": _door_direct_write, "mcp": _door_mcp}


@pytest.fixture(params=["own-branch", "inline"])
def layout_pair(request: pytest.FixtureRequest, make_repo: Callable[..., Path], bare_remote: Path) -> tuple[Cli, Cli]:
    """Two workstations of one remote in either layout (inline: autosync turned on, as it is off there by default)."""
    if request.param == "own-branch":
        return cast(tuple[Cli, Cli], request.getfixturevalue("pair"))
    a = init_repo(make_repo("a"), "laptop", inline=True)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    a.ok("sync")
    git(a.root, "config", "gittasks.pullInterval", "0")
    git(a.root, "config", "gittasks.autosync", "true")
    b_root = bare_remote.parent / "b"
    git(bare_remote.parent, "clone", "-q", str(bare_remote), str(b_root))
    b = Cli(b_root, "desktop")
    b.ok("list")
    return a, b


@pytest.mark.parametrize("door", sorted(DOORS))
def test_a_change_through_each_door_reaches_the_other_machines_next_session(
    layout_pair: tuple[Cli, Cli], door: str
) -> None:
    a, b = layout_pair
    subject = f"made through the {door} door"
    DOORS[door](a, subject)
    state = settled(a)
    assert "last_ok" in state and "error" not in state, state
    branch = "main" if git(a.root, "config", "--get", "gittasks.layout", check=False) == "inline" else "gittasks"
    assert subject in remote_subjects(a.root.parent / "remote.git", branch)
    text = session_start_text(b)  # nothing typed on either machine
    assert subject in text, text
    assert subject in (b.root / ".claude" / "active-tasks.json").read_text(encoding="utf-8")


def test_inline_layout_stays_local_unless_turned_on(make_repo: Callable[..., Path], bare_remote: Path) -> None:
    a = init_repo(make_repo("a"), "laptop", inline=True)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    a.ok("sync")
    git(a.root, "config", "gittasks.pullInterval", "0")
    a.ok("create", "kept local", env=UNSET)
    time.sleep(0.5)
    settled(a)
    assert "kept local" not in remote_subjects(bare_remote, "main")  # a push would carry the code branch too
    git(a.root, "config", "gittasks.autosync", "true")
    a.ok("create", "sent on", env=UNSET)
    settled(a)
    assert "sent on" in remote_subjects(bare_remote, "main")


def test_autosync_off_by_setting(pair: tuple[Cli, Cli]) -> None:
    a, _ = pair
    git(a.root, "config", "gittasks.autosync", "false")
    a.ok("create", "stays here", env=UNSET)
    time.sleep(0.5)
    assert not autosync.load_state(common_dir(a))
    assert "stays here" not in remote_subjects(a.root.parent / "remote.git")
    status = a.ok("status", env=UNSET)
    assert "autosync:   off" in status and "1 change waits to be pushed" in status, status


# -- session end ---------------------------------------------------------------------------------------------


def test_the_session_end_hook_sends_the_last_change(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    # the last change of a session, committed with autosync off for that one call, then the session ends at once
    assert hook(a, "capture", task_create_payload(a, "the last change"), env={"GITTASKS_AUTOSYNC": "0"}).returncode == 0
    assert "the last change" not in remote_subjects(a.root.parent / "remote.git")
    started = time.monotonic()
    proc = hook(a, "session-end", payload("sessionstart-startup", hook_event_name="SessionEnd", reason="exit",
                                          cwd=str(a.root)), env=UNSET)  # fmt: skip
    took = time.monotonic() - started
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stderr
    assert took < 3.0, f"the SessionEnd hook waited {took:.1f} s"  # it waits for no network step
    settled(a)
    assert "the last change" in session_start_text(b)


def test_session_end_commits_an_edit_still_pending(pair: tuple[Cli, Cli]) -> None:
    a, _ = pair
    path = a.root / ".claude" / "active-tasks.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["tasks"].append({"id": "e1", "subject": "edited by hand", "status": "pending", "blocks": [], "blockedBy": []})
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert hook(a, "session-end", {"hook_event_name": "SessionEnd", "cwd": str(a.root)}, env=UNSET).returncode == 0
    settled(a)
    assert "edited by hand" in remote_subjects(a.root.parent / "remote.git")


# -- pull while working ----------------------------------------------------------------------------------------


def test_a_lingering_background_sync_brings_the_other_machines_changes_in(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    git(b.root, "config", "gittasks.pullInterval", "0.3")
    b.ok("create", "desktop's own", env=UNSET)  # starts B's runner, which then lingers, pulling
    a.ok("create", "from the laptop", env=UNSET)
    settled(a)
    active = b.root / ".claude" / "active-tasks.json"
    wait_for(lambda: "from the laptop" in active.read_text(encoding="utf-8"), 15, "the pull into B's work tree")
    assert "from the laptop" in b.ok("list")
    _stop_runner(b)


def _stop_runner(cli: Cli) -> None:
    """End a lingering runner: its pull interval set to 0 does not reach a running one, so it is sent SIGTERM."""
    proc = subprocess.run(["pgrep", "-f", "gittasks sync --background"], capture_output=True, text=True)
    for pid in proc.stdout.split():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if Path(cwd) == cli.root.resolve():
            os.kill(int(pid), signal.SIGTERM)
    settled(cli)


# -- where things stand ----------------------------------------------------------------------------------------


def test_a_silent_remote_never_holds_a_command_or_a_hook_up(pair: tuple[Cli, Cli], silent: SilentRemote) -> None:
    a, _ = pair
    git(a.root, "remote", "set-url", "origin", silent.url)
    git(a.root, "config", "gittasks.syncTimeout", "1")
    for run in (lambda: a.ok("create", "while the remote is silent", env=UNSET),
                lambda: hook(a, "capture", task_create_payload(a, "captured meanwhile"), env=UNSET)):  # fmt: skip
        started = time.monotonic()
        run()
        took = time.monotonic() - started
        assert took < 2.0, f"a change waited {took:.1f} s for a silent remote"
    common = common_dir(a)
    wait_for(lambda: autosync.load_state(common).get("kind") == "offline", 15, "the offline record")
    info = json.loads(a.ok("status", "--json", env=UNSET))
    assert info["push_error_kind"] == "offline" and info["ahead"] == 2 and info["failing_since"], info
    text = a.ok("status", env=UNSET)
    assert "2 changes wait to be pushed" in text and "the background push failed (offline" in text, text
    summary = session_start_text(a)
    assert "2 changes wait to be pushed" in summary, summary
    _stop_runner(a)


def test_the_changes_go_out_by_themselves_when_the_remote_comes_back(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    remote = a.root.parent / "remote.git"
    away = remote.with_name("remote-away.git")
    remote.rename(away)
    try:
        a.ok("create", "made offline", env=UNSET)
        common = common_dir(a)
        wait_for(lambda: "error" in autosync.load_state(common), 15, "the failed attempt")
    finally:
        away.rename(remote)
    state = settled(a, timeout=30)  # the runner's next try (2 s later, then 4, ...) gets through
    assert "error" not in state and "made offline" in remote_subjects(remote), state
    assert "made offline" in session_start_text(b)


# -- one runner, coalescing, killed at random points ------------------------------------------------------------


def test_the_runner_coalesces_changes_made_while_it_runs(make_repo: Callable[..., Path]) -> None:
    root = make_repo()
    init_repo(root, inline=False)
    git(root, "config", "gittasks.pullInterval", "0")
    ws = Workspace.open(root)
    common = ws.repo.common_dir
    attempts: list[int] = []

    def attempt(_ws: Workspace) -> autosync.Attempt:
        attempts.append(1)
        if len(attempts) <= 2:  # two changes arrive while the first attempts run: one more attempt each time
            store.write_atomic(common / autosync.REQUEST_FILE, os.urandom(4).hex().encode())
        return autosync.Attempt(True)

    autosync.run(ws, attempt)
    assert len(attempts) == 3
    assert autosync.load_state(common)["last_ok"]


def test_the_runner_backs_off_and_gives_up_after_its_window(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo()
    init_repo(root, inline=False)
    ws = Workspace.open(root)
    clock = [0.0]
    tried_at: list[float] = []

    def attempt(_ws: Workspace) -> autosync.Attempt:
        tried_at.append(clock[0])
        return autosync.Attempt(False, "offline", "could not reach origin")

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(autosync.time, "monotonic", lambda: clock[0])
    autosync.run(ws, attempt, retry_window=200, sleep=sleep)
    waits = [round(later - earlier, 6) for earlier, later in itertools.pairwise(tried_at)]
    assert waits[:5] == [2.0, 4.0, 8.0, 16.0, 30.0] and max(waits) == 30.0, waits
    assert 200 <= tried_at[-1] < 200 + 30  # then it gives up: the next change starts it again
    state = autosync.load_state(ws.repo.common_dir)
    assert state["kind"] == "offline" and state["failing_since"] and "last_ok" not in state


def test_only_one_runner_at_a_time(pair: tuple[Cli, Cli]) -> None:
    a, _ = pair
    common = common_dir(a)
    held = store.try_hold(common / autosync.RUNNER_LOCK)  # a runner is at work
    assert held is not None
    try:
        started = time.monotonic()
        proc = a.run("sync", "--background", env=ON)
        assert proc.returncode == 0 and time.monotonic() - started < 5  # it leaves at once
        assert not autosync.load_state(common)
    finally:
        store.let_go(held)


def test_a_runner_killed_at_random_points_loses_nothing_and_leaves_no_lock(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    remote = a.root.parent / "remote.git"
    git(a.root, "config", "gittasks.autosync", "false")  # the test starts each runner itself
    rng = random.Random(24)
    made: list[str] = []
    env = {**os.environ, "GITTASKS_MACHINE": "laptop", "GITTASKS_AUTOSYNC": "1"}
    for round_ in range(8):
        subject = f"task {round_}"
        made.append(subject)
        a.ok("create", subject)
        b.ok("create", f"desktop {round_}")
        b.ok("sync")  # so that A's runner has a merge to make
        runner = subprocess.Popen([sys.executable, "-m", "gittasks", "sync", "--background"], cwd=a.root, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(0.0, 0.6))
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        time.sleep(0.2)  # a git step the runner started ends by itself
        common = common_dir(a)
        for lock in (common / autosync.RUNNER_LOCK, common / store.LOCK_NAME):
            handle = store.try_hold(lock)
            assert handle is not None, f"{lock.name} still held after the kill"
            store.let_go(handle)
        assert not list((common / "refs").rglob("*.lock")), "a ref lock was left behind"
        assert [t["subject"] for t in a.doc()["tasks"]][-1:] != [], "the list lost its tasks"
        git(a.root, "fsck", "--no-progress")
    a.ok("sync")
    b.ok("sync")
    subjects = remote_subjects(remote)
    for subject in made + [f"desktop {i}" for i in range(8)]:
        assert subjects.count(subject) == 1, (subject, subjects)
    assert sorted(t["subject"] for t in a.doc()["tasks"]) == sorted(t["subject"] for t in b.doc()["tasks"])


def test_a_session_end_sync_does_not_linger(pair: tuple[Cli, Cli]) -> None:
    a, _ = pair
    git(a.root, "config", "--unset", "gittasks.pullInterval")  # the default: a runner after a change lingers
    payload_end = {"hook_event_name": "SessionEnd", "reason": "exit", "cwd": str(a.root)}
    assert hook(a, "session-end", payload_end, env=UNSET).returncode == 0
    state = settled(a, timeout=10)  # ends once synced: nobody is at work here any more
    assert "last_ok" in state, state


def test_a_failure_no_retry_can_mend_is_not_retried(make_repo: Callable[..., Path]) -> None:
    root = make_repo()
    init_repo(root, inline=False)
    ws = Workspace.open(root)
    tried: list[int] = []

    def attempt(_ws: Workspace) -> autosync.Attempt:
        tried.append(1)
        return autosync.Attempt(False, "error", "a task file to fix here first")

    autosync.run(ws, attempt, sleep=lambda _s: None)
    assert tried == [1]
    assert autosync.load_state(ws.repo.common_dir)["kind"] == "error"


def test_a_session_that_only_reads_follows_the_other_machines(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    git(b.root, "config", "gittasks.pullInterval", "0.3")
    proc = hook(b, "session-start", payload("sessionstart-startup", cwd=str(b.root)), env=UNSET)
    assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr
    a.ok("create", "made while B only reads", env=UNSET)  # B makes no change of its own
    settled(a)
    active = b.root / ".claude" / "active-tasks.json"
    wait_for(lambda: "made while B only reads" in active.read_text(encoding="utf-8"), 15, "the pull into B's files")
    _stop_runner(b)


def test_a_runner_stopped_mid_attempt_leaves_no_attempt_under_way(pair: tuple[Cli, Cli]) -> None:
    _, b = pair
    ws = Workspace.open(b.root)
    common = common_dir(b)

    def stopped(_ws: Workspace) -> autosync.Attempt:
        assert "attempt_started" in autosync.load_state(common)  # the record says one is under way
        raise SystemExit(0)  # what SIGTERM raises in the runner (`processes.stop_on_term`)

    with pytest.raises(SystemExit):
        autosync.run(ws, stopped)
    assert "attempt_started" not in autosync.load_state(common)
