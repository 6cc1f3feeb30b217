"""Small helpers for tests that drive the real CLI in real repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from conftest import git, run_gittasks

ACTIVE = ".claude/active-tasks.json"


class Cli:
    """Runs `gittasks` in one repository; `ok()` asserts success, `fail()` asserts the exit code."""

    def __init__(self, root: Path, machine: str = "test-machine") -> None:
        self.root = root
        self.machine = machine

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_gittasks(self.root, *args, machine=self.machine, input=input, env=env)

    def ok(self, *args: str, **kwargs: Any) -> str:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, f"gittasks {' '.join(args)} exited {proc.returncode}: {proc.stderr}{proc.stdout}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc.stdout

    def fail(self, *args: str, code: int = 1, **kwargs: Any) -> str:
        proc = self.run(*args, **kwargs)
        assert proc.returncode == code, f"expected exit {code}, got {proc.returncode}: {proc.stdout} {proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
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


def init_repo(path: Path, machine: str = "test-machine", *, inline: bool = True) -> Cli:
    """`gittasks init` in `path`: the inline layout (the 0.1 suite runs on it) unless `inline` is False."""
    cli = Cli(path, machine)
    cli.ok("init", *(["--inline"] if inline else []))
    return cli
