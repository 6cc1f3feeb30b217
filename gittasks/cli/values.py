"""What the commands read from the command line, checked and parsed: text that must be UTF-8, `KEY=VALUE` options,
a JSON file or standard input."""

from __future__ import annotations

import dataclasses
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from gittasks import edits
from gittasks.errors import GittasksError


class NotUtf8(GittasksError):
    """A command-line value that is not UTF-8: the command line is at fault, so a usage error."""

    exit_code = 2


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    return []


def _shown(text: str) -> str:
    """`text` with what is not UTF-8 shown as the bytes that came: a Latin-1 é as \\xe9."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "backslashreplace")
    shown = raw.decode("utf-8", "backslashreplace")
    return shown if len(shown) <= 40 else shown[:39] + "…"


def utf8_only(name: str, value: Any) -> None:
    """Refuse `value` (a string, or lists and dicts of them), given on the command line as `name`, when it is not
    UTF-8: on POSIX Python keeps such bytes (a Latin-1 terminal's é) as lone surrogates, which no task file,
    commit message or JSON can hold. Called before the repository is opened, so nothing is written."""
    for text in _texts(value):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise NotUtf8(
                f"{name} '{_shown(text)}' is not UTF-8; the terminal must send UTF-8 (a UTF-8 locale, e.g. "
                "LANG=C.UTF-8); nothing was changed"
            ) from None


# the options an `edits.Edit` field comes from, where the name does not say it
_EDIT_OPTIONS = {"task_type": "--type", "context_paths": "--context", "parent": "--parent"}
_LIST_OPTIONS = {"files_modified": "--file", "requirements": "--requirement", "constraints": "--constraint",
                 "dependencies_added": "--dependency"}  # fmt: skip


def utf8_edit(edit: edits.Edit) -> None:
    """`utf8_only` for every value of an edit made from the command line, named by its option."""
    for item in dataclasses.fields(edit):
        value = getattr(edit, item.name)
        if item.name == "metadata":
            for key, meta in value.items():
                utf8_only(f"--{key}" if key in ("client", "project", "category") else "--meta", {key: meta})
        elif item.name == "context_lists":
            for key, values in value.items():
                utf8_only(_LIST_OPTIONS.get(key, "--file"), values)
        else:
            utf8_only(_EDIT_OPTIONS.get(item.name, "--" + item.name.replace("_", "-")), value)


def parse_meta(items: list[str]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GittasksError(f"--meta {item!r}: write KEY=VALUE (KEY= removes the key)")
        updates[key.strip()] = value if value != "" else None
    return updates


def parse_context(items: list[str]) -> dict[str, Any]:
    """`--context KEY=VALUE` options: dotted keys, the value read as JSON when it is JSON (else as text), `KEY=`
    removes the key."""
    updates: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GittasksError(f"--context {item!r}: write KEY=VALUE (a dotted KEY reaches inside; KEY= removes it)")
        try:
            parsed: Any = orjson.loads(value) if value != "" else None  # (never recurses: deep input is refused)
        except ValueError:
            parsed = value
        updates[key.strip()] = parsed
    return updates


def read_json(source: str, option: str) -> Any:
    """The JSON value in file `source` (`-`: standard input)."""
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise GittasksError(f"{option} {source}: cannot read it ({exc.strerror or exc})") from None
    try:
        value = orjson.loads(raw)
    except ValueError as exc:
        raise GittasksError(f"{option} {source}: not JSON ({exc})") from None
    for text in _texts(value):  # a lone surrogate escape ("\udce9") is JSON, but not text a task can hold
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise GittasksError(f"{option} {source}: '{_shown(text)}' is not text (a lone \\u escape)") from None
    return value


def context_lists(
    files: list[str], requirements: list[str], constraints: list[str], deps: list[str]
) -> dict[str, list[str]]:
    lists = {"files_modified": files, "requirements": requirements, "constraints": constraints,
             "dependencies_added": deps}  # fmt: skip
    return {k: v for k, v in lists.items() if v}


def schedule_meta(priority: str | None, due: str | None) -> dict[str, Any]:
    """The metadata `--priority` and `--due` set, in their stored form (`schedule`): the priority a number from 0
    (critical) to 4 (backlog), the due date a day (relative forms read against today's local date); an empty value
    (`--due ""`) is None: the key removed."""
    from gittasks import schedule

    utf8_only("--priority", priority)
    utf8_only("--due", due)
    found: dict[str, Any] = {}
    if priority is not None:
        found[schedule.PRIORITY_KEY] = schedule.parse_priority(priority) if priority.strip() else None
    if due is not None:
        found[schedule.DUE_KEY] = schedule.parse_due(due, date.today()) if due.strip() else None
    return found


def overdue_day(overdue: bool) -> str | None:
    """`list --overdue`: the day a task must be due before to be late, today's local date (None: not asked)."""
    return date.today().isoformat() if overdue else None
