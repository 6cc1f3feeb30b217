"""No command hangs: against a remote that accepts the connection and never answers, `sync` is offline within
`gittasks.syncTimeout` in all, in both layouts, and leaves no git process behind; so does the session-start hook.
The silent remote is a TCP server on 127.0.0.1 in a thread of the test; leftovers are found in /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import Cli, MakeRepo, SilentRemote, git, init_repo

from gittasks.claude import hooks
from gittasks.workspace import Workspace

pytestmark = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find processes")
TIMEOUT = 3  # gittasks.syncTimeout in these tests, seconds
SLACK = 2.0  # what a process start and the local steps may add to a bounded wait on a busy machine


@pytest.fixture
def cli(make_repo: MakeRepo, inline: bool, silent: SilentRemote) -> Cli:
    """A repository in the layout under test whose remote never answers; its syncs run as processes (a hang's
    deadline and the process groups it ends are what these tests check)."""
    root = init_repo(make_repo(), "WS-A", inline=inline).root
    git(root, "remote", "add", "origin", silent.url)
    return Cli(root, "WS-A", process=True)


def processes_of(root: Path, port: int) -> list[str]:
    """The live processes (not this one) working in `root` or talking to `port`: their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # ended, not yet reaped
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if f"127.0.0.1:{port}" in cmdline or Path(cwd) == root or root in Path(cwd).parents:
            found.append(cmdline)
    return found


def left_behind(root: Path, port: int, within: float = 3.0) -> list[str]:
    """What is still running after `within` seconds (a killed process takes a moment to go)."""
    end = time.monotonic() + within
    while (found := processes_of(root, port)) and time.monotonic() < end:
        time.sleep(0.1)
    return found


def test_sync_on_a_silent_remote_is_offline_within_one_deadline(cli: Cli, silent: SilentRemote) -> None:
    git(cli.root, "config", "gittasks.syncTimeout", str(TIMEOUT))
    cli.create("Kept here")
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "gittasks", "sync"], cwd=cli.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        while not any(f":{silent.port}" in line for line in processes_of(cli.root, silent.port)):
            assert child.poll() is None and time.monotonic() - started < TIMEOUT + SLACK, "sync never reached out"
            time.sleep(0.05)
        reached = time.monotonic()
        meanwhile = cli.create("Made while sync waits")  # the lock is not held while sync is on the network
        assert time.monotonic() - reached < TIMEOUT
        _, err = child.communicate(timeout=3 * TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    elapsed = time.monotonic() - reached  # from its first network step (a process start is slow on a busy machine)
    assert child.returncode == 1 and "Traceback" not in err, err
    assert elapsed < TIMEOUT + SLACK, f"sync waited {elapsed:.1f} s with gittasks.syncTimeout {TIMEOUT}"
    assert f"could not reach origin (offline: no answer within {TIMEOUT} s" in err
    assert "changes not yet pushed, they stay committed here" in err
    assert {"Kept here", "Made while sync waits"} == {t["subject"] for t in cli.json("list")}
    assert meanwhile in {t["id"] for t in cli.json("list")}
    assert left_behind(cli.root, silent.port) == []


def test_session_start_ends_every_process_its_sync_started(
    cli: Cli, silent: SilentRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait = 2.0
    monkeypatch.setattr(hooks, "SESSION_SYNC_TIMEOUT", wait)  # the hook's own wait; syncTimeout is the default 30
    cli.create("Local task")
    started = time.monotonic()
    text = hooks.session_start(Workspace.open(cli.root))
    elapsed = time.monotonic() - started
    assert elapsed < wait + 2 * SLACK  # its wait, then a grace to end what it started
    assert left_behind(cli.root, silent.port) == []
    first, *rest = text.splitlines()
    assert first == f"gittasks: the remote did not answer within {wait:g} s; this list may be out of date."
    assert any("Local task" in line for line in rest)


def test_a_session_sync_that_fails_in_time_says_why(cli: Cli, silent: SilentRemote) -> None:
    git(cli.root, "config", "gittasks.syncTimeout", "1")
    cli.create("Local task")
    first = hooks.session_start(Workspace.open(cli.root)).splitlines()[0]
    assert first.startswith("gittasks: could not reach origin (offline: no answer within 1 s")
    assert first.endswith("; this list may be out of date.")
    assert left_behind(cli.root, silent.port) == []


def test_ctrl_c_while_a_sync_waits_says_so_in_one_line(cli: Cli, silent: SilentRemote) -> None:
    import signal

    git(cli.root, "config", "gittasks.syncTimeout", "60")
    child = subprocess.Popen(
        [sys.executable, "-m", "gittasks", "sync"], cwd=cli.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    started = time.monotonic()
    while not any(f":{silent.port}" in line for line in processes_of(cli.root, silent.port)):
        assert child.poll() is None and time.monotonic() - started < 20, "sync never reached out"
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=20)
    assert child.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and "Traceback" not in err, err
    assert left_behind(cli.root, silent.port) == []
