"""JSON-RPC 2.0 on lines (the framing under `gittasks mcp`): one message a line in, at most one line out.

What a line may hold is checked here, before any method runs: valid UTF-8 JSON without NaN or Infinity, nesting and
numbers within what the task file keeps (`jsonvalue.MAX_DEPTH`, `jsonvalue.MAX_INT`), strings without lone
surrogates, ids that can be echoed as they came; a line too long is skipped without being kept. Every line gets the
answer JSON-RPC 2.0 gives it (a parse error, an invalid request, an unknown method, an internal error for a failure
nothing foresaw), and nothing a client sends ends the loop. `Endpoint` calls a method by name with its params;
the methods (the MCP server's) live elsewhere.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import orjson

from gittasks import jsonvalue

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
MAX_LINE = 8 << 20  # bytes in one message; a longer line is skipped without being kept and answered as invalid
# What params may hold: the task file's rules (document.py), so that what a call takes the file can keep. Nesting
# counts the message as level 1; its arguments sit at level 3 as a task does in the file, metadata at 4 in both.
MAX_DEPTH = jsonvalue.MAX_DEPTH
MAX_INT = jsonvalue.MAX_INT
ID_INTS = (-(2**63), 2**64 - 1)  # what orjson writes: an integer id in this range is echoed exactly
_PARSE_DEPTH = 200  # up to this deep, json's reader (recursive, exact integers) parses; deeper, orjson's (no
# recursion, refuses beyond 1024 levels), so that a deep request is still answered with its id
_JSON_SPACE = b" \t\r\n"
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_NUMBER = re.compile(rb"\d{19}")
_BIG_INT = f"an integer beyond +-{MAX_INT} (what JavaScript and Go read exactly)"


class _Unfit:
    """Where the JSON text holds a value gittasks cannot keep (an integer beyond 64 bits, a number beyond a float):
    parsing goes on, so that the request is refused with its id rather than as unreadable."""

    __slots__ = ("why",)

    def __init__(self, why: str) -> None:
        self.why = why


def _int(text: str) -> Any:
    if len(text) <= 21:  # a sign and 20 digits at most (JSON has no leading zeros); longer is out of range anyway
        value = int(text)
        if ID_INTS[0] <= value <= ID_INTS[1]:
            return value
    return _Unfit(_BIG_INT)


def _float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Unfit("a number too large for a float")


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN and Infinity; JSON has neither


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def depth(outside_strings: bytes) -> int:
    """How deep the brackets of a JSON text with its strings taken out nest, found without parsing and so without
    recursion; only an estimate for a text that is not JSON."""
    shape = outside_strings.translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_STEP.__getitem__, shape)), default=0)


def parse_message(line: bytes) -> Any:
    """One line as JSON, strictly (UTF-8, no NaN or Infinity); ValueError if it is not. Values gittasks cannot keep
    come back as `_Unfit`; strings may hold lone surrogates (`\\ud800` is valid JSON): `_unfit` finds both."""
    text = line.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if line.count(b"[") + line.count(b"{") > _PARSE_DEPTH:
        bare = _STRING.sub(b"", line)
        if depth(bare) > _PARSE_DEPTH:
            if _LONG_NUMBER.search(bare):  # orjson reads an integer past 64 bits as a float: it would pass unseen
                raise ValueError(f"nested deeper than {_PARSE_DEPTH} levels, with a number of 19 digits or more")
            return orjson.loads(line)
    return _DECODER.decode(text)


def _clean(text: str) -> bool:
    """A string that can be written as UTF-8 (no lone surrogate)."""
    return text.isascii() or _SURROGATE.search(text) is None


def _is_id(value: Any) -> bool:
    """A request id JSON-RPC allows (string, number, null) that can be echoed as it came."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return ID_INTS[0] <= value <= ID_INTS[1]  # (always so for a parsed line; `handle` may be given any dict)
    return value is None or (isinstance(value, float) and math.isfinite(value))


def _unfit(value: dict[str, Any] | list[Any], level: int) -> str | None:
    """What in `value` (at nesting level `level` of its message) gittasks cannot take, or None; a loop, not
    recursion, since a value may nest up to 1024 levels here."""
    stack = [(value, level)]
    while stack:
        item, at = stack.pop()
        if at > MAX_DEPTH:
            return f"values nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict) and not all(map(_clean, item)):
            return _SURROGATE_TEXT
        for inner in item.values() if isinstance(item, dict) else item:
            if isinstance(inner, dict | list):
                stack.append((inner, at + 1))
            elif isinstance(inner, str):
                if not _clean(inner):
                    return _SURROGATE_TEXT
            elif isinstance(inner, int) and not -MAX_INT <= inner <= MAX_INT:
                return _BIG_INT
            elif isinstance(inner, _Unfit):
                return inner.why
    return None


_SURROGATE_TEXT = "a string with a lone surrogate (not Unicode)"


