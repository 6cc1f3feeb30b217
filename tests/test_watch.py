"""`gittasks watch` between real clones of a bare remote: clone B watches (a real process), clone A changes tasks and
syncs; B prints A's changes and has them in its work-tree file, never its own; it ends cleanly on SIGTERM, when its
parent goes away, and keeps going (offline, once) when the remote cannot be reached."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from helpers import ACTIVE, Cli, MakeRepo, SilentRemote, git, init_repo

from gittasks import watch

ROOT = Path(__file__).resolve().parent.parent
MONITORS = ROOT / "plugin" / "monitors" / "monitors.json"
WAIT = 15.0  # the longest any expected line may take (a busy 2-core machine); they come within a second or two
has_proc = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find processes")
posix = pytest.mark.skipif(os.name != "posix", reason="signals and the parent's id as on POSIX")


class Lines:
    """The lines a stream gives, read by a thread, handed out as they come."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: Callable[[list[str]], bool], within: float = WAIT) -> list[str]:
        end = time.monotonic() + within
        while not wanted(self.seen):
            try:
                line = self._queue.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"not seen within {within} s; the lines so far: {self.seen}") from None
            if line is None:
                assert wanted(self.seen), f"the stream ended; the lines: {self.seen}"
                break
            self.seen.append(line)
        return self.seen


class Watching:
    """`gittasks watch ARGS` running in a clone, its stdout and stderr read as they come."""

    def __init__(self, cli: Cli, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gittasks", "watch", *args],
            cwd=cli.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env={**os.environ, "GITTASKS_MACHINE": cli.machine, **(env or {})},
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.out = Lines(self.proc.stdout)
        self.err = Lines(self.proc.stderr)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.seen]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=WAIT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def two(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path) -> tuple[Cli, Cli]:
    a = init_repo(make_repo("a"), "WS-A", inline=False)
    a.ok("init", "--remote", str(bare_remote))
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    b.ok("list")  # takes the task list from origin/gittasks
    return a, b


@pytest.fixture
def watching() -> Iterator[list[Watching]]:
    started: list[Watching] = []
    yield started
    for one in started:
        one.kill()


def changes(events: list[dict[str, Any]], task: str | None = None) -> list[tuple[str, str, str, str]]:
    return [(e["machine"], e["action"], e["task"], e["subject"]) for e in events
            if e["event"] == "change" and task in (None, e["task"])]  # fmt: skip


