"""`gittasks demo`: two workstations and a bare remote on local repositories, concurrent edits, sync.

Everything runs the real CLI in its own processes, in a temporary folder, with git's global and system config
shut out (an identity is set in each repository made here), so the demo needs no network and no set-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from gittasks.errors import GittasksError

DESCRIPTION = (
    "Add JWT-based authentication to the public API.\n\nTokens are signed with RS256 and expire after one hour.\n"
)


class Demo:
    def __init__(self, root: Path, echo: Callable[[str], None]) -> None:
        self.root = root
        self.echo = echo
        empty = root / "empty-gitconfig"
        empty.write_text("")
        self.env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(empty),
            "GIT_AUTHOR_NAME": "gittasks demo",
            "GIT_AUTHOR_EMAIL": "demo@gittasks.invalid",
            "GIT_COMMITTER_NAME": "gittasks demo",
            "GIT_COMMITTER_EMAIL": "demo@gittasks.invalid",
            "NO_COLOR": "1",
            "GITTASKS_AUTOSYNC": "0",  # the demo shows each sync as a step of its own
        }
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITTASKS_FAILPOINT"):
            self.env.pop(name, None)

    def git(self, cwd: Path, *args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise GittasksError(f"demo: git {args[0]} failed: {proc.stderr.strip()}")
        return proc.stdout

    def gt(self, machine: str, cwd: Path, *args: str, show: bool = True) -> str:
        if show:
            self.echo(f"[{machine}] $ gittasks {' '.join(_quote(a) for a in args)}")
        env = {**self.env, "GITTASKS_MACHINE": machine}
        proc = subprocess.run(
            [sys.executable, "-m", "gittasks", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
        )
        if proc.returncode != 0:
            raise GittasksError(f"demo: `gittasks {' '.join(args)}` on {machine} failed: {proc.stderr.strip()}")
        out = proc.stdout.rstrip("\n")
        if show and out:
            for line in out.splitlines():
                self.echo(f"    {line}")
        return out

    def section(self, title: str) -> None:
        self.echo("")
        self.echo(f"== {title}")


def _quote(arg: str) -> str:
    shown = arg.replace("\n", "\\n")
    return f'"{shown}"' if (" " in arg or not arg) else shown


def run(*, keep: bool, echo: Callable[[str], None]) -> None:
    root = Path(tempfile.mkdtemp(prefix="gittasks-demo-"))
    try:
        scenario(Demo(root, echo))
    finally:
        if keep:
            echo(f"\nkept the demo folder: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def scenario(d: Demo) -> None:
    remote, a, b = d.root / "remote.git", d.root / "workstation-a", d.root / "workstation-b"
    d.git(d.root, "init", "-q", "--bare", "-b", "main", str(remote))
    d.echo(f"A bare remote and two workstations in {d.root}")

    d.section("Workstation A: a code repository; the orchestrator sets up the task list and pushes it")
    a.mkdir()
    d.git(a, "init", "-q", "-b", "main")
    (a / "app.py").write_text("print('hello')\n", encoding="utf-8")
    d.git(a, "add", "app.py")
    d.git(a, "commit", "-q", "-m", "The application")
    d.git(a, "remote", "add", "origin", str(remote))
    d.git(a, "push", "-q", "origin", "main")
    d.gt("WS-A", a, "init", show=False)
    epic = d.gt("WS-A", a, "create", "Implement API authentication", "-d", DESCRIPTION, "--owner", "Orchestrator")
    design = d.gt("WS-A", a, "create", "Design authentication schema", "--parent", epic, "--type", "research")
    generate = d.gt("WS-A", a, "create", "Generate auth code", "--parent", epic, "--blocked-by", design)
    review = d.gt(
        "WS-A", a, "create", "Review auth code", "--parent", epic, "--blocked-by", generate, "--type", "review"
    )
    tests = d.gt("WS-A", a, "create", "Write auth tests", "--parent", epic, "--blocked-by", review, "--type", "testing")
    d.gt("WS-A", a, "sync")

    d.section("Workstation B clones the repository")
    d.git(d.root, "clone", "-q", str(remote), str(b))
    d.gt("WS-B", b, "checklist")

    d.section("At the same time, offline from each other")
    d.gt("WS-B", b, "start", design, "--owner", "Coding Agent B")
    d.gt("WS-B", b, "done", design, "--outcome", "schema in docs/auth.md")
    d.gt("WS-B", b, "block", review, "--reason", "waiting for the security team's checklist")
    d.gt("WS-B", b, "update", epic, "-d", DESCRIPTION + "\nRefresh tokens are out of scope for now.\n", show=False)
    d.echo("[WS-B] (edits the last paragraph of the description)")
    d.gt("WS-B", b, "update", generate, "--owner", "Coding Agent B")
    d.gt("WS-A", a, "update", epic, "-d", DESCRIPTION.replace("Add JWT-based", "Add JWT-based (RFC 7519)"), show=False)
    d.echo("[WS-A] (edits the first paragraph of the description)")
    d.gt("WS-A", a, "update", generate, "--owner", "Coding Agent A")
    d.gt("WS-A", a, "update", tests, "--meta", "coverage=90%")

    d.section("Both sync (A, B, then A again)")
    d.gt("WS-A", a, "sync")
    d.gt("WS-B", b, "sync")
    d.gt("WS-A", a, "sync")

    d.section("The merged checklist on workstation A")
    checklist_a = d.gt("WS-A", a, "checklist", "--detailed")
    d.section("The merged checklist on workstation B")
    checklist_b = d.gt("WS-B", b, "checklist", "--detailed")
    same_file = (a / ".claude/active-tasks.json").read_bytes() == (b / ".claude/active-tasks.json").read_bytes()
    same = same_file and checklist_a == checklist_b
    d.echo("")
    d.echo(f"identical task files on both workstations: {'yes' if same else 'NO'}")

    d.section("The description, merged paragraph by paragraph")
    description = d.gt("WS-A", a, "show", epic, "--json", show=False)
    for line in json.loads(description)["description"].splitlines():
        d.echo(f"    {line}")

    d.section("The recorded conflict (both set the owner of one task)")
    d.gt("WS-A", a, "conflicts")

    d.section("git log gittasks on workstation A: who changed what, where, when (main holds no task commit)")
    log = d.git(
        a,
        "log",
        "-8",
        "gittasks",
        "--format=%h %s%n        Machine: %(trailers:key=Machine,valueonly,separator=)  "
        "Timestamp: %(trailers:key=Timestamp,valueonly,separator=)",
    )
    for line in log.splitlines():
        d.echo(f"    {line}")
    code_log = d.git(a, "log", "--format=%s", "main").splitlines()
    d.echo(f"    (git log main: {len(code_log)} commit(s), none of them a task change)")
    if not same or any(line.startswith("gittasks:") for line in code_log):
        raise GittasksError("demo: the two workstations did not converge; please report this")
