"""The MCP server against hostile lines: every line gets the answer JSON-RPC 2.0 gives it, every answer is valid
JSON, and the same process goes on serving `tools/call` after each one.

The real `gittasks mcp` process is driven over its pipes with raw lines; every read has a timeout, so a missing
answer fails the test instead of hanging it. After each line under test a marker request follows: the answers
before the marker's are that line's, so "no answer" is checked as exactly as "this answer".
"""

from __future__ import annotations

import json
import math
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import git, init_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gittasks.claude import mcp_server
from gittasks.claude.jsonrpc import ID_INTS, MAX_DEPTH, MAX_INT, MAX_LINE
from gittasks.claude.mcp_server import Server, TaskTools

PARSE, INVALID, NO_METHOD, PARAMS, INTERNAL = -32700, -32600, -32601, -32602, -32603
RESULT, TOOL_ERROR = "result", "tool error"
METHODS = ("initialize", "ping", "tools/list", "tools/call")
WAIT = 20.0  # seconds for one answer; a server that answers nothing fails the read instead of hanging it

Expected = tuple[Any, Any] | list[tuple[Any, Any]] | None  # (id, code or RESULT/TOOL_ERROR); a batch; no answer


def strict_json(raw: bytes) -> Any:
    """A line as JSON as gittasks writes it: UTF-8, no NaN/Infinity, no lone surrogate; AssertionError if not."""
    text = raw.decode("utf-8")

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in an answer")

    value = json.loads(text, parse_constant=refuse)
    assert "\n" not in text
    return value