def processes_in(root: Path) -> list[str]:
    """The live processes (not this one) whose working folder is `root` or inside it: their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # ended, not yet reaped
            cwd = Path(os.readlink(entry / "cwd"))
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            found.append(cmdline)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def eventually(check: Callable[[], bool], within: float = WAIT) -> bool:
    end = time.monotonic() + within
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


@posix
@has_proc
def test_watch_prints_other_machines_changes_and_brings_them_in(two: tuple[Cli, Cli], watching: list[Watching]) -> None:
    a, b = two
    w = Watching(b, "--interval", "0.2", "--json")
    watching.append(w)
    parent = a.create("Release")
    deploy = a.create("Deploy", "--parent", parent)
    announce = a.create("Announce", "--blocked-by", deploy)
    a.ok("start", deploy)
    a.ok("done", deploy)
    a.ok("sync")
    w.out.wait_for(lambda _: ("WS-A", "completed", deploy, "Deploy") in changes(w.events()))
    assert changes(w.events(), deploy) == [
        ("WS-A", "created", deploy, "Deploy"),
        ("WS-A", "started", deploy, "Deploy"),
        ("WS-A", "completed", deploy, "Deploy"),
    ]
    done = next(e for e in w.events() if e["task"] == deploy and e["action"] == "completed")
    assert done["note"] == f"blocker of {announce}; subtask of {parent}"
    assert done["commit"] == git(a.root, "log", "-1", "--format=%H", "--grep", "complete", "gittasks")
    assert ("WS-A", "created", announce, "Announce") in changes(w.events())
    # B's work tree holds A's changes, as a sync would have written them
    assert eventually(lambda: {t["id"]: t["status"] for t in b.doc()["tasks"]}.get(deploy) == "completed")
    assert git(b.root, "rev-parse", "gittasks") == git(a.root, "rev-parse", "gittasks")

    mine = b.create("Made on B")  # B's own change: pushed by the watch, never reported by it
    assert eventually(lambda: _remote_has(a, mine))
    a.ok("sync")
    a.ok("update", mine, "--owner", "alice")
    a.ok("sync")
    w.out.wait_for(lambda _: ("WS-A", "updated", mine, "Made on B") in changes(w.events()))
    assert all(e["machine"] != "WS-B" for e in w.events() if e["event"] == "change")
    assert [e for e in w.events() if e["event"] != "change"] == []

    assert w.stop() == 0
    assert "Traceback" not in "\n".join(w.err.wait_for(lambda _: True)), w.err.seen
    assert eventually(lambda: processes_in(b.root) == [], 3.0), processes_in(b.root)
    b.ok("create", "The lock is free", env={"GITTASKS_LOCK_TIMEOUT": "1"})


def _remote_has(a: Cli, task_id: str) -> bool:
    git(a.root, "fetch", "-q", "origin", "gittasks")
    return task_id in git(a.root, "show", f"origin/gittasks:{ACTIVE}")


def test_once_prints_a_round_as_json_lines_and_text_lines(two: tuple[Cli, Cli]) -> None:
    a, b = two
    first = a.create("First")
    a.ok("sync")
    found = b.run("watch", "--once", "--json")
    assert found.returncode == 0, found.stderr
    events = [json.loads(line) for line in found.stdout.splitlines()]
    assert changes(events) == [("WS-A", "created", first, "First")]
    assert set(events[0]) == {"event", "machine", "action", "task", "subject", "note", "commit", "when"}
    assert (b.root / ACTIVE).read_text(encoding="utf-8").count(first) == 1
    a.ok("block", first, "--reason", "waiting for \x1b[31mcredentials")
    a.ok("sync")
    text = b.ok("watch", "--once", "--prefix", "gittasks: ")
    assert text == f'gittasks: WS-A blocked {first} "First" (reason: waiting for \\x1b[31mcredentials)\n'
    assert b.ok("watch", "--once") == ""  # nothing new


def test_once_names_deletes_and_cuts_a_long_round_short(two: tuple[Cli, Cli]) -> None:
    a, b = two
    made = [a.create(f"Task {n}") for n in range(watch.MAX_CHANGES + 1)]
    a.ok("delete", made[0])
    a.ok("sync")
    lines = b.ok("watch", "--once").splitlines()
    assert len(lines) == watch.MAX_CHANGES + 1
    assert lines[0] == f'WS-A created {made[0]} "Task 0"'
    assert lines[-1] == f"and 2 more changes by other machines (`gittasks log --limit {watch.MAX_CHANGES + 2}`)"
    a.ok("delete", made[1])
    a.ok("sync")
    assert b.ok("watch", "--once") == f'WS-A deleted {made[1]} "Task 1"\n'


def test_once_on_an_unreachable_remote_fails_in_one_line(two: tuple[Cli, Cli], tmp_path: Path) -> None:
    _, b = two
    git(b.root, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    err = b.fail("watch", "--once")
    assert err.startswith("gittasks: could not reach origin") and err.count("\n") == 1, err


def test_watch_without_a_remote_or_a_task_list_says_so_in_one_line(make_repo: MakeRepo, bare_remote: Path) -> None:
    cli = init_repo(make_repo(), inline=False)
    err = cli.fail("watch", "--once")
    assert err.startswith("gittasks: no remote to sync with") and err.count("\n") == 1
    plain = Cli(make_repo())  # a project that keeps no task list: a plugin's monitor starts there too
    git(plain.root, "remote", "add", "origin", str(bare_remote))
    err = plain.fail("watch")
    assert err.startswith("gittasks: no task list in this repository") and err.count("\n") == 1
    assert not (plain.root / ACTIVE).exists()


@posix
@has_proc
def test_an_unreachable_remote_is_offline_once_then_back(
    two: tuple[Cli, Cli], tmp_path: Path, watching: list[Watching]
) -> None:
    a, b = two
    moved = tmp_path / "moved.git"
    git(b.root, "remote", "set-url", "origin", str(moved))  # no repository there (yet)
    w = Watching(b, "--interval", "0.1", "--prefix", "gittasks: ")
    watching.append(w)
    w.err.wait_for(lambda seen: any("offline" in line for line in seen))
    time.sleep(1.0)  # several more failed rounds
    assert w.proc.poll() is None
    offline = [line for line in w.err.seen if "offline" in line]
    assert len(offline) == 1 and offline[0].startswith("gittasks: offline: could not reach origin"), w.err.seen
    subprocess.run(["git", "clone", "-q", "--bare", str(a.root), str(moved)], check=True, capture_output=True)
    git(a.root, "push", "-q", str(moved), "gittasks")
    w.err.wait_for(lambda seen: any("back online" in line for line in seen))
    assert w.out.seen == []  # stdout carries other machines' changes only
    assert w.stop(signal.SIGINT) == 0
    assert len([line for line in w.err.wait_for(lambda _: True) if "offline" in line]) == 1


@posix
@has_proc
def test_sigterm_while_a_fetch_waits_ends_it_with_everything_it_started(
    two: tuple[Cli, Cli], watching: list[Watching], silent: SilentRemote
) -> None:
    _, b = two
    git(b.root, "remote", "set-url", "origin", silent.url)
    git(b.root, "config", "gittasks.syncTimeout", "60")
    w = Watching(b, "--interval", "0.2", "--json")
    watching.append(w)
    assert eventually(lambda: any(silent.url in line for line in processes_in(b.root))), "no fetch started"
    started = time.monotonic()
    assert w.stop() == 0
    assert time.monotonic() - started < 5
    assert w.out.seen == [] and "Traceback" not in "\n".join(w.err.wait_for(lambda _: True)), w.err.seen
    assert eventually(lambda: processes_in(b.root) == [], 3.0), processes_in(b.root)
    b.ok("create", "The lock is free", env={"GITTASKS_LOCK_TIMEOUT": "1"})


# starts the watch, stays a moment (a watch notes its parent as it starts, after its imports), then exits
STARTER = """import subprocess, sys, time
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(2)
"""


@posix
@has_proc
def test_the_parent_going_away_ends_the_watch(two: tuple[Cli, Cli]) -> None:
    _, b = two
    starter = subprocess.run(
        [sys.executable, "-c", STARTER, sys.executable, "-m", "gittasks", "watch", "--interval", "0.2"],
        cwd=b.root, capture_output=True, text=True, env={**os.environ, "GITTASKS_MACHINE": b.machine}, timeout=WAIT,
    )  # fmt: skip
    pid = int(starter.stdout)  # its parent, the starter, has ended
    try:
        assert eventually(lambda: not alive(pid)), "the watch outlived its parent"
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@posix
@has_proc
def test_the_plugin_monitor_runs_watch_through_the_launcher(two: tuple[Cli, Cli], tmp_path: Path) -> None:
    monitors = json.loads(MONITORS.read_text(encoding="utf-8"))
    assert isinstance(monitors, list) and [m["name"] for m in monitors] == ["gittasks-watch"]
    assert {"name", "command", "description"} <= set(monitors[0]) and monitors[0].get("when", "always") == "always"
    a, b = two
    wrapper = tmp_path / "gittasks"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gittasks "$@"\n')
    wrapper.chmod(0o755)
    command = monitors[0]["command"].replace("${CLAUDE_PLUGIN_ROOT}", str(ROOT / "plugin"))
    command = command.replace(" watch ", " watch --interval 0.2 ")
    env = {**os.environ, "GITTASKS": str(wrapper), "GITTASKS_MACHINE": b.machine, "CLAUDE_PROJECT_DIR": str(b.root)}
    shell = subprocess.Popen(["/bin/sh", "-c", command], cwd=b.root, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert shell.stdout is not None
        out = Lines(shell.stdout)
        task = a.create("Seen by the session")
        a.ok("sync")
        lines = out.wait_for(lambda seen: len(seen) >= 1)
        assert lines == [f'gittasks: WS-A created {task} "Seen by the session"']
        shell.terminate()  # the shell, or the watch it became
        assert shell.wait(timeout=WAIT) in (0, -signal.SIGTERM)
        assert eventually(lambda: processes_in(b.root) == [], 5.0), processes_in(b.root)
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()


def test_pacing_grows_when_idle_and_when_offline_and_comes_back() -> None:
    pacing = watch.Pacing(10.0)
    waits = []
    for _ in range(3 * watch.IDLE_ROUNDS):
        waits.append(pacing.wait())
        pacing.idle += 1
    assert waits[: watch.IDLE_ROUNDS] == [10.0] * watch.IDLE_ROUNDS
    assert waits[watch.IDLE_ROUNDS] == 20.0 and waits[-1] == 10.0 * watch.MAX_IDLE_FACTOR
    pacing.idle = 0
    offline = []
    for _ in range(8):
        pacing.failures += 1
        offline.append(pacing.wait())
    assert offline[0] == 20.0 and max(offline) == watch.OFFLINE_CAP == offline[-1]
    assert watch.Pacing(0.2, failures=30).wait() == watch.OFFLINE_CAP
    assert watch.Pacing(120.0, failures=3).wait() == 120.0  # never shorter than the interval


def test_a_round_that_records_a_conflict_says_so(two: tuple[Cli, Cli]) -> None:
    a, b = two
    shared = a.create("Shared")
    a.ok("sync")
    b.ok("sync")
    a.ok("update", shared, "--owner", "alice")
    a.ok("sync")
    b.ok("update", shared, "--owner", "bob")  # the same field set on both machines: the merge records it
    found = b.run("watch", "--once", "--json")
    assert found.returncode == 0, found.stderr
    events = [json.loads(line) for line in found.stdout.splitlines()]
    conflicts = [e for e in events if e.get("event") == "conflict"]
    assert len(conflicts) == 1 and shared in conflicts[0]["text"] and "owner" in conflicts[0]["text"], events
    text = b.run("watch", "--once")
    assert text.returncode == 0 and "conflict recorded" not in text.stdout  # recorded once, by the round that merged
