"""Helpers for tests that drive gittasks in real repositories: git, the CLI (in-process or as a process)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from click.testing import CliRunner

ACTIVE = ".claude/active-tasks.json"
# What crosses a process boundary runs as a real process: a failpoint ends the process it fires in; git runs the
# merge driver; the MCP server and the background sync are processes of their own. `sync` and the hooks run
# in-process (their git children get process groups of their own either way); a test of the process itself (a
# timeout, a signal, the client's stdin) asks for one with `process=True` or `run_gittasks`.
PROCESS_VARIABLES = ("GITTASKS_FAILPOINT",)
PROCESS_COMMANDS = ("merge-driver", "mcp")


class MakeRepo(Protocol):
    """The `make_repo` fixture: an empty repository (`git init -b main`) named `name` under the test's folder."""

    def __call__(self, name: str | None = None) -> Path: ...


def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run git in `cwd` and return its stdout (stripped)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout.strip()


def run_gittasks(
    cwd: Path, *args: str, machine: str | None = None, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    extra = dict(env or {})
    if machine is not None:
        extra["GITTASKS_MACHINE"] = machine
    return subprocess.run(
        [sys.executable, "-m", "gittasks", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=input,
        env={**os.environ, **extra},
    )


@contextlib.contextmanager
def _inside(cwd: Path, env: dict[str, str]) -> Iterator[None]:
    """The current folder and the environment of one in-process call, both put back afterwards."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def call_gittasks(
    cwd: Path, *args: str, machine: str | None = None, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI's entry point called in this process (click's stream capture): the same streams and exit code as
    `run_gittasks`, without a new interpreter. Only for tests that do not test a process boundary."""
    from gittasks.main import main

    extra = dict(env or {})
    if machine is not None:
        extra["GITTASKS_MACHINE"] = machine
    runner = CliRunner()
    with _inside(cwd, extra), runner.isolation(input=input) as (out, err, _):
        code = main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    return subprocess.CompletedProcess(
        ["gittasks", *args], code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")
    )


def call_hook(
    cwd: Path, name: str, payload: str | dict[str, Any], *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`gittasks hook NAME` called in this process with `payload` (JSON text or an object) on stdin, as Claude Code
    would pass it: for tests that check what a hook records and says, not the hook's process."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return call_gittasks(cwd, "hook", name, input=text, env=env)


class Cli:
    """Runs `gittasks` in one repository; `ok()` asserts success, `fail()` asserts the exit code.

    Calls run in-process unless `process=True` (or a failpoint is set): keep processes for what crosses one.
    """

    def __init__(self, root: Path, machine: str = "test-machine", *, process: bool = False) -> None:
        self.root = root
        self.machine = machine
        self.process = process

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        from gittasks.cli.app import command_name

        command = command_name(list(args))
        background = command == "sync" and "--background" in args
        if (
            self.process
            or background
            or command in PROCESS_COMMANDS
            or any(name in (env or {}) for name in PROCESS_VARIABLES)
        ):
            return run_gittasks(self.root, *args, machine=self.machine, input=input, env=env)
        return call_gittasks(self.root, *args, machine=self.machine, input=input, env=env)

    def ok(self, *args: str, **kwargs: Any) -> str:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, f"gittasks {' '.join(args)} exited {proc.returncode}: {proc.stderr}{proc.stdout}"
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "internal error" not in proc.stderr, proc.stderr
        return proc.stdout

    def fail(self, *args: str, code: int = 1, **kwargs: Any) -> str:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == code, f"expected exit {code}, got {proc.returncode}: {proc.stdout} {proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "internal error" not in proc.stderr, proc.stderr
        return proc.stderr

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def create(self, subject: str, *args: str) -> str:
        return self.ok("create", subject, *args).strip()

    def doc(self) -> dict[str, Any]:
        return json.loads((self.root / ACTIVE).read_text(encoding="utf-8"))

    def task(self, task_id: str) -> dict[str, Any]:
        return next(t for t in self.doc()["tasks"] if t["id"] == task_id)

    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD")

    def commit_count(self) -> int:
        return int(git(self.root, "rev-list", "--count", "HEAD"))


def init_repo(path: Path, machine: str = "test-machine", *, inline: bool = True, process: bool = False) -> Cli:
    """`gittasks init` in `path`: the inline layout (the 0.1 suite runs on it) unless `inline` is False."""
    cli = Cli(path, machine, process=process)
    cli.ok("init", *(["--inline"] if inline else []))
    return cli


class SilentRemote:
    """Accepts connections on 127.0.0.1 and never answers (a remote gone silent: a fetch waits until its deadline);
    stopped, every connection closed, by `stop`. The `silent` fixture (conftest) makes one."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/tasks.git"
        self.server.settimeout(0.1)
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                self.held.append(self.server.accept()[0])
            except TimeoutError:
                continue

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.server.close()
        for conn in self.held:
            conn.close()
