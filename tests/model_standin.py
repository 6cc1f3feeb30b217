"""A scripted local stand-in for the model API, so that the real Claude Code CLI can be driven in tests.

Claude Code calls `POST /v1/messages` (always streaming, server-sent events) and `HEAD /api/hello`. Each request
of the main loop (one that offers tools) is answered by `script(request)`, which returns the next assistant turn:
a list of blocks, each `("text", str)` or `("tool_use", name, input)`. A tool the client defers (Claude Code 2.1.332
lists TaskCreate, TaskUpdate and MCP tools only after a ToolSearch) is first selected with ToolSearch. Every other
request (a title, a summary) gets a short text. The requests are kept for the test to read.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Block = tuple[Any, ...]
Script = Callable[[dict[str, Any]], list[Block]]


def tool_names(request: dict[str, Any]) -> set[str]:
    return {t.get("name", "") for t in request.get("tools") or [] if isinstance(t, dict)}


def text_of(request: dict[str, Any]) -> str:
    """All text of a request's system prompt and messages (tool results and reminders included)."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key in ("text", "content", "system"):
                if key in value:
                    walk(value[key])

    walk(request.get("system"))
    walk(request.get("messages"))
    return "\n".join(parts)


def tool_result_blocks(request: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The content blocks of each tool result in the request's last user message (a result given as a string: one
    text block)."""
    messages = request.get("messages") or []
    last = messages[-1] if messages else {}
    out = []
    for block in last.get("content") or [] if isinstance(last.get("content"), list) else []:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            content = block.get("content")
            if isinstance(content, str):
                out.append([{"type": "text", "text": content}])
            else:
                out.append([b for b in content or [] if isinstance(b, dict)] if isinstance(content, list) else [])
    return out


def tool_results(request: dict[str, Any]) -> list[str]:
    """The texts of the tool results in the request's last user message."""
    return ["\n".join(str(b.get("text", json.dumps(b))) for b in blocks) for blocks in tool_result_blocks(request)]


class StandIn:
    """The stand-in server on 127.0.0.1 (a free port); `url` for ANTHROPIC_BASE_URL; use it as a context manager."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.end_headers()

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if "count_tokens" in self.path:
                    self._json({"input_tokens": 100})
                    return
                outer.requests.append(body)
                blocks = outer.turn(body)
                self._stream(blocks, body.get("model", "claude-sonnet-4-5"))

            def _json(self, value: Any) -> None:
                data = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, blocks: list[Block], model: str) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.end_headers()

                def event(name: str, data: dict[str, Any]) -> None:
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

                usage = {"input_tokens": 10, "output_tokens": 1, "cache_creation_input_tokens": 0,
                         "cache_read_input_tokens": 0}  # fmt: skip
                message: dict[str, Any] = {"id": f"msg_{next(outer._ids)}", "type": "message", "role": "assistant",
                                           "model": model, "content": [], "stop_reason": None,
                                           "stop_sequence": None, "usage": usage}  # fmt: skip
                event("message_start", {"type": "message_start", "message": message})
                for index, block in enumerate(blocks):
                    if block[0] == "text":
                        event("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": {"type": "text", "text": ""}})  # fmt: skip
                        delta = {"type": "text_delta", "text": block[1]}
                    else:
                        start = {"type": "tool_use", "id": f"toolu_{next(outer._ids):08d}", "name": block[1],
                                 "input": {}}  # fmt: skip
                        event("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": start})  # fmt: skip
                        delta = {"type": "input_json_delta", "partial_json": json.dumps(block[2])}
                    event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                    event("content_block_stop", {"type": "content_block_stop", "index": index})
                stop = "tool_use" if any(b[0] == "tool_use" for b in blocks) else "end_turn"
                event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                        "usage": {"output_tokens": 5}})  # fmt: skip
                event("message_stop", {"type": "message_stop"})
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._selected: set[str] = set()

    def turn(self, request: dict[str, Any]) -> list[Block]:
        names = tool_names(request)
        if not names:
            return [("text", "gittasks test session")]
        blocks = self.script(request)
        wanted = [b[1] for b in blocks if b[0] == "tool_use" and b[1] not in names]
        if wanted and "ToolSearch" in names:  # deferred tools: select them first, then the same turn again
            return [("tool_use", "ToolSearch", {"query": "select:" + ",".join(sorted(set(wanted))), "max_results": 10})]
        return blocks

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def summary_tasks(request: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(gittasks id, subject, status) of each task the SessionStart summary in the request lists."""
    return re.findall(r"^- \[([^\]]+)\] (.+?): (pending|in_progress|blocked)\b", text_of(request), re.MULTILINE)


def step(request: dict[str, Any]) -> int:
    """How many scripted turns the conversation holds already (assistant turns other than a ToolSearch)."""
    done = 0
    for message in request.get("messages") or []:
        if message.get("role") != "assistant" or not isinstance(message.get("content"), list):
            continue
        names = {b.get("name") for b in message["content"] if isinstance(b, dict) and b.get("type") == "tool_use"}
        if names and names != {"ToolSearch"}:
            done += 1
    return done


def scripted(*turns: Callable[[dict[str, Any]], list[Block]] | list[Block]) -> Script:
    """A script of turns in order (each a list of blocks, or a function of the request giving one); then a text."""

    def script(request: dict[str, Any]) -> list[Block]:
        n = step(request)
        if n >= len(turns):
            return [("text", "Done.")]
        turn = turns[n]
        return turn(request) if callable(turn) else turn

    return script
