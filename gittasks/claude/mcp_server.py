"""`gittasks mcp`: an MCP server on stdio whose tools mirror Claude Code's native task tools, backed by git.

The protocol's methods are here (`initialize`, `ping`, `tools/list`, `tools/call`, and a tool's result as MCP
shapes it); the JSON-RPC framing under them is `claude/jsonrpc.py`, the tools `claude/mcp_tools.py`. The protocol
is written out rather than taken from the MCP SDK: importing the SDK takes longer than Claude Code's start-up probe
waits; this server answers `initialize` after gittasks' own start-up. The SDK's client is what the tests talk to it
with.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from gittasks.claude import jsonrpc
from gittasks.claude.jsonrpc import INVALID_PARAMS, RpcError
from gittasks.claude.mcp_tools import TOOLS, TaskTools
from gittasks.errors import GittasksError, explain
from gittasks.jsonvalue import dumps_checked
from gittasks.version import installed_version

SERVER_NAME = "gittasks"
STOP_WAIT = 10.0  # seconds a signal waits for a call in flight before the server ends
DEFAULT_PROTOCOL = "2025-06-18"
_PROTOCOL = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

# What `initialize` tells the model (InitializeResult.instructions): when to use which tool, in a few lines.
INSTRUCTIONS = (
    "The project's task list, kept in git and shared across machines and sessions; every change is one commit. "
    "task_next: what to take up next, each with its reason; task_ready: what can be started now. task_list: "
    "survey the tasks (compact; filtered by status, open, client, owner, parent, search...; a page at a time: pass "
    "nextCursor back as cursor). task_get: one task in full. task_create: new work (addBlockedBy for order, parent "
    "for a subtask, client/project/minutes for billing). task_update: start (status in_progress claims it), "
    "complete (status completed with outcome and minutes), block (with blockedReason) or edit a task; reopen=true "
    "reopens a completed one, force=true goes past open blockers or subtasks. task_log: a task's history. "
    "task_archive: put ended tasks away. task_sync / sync_status: exchange with the remote / where this clone "
    "stands."
)


def _version() -> str:
    return installed_version() or "0+unknown"  # "0+unknown": run from a source tree that is not installed


def _content(value: Any, notes: list[str], error: bool = False) -> dict[str, Any]:
    """A tool result: the value once, as one block of compact JSON text, then each note as a line of its own.

    No `structuredContent`: where it is present, Claude Code hands the model only its JSON and drops the text blocks
    (the notes with them), and a second copy of the data would double a reply's size against the client's cap. The
    specification asks for structured content only of a tool with an `outputSchema`, and these declare none."""
    if error:
        return {"content": [{"type": "text", "text": str(value)}], "isError": True}
    blocks: list[dict[str, Any]] = [{"type": "text", "text": dumps_checked(value, 0).decode("utf-8")}]
    blocks += [{"type": "text", "text": f"gittasks: {note}"} for note in notes]
    return {"content": blocks, "isError": False}


class Server(jsonrpc.Endpoint):
    """The MCP methods on the JSON-RPC framing: every line gets the answer JSON-RPC 2.0 gives it, and a tool's
    refusal is a tool error (`isError`), not a protocol error."""

    def __init__(self, tools: TaskTools) -> None:
        super().__init__(
            {"initialize": self.initialize, "ping": lambda params: {}, "tools/list": self.list_tools,
             "tools/call": self.call_tool}
        )  # fmt: skip
        self.tools = tools
        self.by_name = {tool.name: tool for tool in TOOLS}

    def initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        asked = params.get("protocolVersion")
        version = asked if isinstance(asked, str) and _PROTOCOL.fullmatch(asked) else DEFAULT_PROTOCOL
        info = {"name": SERVER_NAME, "version": _version()}
        return {"protocolVersion": version, "capabilities": {"tools": {"listChanged": False}}, "serverInfo": info,
                "instructions": INSTRUCTIONS}  # fmt: skip

    def list_tools(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"tools": [tool.listing() for tool in TOOLS]}

    def call_tool(self, params: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(params.get("name"), str):
            raise RpcError(INVALID_PARAMS, "tools/call needs the tool's name, a string")
        return self.call(params["name"], params.get("arguments"))

    def call(self, name: Any, arguments: Any) -> dict[str, Any]:
        tool = self.by_name.get(name) if isinstance(name, str) else None
        if tool is None:
            known = ", ".join(self.by_name)
            return _content(f"Unknown tool {jsonrpc.shown(name)}; the tools are: {known}", [], error=True)
        with self.tools.lock:
            self.tools.notes = []
            try:
                value = tool.run(self.tools, tool.checked(arguments))
            except (GittasksError, OSError) as exc:  # a refusal, a file the system refused: a tool error
                return _content(explain(exc)[0], [], error=True)
            finally:
                self.tools.done()
            return _content(value, self.tools.notes)


def serve(repo: Path | None = None) -> None:
    """Run the server on stdio until the client closes stdin, or SIGINT/SIGTERM ends it (even where the parent
    started it with SIGINT ignored; a call in flight finishes first, its commit is atomic in any case)."""
    gc.enable()  # (the command line turns the cycle collector off for its short runs; a server runs for hours)
    tools = TaskTools(repo)

    def stop(signum: int, _frame: object) -> None:
        tools.lock.acquire(timeout=STOP_WAIT)
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    with contextlib.suppress(ValueError, OSError, AttributeError):  # SIGTERM: not everywhere
        signal.signal(signal.SIGTERM, stop)
    jsonrpc.run(Server(tools), sys.stdin.buffer, sys.stdout.buffer)
