"""The Claude Code plugin in `plugin/` (and the marketplace that lists it): its files, the launcher its hooks and MCP
server use, and, when the real Claude Code CLI is at hand (`GITTASKS_TEST_CLAUDE`, or `claude` on the PATH),
`claude plugin validate`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import MakeRepo, git, init_repo

from gittasks import version
from gittasks.claude import installer

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "plugin"
LAUNCHER = PLUGIN / "bin" / "gittasks-run"


def claude_cli() -> str | None:
    return os.environ.get("GITTASKS_TEST_CLAUDE") or shutil.which("claude")


def test_the_plugin_files_name_the_hooks_and_the_mcp_server() -> None:
    manifest = json.loads((PLUGIN / ".claude-plugin" / "plugin.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "gittasks" and {"version", "description", "author", "license", "keywords"} <= set(
        manifest
    )
    hooks = json.loads((PLUGIN / "hooks" / "hooks.json").read_text(encoding="utf-8"))["hooks"]
    matchers = {(event, group.get("matcher")) for event, groups in hooks.items() for group in groups}
    assert matchers == {
        ("PostToolUse", "TaskCreate|TaskUpdate|TodoWrite"),
        ("PostToolUse", "Write|Edit|MultiEdit"),
        ("SessionStart", "startup|resume|clear|compact"),
        ("SessionEnd", None),
        ("UserPromptSubmit", None),
        ("Stop", None),
    }  # SessionEnd has no matcher: every reason a session ends for; UserPromptSubmit and Stop take none
    commands = {h["command"] for groups in hooks.values() for g in groups for h in g["hooks"]}
    assert commands == {'sh "${CLAUDE_PLUGIN_ROOT}/bin/gittasks-run" hook capture',
                        'sh "${CLAUDE_PLUGIN_ROOT}/bin/gittasks-run" hook session-start',
                        'sh "${CLAUDE_PLUGIN_ROOT}/bin/gittasks-run" hook session-end',
                        'sh "${CLAUDE_PLUGIN_ROOT}/bin/gittasks-run" hook ping'}  # fmt: skip
    # the plugin installs what install-claude installs, through its own launcher
    plugin_entries = {(event, group.get("matcher"), h["command"].rsplit("gittasks-run\" ", 1)[1])
                      for event, groups in hooks.items() for group in groups for h in group["hooks"]}  # fmt: skip
    assert plugin_entries == set(installer.ENTRIES)
    server = json.loads((PLUGIN / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]["gittasks"]
    assert server == {"command": "${CLAUDE_PLUGIN_ROOT}/bin/gittasks-run", "args": ["mcp"]}
    market = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text(encoding="utf-8"))
    assert [(p["name"], p["source"]) for p in market["plugins"]] == [("gittasks", "./plugin")]
    assert len((PLUGIN / "README.md").read_text(encoding="utf-8").split()) >= 40


def test_the_plugins_version_is_the_packages() -> None:
    """Claude Code updates an installed plugin only when its plugin.json `version` changes (without one it warns,
    shows "unknown" and keys its cache by commit): the manifest follows pyproject's version, held there alone."""
    manifest = json.loads((PLUGIN / ".claude-plugin" / "plugin.json").read_text(encoding="utf-8"))
    installed = version.installed_version()
    assert installed is not None, "gittasks is not installed: the test needs its metadata"
    assert manifest["version"] == installed
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert manifest["version"] == pyproject["project"]["version"]  # (an editable install's metadata may lag)


def test_the_launcher_runs_the_named_gittasks_and_a_hook_goes_on_without_one(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    cli = init_repo(make_repo(), inline=False)
    cli.create("Seen by the plugin")
    wrapper = tmp_path / "gittasks"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gittasks "$@"\n')
    wrapper.chmod(0o755)
    bare_path = {**os.environ, "PATH": "/usr/bin:/bin", "CLAUDE_PROJECT_DIR": str(cli.root)}
    payload = json.dumps({"session_id": "p", "source": "startup", "cwd": str(cli.root)})
    found = subprocess.run([str(LAUNCHER), "hook", "session-start"], cwd=cli.root, input=payload, text=True,
                           capture_output=True, env={**bare_path, "GITTASKS": str(wrapper)})  # fmt: skip
    assert found.returncode == 0 and "Seen by the plugin" in found.stdout, found.stderr
    missing = subprocess.run([str(LAUNCHER), "hook", "capture"], cwd=cli.root, input=payload, text=True,
                             capture_output=True, env=bare_path)  # fmt: skip
    assert missing.returncode == 0 and "gittasks is not installed" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1
    server = subprocess.run([str(LAUNCHER), "mcp"], cwd=cli.root, capture_output=True, text=True, env=bare_path)
    assert server.returncode == 1
    # the project's own record (`install-claude` on this machine) is found without GITTASKS
    git(cli.root, "config", "--local", "gittasks.program", str(wrapper))
    recorded = subprocess.run([str(LAUNCHER), "hook", "session-start"], cwd=cli.root, input=payload, text=True,
                              capture_output=True, env=bare_path)  # fmt: skip
    assert recorded.returncode == 0 and "Seen by the plugin" in recorded.stdout, recorded.stderr
    # the hook command itself, through /bin/sh as Claude Code runs it (with CLAUDE_PLUGIN_ROOT set)
    hooks = json.loads((PLUGIN / "hooks" / "hooks.json").read_text(encoding="utf-8"))["hooks"]
    command = hooks["SessionStart"][0]["hooks"][0]["command"]
    as_claude = subprocess.run(["/bin/sh", "-c", command], cwd=cli.root, input=payload, text=True, capture_output=True,
                               env={**bare_path, "CLAUDE_PLUGIN_ROOT": str(PLUGIN)})  # fmt: skip
    assert as_claude.returncode == 0 and "Seen by the plugin" in as_claude.stdout, as_claude.stderr


def test_claude_plugin_validate_accepts_the_plugin_and_the_marketplace(tmp_path: Path) -> None:
    claude = claude_cli()
    if claude is None:
        pytest.skip("the Claude Code CLI is not installed (set GITTASKS_TEST_CLAUDE or put claude on the PATH)")
    env = {**os.environ, "HOME": str(tmp_path), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "DISABLE_AUTOUPDATER": "1"}  # fmt: skip
    for folder in (PLUGIN, ROOT):
        proc = subprocess.run([claude, "plugin", "validate", str(folder)], capture_output=True, text=True, env=env,
                              timeout=120)  # fmt: skip
        assert proc.returncode == 0 and "Validation passed" in proc.stdout, proc.stdout + proc.stderr