class Peer:
    """`gittasks mcp` in a repository, spoken to line by line; a thread reads its stdout into a queue."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stderr = (root.parent / f"{root.name}-mcp-stderr.txt").open("w+b")
        self.proc = subprocess.Popen([sys.executable, "-m", "gittasks", "mcp"], cwd=root, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr)  # fmt: skip
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.marker = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")  # end of output: the process is gone

    def send(self, raw: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def read(self) -> Any:
        try:
            line = self.lines.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no answer within {WAIT:.0f} s") from None
        assert line, f"the server ended (exit {self.proc.poll()}): {self.errors()}"
        answer = strict_json(line.rstrip(b"\n"))
        for one in answer if isinstance(answer, list) else [answer]:
            assert one["jsonrpc"] == "2.0" and "id" in one and ("result" in one) != ("error" in one), one
        return answer

    def exchange(self, raw: bytes, *, check_tools: bool = True) -> list[Any]:
        """The answers to `raw`, then a marker request: a `tools/call` of task_list (or a ping) answered as usual."""
        self.marker += 1
        marker = f"marker-{self.marker}"
        self.send(raw)
        if check_tools:
            self.send(message(marker, "tools/call", {"name": "task_list", "arguments": {}}))
        else:
            self.send(message(marker, "ping"))
        answers: list[Any] = []
        while True:
            answer = self.read()
            if isinstance(answer, dict) and answer.get("id") == marker:
                assert "result" in answer, answer
                assert not check_tools or answer["result"]["isError"] is False, answer
                return answers
            answers.append(answer)

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=WAIT) == 0
        assert "Traceback" not in self.errors(), self.errors()
        self.stderr.close()


@pytest.fixture
def peer(make_repo: Callable[..., Path]) -> Iterator[Peer]:
    root = make_repo()
    init_repo(root)
    server = Peer(root)
    try:
        yield server
    finally:
        if server.proc.poll() is None and server.proc.stdin is not None and not server.proc.stdin.closed:
            server.close()


def message(ident: Any, method: Any, params: Any = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        body["params"] = params
    return json.dumps({**body, **extra}).encode()


def call(ident: Any, tool: str, arguments: Any) -> bytes:
    """A tools/call line; `arguments` as JSON text when bytes (to hold what json.dumps would not write)."""
    args = arguments if isinstance(arguments, bytes) else json.dumps(arguments).encode()
    head = json.dumps({"jsonrpc": "2.0", "id": ident, "method": "tools/call"}).encode()[:-1]
    return head + b',"params":{"name":' + json.dumps(tool).encode() + b',"arguments":' + args + b"}}"


def nested(levels: int, inner: bytes = b"1") -> bytes:
    return b'{"a":' * levels + inner + b"}" * levels


def got(answers: list[Any]) -> Expected:
    """The answers of one line in the form of `Expected`."""

    def one(answer: dict[str, Any]) -> tuple[Any, Any]:
        if "error" in answer:
            return answer["id"], answer["error"]["code"]
        is_error = isinstance(answer["result"], dict) and answer["result"].get("isError") is True
        return answer["id"], TOOL_ERROR if is_error else RESULT

    if not answers:
        return None
    assert len(answers) == 1, answers  # one line in, at most one line out
    [answer] = answers
    return [one(a) for a in answer] if isinstance(answer, list) else one(answer)


def same(actual: Any, expected: Any) -> bool:
    """Equal, with ids compared with their type (1, 1.0 and True are different ids)."""

    def key(value: Any) -> Any:
        if isinstance(value, list):
            return [key(v) for v in value]
        if isinstance(value, tuple):
            return tuple((type(v).__name__, v) for v in value)
        return value

    return key(actual) == key(expected)


def run_cases(peer: Peer, cases: list[tuple[str, bytes, Expected]], *, check_tools: bool = True) -> None:
    for label, raw, expected in cases:
        actual = got(peer.exchange(raw, check_tools=check_tools))
        assert same(actual, expected), f"{label}: got {actual}, expected {expected}"


# -- the issue's lines, and the classes they stand for -----------------------------------------------------------


def test_the_issues_lines_are_answered_and_the_server_goes_on(peer: Peer) -> None:
    commits = git(peer.root, "rev-list", "--count", "HEAD")
    run_cases(peer, [
        ("a lone surrogate", call(1, "task_create", {"subject": "\ud800"}), (1, PARAMS)),
        ("a lone surrogate in a key", call(2, "task_create", {"subject": "x", "metadata": {"\udc00": 1}}),
         (2, PARAMS)),
        ("[ nested 100,000 deep", b"[" * 100_000, (None, PARSE)),
        ("{ nested 100,000 deep", nested(100_000), (None, PARSE)),
        ("a number past 64 bits", call(3, "task_create", {"subject": "x", "metadata": {"n": 2**64}}), (3, PARAMS)),
        ("a negative one", call(4, "task_create", {"subject": "x", "metadata": {"n": -(2**63) - 1}}), (4, PARAMS)),
        ("a thousand digits", call(5, "task_get", {"taskId": "x", "n": 10**1000}), (5, PARAMS)),
        ("metadata nested 600 deep", call(6, "task_create", b'{"subject":"x","metadata":' + nested(600) + b"}"),
         (6, PARAMS)),
        ("no method", b'{"jsonrpc":"2.0","id":7}', (7, INVALID)),
        ("a number as method", message(8, 5), (8, INVALID)),
        ("null as method", message(9, None), (9, INVALID)),
        ("an empty batch", b"[]", (None, INVALID)),
        ("NaN", call(10, "task_create", b'{"subject":"x","metadata":{"n":NaN}}'), (None, PARSE)),
        ("Infinity", call(11, "task_create", b'{"subject":"x","metadata":{"n":Infinity}}'), (None, PARSE)),
        ("-Infinity", call(12, "task_create", b'{"subject":"x","metadata":{"n":-Infinity}}'), (None, PARSE)),
        ("1e400", call(13, "task_create", b'{"subject":"x","metadata":{"n":1e400}}'), (13, PARAMS)),
        ("-1e400", message(14, "ping", {}).replace(b"{}", b'{"n":-1e400}'), (14, PARAMS)),
    ])  # fmt: skip
    assert git(peer.root, "rev-list", "--count", "HEAD") == commits  # no refused call wrote anything
    peer.close()


def test_framing_follows_json_rpc(peer: Peer) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    run_cases(peer, [
        ("not JSON", b"not json", (None, PARSE)),
        ("half a message", b'{"jsonrpc":"2.0","id":1,', (None, PARSE)),
        ("two values", b"{} {}", (None, PARSE)),
        ("a UTF-8 BOM", b"\xef\xbb\xbf" + message(1, "ping"), (None, PARSE)),
        ("not UTF-8", b'{"jsonrpc":"2.0","id":1,"method":"\xff"}', (None, PARSE)),
        ("an encoded surrogate", b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\xed\xa0\x80"}}',
         (None, PARSE)),
        ("a NUL byte", b"\x00", (None, PARSE)),
        ("a control character in a string", b'{"jsonrpc":"2.0","id":1,"method":"pi\x01ng"}', (None, PARSE)),
        ("a number", b"5", (None, INVALID)),
        ("a string", b'"ping"', (None, INVALID)),
        ("null", b"null", (None, INVALID)),
        ("true", b"true", (None, INVALID)),
        ("1e400 alone", b"1e400", (None, INVALID)),
        ("no jsonrpc", b'{"id":2,"method":"ping"}', (2, INVALID)),
        ("jsonrpc 1.0", json.dumps({**ping, "id": 3, "jsonrpc": "1.0"}).encode(), (3, INVALID)),
        ("jsonrpc as a number", b'{"jsonrpc":2.0,"id":4,"method":"ping"}', (4, INVALID)),
        ("an id that is a list", message([5], "ping"), (None, INVALID)),
        ("an id that is an object", message({"a": 1}, "ping"), (None, INVALID)),
        ("an id that is true", message(True, "ping"), (None, INVALID)),
        ("an id with a lone surrogate", message("\ud800", "ping"), (None, INVALID)),
        ("an id past 64 bits", message(2**64, "ping"), (None, INVALID)),
        ("an id of 1e400", b'{"jsonrpc":"2.0","id":1e400,"method":"ping"}', (None, INVALID)),
        ("no method, bad id", b'{"jsonrpc":"2.0","id":[1]}', (None, INVALID)),
        ("params a string", message(6, "ping", "x"), (6, INVALID)),
        ("params null", b'{"jsonrpc":"2.0","id":7,"method":"ping","params":null}', (7, INVALID)),
        ("an unknown method", message(8, "resources/list"), (8, NO_METHOD)),
        ("a method with a lone surrogate", message(9, "\ud800"), (9, NO_METHOD)),
        ("a very long method", message(10, "m" * 100_000), (10, NO_METHOD)),
        ("params by position", message(11, "ping", [1]), (11, PARAMS)),
        ("tools/call without a name", message(12, "tools/call", {"arguments": {}}), (12, PARAMS)),
        ("tools/call with a number as name", message(13, "tools/call", {"name": 5}), (13, PARAMS)),
        ("an unknown tool: a tool error", call(14, "nope", {}), (14, TOOL_ERROR)),
        ("arguments not an object: a tool error", call(15, "task_list", "x"), (15, TOOL_ERROR)),
        ("an unknown argument: a tool error", call(16, "task_list", {"x": 1}), (16, TOOL_ERROR)),
        ("a string id", message("a", "ping"), ("a", RESULT)),
        ("a float id", message(1.5, "ping"), (1.5, RESULT)),
        ("the smallest id", message(ID_INTS[0], "ping"), (ID_INTS[0], RESULT)),
        ("the largest id", message(ID_INTS[1], "ping"), (ID_INTS[1], RESULT)),
        ("an id below 64 bits", message(ID_INTS[0] - 1, "ping"), (None, INVALID)),
        ("a null id: a request, answered with null", message(None, "ping"), (None, RESULT)),
        ("a notification", json.dumps(note).encode(), None),
        ("a notification to an unknown method", b'{"jsonrpc":"2.0","method":"nope"}', None),
        ("a tools/call notification: not run, not answered", json.dumps({**note, "method": "tools/call", "params": {
            "name": "task_create", "arguments": {"subject": "never"}}}).encode(), None),
        ("a notification with a lone surrogate", json.dumps({**note, "params": {"s": "\ud800"}}).encode(), None),
        ("a response", b'{"jsonrpc":"2.0","id":1,"result":{}}', None),
        ("an error response", b'{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"x"}}', None),
        ("a response with result and error", b'{"jsonrpc":"2.0","id":17,"result":1,"error":{}}', (17, INVALID)),
        ("a response without jsonrpc", b'{"id":18,"result":1}', (18, INVALID)),
        ("a batch", json.dumps([{**ping, "id": 19}, note, 5, [], {**ping, "id": 20, "method": "nope"}]).encode(),
         [(19, RESULT), (None, INVALID), (None, INVALID), (20, NO_METHOD)]),
        ("a batch of one", json.dumps([{**ping, "id": 21}]).encode(), [(21, RESULT)]),
        ("a batch of notifications and responses", json.dumps([note, note, {"jsonrpc": "2.0", "id": 1, "result": 2}])
         .encode(), None),
        ("a batch holding an empty batch", b"[[]]", [(None, INVALID)]),
        ("a blank line", b"", None),
        ("whitespace", b" \t\r", None),
        ("a CRLF line", message(22, "ping") + b"\r", (22, RESULT)),
    ])  # fmt: skip
    peer.close()


def test_values_gittasks_cannot_keep_are_invalid_params(peer: Peer) -> None:
    deepest = b'{"x":' + b"[" * (MAX_DEPTH - 2) + b"]" * (MAX_DEPTH - 2) + b"}"  # the message is level 1, params 2
    brackets_in_a_string = json.dumps({"s": "[{" * 100_000 + '\\"[' * 1000}).encode()
    run_cases(peer, [
        ("the largest integer", message(1, "ping", {"n": MAX_INT}), (1, RESULT)),
        ("the smallest integer", message(2, "ping", {"n": -MAX_INT}), (2, RESULT)),
        ("one past the largest", message(3, "ping", {"n": MAX_INT + 1}), (3, PARAMS)),
        ("one past the smallest", message(4, "ping", {"n": [-MAX_INT - 1]}), (4, PARAMS)),
        ("an integer past 64 bits", message(16, "ping", {"n": 2**64}), (16, PARAMS)),
        ("the largest float", message(5, "ping", {"n": 1.7976931348623157e308}), (5, RESULT)),
        ("a float that rounds to zero", b'{"jsonrpc":"2.0","id":6,"method":"ping","params":{"n":1e-400}}',
         (6, RESULT)),
        (f"{MAX_DEPTH} levels", message(7, "ping", {}).replace(b"{}", deepest), (7, RESULT)),
        (f"{MAX_DEPTH + 1} levels", message(8, "ping", {}).replace(b"{}", b'{"y":' + deepest + b"}"), (8, PARAMS)),
        (f"{MAX_DEPTH} levels in a batch", b"[" + message(9, "ping", {}).replace(b"{}", deepest) + b"]",
         [(9, RESULT)]),
        ("300 levels: parsed without recursion", message(10, "ping", {}).replace(b"{}", nested(300)), (10, PARAMS)),
        ("1,100 levels", message(11, "ping", {}).replace(b"{}", nested(1100)), (None, PARSE)),
        ("a batch: one request 300 deep, one plain", b"[" + message(17, "ping", {}).replace(b"{}", nested(300))
         + b"," + message(18, "ping", {"n": 1}) + b"]", [(17, PARAMS), (18, RESULT)]),
        ("the same with an integer past 64 bits: refused unread", b"[" + message(19, "ping", {}).replace(
            b"{}", nested(300)) + b"," + message(20, "ping", {"n": 2**70}) + b"]", (None, PARSE)),
        ("brackets inside a string", message(12, "ping", {}).replace(b"{}", brackets_in_a_string), (12, RESULT)),
        ("a lone low surrogate", message(13, "initialize", {"protocolVersion": "\udfff"}), (13, PARAMS)),
        ("a surrogate pair is fine", message(14, "ping", {"s": "\U0001f600"}), (14, RESULT)),
        ("a lone surrogate deep inside a list", message(15, "ping", {"a": [[1, ["x", "\ud83d"]]]}), (15, PARAMS)),
    ])  # fmt: skip
    peer.close()


def test_a_huge_line_is_refused_unread_and_the_next_one_answered(peer: Peer) -> None:
    head = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"'
    just_fits = head + b"x" * (MAX_LINE - len(head) - 3) + b'"}}'
    assert len(just_fits) == MAX_LINE
    run_cases(peer, [
        ("a line of the largest size", just_fits, (1, RESULT)),
        ("one byte more", just_fits[:-3] + b'x"}}', (None, INVALID)),
        ("far more, all brackets", b"[" * (MAX_LINE * 2), (None, INVALID)),
    ])  # fmt: skip
    peer.close()


# -- an answer that cannot be written: an internal error for that id, in-process -------------------------------


def test_a_failing_call_or_an_answer_that_cannot_be_written_is_an_internal_error(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo()
    init_repo(root)
    server = Server(TaskTools(root))
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    for value in ([{"n": 2**70}], deep, [{"s": "\ud800"}]):  # what a tool could return and no JSON writer takes
        monkeypatch.setattr(TaskTools, "sync_status", lambda self, value=value: value)
        answer = strict_json(server.answer(call(1, "sync_status", {})) or b"")
        assert answer["id"] == 1 and answer["error"]["code"] == INTERNAL, answer
        monkeypatch.setattr(mcp_server, "_content", lambda value, notes, error=False: {"value": value})
        answer = strict_json(server.answer(call(2, "sync_status", {})) or b"")  # the answer itself fails to encode
        assert answer["id"] == 2 and answer["error"]["code"] == INTERNAL, answer
        monkeypatch.undo()
    ok = strict_json(server.answer(call(3, "sync_status", {})) or b"")
    assert ok["result"]["isError"] is False


# -- property: arbitrary JSON values and arbitrary bytes get exactly the answers the specification requires --------


def valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return ID_INTS[0] <= value <= ID_INTS[1]
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or (isinstance(value, str) and clean(value))


def clean(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unfit(value: Any, level: int) -> bool:
    """A value gittasks cannot keep: too deep, an integer out of range, a non-finite number, a lone surrogate."""
    if isinstance(value, dict | list):
        items = list(value.values()) + list(value) if isinstance(value, dict) else value
        return level > MAX_DEPTH or any(unfit(v, level + 1) for v in items)
    if isinstance(value, str):
        return not clean(value)
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT <= value <= MAX_INT


def expected_one(m: Any) -> tuple[Any, Any] | None:
    """What JSON-RPC 2.0 gives one message (this server's methods: initialize, ping, tools/list, tools/call)."""
    if not isinstance(m, dict):
        return None, INVALID
    reply = m.get("id") if valid_id(m.get("id")) else None
    if "method" not in m and ("result" in m or "error" in m):  # a response
        valid = m.get("jsonrpc") == "2.0" and "id" in m and valid_id(m["id"]) and ("result" in m) != ("error" in m)
        return None if valid else (reply, INVALID)
    if m.get("jsonrpc") != "2.0" or not isinstance(m.get("method"), str):
        return reply, INVALID
    if "id" in m and not valid_id(m["id"]):
        return None, INVALID
    if "params" in m and not isinstance(m["params"], dict | list):
        return reply, INVALID
    if "id" not in m:
        return None  # a notification
    if m["method"] not in METHODS:
        return reply, NO_METHOD
    params = m.get("params", {})
    if isinstance(params, list) or unfit(params, 2):
        return reply, PARAMS
    if m["method"] != "tools/call":
        return reply, RESULT
    if not isinstance(params.get("name"), str):
        return reply, PARAMS
    return reply, (RESULT, TOOL_ERROR)  # whether the tool refused depends on the arguments: either is an answer


def not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def expected_line(raw: bytes) -> Expected:
    if not raw.strip(b" \t\r\n"):
        return None
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=not_json)
    except ValueError:
        return None, PARSE
    if not isinstance(value, list):
        return expected_one(value)
    if not value:
        return None, INVALID
    answers = [a for a in map(expected_one, value) if a is not None]
    return answers or None


