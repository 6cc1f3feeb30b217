"""Helpers for tests that drive gittasks in real repositories: git, the CLI (in-process or as a process)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from click.testing import CliRunner

ACTIVE = ".claude/active-tasks.json"
# What crosses a process boundary runs as a real process: a failpoint ends the process it fires in; sync's network
# steps kill process groups on timeout; hooks are run by the client with a payload on stdin; git runs the driver.
PROCESS_VARIABLES = ("GITTASKS_FAILPOINT",)
PROCESS_COMMANDS = ("sync", "hook", "merge-driver", "mcp")


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
        if self.process or command in PROCESS_COMMANDS or any(name in (env or {}) for name in PROCESS_VARIABLES):
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
