"""What a task file's JSON may hold, for the reader and the writer alike: the reader's check of every JSON value it
takes in (`checked_value`, `loads`) and the writer's refusal of what the reader would refuse (`dumps_checked`), each
naming the file, the task and the field in one line (`DocumentError`).

Pure and light (the standard library and orjson): every reader of a task file, the merge driver's too, goes through it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from gittasks.errors import GittasksError

_NOT_A_NUMBER = re.compile(rb"-?(NaN|Infinity)")

# What a task file's JSON may hold (docs/task-format.md, "JSON"), for the reader and the writer alike:
# - nesting at most MAX_DEPTH deep: every reader and writer here recurses, and orjson writes no more than 254;
# - integers within +-MAX_INT: JavaScript (the board, the assistant's client) and Go read every number as a double,
#   which holds each integer exactly only up to 2**53; past it they would read another value, without a word;
# - numbers that are finite doubles, strings that are UTF-8 (no lone surrogate), no NaN or Infinity: what orjson
#   reads and writes as RFC 8259 says (it refuses the rest when it reads; the writer refuses them before it).
# A key given twice keeps its last value, as JavaScript, Go, Python and orjson all read it; the writer never
# writes one twice.
MAX_DEPTH = 64
MAX_INT = 2**53
_BIG_FLOAT = float(2**63)  # orjson reads an integer past 64 bits as a float: one this large may have been one


class DocumentError(GittasksError, ValueError):
    """A task file that cannot be used; the message is one line naming the file and the place."""


def why_invalid(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """What orjson found wrong, in this module's words where its own say less."""
    found = _NOT_A_NUMBER.match(raw, exc.pos)
    if found is not None:
        return f"{found.group().decode()} is no JSON number"
    return f"nested more than {MAX_DEPTH} levels deep" if exc.msg == "depth limit exceeded" else exc.msg


def _fits(value: Any, depth: int = 1) -> bool | None:
    """Does `value` (parsed JSON, at nesting level `depth`: an array or object holding it is one level deeper)
    hold only what MAX_DEPTH and MAX_INT allow, and no NaN or infinite number? None: yes, but with a float so large
    that it may have been an integer literal past 64 bits (see `_exact_integers`). A breadth-first walk without
    recursion, fast on plain dicts, lists and strings; strings and keys are left to orjson, which refuses a lone
    surrogate or a key that is no string both ways."""
    level = [value] if isinstance(value, (dict, list, tuple)) else []
    if not level:
        return _leaf_fits(value)
    big = False
    while level:
        if depth > MAX_DEPTH:
            return False
        below: list[Any] = []
        add = below.append
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                kind = type(child)
                if kind is str or child is None or kind is bool:
                    continue
                if kind is dict or kind is list:
                    if child:
                        add(child)
                    elif depth >= MAX_DEPTH:
                        return False
                elif kind is int:
                    if child > MAX_INT or child < -MAX_INT:
                        return False
                elif kind is float:
                    if child - child != 0.0:  # NaN or infinite
                        return False
                    big = big or not -_BIG_FLOAT < child < _BIG_FLOAT
                elif isinstance(child, (dict, list, tuple)):
                    if child:
                        add(child)
                    elif depth >= MAX_DEPTH:
                        return False
                else:
                    found = _leaf_fits(child)
                    if found is False:
                        return False
                    big = big or found is None
        level = below
        depth += 1
    return None if big else True


def _leaf_fits(value: Any) -> bool | None:
    if isinstance(value, float):
        return False if value - value != 0.0 else None if not -_BIG_FLOAT < value < _BIG_FLOAT else True
    if isinstance(value, int) and not isinstance(value, bool):
        return -MAX_INT <= value <= MAX_INT
    return True


