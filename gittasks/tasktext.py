"""A task list's bytes in the canonical layout, the one owner of that layout: where its tasks list lies, each task's
text (inside its braces), a task found by its id and its own lines, and a list spliced from its tasks' texts.

The layout is what `document.dumps` writes (indent 2, sorted keys): no string holds a line break, only the items of
the top-level lists start a line with four spaces and a brace, only a top-level list ends a line with two spaces and
a bracket, and a task's own keys stand six spaces in. Nothing here parses a whole file: where the bytes are not laid
out so, a function gives None and the caller parses them.

Pure and light (orjson and `jsonvalue`): the merge, a change's writer, `list --json` and the history walks use it.
"""

from __future__ import annotations

from typing import Any

import orjson

from gittasks import jsonvalue

TASK_OPTION = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS  # a task alone, as the file holds it (less its indent)
TASK_DEPTH = 3  # a task's nesting level in the file: the document, its tasks list, the task

_TASKS_KEY = b'\n  "tasks": '
_NO_TASKS = _TASKS_KEY + b"[]"
_TASKS_OPEN = _TASKS_KEY + b"[\n    {\n"
_TASK_BOUNDARY = b"\n    },\n    {\n"
_TASKS_CLOSE = b"\n    }\n  ]"
_TASK_START = b"\n    {\n"
_TASK_END = b"\n    }"
_OWN_KEY = b'\n      "'  # a task's own key: six spaces in
_ID_KEY = b'      "id": '
_NEAR = 65536  # bytes either side of a task's place in another version looked at first


def laid_out(raw: bytes) -> bool:
    """Does the file begin as the layout does (a top-level object, two spaces in)? A quick sign, not a proof."""
    return raw.startswith(b'{\n  "')


def _tasks_list(raw: bytes) -> tuple[int, int, int] | None:
    """Where a non-empty tasks list lies: the offset of its `"tasks"` line, of its first task's text, and of the line
    `  ]` that closes it; None when the file is not laid out so."""
    start = raw.find(_TASKS_OPEN)
    if start < 0:
        return None
    inner = start + len(_TASKS_OPEN)
    end = raw.find(b"\n  ]", inner)  # the first line at the top level's indent closing a list: the tasks' end
    if end < 0 or raw[end - len(_TASKS_CLOSE) + 4 : end + 4] != _TASKS_CLOSE:
        return None
    return start, inner, end


def task_texts(raw: bytes) -> tuple[bytes, list[bytes], bytes] | None:
    """A task file cut, without parsing it, into the text before its tasks list, the text inside each task's braces,
    and the text after the list; None when the file is not laid out so (no task, another indent, CRLF, ...), so the
    cuts fall exactly between tasks."""
    found = _tasks_list(raw)
    if found is None:
        return None
    start, inner, end = found
    return raw[:start], raw[inner : end - len(_TASKS_CLOSE) + 4].split(_TASK_BOUNDARY), raw[end + 4 :]


def without_tasks(before: bytes, after: bytes) -> bytes:
    """The file `task_texts` cut into `before`, tasks and `after`, with an empty tasks list: the rest to parse."""
    return before + _NO_TASKS + after


def splice(frame: bytes, texts: list[bytes]) -> bytes:
    """A file in the layout made of `frame` (the file dumped with an empty tasks list) and its tasks' texts."""
    if not texts:
        return frame
    at = frame.index(_NO_TASKS)
    return frame[:at] + _TASKS_OPEN + _TASK_BOUNDARY.join(texts) + _TASKS_CLOSE + frame[at + len(_NO_TASKS) :]


def tasks_json(raw: bytes) -> bytes | None:
    """The tasks list of a file in the layout as JSON of its own (indent 2: two spaces less), without parsing it;
    None when the bytes are not laid out so."""
    if raw.find(_NO_TASKS) >= 0:
        return b"[]\n"
    found = _tasks_list(raw)
    if found is None:
        return None
    start, _, end = found
    return raw[start + len(_TASKS_KEY) : end].replace(b"\n  ", b"\n") + b"\n]\n"