def shown(value: Any) -> str:
    """A client's value quoted in an error: short, one line, always encodable (repr escapes surrogates)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _error(ident: Any, code: int, text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": text}}


def _encode(answer: dict[str, Any]) -> bytes:
    """An answer as one line of JSON (orjson: UTF-8, no NaN, no raw newline); one that cannot be written (a value
    out of orjson's range, nesting past its limit) becomes an internal error for the same id."""
    try:
        return orjson.dumps(answer)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        print(f"gittasks mcp: answer not written: {_one_line(str(exc))}", file=sys.stderr, flush=True)
        return orjson.dumps(_error(answer.get("id"), INTERNAL_ERROR, "the answer could not be written as JSON"))


class RpcError(Exception):
    """A method's refusal of its request, answered as a JSON-RPC error with `code`."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


Method = Callable[[dict[str, Any]], dict[str, Any]]


class Endpoint:
    """One line in, at most one line out (`answer`); one JSON-RPC message in, at most one out (`handle`). A request
    runs its method from `methods` with its params (an object), and the method's result is the answer's."""

    def __init__(self, methods: Mapping[str, Method]) -> None:
        self.methods = methods

    def answer(self, line: bytes) -> bytes | None:
        """The answer to one line of stdin (without its newline), or None when it gets none (a blank line, a
        notification, a response, a batch of those)."""
        if not line.strip(_JSON_SPACE):
            return None
        try:
            message = parse_message(line)
        except (ValueError, RecursionError) as exc:  # (RecursionError: never with the depth check; a last guard)
            return _encode(_error(None, PARSE_ERROR, _one_line(f"not valid JSON ({exc})")))
        if not isinstance(message, list):
            single = self.handle(message)
            return None if single is None else _encode(single)
        if not message:
            return _encode(_error(None, INVALID_REQUEST, "an empty batch"))
        answers = [a for a in map(self.handle, message) if a is not None]
        return b"[" + b",".join(map(_encode, answers)) + b"]" if answers else None

    def handle(self, message: Any) -> dict[str, Any] | None:
        """The answer to one parsed message (an element of a batch, say), or None for a notification or a
        response."""
        if not isinstance(message, dict):
            return _error(None, INVALID_REQUEST, "a message must be a JSON object")
        ident = message.get("id")
        reply_to = ident if _is_id(ident) else None  # an id that cannot be echoed is answered as null
        if "method" not in message and ("result" in message or "error" in message):
            # A response: this server sends no requests, so there is nothing to match it to; a malformed one is
            # answered, a valid one never (answering responses could loop between two peers).
            well_formed = message.get("jsonrpc") == "2.0" and "id" in message and _is_id(ident)
            if well_formed and ("result" in message) != ("error" in message):
                return None
            return _error(reply_to, INVALID_REQUEST, "not a valid JSON-RPC 2.0 response")
        if message.get("jsonrpc") != "2.0":
            return _error(reply_to, INVALID_REQUEST, 'not a JSON-RPC 2.0 message (jsonrpc must be "2.0")')
        method = message.get("method")
        if not isinstance(method, str):
            return _error(reply_to, INVALID_REQUEST, "a request needs a method, a string")
        if "id" in message and not _is_id(ident):
            return _error(None, INVALID_REQUEST, "the id must be a string, a number or null")
        params = message.get("params", {})
        if not isinstance(params, dict | list):
            return _error(reply_to, INVALID_REQUEST, "params must be an object or an array")
        if "id" not in message:
            return None  # a notification (initialized, cancelled): never answered
        try:
            return self._dispatch(ident, method, params)
        except Exception as exc:  # a bug or a value nothing foresaw: this request fails, the server goes on
            print(f"gittasks mcp: internal error: {_one_line(repr(exc))}", file=sys.stderr, flush=True)
            return _error(ident, INTERNAL_ERROR, _one_line(f"internal error: {exc}"))

    def _dispatch(self, ident: Any, method: str, params: dict[str, Any] | list[Any]) -> dict[str, Any]:
        run = self.methods.get(method)
        if run is None:
            return _error(ident, METHOD_NOT_FOUND, f"method not found: {shown(method)}")
        if not isinstance(params, dict):
            return _error(ident, INVALID_PARAMS, f"{method} takes its params by name (an object)")
        unfit = _unfit(params, 2)
        if unfit is not None:
            return _error(ident, INVALID_PARAMS, f"params hold {unfit}")
        try:
            result = run(params)
        except RpcError as exc:
            return _error(ident, exc.code, exc.text)
        return {"jsonrpc": "2.0", "id": ident, "result": result}


def run(endpoint: Endpoint, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer each line of `stdin` until it closes (or stdout does: the client is gone)."""
    while line := stdin.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stdin.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass  # the rest of the line, read and dropped
            out: bytes | None = _encode(_error(None, INVALID_REQUEST, f"a message longer than {MAX_LINE} bytes"))
        else:
            out = endpoint.answer(line.rstrip(b"\n"))
        if out is None:
            continue
        try:
            stdout.write(out + b"\n")
            stdout.flush()
        except (OSError, ValueError):  # the client closed its end: nobody is left to answer
            return
