"""`gittasks install-claude`: merge the gittasks hooks (and optionally the MCP server) into Claude Code's settings.

Claude Code users commit `.claude/settings.json` and `.mcp.json`, so nothing machine-specific goes into them: every
hook and the MCP server call `.claude/gittasks-run`, a small POSIX sh launcher written next to the settings (the same
bytes on every machine), which finds gittasks when it runs. This machine's installation is recorded for the launcher
in the clone's own git config (`gittasks.program`), which is never committed; a second workstation runs
`install-claude` and only that record changes. Commands written by older versions (this interpreter's absolute path,
or a bare `gittasks hook ...`) are recognised and switched to the launcher.

It only ever adds gittasks entries, never drops what is there, and is idempotent. The user's own earlier file is
kept once, inside the git dir (`.git/gittasks-backups/`), never in the work tree where `git add .claude` would take
it. `--remove` takes out exactly what it added: the env setting only when the install set it (the clone's git config
remembers that), and a file equal to the kept original is put back byte for byte.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from gittasks import store
from gittasks.errors import GittasksError
from gittasks.git import Repo

CAPTURE = "hook capture"
SESSION_START = "hook session-start"
SESSION_END = "hook session-end"
PING = "hook ping"
ENTRIES = (  # (event, matcher or None for every occasion, gittasks arguments)
    ("PostToolUse", "TaskCreate|TaskUpdate|TodoWrite", CAPTURE),
    ("PostToolUse", "Write|Edit|MultiEdit", CAPTURE),  # a direct write of a task file is committed at once
    ("SessionStart", "startup|resume|clear|compact", SESSION_START),
    ("SessionEnd", None, SESSION_END),  # no matcher: every reason (clear, logout, prompt_input_exit, other...)
    # a turn's start and end (these events take no matcher): active time counts a turn whole, whatever its tools
    ("UserPromptSubmit", None, PING),
    ("Stop", None, PING),
)
ARGUMENTS = (CAPTURE, SESSION_START, SESSION_END, PING)
ENV_KEY = "CLAUDE_CODE_ENABLE_TODO_TOOLS"
MCP_RULE = "mcp__gittasks"
SERVER = "gittasks"
ADDED_SETTING = "gittasks.claudeEnvAdded"  # set when install-claude (not the user) turned the task tools on
PROGRAM_SETTING = "gittasks.program"  # this clone's gittasks on this machine, for the launcher (git config --local)
SETTINGS_PATH = ".claude/settings.json"
MCP_PATH = ".mcp.json"
LAUNCHER_PATH = ".claude/gittasks-run"
BACKUPS = "gittasks-backups"  # a folder in the git dir: the user's files as they were before the first install

# Hooks run through sh with CLAUDE_PROJECT_DIR set (Claude Code's documented way to name a project script); `sh`
# in front, so a checkout that lost the executable bit still runs it.
HOOK_PREFIX = f'sh "$CLAUDE_PROJECT_DIR/{LAUNCHER_PATH}"'
# Claude Code expands ${VAR} and ${VAR:-default} in a project .mcp.json's command and args (not in a shell); where
# CLAUDE_PROJECT_DIR is not in its own environment, the server starts in the folder Claude Code was started in, the
# project's top, so the relative path holds.
MCP_ARGS = ["${CLAUDE_PROJECT_DIR:-.}/" + LAUNCHER_PATH, "mcp"]
MCP_ENTRY: dict[str, Any] = {"command": "sh", "args": MCP_ARGS}

# The search itself, shared word for word with the plugin's launcher (plugin/bin/gittasks-run; a test holds them
# equal). Each command line ends in `#` so that a CRLF checkout (core.autocrlf) still runs: the CR is in a comment.
LAUNCHER_SEARCH = r"""runnable() { #
  case $1 in #
    */* | *\\*) [ -f "$1" ] && [ -x "$1" ] ;; #
    *) command -v -- "$1" >/dev/null 2>&1 ;; #
  esac #
} #
run_file() { #
  if [ -n "$1" ] && runnable "$1"; then exec "$@"; fi #
} #
run_setting() { #
  run_file "$@" #
  line=$1 #
  shift #
  set -f #
  set -- $line "$@" #
  set +f #
  if [ "$1" != "$line" ]; then run_file "$@"; fi #
} #
run_setting "${GITTASKS:-}" "$@" #
run_setting "$(git -C "$root" config --get gittasks.program 2>/dev/null)" "$@" #
run_file "$root/.venv/bin/gittasks" "$@" #
run_file "$root/.venv/Scripts/gittasks.exe" "$@" #
run_file gittasks "$@" #
for folder in "${UV_TOOL_BIN_DIR:-}" "${PIPX_BIN_DIR:-}" "${XDG_BIN_HOME:-}" "${HOME:-}/.local/bin"; do #
  if [ -n "$folder" ]; then run_file "$folder/gittasks" "$@"; run_file "$folder/gittasks.exe" "$@"; fi #
done #
where="GITTASKS, git config gittasks.program, the project's .venv, PATH, uv tool, pipx" #
fix="install it and run \`gittasks install-claude\` here, or set GITTASKS to its path" #
echo "gittasks is not installed where this project's Claude Code hooks can find it ($where); $fix" >&2 #
if [ "${1:-}" = hook ]; then exit 0; fi #
exit 1 #
"""
LAUNCHER = (
    """#!/bin/sh
# Starts gittasks for this project's Claude Code hooks and MCP server. `gittasks install-claude` writes it: commit it
# with .claude/settings.json and .mcp.json. It names no path of any machine, so every clone runs it as it is; it looks
# for gittasks each time, in this order: $GITTASKS; this clone's `git config gittasks.program` (install-claude records
# it on each machine; never committed); the project's .venv; gittasks on the PATH; the folders uv tool and pipx
# install into. A setting is a program's path or a command line (split at blanks). Without gittasks a hook says so in
# one line and the session goes on (exit 0); anything else exits 1. Each command line ends in `#`: in a checkout with
# CRLF line endings (core.autocrlf) the CR is then part of a comment.
root=$(dirname -- "$0")/.. #
"""
    + LAUNCHER_SEARCH
).encode("ascii")


@dataclass
class Result:
    """What an install or a removal did (a line each), and which of the files users commit it changed."""

    done: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def command(arguments: str) -> str:
    """The hook command for `gittasks ARGUMENTS`: the committed launcher, the same on every machine."""
    return f"{HOOK_PREFIX} {arguments}"


def program() -> str:
    """This installation as the launcher should start it on this machine: its console script when it sits beside this
    interpreter (a venv, uv tool, pipx; `Scripts` of a Windows install), else the interpreter with `-m gittasks`."""
    here = Path(sys.executable).parent
    names = ("gittasks.exe", "gittasks") if os.name == "nt" else ("gittasks",)
    for folder in (here, here / "Scripts"):
        for name in names:
            if (folder / name).is_file():
                return (folder / name).as_posix()
    # the launcher splits a command line at blanks (sh has no quoting for a setting), so this is not shell-quoted
    return f"{Path(sys.executable).as_posix()} -m gittasks"


def form(text: Any, arguments: str) -> str | None:
    """Which kind of gittasks hook command `text` is for these arguments: "launcher" (install-claude's), "path" (a
    program named by its path: older versions wrote this interpreter's), "bare" (a name looked up on Claude Code's
    PATH), or None when it is not a gittasks command."""
    if not isinstance(text, str):
        return None
    try:
        words = shlex.split(text)
    except ValueError:
        return None
    tail = arguments.split()
    if len(words) <= len(tail) or words[-len(tail) :] != tail:
        return None
    head = words[: -len(tail)]
    name = PurePosixPath(head[-1].replace("\\", "/")).name
    if name == "gittasks-run" and (len(head) == 1 or (len(head) == 2 and PurePosixPath(head[0]).name == "sh")):
        return "launcher"
    interpreter = len(head) == 3 and head[1:] == ["-m", "gittasks"]
    if not (interpreter or (len(head) == 1 and name in ("gittasks", "gittasks.exe"))):
        return None
    return "path" if "/" in head[0] or "\\" in head[0] else "bare"


def is_ours(text: Any, arguments: str) -> bool:
    """Is `text` a gittasks hook command with these arguments (the launcher's, an older install's, or bare)?"""
    return form(text, arguments) is not None


def commands_in(settings: dict[str, Any]) -> Iterator[str]:
    """Every gittasks hook command in a settings document."""
    hooks = settings.get("hooks")
    for groups in hooks.values() if isinstance(hooks, dict) else ():
        for group in groups if isinstance(groups, list) else ():
            for hook in group.get("hooks") or [] if isinstance(group, dict) else ():
                text = hook.get("command") if isinstance(hook, dict) else None
                if any(is_ours(text, args) for args in ARGUMENTS):
                    yield str(text)


def mcp_server(root: Path) -> Any:
    """The gittasks server's entry in the project's .mcp.json (None when there is none)."""
    servers = read_settings(root / MCP_PATH).get("mcpServers")
    return servers.get(SERVER) if isinstance(servers, dict) else None


def is_launcher(raw: bytes | None) -> bool:
    """Are these the launcher's bytes (a CRLF checkout of them too)?"""
    return raw is not None and raw.replace(b"\r\n", b"\n") == LAUNCHER


def read_settings(path: Path) -> dict[str, Any]:
    """A settings file's JSON object ({} when there is none); a broken file is refused with its path."""
    raw = store.read_bytes(path)
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GittasksError(f"{path}: not valid JSON ({exc}); fix it first, nothing was changed") from None
    if not isinstance(value, dict):
        raise GittasksError(f"{path}: the top level is not an object; fix it first, nothing was changed")
    return value


def local_program(repo: Repo) -> str | None:
    """The launcher's record for this clone in its own git config (not the global one)."""
    proc = repo.run("config", "--local", "--get", PROGRAM_SETTING, check=False)
    value = proc.stdout.decode("utf-8", "replace").strip()
    return value if proc.returncode == 0 and value else None


def _shown(repo: Repo, path: Path) -> str:
    try:
        return path.relative_to(repo.root).as_posix()
    except ValueError:
        return str(path)  # a linked worktree's git dir lies outside its work tree


def _backup_path(repo: Repo, rel: str) -> Path:
    return repo.git_dir / BACKUPS / PurePosixPath(rel).name.lstrip(".")


def _keep_original(repo: Repo, rel: str, result: Result) -> None:
    """Keep the user's file as it is before install-claude first changes it, once, inside the git dir. A backup an
    older version left beside the file (`NAME.bak`, the same first copy) moves there too when git does not track it."""
    path = repo.root / rel
    backup = _backup_path(repo, rel)
    old = path.with_name(path.name + ".bak")
    old_raw = store.read_bytes(old)
    if old_raw is not None and not backup.exists() and not repo.tracked([f"{rel}.bak"]):
        store.write_atomic(backup, old_raw)
        store.remove_file(old)
        result.done.append(f"moved the old backup {rel}.bak out of the work tree to {_shown(repo, backup)}")
    raw = store.read_bytes(path)
    if raw is not None and not backup.exists():
        store.write_atomic(backup, raw)
        result.done.append(f"kept your earlier {rel} as {_shown(repo, backup)}")


def _dump(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _write(repo: Repo, rel: str, before: dict[str, Any], after: dict[str, Any], result: Result) -> None:
    if after == before:
        return
    _keep_original(repo, rel, result)
    store.write_atomic(repo.root / rel, _dump(after))
    result.changed.append(rel)


def _write_removed(repo: Repo, rel: str, before: dict[str, Any], after: dict[str, Any], result: Result) -> None:
    """Write what is left after a removal: the kept original's own bytes when that is what is left; no file when
    nothing is left (the user's own empty file comes back as the original)."""
    if after == before:
        return
    path = repo.root / rel
    backup = _backup_path(repo, rel)
    raw = store.read_bytes(backup)
    original: Any = None
    if raw is not None:
        try:
            original = json.loads(raw.decode("utf-8-sig")) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            original = None
    if raw is not None and original == after:
        store.write_atomic(path, raw)
        store.remove_file(backup)
        result.done.append(f"put back your earlier {rel} exactly as it was")
    elif not after:
        store.remove_file(path)
        result.done.append(f"removed {rel}: nothing but gittasks' entries was in it")
    else:
        store.write_atomic(path, _dump(after))
    result.changed.append(rel)


def _groups(settings: dict[str, Any], event: str, path: Path) -> list[Any]:
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise GittasksError(f"{path}: 'hooks' is not an object; fix it first, nothing was changed")
    groups = hooks.setdefault(event, [])
    if not isinstance(groups, list):
        raise GittasksError(f"{path}: hooks.{event} is not a list; fix it first, nothing was changed")
    return groups


def _add_hook(groups: list[Any], matcher: str | None, arguments: str, done: list[str], event: str) -> None:
    wanted = command(arguments)
    shown = matcher or "every occasion"
    for group in groups:
        if not (isinstance(group, dict) and isinstance(group.get("hooks"), list)):
            continue
        ours = [h for h in group["hooks"] if isinstance(h, dict) and is_ours(h.get("command"), arguments)]
        same_matcher = group.get("matcher") == matcher
        # the events but PostToolUse have one gittasks entry each: an older one is updated wherever it is
        # (SessionStart's matcher gains what older versions lacked; another event's matcher is the user's and stays)
        other_matcher = event != "PostToolUse" and bool(ours)
        if ours and (same_matcher or other_matcher):
            changed = False
            for hook in ours:
                if hook.get("command") != wanted:
                    hook["command"] = wanted
                    changed = True
            if not same_matcher and event == "SessionStart":
                group["matcher"] = matcher
                changed = True
            if changed:
                done.append(f"updated the {event} hook ({shown}) to `{wanted}`")
            return
    entry: dict[str, Any] = {"hooks": [{"type": "command", "command": wanted}]}
    groups.append({"matcher": matcher, **entry} if matcher is not None else entry)
    done.append(f"added the {event} hook `{wanted}` ({shown})")


def _install_launcher(repo: Repo, result: Result) -> None:
    path = repo.root / LAUNCHER_PATH
    raw = store.read_bytes(path)
    if is_launcher(raw):
        return  # a CRLF checkout of it is left as it is: git shows no change and sh runs it
    store.write_atomic(path, LAUNCHER)
    if os.name != "nt":
        path.chmod(0o755)
    verb = "wrote" if raw is None else "rewrote (it differed from this gittasks' launcher)"
    result.done.append(f"{verb} {LAUNCHER_PATH}, which the hooks call to find gittasks on any machine")
    result.changed.append(LAUNCHER_PATH)


def record_program(repo: Repo, result: Result) -> None:
    """Record this installation for the launcher in this clone's git config (per machine, never committed)."""
    wanted = program()
    if local_program(repo) != wanted:
        repo.config_set_local(PROGRAM_SETTING, wanted)
        result.done.append(f"this clone's launcher runs {wanted} (git config --local {PROGRAM_SETTING}; this machine)")


def install(repo: Repo, *, env: bool = True, mcp: bool = False) -> Result:
    """Add the gittasks hooks (and with `mcp` the MCP server) to the project's Claude Code settings. A gittasks MCP
    server already in .mcp.json is brought up to date without `mcp` too (an older install's path)."""
    root = repo.root
    result = Result()
    settings_path = root / SETTINGS_PATH
    before = read_settings(settings_path)  # every file is read (and refused) before anything is written
    try:
        mcp_before = read_settings(root / MCP_PATH)
    except GittasksError:
        if mcp:
            raise
        mcp_before = {}  # not asked for: a broken .mcp.json is left to its owner
    servers_before = mcp_before.get("mcpServers", {})
    if not isinstance(servers_before, dict):
        if mcp:
            raise GittasksError(f"{root / MCP_PATH}: 'mcpServers' is not an object; fix it first, nothing was changed")
        servers_before = {}
    settings = json.loads(json.dumps(before))
    for event, matcher, arguments in ENTRIES:
        _add_hook(_groups(settings, event, settings_path), matcher, arguments, result.done, event)
    if env:
        env_block = settings.setdefault("env", {})
        if isinstance(env_block, dict) and env_block.get(ENV_KEY) != "1":
            env_block[ENV_KEY] = "1"
            repo.config_set_local(ADDED_SETTING, "true")
            result.done.append(f"set env {ENV_KEY}=1 (turns Claude Code's task tools on)")
    if mcp:
        permissions = settings.setdefault("permissions", {})
        allow = permissions.setdefault("allow", []) if isinstance(permissions, dict) else None
        if isinstance(allow, list) and MCP_RULE not in allow:
            allow.append(MCP_RULE)
            result.done.append(f"allowed the gittasks MCP tools ({MCP_RULE})")
        enabled = settings.setdefault("enabledMcpjsonServers", [])
        if isinstance(enabled, list) and SERVER not in enabled:
            enabled.append(SERVER)
            result.done.append(f"approved the project's MCP server {SERVER} (enabledMcpjsonServers)")
    if (mcp or SERVER in servers_before) and servers_before.get(SERVER) != MCP_ENTRY:
        mcp_doc = json.loads(json.dumps(mcp_before))
        mcp_doc.setdefault("mcpServers", {})[SERVER] = json.loads(json.dumps(MCP_ENTRY))
        result.done.append(f"set the gittasks MCP server in {MCP_PATH} (`{' '.join(['sh', *MCP_ARGS])}`)")
        _write(repo, MCP_PATH, mcp_before, mcp_doc, result)
    _install_launcher(repo, result)
    _write(repo, SETTINGS_PATH, before, settings, result)
    record_program(repo, result)
    return result


def remove(repo: Repo) -> Result:
    """Take out what `install` added."""
    root = repo.root
    result = Result()
    done = result.done
    settings_path = root / SETTINGS_PATH
    before = read_settings(settings_path)
    mcp_before = read_settings(root / MCP_PATH)
    settings = json.loads(json.dumps(before))
    hooks = settings.get("hooks")
    if isinstance(hooks, dict):
        for event in sorted({event for event, _m, _a in ENTRIES}):
            groups = hooks.get(event)
            if not isinstance(groups, list):
                continue
            kept = []
            for group in groups:
                if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                    left = [
                        h
                        for h in group["hooks"]
                        if not (isinstance(h, dict) and any(is_ours(h.get("command"), a) for a in ARGUMENTS))
                    ]
                    if len(left) != len(group["hooks"]):
                        done.append(f"removed the {event} hook ({group.get('matcher') or 'every occasion'})")
                    group["hooks"] = left
                    if not left:
                        continue
                kept.append(group)
            hooks[event] = kept
            if not kept:
                del hooks[event]
        if not hooks:
            del settings["hooks"]
    env_block = settings.get("env")
    if isinstance(env_block, dict) and ENV_KEY in env_block and repo.config_get(ADDED_SETTING) == "true":
        del env_block[ENV_KEY]
        if not env_block:
            del settings["env"]
        done.append(f"removed env {ENV_KEY} (install-claude had set it)")
    if repo.config_get(ADDED_SETTING) is not None:
        repo.config_unset_local(ADDED_SETTING)
    permissions = settings.get("permissions")
    allowed = permissions.get("allow") if isinstance(permissions, dict) else None
    if isinstance(permissions, dict) and isinstance(allowed, list) and MCP_RULE in allowed:
        permissions["allow"].remove(MCP_RULE)
        if not permissions["allow"]:
            del permissions["allow"]
        if not permissions:
            del settings["permissions"]
        done.append("removed the gittasks MCP permission")
    enabled = settings.get("enabledMcpjsonServers")
    if isinstance(enabled, list) and SERVER in enabled:
        enabled.remove(SERVER)
        if not enabled:
            del settings["enabledMcpjsonServers"]
        done.append(f"withdrew the approval of the MCP server {SERVER}")
    _write_removed(repo, SETTINGS_PATH, before, settings, result)
    if isinstance(mcp_before.get("mcpServers"), dict) and SERVER in mcp_before["mcpServers"]:
        mcp_doc = json.loads(json.dumps(mcp_before))
        del mcp_doc["mcpServers"][SERVER]
        if not mcp_doc["mcpServers"]:
            del mcp_doc["mcpServers"]
        done.append(f"removed the gittasks MCP server from {MCP_PATH}")
        _write_removed(repo, MCP_PATH, mcp_before, mcp_doc, result)
    launcher = root / LAUNCHER_PATH
    raw = store.read_bytes(launcher)
    if is_launcher(raw):
        store.remove_file(launcher)
        done.append(f"removed {LAUNCHER_PATH}")
        result.changed.append(LAUNCHER_PATH)
    elif raw is not None:
        done.append(f"left {LAUNCHER_PATH} in place: it differs from the launcher install-claude writes")
    if local_program(repo) is not None:
        repo.config_unset_local(PROGRAM_SETTING)
        done.append(f"removed this clone's git config {PROGRAM_SETTING}")
    return result
