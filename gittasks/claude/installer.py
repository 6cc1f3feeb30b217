"""`gittasks install-claude`: merge the gittasks hooks (and optionally the MCP server) into Claude Code's settings.

It only ever adds gittasks commands, never drops what is there, is idempotent, and keeps a backup of a file it
changes. `--remove` takes out exactly what it added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gittasks import store
from gittasks.errors import GittasksError

CAPTURE = "gittasks hook capture"
SESSION_START = "gittasks hook session-start"
ENTRIES = (
    ("PostToolUse", "TaskCreate|TaskUpdate|TodoWrite", CAPTURE),
    ("SessionStart", "startup|resume|clear", SESSION_START),
)
ENV_KEY = "CLAUDE_CODE_ENABLE_TODO_TOOLS"
MCP_RULE = "mcp__gittasks"


def _read(path: Path) -> dict[str, Any]:
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


def _has_command(groups: list[Any], matcher: str, command: str) -> bool:
    for group in groups:
        if isinstance(group, dict) and group.get("matcher") == matcher:
            for hook in group.get("hooks") or []:
                if isinstance(hook, dict) and hook.get("command") == command:
                    return True
    return False


def _write(path: Path, before: dict[str, Any], after: dict[str, Any], done: list[str]) -> None:
    if after == before:
        return
    raw = store.read_bytes(path)
    if raw is not None:
        backup = path.with_name(path.name + ".bak")
        store.write_atomic(backup, raw)
        done.append(f"kept the old {path.name} as {backup.name}")
    store.write_atomic(path, (json.dumps(after, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def install(root: Path, *, env: bool = True, mcp: bool = False) -> list[str]:
    done: list[str] = []
    settings_path = root / ".claude" / "settings.json"
    before = _read(settings_path)
    settings = json.loads(json.dumps(before))
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise GittasksError(f"{settings_path}: 'hooks' is not an object; fix it first, nothing was changed")
    for event, matcher, command in ENTRIES:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise GittasksError(f"{settings_path}: hooks.{event} is not a list; fix it first, nothing was changed")
        if not _has_command(groups, matcher, command):
            groups.append({"matcher": matcher, "hooks": [{"type": "command", "command": command}]})
            done.append(f"added the {event} hook `{command}` ({matcher})")
    if env:
        env_block = settings.setdefault("env", {})
        if isinstance(env_block, dict) and env_block.get(ENV_KEY) != "1":
            env_block[ENV_KEY] = "1"
            done.append(f"set env {ENV_KEY}=1 (turns Claude Code's task tools on)")
    if mcp:
        permissions = settings.setdefault("permissions", {})
        allow = permissions.setdefault("allow", []) if isinstance(permissions, dict) else None
        if isinstance(allow, list) and MCP_RULE not in allow:
            allow.append(MCP_RULE)
            done.append(f"allowed the gittasks MCP tools ({MCP_RULE})")
        mcp_path = root / ".mcp.json"
        mcp_before = _read(mcp_path)
        mcp_doc = json.loads(json.dumps(mcp_before))
        servers = mcp_doc.setdefault("mcpServers", {})
        if isinstance(servers, dict) and "gittasks" not in servers:
            servers["gittasks"] = {"command": "gittasks", "args": ["mcp"]}
            done.append("added the gittasks MCP server to .mcp.json")
        _write(mcp_path, mcp_before, mcp_doc, done)
    _write(settings_path, before, settings, done)
    return done


def remove(root: Path) -> list[str]:
    done: list[str] = []
    settings_path = root / ".claude" / "settings.json"
    before = _read(settings_path)
    settings = json.loads(json.dumps(before))
    hooks = settings.get("hooks")
    if isinstance(hooks, dict):
        for event, _matcher, command in ENTRIES:
            groups = hooks.get(event)
            if not isinstance(groups, list):
                continue
            kept = []
            for group in groups:
                if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                    group["hooks"] = [
                        h for h in group["hooks"] if not (isinstance(h, dict) and h.get("command") == command)
                    ]
                    if not group["hooks"]:
                        done.append(f"removed the {event} hook `{command}`")
                        continue
                kept.append(group)
            hooks[event] = kept
            if not kept:
                del hooks[event]
        if not hooks:
            del settings["hooks"]
    permissions = settings.get("permissions")
    if (
        isinstance(permissions, dict)
        and isinstance(permissions.get("allow"), list)
        and MCP_RULE in permissions["allow"]
    ):
        permissions["allow"].remove(MCP_RULE)
        done.append("removed the gittasks MCP permission")
    _write(settings_path, before, settings, done)
    mcp_path = root / ".mcp.json"
    mcp_before = _read(mcp_path)
    if isinstance(mcp_before.get("mcpServers"), dict) and "gittasks" in mcp_before["mcpServers"]:
        mcp_doc = json.loads(json.dumps(mcp_before))
        del mcp_doc["mcpServers"]["gittasks"]
        _write(mcp_path, mcp_before, mcp_doc, done)
        done.append("removed the gittasks MCP server from .mcp.json")
    return done
