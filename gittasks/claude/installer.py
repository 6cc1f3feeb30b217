"""`gittasks install-claude`: merge the gittasks hooks (and optionally the MCP server) into Claude Code's settings.

It only ever adds gittasks entries, never drops what is there, and is idempotent. Commands name this installation's
interpreter by its absolute path (Claude Code runs hooks with its own PATH, where a `.venv`'s `gittasks` is not), so
a second install after a move rewrites them. The first backup of a file it changes is kept. `--remove` takes out
exactly what it added: the env setting only when the install set it (the clone's git config remembers that).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gittasks import store
from gittasks.errors import GittasksError
from gittasks.git import Repo

CAPTURE = "hook capture"
SESSION_START = "hook session-start"
ENTRIES = (  # (event, matcher, gittasks arguments)
    ("PostToolUse", "TaskCreate|TaskUpdate|TodoWrite", CAPTURE),
    ("PostToolUse", "Write|Edit|MultiEdit", CAPTURE),  # a direct write of a task file is committed at once
    ("SessionStart", "startup|resume|clear|compact", SESSION_START),
)
ENV_KEY = "CLAUDE_CODE_ENABLE_TODO_TOOLS"
MCP_RULE = "mcp__gittasks"
SERVER = "gittasks"
ADDED_SETTING = "gittasks.claudeEnvAdded"  # set when install-claude (not the user) turned the task tools on


def program() -> list[str]:
    """How Claude Code should start gittasks: this interpreter's absolute path and `-m gittasks`."""
    return [Path(sys.executable).as_posix(), "-m", "gittasks"]


def command(arguments: str) -> str:
    return " ".join(shlex.quote(part) for part in program()) + " " + arguments


def is_ours(text: Any, arguments: str) -> bool:
    """Is `text` a gittasks hook command with these arguments (this installation's, an older one's, or bare)?"""
    if not isinstance(text, str):
        return False
    return text == f"gittasks {arguments}" or text.endswith(f" -m gittasks {arguments}")


def commands_in(settings: dict[str, Any]) -> Iterator[str]:
    """Every gittasks hook command in a settings document."""
    hooks = settings.get("hooks")
    for groups in hooks.values() if isinstance(hooks, dict) else ():
        for group in groups if isinstance(groups, list) else ():
            for hook in group.get("hooks") or [] if isinstance(group, dict) else ():
                text = hook.get("command") if isinstance(hook, dict) else None
                if any(is_ours(text, args) for args in (CAPTURE, SESSION_START)):
                    yield str(text)


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