def _problem(value: Any, depth: int = 1) -> tuple[list[Any], str] | None:
    """(where, what) of the first thing in `value` that no JSON task file may hold (see MAX_DEPTH), None when there
    is none. Slower than `_fits` (it keeps the path, and looks at every string and key): run to name a problem."""
    stack: list[tuple[Any, list[Any], int]] = [(value, [], depth)]
    while stack:
        item, path, level = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            if not _utf8(item):
                return path, "a string holding a lone surrogate, which UTF-8 cannot hold"
            continue
        if isinstance(item, int):
            if not -MAX_INT <= item <= MAX_INT:
                return path, f"the integer {item} is beyond +-2**53, what JavaScript and Go read exactly"
            continue
        if isinstance(item, float):
            if item - item != 0.0:
                return path, f"{'NaN' if item != item else '-Infinity' if item < 0 else 'Infinity'} is no JSON number"
            continue
        if isinstance(item, (dict, list, tuple)):
            if level > MAX_DEPTH:
                return path, f"nested more than {MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        return path, f"the key {key!r} is not a string"
                    if not _utf8(key):
                        return path, "a key holding a lone surrogate, which UTF-8 cannot hold"
                children = list(item.items())
            else:
                children = list(enumerate(item))
            stack.extend((child, [*path, key], level + 1) for key, child in reversed(children))
            continue
        return path, f"a value of type {type(item).__name__}, which is no JSON value"
    return None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _place(root: Any, path: list[Any]) -> str:
    """Where `path` leads in `root`, for a message: the task (by id) and its field when it is in one."""
    task, field = None, path
    if isinstance(root, dict) and path[:1] == ["tasks"] and len(path) > 1 and isinstance(root.get("tasks"), list):
        items = root["tasks"]
        task = items[path[1]] if isinstance(path[1], int) and path[1] < len(items) else None
        field = path[2:]
    elif isinstance(root, dict) and "id" in root and "subject" in root:
        task = root
    dotted = ".".join(str(part) for part in field[:6]) + (f"... ({len(field)} levels)" if len(field) > 6 else "")
    if isinstance(task, dict):
        tid = task.get("id")
        return (
            f"task {_quoted(tid)}" + (f", field {_quoted(dotted)}" if dotted else "")
            if isinstance(tid, str)
            else dotted
        )
    return f"field {_quoted(dotted)}" if dotted else "the value"


def _quoted(text: str) -> str:
    """`text` in single quotes whatever it holds (repr() would switch to double quotes around a single quote)."""
    shown = repr(text)  # (control characters escaped: a message stays one line)
    return shown if shown.startswith("'") else "'" + shown[1:-1].replace("'", "\\'") + "'"


def _exact_integers(raw: bytes, name: str) -> None:
    """Refuse an integer literal past MAX_INT that orjson read as a float (past 64 bits), read again by the
    standard library, which keeps each literal's text (only for a file holding such a large float)."""

    def integer(text: str) -> int:
        number = int(text)
        if not -MAX_INT <= number <= MAX_INT:
            raise DocumentError(
                f"{name}: the integer {text[:40]} is beyond +-2**53, what JavaScript and Go read exactly; write it "
                "as a string, or restore the file from git"
            )
        return number

    json.loads(raw, parse_int=integer)


def checked_value(value: Any, name: str, *, raw: bytes | None = None, depth: int = 1) -> Any:
    """`value` (JSON as orjson read it from `raw`, at nesting level `depth`) when it is what a task file may hold,
    else DocumentError naming the file and the place: the reader's check of every JSON it takes in."""
    fits = _fits(value, depth)
    if fits is None and raw is not None:
        _exact_integers(raw, name)
    elif fits is False:
        found = _problem(value, depth)
        if found is not None:
            raise DocumentError(f"{name}: {_place(value, found[0])}: {found[1]}; fix the file or restore it from git")
    return value


def loads(raw: bytes, name: str) -> Any:
    """Any JSON value (a hook's payload, an option's value) read as a task file's JSON is read, the same rules:
    DocumentError naming `name` in one line when it breaks one."""
    try:
        return checked_value(orjson.loads(raw), name, raw=raw)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(f"{name}: not valid JSON ({why_invalid(raw, exc)})") from None


def dumps_checked(value: Any, option: int, depth: int = 1) -> bytes:
    """orjson's JSON of `value` when the reader would take it back as it is (`_fits`), else DocumentError naming
    the task and the field in one line: the writer never writes what the reader refuses."""
    if _fits(value, depth) is not False:
        try:
            return orjson.dumps(value, option=option)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate, a key that is no string, a value that is no JSON: named below
    found = _problem(value, depth)
    where, what = (_place(value, found[0]), found[1]) if found else ("the value", "not JSON")
    raise DocumentError(f"{where}: {what}; nothing was written")