def text_id(text: bytes) -> str | None:
    """The id of a task text `task_texts` cut out, read from its `"id"` line alone."""
    at = 0 if text.startswith(_ID_KEY) else text.find(b"\n" + _ID_KEY) + 1
    if at <= 0 and not text.startswith(_ID_KEY):
        return None
    start = at + len(_ID_KEY)
    end = text.find(b"\n", start)
    value = text[start : end if end >= 0 else len(text)].rstrip(b",")
    if value[:1] == b'"' and value[-1:] == b'"' and b"\\" not in value:
        return value[1:-1].decode("utf-8", "surrogateescape")  # (no escape: the text is the id)
    try:
        found = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return found if isinstance(found, str) else None


def texts_by_id(texts: list[bytes]) -> dict[str, bytes] | None:
    """{id: text} of the tasks `task_texts` cut out; None when a text has no readable id or an id repeats."""
    out: dict[str, bytes] = {}
    for text in texts:
        tid = text_id(text)
        if tid is None or tid in out:
            return None
        out[tid] = text
    return out


def task_from_text(text: bytes) -> dict[str, Any]:
    """The task a text cut out by `task_texts` holds, checked as the reader checks every value."""
    task = orjson.loads(b"{\n" + text + b"\n}")
    if not isinstance(task, dict):
        raise jsonvalue.DocumentError("a task of the list is not a JSON object")
    return jsonvalue.checked_value(task, "a task of the list", depth=TASK_DEPTH)


def task_text(task: dict[str, Any]) -> bytes:
    """A task's text in the layout, as `task_texts` cuts it. Not checked as the writer checks (see `check_task`), but
    what orjson cannot write is named as the writer names it."""
    try:
        alone = orjson.dumps(task, option=TASK_OPTION)  # b'{\n  "a": 1\n}'
    except orjson.JSONEncodeError:
        alone = jsonvalue.dumps_checked(task, TASK_OPTION, depth=TASK_DEPTH)
    return b"    " + alone[2:-2].replace(b"\n", b"\n    ")


def check_task(task: dict[str, Any]) -> None:
    """Refuse (DocumentError) a task whose text the reader would refuse (orjson writes a NaN as null)."""
    jsonvalue.dumps_checked(task, TASK_OPTION, depth=TASK_DEPTH)


def _id_line(task_id: str) -> bytes:
    """The line holding a task's id, from its line break to its comma (`subject`, always there, sorts after `id`)."""
    return b"\n" + _ID_KEY + orjson.dumps(task_id) + b","


def task_object(raw: bytes, task_id: str) -> bytes | None:
    """The text of the task `task_id` with its braces (a JSON object), cut out of a file in the layout without
    parsing the file; None when its `"id"` line is not there exactly once or the task does not read as laid out."""
    needle = _id_line(task_id)
    at = raw.find(needle)
    if at < 0 or raw.find(needle, at + 1) >= 0:
        return None
    start = raw.rfind(_TASK_START, 0, at)
    end = raw.find(_TASK_END, at)
    if start < 0 or end < 0:
        return None
    return raw[start + len(_TASK_START) - 2 : end + len(_TASK_END)]


def id_at(raw: bytes, task_id: str, near: int | None = None) -> int:
    """Where the `"id"` line of the task `task_id` is in a file in the layout, -1 when it is not there; `near`: its
    place in another version of the file, looked around first (tasks keep their place)."""
    needle = _id_line(task_id)
    at = raw.find(needle, max(0, near - _NEAR), near + _NEAR) if near is not None else -1
    return at if at >= 0 else raw.find(needle)


def task_end(raw: bytes, at: int) -> int:
    """Where the line closing the task whose `"id"` line is at `at` begins, -1 when there is none."""
    return raw.find(_TASK_END, at)


def own_value(raw: bytes, key: str, at: int, end: int) -> bytes | None:
    """The JSON text of the value on the task's own `KEY` line, a key sorting after `id`, looked for between its
    `"id"` line at `at` and its closing line at `end`; None when the task has no such line."""
    prefix = _OWN_KEY + key.encode() + b'": '
    where = raw.find(prefix, at, end)
    if where < 0:
        return None
    line_end = raw.find(b"\n", where + 1, end + 1)
    return raw[where + len(prefix) : line_end].rstrip(b",")