def _write(path: Path, before: dict[str, Any], after: dict[str, Any], done: list[str]) -> None:
    if after == before:
        return
    raw = store.read_bytes(path)
    backup = path.with_name(path.name + ".bak")
    if raw is not None and not backup.exists():  # the first backup is the user's own file: never overwritten
        store.write_atomic(backup, raw)
        done.append(f"kept the old {path.name} as {backup.name}")
    store.write_atomic(path, (json.dumps(after, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _groups(settings: dict[str, Any], event: str, path: Path) -> list[Any]:
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise GittasksError(f"{path}: 'hooks' is not an object; fix it first, nothing was changed")
    groups = hooks.setdefault(event, [])
    if not isinstance(groups, list):
        raise GittasksError(f"{path}: hooks.{event} is not a list; fix it first, nothing was changed")
    return groups


def _add_hook(groups: list[Any], matcher: str, arguments: str, done: list[str], event: str) -> None:
    wanted = command(arguments)
    for group in groups:
        if not (isinstance(group, dict) and isinstance(group.get("hooks"), list)):
            continue
        ours = [h for h in group["hooks"] if isinstance(h, dict) and is_ours(h.get("command"), arguments)]
        same_matcher = group.get("matcher") == matcher
        older_matcher = event == "SessionStart" and isinstance(group.get("matcher"), str) and bool(ours)
        if ours and (same_matcher or older_matcher):
            changed = False
            for hook in ours:
                if hook.get("command") != wanted:
                    hook["command"] = wanted
                    changed = True
            if not same_matcher:
                group["matcher"] = matcher
                changed = True
            if changed:
                done.append(f"updated the {event} hook ({matcher}) to `{wanted}`")
            return
    groups.append({"matcher": matcher, "hooks": [{"type": "command", "command": wanted}]})
    done.append(f"added the {event} hook `{wanted}` ({matcher})")


def install(repo: Repo, *, env: bool = True, mcp: bool = False) -> list[str]:
    """Add the gittasks hooks (and with `mcp` the MCP server) to the project's Claude Code settings; what was done."""
    root = repo.root
    done: list[str] = []
    settings_path = root / ".claude" / "settings.json"
    before = read_settings(settings_path)
    settings = json.loads(json.dumps(before))
    for event, matcher, arguments in ENTRIES:
        _add_hook(_groups(settings, event, settings_path), matcher, arguments, done, event)
    if env:
        env_block = settings.setdefault("env", {})
        if isinstance(env_block, dict) and env_block.get(ENV_KEY) != "1":
            env_block[ENV_KEY] = "1"
            repo.config_set_local(ADDED_SETTING, "true")
            done.append(f"set env {ENV_KEY}=1 (turns Claude Code's task tools on)")
    if mcp:
        permissions = settings.setdefault("permissions", {})
        allow = permissions.setdefault("allow", []) if isinstance(permissions, dict) else None
        if isinstance(allow, list) and MCP_RULE not in allow:
            allow.append(MCP_RULE)
            done.append(f"allowed the gittasks MCP tools ({MCP_RULE})")
        enabled = settings.setdefault("enabledMcpjsonServers", [])
        if isinstance(enabled, list) and SERVER not in enabled:
            enabled.append(SERVER)
            done.append(f"approved the project's MCP server {SERVER} (enabledMcpjsonServers)")
        mcp_path = root / ".mcp.json"
        mcp_before = read_settings(mcp_path)
        mcp_doc = json.loads(json.dumps(mcp_before))
        servers = mcp_doc.setdefault("mcpServers", {})
        exe, *args = program()
        entry = {"command": exe, "args": [*args, "mcp"]}
        if isinstance(servers, dict) and servers.get(SERVER) != entry:
            servers[SERVER] = entry
            done.append(f"set the gittasks MCP server in .mcp.json (`{exe} {' '.join(entry['args'])}`)")
        _write(mcp_path, mcp_before, mcp_doc, done)
    _write(settings_path, before, settings, done)
    return done


def remove(repo: Repo) -> list[str]:
    """Take out what `install` added; what was done."""
    root = repo.root
    done: list[str] = []
    settings_path = root / ".claude" / "settings.json"
    before = read_settings(settings_path)
    settings = json.loads(json.dumps(before))
    hooks = settings.get("hooks")
    if isinstance(hooks, dict):
        for event in {event for event, _m, _a in ENTRIES}:
            groups = hooks.get(event)
            if not isinstance(groups, list):
                continue
            kept = []
            for group in groups:
                if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                    left = [
                        h
                        for h in group["hooks"]
                        if not (isinstance(h, dict) and any(is_ours(h.get("command"), a) for _e, _m, a in ENTRIES))
                    ]
                    if len(left) != len(group["hooks"]):
                        done.append(f"removed the {event} hook ({group.get('matcher')})")
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
    _write(settings_path, before, settings, done)
    mcp_path = root / ".mcp.json"
    mcp_before = read_settings(mcp_path)
    if isinstance(mcp_before.get("mcpServers"), dict) and SERVER in mcp_before["mcpServers"]:
        mcp_doc = json.loads(json.dumps(mcp_before))
        del mcp_doc["mcpServers"][SERVER]
        if not mcp_doc["mcpServers"]:
            del mcp_doc["mcpServers"]
        if mcp_doc:
            _write(mcp_path, mcp_before, mcp_doc, done)
        else:
            store.remove_file(mcp_path)
        done.append("removed the gittasks MCP server from .mcp.json")
    return done
