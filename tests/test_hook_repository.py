"""Which repository a Claude Code hook serves, and that a hook never sets gittasks up anywhere: `--repo` wins, then the
project Claude Code was started in (`CLAUDE_PROJECT_DIR`), then the payload's `cwd`; a checkout the session only went
into (a sibling project, a vendored repository, a submodule) is left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, MakeRepo, call_gittasks, git, init_repo

PAYLOADS = Path(__file__).parent / "data" / "claude-code"


def create_payload(cwd: Path, subject: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / "posttooluse-taskcreate.json").read_text(encoding="utf-8"))
    data.update(cwd=str(cwd), session_id="s-1")
    data["tool_input"] = {"subject": subject, "description": subject}
    data["tool_response"] = {"task": {"id": "1", "subject": subject, "description": subject}}
    return data


def untouched(root: Path) -> None:
    """Nothing of gittasks in `root`: no task branch, no task files, no exclude lines, no state, no driver."""
    assert git(root, "branch", "--list", "gittasks") == ""
    assert not (root / ".claude").exists()
    exclude = root / ".git" / "info" / "exclude"
    assert "active-tasks" not in (exclude.read_text(encoding="utf-8") if exclude.exists() else "")
    assert not [p.name for p in (root / ".git").iterdir() if p.name.startswith("gittasks")]
    assert "gittasks" not in (root / ".git" / "config").read_text(encoding="utf-8")


def hook(where: Path, *args: str, payload: dict[str, Any], env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = call_gittasks(where, *args, input=json.dumps(payload), env=env)
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stderr


@pytest.fixture
def project(make_repo: MakeRepo) -> Cli:
    return init_repo(make_repo("project"), inline=False)


def test_repo_names_the_project_whatever_the_payloads_cwd(project: Cli, make_repo: MakeRepo) -> None:
    sibling = make_repo("sibling")
    code, err = hook(sibling, "--repo", str(project.root), "hook", "capture",
                     payload=create_payload(sibling, "recorded in the project"))  # fmt: skip
    assert code == 0, err
    assert [t["subject"] for t in project.doc()["tasks"]] == ["recorded in the project"]
    untouched(sibling)


def test_the_project_claude_code_started_in_wins_over_a_nested_checkout(project: Cli) -> None:
    vendored = project.root / "vendor" / "lib"
    vendored.mkdir(parents=True)
    git(vendored, "init", "-q", "-b", "main")
    env = {"CLAUDE_PROJECT_DIR": str(project.root)}
    code, err = hook(vendored, "hook", "capture", payload=create_payload(vendored, "not the vendored one"), env=env)
    assert code == 0, err
    assert [t["subject"] for t in project.doc()["tasks"]] == ["not the vendored one"]
    untouched(vendored)


@pytest.mark.parametrize("name", ["capture", "session-start", "session-end"])
def test_a_hook_in_a_repository_without_gittasks_sets_nothing_up(make_repo: MakeRepo, name: str) -> None:
    plain = make_repo("plain")
    code, err = hook(plain, "hook", name, payload=create_payload(plain, "nowhere"), env={"CLAUDE_PROJECT_DIR": ""})
    assert code == 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "not set up" in lines[0] and "gittasks init" in lines[0], err
    untouched(plain)


def test_a_fresh_clone_of_a_project_with_a_task_list_is_served(project: Cli, bare_remote: Path, tmp_path: Path) -> None:
    git(project.root, "remote", "add", "origin", str(bare_remote))
    project.ok("create", "from the first machine")
    project.ok("sync")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare_remote), str(clone))
    code, err = hook(clone, "hook", "capture", payload=create_payload(clone, "from the clone"),
                     env={"CLAUDE_PROJECT_DIR": str(clone)})  # fmt: skip
    assert code == 0 and "not set up" not in err, err
    subjects = [t["subject"] for t in json.loads((clone / ".claude" / "active-tasks.json").read_text())["tasks"]]
    assert subjects == ["from the first machine", "from the clone"]
