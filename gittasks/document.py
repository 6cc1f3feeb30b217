"""The task files as plain parsed JSON: parse, structural check, canonical form and bytes; the JSONL reader and
writer (archive and work-item files, one object a line) and the conflict record.

What JSON a task file may hold is `jsonvalue`'s, the canonical layout's bytes are `tasktext`'s. Pure (bytes in,
bytes out) and light: the merge driver, the read path and the store all use it, so it imports only the standard
library, orjson and the core's own modules.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

# (`X as X`: a name the modules above read from here, stated in another module)
from gittasks import rules, schema_table, tasktext
from gittasks.jsonvalue import MAX_DEPTH as MAX_DEPTH
from gittasks.jsonvalue import MAX_INT as MAX_INT
from gittasks.jsonvalue import DocumentError, checked_value, dumps_checked, why_invalid
from gittasks.jsonvalue import loads as loads
from gittasks.tasktext import task_from_text, task_texts, texts_by_id
from gittasks.tasktext import tasks_json as tasks_json

Document = dict[str, Any]
Task = dict[str, Any]

_MARKER = re.compile(rb"^(<{7}|={7}|>{7}|\|{7})(?: |$)", re.MULTILINE)
_NATURAL = re.compile(r"(\d+)")


def as_object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (for optional nested fields such as metadata)."""
    return value if isinstance(value, dict) else {}


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting "2" before "10" and leaving other text in code-point order."""
    return tuple((0, int(part)) if part.isdecimal() else (1, part) for part in _NATURAL.split(text) if part)


# `natural_key` memoised, for the sorts below and the merge's: the same ids come up again and again.
cached_natural_key = functools.lru_cache(maxsize=1 << 16)(natural_key)


def task_order_key(task: Task) -> tuple[Any, ...]:
    created = task.get("created_at")
    return (
        created if isinstance(created, str) else "",
        cached_natural_key(str(task.get("id", ""))),
        str(task.get("id")),
    )


def listing_order(tasks: Iterable[Task], sort: str | None) -> list[Task]:
    """Tasks in the order `list --sort` names (`rules.LIST_SORTS`): by status (`rules.LIST_STATUS_ORDER`), by the
    last change (newest first), by priority or due date (`schedule.order_key`: those without one last) or by id
    (which also breaks the other orders' ties: numbers as numbers first, the generated ids in alphabetical order);
    None: as given."""
    if sort is None:
        return list(tasks)

    def by_id(task: Task) -> tuple[int, int, str]:
        text = str(task.get("id", ""))
        return (0, len(text), text) if text.isdecimal() and text.isascii() else (1, 0, text)  # 9 before 10

    out = sorted(tasks, key=by_id)
    if sort == "status":
        ranks: dict[Any, int] = {status: n for n, status in enumerate(rules.LIST_STATUS_ORDER)}
        out.sort(key=lambda t: ranks.get(str(t.get("status", rules.PENDING)), len(ranks)))
    elif sort == "updated":
        out.sort(key=lambda t: rules.ordering_stamp(t.get("updated_at")), reverse=True)
    elif sort in ("priority", "due"):
        from gittasks import schedule  # (only these orders read the metadata's priority and due date)

        out.sort(key=schedule.order_key(sort))
    return out


def _sort_tasks(tasks: list[Task]) -> list[Task]:
    """`sorted(tasks, key=task_order_key)`, without computing the whole key of every task.

    Sorted by `created_at` first (stable); only the runs of tasks that share a `created_at` are then sorted by the
    whole key, which gives the same order. A list already in canonical order takes one pass.
    """
    created = [c if isinstance(c := task.get("created_at"), str) else "" for task in tasks]
    order = sorted(range(len(tasks)), key=created.__getitem__)
    out = [tasks[i] for i in order]
    if len(set(created)) == len(created):
        return out
    start = 0
    while start < len(out):
        stamp = created[order[start]]
        end = start + 1
        while end < len(out) and created[order[end]] == stamp:
            end += 1
        if end - start > 1:
            out[start:end] = sorted(out[start:end], key=task_order_key)
        start = end
    return out


def is_blank(raw: bytes) -> bool:
    """Nothing but a BOM and ASCII whitespace (what `bytes.strip` removes), found without copying the bytes."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    return not raw or raw.isspace()


def parse_bytes(raw: bytes, name: str) -> Any:
    """Parse JSON bytes (a UTF-8 BOM and CRLF are read as if absent); DocumentError with line and column if not."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # Valid JSON holds no conflict-marker line, no NUL byte and only UTF-8 (orjson refuses all three), so a file
    # orjson reads passes every check below: they run, in order, only to name what is wrong with one it refuses.
    try:
        value = orjson.loads(raw)
    except Exception:
        pass
    else:
        return checked_value(value, name, raw=raw)
    marker = _MARKER.search(raw) if (b"<<<<<<<" in raw or b">>>>>>>" in raw or b"|||||||" in raw) else None
    if marker is not None:
        line = raw.count(b"\n", 0, marker.start()) + 1
        raise DocumentError(
            f"{name}:{line}: conflict markers from a line merge; run `gittasks doctor --fix` to merge it field by field"
        )
    if b"\x00" in raw:
        raise DocumentError(f"{name}: contains a NUL byte; this is not a task file, restore it from git")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DocumentError(f"{name}:{line}: bytes that are not UTF-8; fix or restore the file from git") from None
    try:
        return checked_value(orjson.loads(raw), name, raw=raw)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(
            f"{name}:{exc.lineno}:{exc.colno}: not valid JSON ({why_invalid(raw, exc)}); fix the file, or delete it to "
            "get the last committed version back (`gittasks log` shows the history)"
        ) from None


MISSING: Any = object()  # a field that is absent, in a schema problem


def field_message(path: str, expected: str, value: Any) -> str:
    """The one wording of a field the schema refuses, for every check (the structural one below, the write path's
    `taskcheck`, pydantic's `schema`); `expected` comes from `schema_table`."""
    if value is MISSING:
        return f"field {path!r} is required: {expected}"
    found = repr(value if len(value) <= 40 else value[:40] + "...") if isinstance(value, str) else _kind(value)
    return f"{f'field {path!r}' if path else 'the task'} must be {expected}, not {found}"


def json_type(value: Any) -> str:
    """The JSON Schema type of a parsed JSON value ("number" for both kinds of number, as the schema has no integer)."""
    return _JSON_TYPES.get(type(value), "number")


_JSON_TYPES: dict[type, str] = {str: "string", dict: "object", list: "array", bool: "boolean", type(None): "null"}


def _read_rule(name: str) -> tuple[str, type[Any], bool, type[Any] | None, int, str, str]:
    rule = schema_table.TASK[name]
    python = {"string": str, "array": list, "object": dict}
    kind = next(t for t in rule.types if t != "null")
    least = rule.min_length if name == "id" else 0  # the id is a key: never empty
    items = python[rule.items] if rule.items else None
    return name, python[kind], not rule.required, items, least, rule.expected, rule.item_expected


# What every reader needs of a task (docs/task-format.md, "What a valid file is"), as the schema states it: the required
# fields and the dependency lists (readiness follows them), of the schema's types; the id also non-empty. A read
# takes the rest as it is (an empty subject, a status from a newer gittasks, a null list): only a write refuses it.
_READ_RULES = tuple(
    _read_rule(name)
    for name in dict.fromkeys([*(n for n, r in schema_table.TASK.items() if r.required), *rules.ID_LIST_FIELDS])
)


def check_task(task: Any, where: str) -> None:
    if not isinstance(task, dict):
        raise DocumentError(f"{where}: a task must be a JSON object, not {_kind(task)}")
    for name, kind, optional, items, least, expected, item_expected in _READ_RULES:
        value: Any = task.get(name, MISSING)
        if value is MISSING or value is None:
            if optional:
                continue
            message = field_message(name, expected, value)
        elif not isinstance(value, kind) or len(value) < least:
            message = field_message(name, expected, value)
        elif items is not None and value and not all(isinstance(item, items) for item in value):
            index = next(i for i, item in enumerate(value) if not isinstance(item, items))
            message = field_message(f"{name}.{index}", item_expected, value[index])
        else:
            continue
        named = f" (id {task['id']!r})" if name != "id" else ""  # the id comes first: past it, it is good
        raise DocumentError(f"{where}{named}: {message}; fix the file or restore it from git")


def _task_index(tasks: list[Any], checked: set[int] | frozenset[int] = frozenset()) -> dict[str, Task] | None:
    """The tasks by id when every task passes `check_task` and no id repeats, else None (a quick pass that builds
    no message, and takes only plain dicts and strings). `checked`: the `id()` of task objects known to pass."""
    index: dict[str, Task] = {}
    for task in tasks:
        if id(task) in checked:
            index[task["id"]] = task
            continue
        if type(task) is not dict:
            return None
        task_id = task.get("id")
        if type(task_id) is not str or not task_id or type(task.get("subject")) is not str:
            return None
        for field in rules.ID_LIST_FIELDS:
            values = task.get(field)
            if values is not None and (
                type(values) is not list or (values and any(type(v) is not str for v in values))
            ):
                return None
        index[task_id] = task
    return index if len(index) == len(tasks) else None


def check_document(doc: Any, name: str) -> Document:
    """The structural check of docs/task-format.md ("What a valid file is"); returns the document."""
    return _check_document(doc, name)[0]


def _check_document(
    doc: Any, name: str, by_id: dict[str, Task] | None = None
) -> tuple[Document, dict[str, Task] | None]:
    """`check_document`, and the tasks by id (None when the quick pass did not give them; `by_id`: that pass's result
    when the caller made it)."""
    if not isinstance(doc, dict):
        raise DocumentError(f"{name}: the top level must be a JSON object with a 'tasks' list, not {_kind(doc)}")
    tasks = doc.get("tasks")
    if not isinstance(tasks, list):
        raise DocumentError(f"{name}: no 'tasks' list at the top level; this is not a gittasks task file")
    by_id = by_id if by_id is not None else _task_index(tasks)
    if by_id is None:  # the full check, to name the first problem (or to accept subclasses of dict or str)
        seen: set[str] = set()
        for index, task in enumerate(tasks):
            check_task(task, f"{name}: tasks[{index}]")
            if task["id"] in seen:
                raise DocumentError(f"{name}: tasks[{index}]: duplicate id {task['id']!r}; give one of them a new id")
            seen.add(task["id"])
    conflicts = doc.get("conflicts")
    if conflicts is not None and not isinstance(conflicts, list):
        raise DocumentError(f"{name}: 'conflicts' must be a list")
    return doc, by_id


def load_document(raw: bytes, name: str) -> Document:
    return check_document(parse_bytes(raw, name), name)


def check_file(raw: bytes, name: str) -> None:
    """The structural check of any task file, by its path `name`: the active list (a document), an archive month
    (task lines, one per id) or a work-item month (one object a line): what every machine needs to read and merge
    it. DocumentError naming the file and the place."""
    path = "/" + name.replace("\\", "/")
    if not path.endswith(".jsonl"):
        load_document(raw, name)
    elif f"/{rules.WORK_ITEMS_DIR}/" in path:
        read_lines(raw, name)
    else:
        read_task_lines(raw, name, unique=True)


def load_document_indexed(raw: bytes, name: str) -> tuple[Document, dict[str, Task] | None]:
    """`load_document`, and its tasks by id as the check found them (None when it did not give them), so that the
    merge does not index them again."""
    return _check_document(parse_bytes(raw, name), name)


# -- several versions of one task file (the sides of a merge), and a change's rewrite of one ---------------------------


class Versions:
    """Several versions of one task file read as `load_document_indexed` reads each, the first one first: a task
    whose text in a later version is the same as in the first is the first version's task (the same object, not
    parsed again). In a merge most tasks are the same on every side, and parsing is most of its cost. A version not
    in the canonical layout is parsed whole."""

    def __init__(self, raw: bytes, name: str) -> None:
        self.first = load_document_indexed(raw, name)
        self._known = _tasks_by_text(raw, self.first)

    def load(self, raw: bytes, name: str) -> tuple[Document, dict[str, Task] | None]:
        return _load_sharing(raw, name, self._known) if self._known else load_document_indexed(raw, name)


def _tasks_by_text(raw: bytes, loaded: tuple[Document, dict[str, Task] | None]) -> dict[bytes, Task]:
    """{text inside the braces: task} of a checked version, when its cut matches its tasks one by one; else {}."""
    doc, index = loaded
    cut = task_texts(raw)
    tasks = doc["tasks"]
    if cut is None or index is None or len(cut[1]) != len(tasks):
        return {}
    texts = cut[1]
    if any(tasktext.text_id(text) != task["id"] for text, task in zip(texts, tasks, strict=True)):
        return {}
    return dict(zip(texts, tasks, strict=True))


def _load_sharing(raw: bytes, name: str, known: dict[bytes, Task]) -> tuple[Document, dict[str, Task] | None]:
    cut = task_texts(raw)
    if cut is None or raw.startswith(b"\xef\xbb\xbf"):
        return load_document_indexed(raw, name)
    before, texts, after = cut
    try:
        doc = checked_value(orjson.loads(tasktext.without_tasks(before, after)), name)
        tasks = [known.get(text) or task_from_text(text) for text in texts]
    except (orjson.JSONDecodeError, DocumentError):
        return load_document_indexed(raw, name)  # names the place of what is wrong
    if type(doc) is not dict or doc.get("tasks") != []:
        return load_document_indexed(raw, name)
    doc["tasks"] = tasks
    shared = {id(task) for task in known.values()}
    return _check_document(doc, name, _task_index(tasks, shared))


@dataclass
class Rewrite:
    """A changed task list's canonical bytes (`dumps`) and what differs from the version it was read from, found
    by comparing each task's canonical text with its text there: the tasks new or changed (with their places in
    the list), and the earlier versions of those and of the tasks removed."""

    data: bytes
    changed: list[tuple[int, Task]]
    removed: list[Task]
    earlier: dict[str, Task]


def dumps_changed(doc: Document, before: bytes) -> Rewrite | None:
    """`dumps(doc)` and what changed since `before` (the file `doc` was read from), without parsing `before` again
    or comparing every task as objects: only the texts of the tasks that differ are parsed. None when `before` is
    not in the canonical layout (`task_texts`): the caller then compares the parsed versions."""
    cut = task_texts(before)
    if cut is None:
        return None
    old = texts_by_id(cut[1])
    if old is None:
        return None
    view = canonical_view(doc)
    texts = [tasktext.task_text(task) for task in view["tasks"]]
    place = {task["id"]: index for index, task in enumerate(doc["tasks"])}
    changed: list[tuple[int, Task]] = []
    earlier: dict[str, Task] = {}
    present: set[str] = set()
    for task, text in zip(view["tasks"], texts, strict=True):
        tid = task["id"]
        present.add(tid)
        was = old.get(tid)
        if was == text:
            continue  # the text read (and checked) before: whatever the task holds, that text is what is written
        tasktext.check_task(task)
        if was is not None:
            earlier[tid] = task_from_text(was)
            if earlier[tid] == doc["tasks"][place[tid]]:  # the same task in another spelling: unchanged
                del earlier[tid]
                continue
        changed.append((place[tid], doc["tasks"][place[tid]]))
    removed = []
    for tid, text in old.items():
        if tid not in present:
            earlier[tid] = task_from_text(text)
            removed.append(earlier[tid])
    changed.sort(key=lambda item: item[0])
    return Rewrite(tasktext.splice(dump_json({**view, "tasks": []}), texts), changed, removed, earlier)


def task_ids(raw: bytes, name: str) -> set[str]:
    """The ids of a task list's tasks, read from their `"id"` lines when the file is in the canonical layout (not
    parsing a large list), else from the checked document (DocumentError as `load_document`)."""
    cut = task_texts(raw)
    texts = texts_by_id(cut[1]) if cut is not None else None
    if texts is not None:
        return set(texts)
    return {t["id"] for t in load_document(raw, name)["tasks"]}


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _sorted_unique_ids(values: Any) -> Any:
    if isinstance(values, list) and all(isinstance(v, str) for v in values):
        if len(values) < 2:
            return list(values)
        return sorted(set(values), key=cached_natural_key)
    return values


def canonical_task(task: Task) -> Task:
    out = dict(task)
    for field in rules.ID_LIST_FIELDS:
        if field in out:
            out[field] = _sorted_unique_ids(out[field])
    return out


def _is_canonical_task(task: Task) -> bool:
    """True when `canonical_task(task)` has the same JSON as `task`: its id lists are already sorted and unique."""
    for field in rules.ID_LIST_FIELDS:
        values = task.get(field)
        if type(values) is not list:
            if field in task and isinstance(values, list):  # a subclass of list: canonical_task decides
                return False
            continue
        if len(values) > 1:
            ordered = _sorted_unique_ids(values)
            if ordered is not values and ordered != values:
                return False
    return True


def conflict_key(record: Any) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def conflict_value(value: Any, machine: Any, updated_at: Any) -> dict[str, Any]:
    """One side's value in a conflict record, with the machine and stamp of that side's change."""
    return {"value": value, "machine": machine, "updated_at": updated_at}


# the field of a conflict record about a whole task (deleted on one side and edited on the other; one task both active
# and archived): a word, so that `gittasks resolve ID task` needs no quoting; records written before say "*"
WHOLE_TASK = "task"
WHOLE_TASK_BEFORE = "*"


def record_field(name: Any) -> Any:
    """The field a conflict record (or a `resolve` argument) names, the old spelling of a whole task read as today's."""
    return WHOLE_TASK if name == WHOLE_TASK_BEFORE else name


def conflict_record(
    task_id: str | None, field: str, kind: str, values: Iterable[dict[str, Any]], *, base: Any = None, kept: Any = None
) -> dict[str, Any]:
    """A conflict record (docs/task-format.md, "Conflicts"): what was kept and every value that was not, sorted so that
    the record is the same whichever side made it."""
    return {
        "task": task_id,
        "field": field,
        "kind": kind,
        "base": base,
        "values": sorted(values, key=conflict_key),
        "kept": kept,
    }


def canonical_conflicts(records: Iterable[Any]) -> list[Any]:
    unique = {conflict_key(r): r for r in records}
    return [unique[k] for k in sorted(unique)]


def canonical(doc: Document) -> Document:
    """The document in canonical form: tasks in stable order, id lists sorted, conflict records sorted and unique."""
    return _canonical(doc, share=False)


def canonical_view(doc: Document) -> Document:
    """`canonical(doc)` to read or serialise, not to change: a task whose canonical form has the same JSON is the
    document's own (not copied)."""
    return _canonical(doc, share=True)


def _canonical(doc: Document, *, share: bool) -> Document:
    """`canonical(doc)`; with `share`, a task whose canonical form has the same JSON is used as it is, not copied
    (for a result that is only serialised)."""
    out = dict(doc)
    tasks = doc.get("tasks", [])
    if share and type(tasks) is list and all(type(t) is dict for t in tasks):
        tasks = [t if _is_canonical_task(t) else canonical_task(t) for t in tasks]
    else:
        tasks = [canonical_task(t) for t in tasks]
    out["tasks"] = _sort_tasks(tasks)
    if "conflicts" in out and isinstance(out["conflicts"], list):
        if out["conflicts"]:
            out["conflicts"] = canonical_conflicts(out["conflicts"])
        else:
            del out["conflicts"]
    return out


def dump_json(value: Any) -> bytes:
    """JSON with sorted keys, indent 2 and a trailing newline; DocumentError (one line, naming the task and the field)
    for a value the reader would refuse (`checked_value`): nothing is written then."""
    return dumps_checked(value, orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def dumps(doc: Document) -> bytes:
    """Canonical bytes of a task document: the same document always gives the same bytes."""
    return dump_json(canonical_view(doc))


def dump_line(value: Any) -> bytes:
    """One JSON object on one line (archive and work-item files)."""
    return dumps_checked(value, orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


def dump_lines(values: Iterable[Any]) -> bytes:
    """A JSONL file: each value on its own line, in the order given."""
    return b"".join(dump_line(v) for v in values)


def dump_records(records: Iterable[Any]) -> bytes:
    """A JSONL file of records with no key to order them by (work items): lines in the order of their bytes, so that
    every machine writes the same file."""
    return b"".join(sorted(dump_line(r) for r in records))


# -- JSONL: the one reader of archive and work-item files -----------------------------------------------------------


def parse_line(line: bytes, where: str) -> dict[str, Any] | None:
    """One line of a JSONL file: a JSON object, None for a blank line (a trailing CR is read as if absent)."""
    line = line.rstrip(b"\r\n")
    if not line.strip():
        return None
    if _MARKER.match(line):
        raise DocumentError(f"{where}: conflict markers from a line merge; run `gittasks doctor --fix` to merge it")
    try:
        value = checked_value(orjson.loads(line), where, raw=line)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(
            f"{where}: not valid JSON ({why_invalid(line, exc)}); fix the line or restore it from git"
        ) from None
    if not isinstance(value, dict):
        raise DocumentError(f"{where}: each line must be a JSON object")
    return value


def iter_lines(lines: Iterable[bytes], name: str) -> Iterator[dict[str, Any]]:
    """The objects of a JSONL file given line by line (a file opened in binary mode, say); a BOM is skipped."""
    for number, line in enumerate(lines, start=1):
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        value = parse_line(line, f"{name}:{number}")
        if value is not None:
            yield value


def read_lines(raw: bytes, name: str) -> list[dict[str, Any]]:
    """The objects of a JSONL file, one per non-empty line."""
    return list(iter_lines(raw.split(b"\n"), name))


def iter_task_lines(lines: Iterable[bytes], name: str, *, unique: bool = False) -> Iterator[Task]:
    """The tasks of an archive file given line by line, each structurally checked; with `unique`, a repeated id is
    refused (the merge needs one task per id)."""
    seen: set[str] = set()
    for number, task in enumerate(iter_lines(lines, name), start=1):
        check_task(task, f"{name}: task {number}")
        if unique:
            if task["id"] in seen:
                raise DocumentError(f"{name}: task {number}: duplicate id {task['id']!r}; give one of them a new id")
            seen.add(task["id"])
        yield task


def read_task_lines(raw: bytes, name: str, *, unique: bool = False) -> list[Task]:
    """The tasks of an archive file (see `iter_task_lines`)."""
    return list(iter_task_lines(raw.split(b"\n"), name, unique=unique))