def matches(actual: Expected, expected: Expected) -> bool:
    """`same`, where an expected code may be a tuple of codes that are all right."""

    def fits(a: Any, e: Any) -> bool:
        return a in e if isinstance(e, tuple) else same((a,), (e,))

    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(matches(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, tuple) and isinstance(actual, tuple):
        return same((actual[0],), (expected[0],)) and fits(actual[1], expected[1])
    return actual is None and expected is None


texts = st.text(max_size=6) | st.sampled_from(["\ud800", "a\udfffb", "é", "\U0001f600", "2.0", "ping"])
edges = [*ID_INTS, ID_INTS[0] - 1, ID_INTS[1] + 1, MAX_INT, -MAX_INT, MAX_INT + 1, -MAX_INT - 1, 10**30]
numbers = st.integers() | st.sampled_from(edges)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)
ids = st.integers(0, 99) | st.none() | numbers | st.floats(allow_nan=False, allow_infinity=False) | texts | json_values
methods = (
    st.sampled_from(METHODS) | st.sampled_from(["resources/list", "notifications/initialized", "\ud800"]) | json_values
)
tool_params = st.fixed_dictionaries(
    {}, optional={"name": st.sampled_from(["task_ready", "nope"]) | json_values, "arguments": json_values}
)
params = st.dictionaries(texts, json_values, max_size=3) | tool_params | json_values
requests = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "id": st.integers(0, 99) | texts | numbers, "method": st.sampled_from(METHODS)},
    optional={"params": st.dictionaries(texts, json_values, max_size=3) | tool_params},
)
loose = st.fixed_dictionaries(
    {},
    optional={"jsonrpc": st.just("2.0") | json_values, "id": ids, "method": methods, "params": params,
              "result": json_values, "error": json_values},
)  # fmt: skip
messages = requests | loose
lines = st.one_of(requests, messages, st.lists(messages, max_size=4), json_values).map(lambda v: json.dumps(v).encode())
raw_lines = st.binary(max_size=120).map(lambda b: b.replace(b"\n", b" ")) | lines.map(lambda b: b[: len(b) // 2])


def test_any_line_gets_exactly_the_answers_json_rpc_gives_it(peer: Peer) -> None:
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(raw=st.one_of(lines, lines, lines, raw_lines))
    def property_(raw: bytes) -> None:
        expected = expected_line(raw)
        actual = got(peer.exchange(raw, check_tools=False))
        assert matches(actual, expected), f"{raw!r}: got {actual}, expected {expected}"

    property_()
    assert not peer.exchange(call("last", "task_list", {}))[0]["result"]["isError"]  # tools/call still works
    peer.close()
