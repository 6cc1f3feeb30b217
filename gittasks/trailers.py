"""The commit message format, both ways: the subject and `Task:`/`Action:`/`Machine:`/`Timestamp:` trailers that
gittasks writes, and how history reads them back (`git log --format` fields, quoted values, older stamp forms).

Pure: no I/O. Text from users can never forge a trailer: a value with control characters, line breaks or
surrounding blanks is written as a JSON string.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from gittasks import rules

# actions about many tasks alike; the others are about their first task (the rest changed through links)
BULK_ACTIONS = frozenset(
    {"external-edit", "archive", "sync", "reconcile", "repair", "todowrite", "capture-todowrite", "migrate"}
)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

# what `git log --format` prints for each commit: fields split by FIELD_SEP, records started by RECORD_SEP
FIELD_SEP = "\x1f"
RECORD_SEP = "\x1e"
TASK_SEP = "\x1d"
MIGRATED_FROM = "Migrated-From"  # a migrated task branch's first commit: the inline commit its list came from
LOG_FORMAT = FIELD_SEP.join(
    [
        "%H",
        "%ct",
        "%P",
        "%aI",
        "%an",
        "%(trailers:key=Task,valueonly,separator=%x1d)",
        "%(trailers:key=Action,valueonly,separator=)",
        "%(trailers:key=Machine,valueonly,separator=)",
        "%(trailers:key=Timestamp,valueonly,separator=)",
        "%(trailers:key=Migrated-From,valueonly,separator=)",
        "%s",
    ]
)
LOG_FIELDS = 11


def value(text: str) -> str:
    """A trailer value that cannot break out of its line (control characters and newlines are escaped)."""
    if _UNSAFE.search(text) or text != text.strip() or not text:
        return orjson.dumps(text).decode()
    return text


def read_value(written: str) -> str:
    """The text of a trailer value as `value` wrote it."""
    written = written.strip()
    if written.startswith('"'):
        try:
            parsed = orjson.loads(written)
            return parsed if isinstance(parsed, str) else written
        except orjson.JSONDecodeError:
            return written
    return written


def one_line(text: str, limit: int = 72) -> str:
    flat = " ".join(_UNSAFE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def message(
    action: str,
    ids: list[str],
    subjects: dict[str, str],
    machine: str,
    stamp: str,
    title: str | None = None,
    extra: dict[str, str] | None = None,
    body: list[str] | None = None,
) -> str:
    """The whole commit message of one gittasks change: the subject, the `body` lines (each made one safe line),
    then the trailers (`extra` after the four of every change)."""
    if title is not None:
        title = f"gittasks: {one_line(title, 100)}" + (f" ({len(ids)} task{'s' * (len(ids) != 1)})" if ids else "")
    elif not ids:
        title = f"gittasks: {action}"
    elif len(ids) == 1 or action not in BULK_ACTIONS:
        title = f'gittasks: {action} {one_line(ids[0], 40)} "{one_line(subjects.get(ids[0], ""), 60)}"'
        if len(ids) > 1:
            title += f" (+{len(ids) - 1} linked)"
    else:
        title = f"gittasks: {action} {len(ids)} tasks"
    lines = [f"Task: {value(i)}" for i in ids]
    lines += [f"Action: {value(action)}", f"Machine: {value(machine)}", f"Timestamp: {stamp}"]
    lines += [f"{key}: {value(text)}" for key, text in (extra or {}).items()]
    text = "\n".join(one_line(line, 200) for line in body or ())
    return title + "\n\n" + (text + "\n\n" if text else "") + "\n".join(lines) + "\n"


def normal_stamp(text: str) -> str | None:
    """Trailer stamps of every version: ISO with Z, or the older `YYYY-MM-DD HH:MM:SS` (taken as UTC)."""
    moment = rules.parse_stamp(text)
    return rules.format_stamp(moment) if moment else None


def parse_log(out: str) -> list[dict[str, Any]]:
    """The commits `git log --format=RECORD_SEP+LOG_FORMAT` printed, newest first."""
    commits: list[dict[str, Any]] = []
    for chunk in out.split(RECORD_SEP):
        commit = parse_commit(chunk)
        if commit is not None:
            commits.append(commit)
    return commits


def parse_commit(header: str) -> dict[str, Any] | None:
    """One commit's LOG_FORMAT fields (one line: every separator in the format is on that line); None when the text
    does not hold them."""
    if not header.strip():
        return None
    parts = header.rstrip("\n").split(FIELD_SEP)
    if len(parts) < LOG_FIELDS:
        return None
    sha, seconds, parents, author_date, author, tasks, action, machine, stamp, migrated, subject = parts[:LOG_FIELDS]
    return {
        "commit": sha,
        "time": int(seconds or 0),
        "parents": parents.split(),
        "when": normal_stamp(stamp.strip()) or author_date,
        "machine": read_value(machine) or None,
        "action": read_value(action) or None,
        "tasks": [read_value(t) for t in tasks.split(TASK_SEP) if t.strip()],
        "migrated_from": migrated.strip() or None,
        "author": author,
        "subject": subject,
    }


def is_gittasks_subject(subject: str) -> bool:
    return subject.startswith("gittasks: ")


# -- code commits: the `Task:` trailers people and the commit hook write on code branches --------------------------

TASK_KEY = "Task"
ACTION_KEY = "Action"  # only gittasks' own commits carry it: what tells them from code commits
# what `git log --source --format` prints for a code commit: hash, the ref it was reached from, author date, author,
# the Task and Action trailers, the subject
CODE_LOG_FORMAT = FIELD_SEP.join(
    [
        "%H",
        "%S",
        "%aI",
        "%an",
        "%(trailers:key=Task,valueonly,separator=%x1d)",
        "%(trailers:key=Action,valueonly,separator=)",
        "%s",
    ]
)
CODE_LOG_FIELDS = 7
CODE_GREP = f"^{TASK_KEY}:"  # (with --regexp-ignore-case) any line that may be a Task trailer; the parse decides


def task_trailer(task_id: str) -> str:
    """The `Task: ID` trailer line naming one task, as every gittasks commit writes it."""
    return f"{TASK_KEY}: {value(task_id)}"


def parsed_trailers(text: str) -> list[tuple[str, str]]:
    """(key, value) of each trailer `git interpret-trailers --parse` printed (`Key: value` lines; a line that starts
    with a blank continues the value before it)."""
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and found:
            key, before = found[-1]
            found[-1] = (key, f"{before} {line.strip()}")
            continue
        key, sep, rest = line.partition(":")
        if sep and key.strip() and not any(c.isspace() for c in key.strip()):
            found.append((key.strip(), rest.strip()))
    return found


def named_tasks(pairs: list[tuple[str, str]]) -> list[str]:
    """The task ids the `Task:` trailers among `pairs` give (the key in any case), as written (prefixes too)."""
    return [read_value(text) for key, text in pairs if key.casefold() == TASK_KEY.casefold() and read_value(text)]


def is_gittasks_change(pairs: list[tuple[str, str]]) -> bool:
    """Do these trailers belong to a commit gittasks made of its task files (it writes an `Action:` trailer)?"""
    return any(key.casefold() == ACTION_KEY.casefold() for key, _ in pairs)


def parse_code_log(out: str) -> list[dict[str, Any]]:
    """The commits `git log --source --format=RECORD_SEP+CODE_LOG_FORMAT` printed, newest first, gittasks' own task
    commits (an `Action:` trailer) left out: {commit, ref, when (UTC stamp, else as git wrote it), author, subject,
    names (the Task trailers' values as written)}."""
    commits: list[dict[str, Any]] = []
    for chunk in out.split(RECORD_SEP):
        parts = chunk.rstrip("\n").split(FIELD_SEP)
        if len(parts) < CODE_LOG_FIELDS:
            continue
        sha, ref, author_date, author, tasks, action, subject = parts[:CODE_LOG_FIELDS]
        if action.strip():
            continue
        names = [read_value(t) for t in tasks.split(TASK_SEP) if t.strip()]
        if not names:
            continue
        commits.append(
            {
                "commit": sha.strip(),
                "ref": ref.strip(),
                "when": normal_stamp(author_date.strip()) or author_date.strip(),
                "author": author,
                "subject": subject,
                "names": names,
            }
        )
    return commits


_SCISSORS = re.compile(rb"^\S ------------------------ >8 ------------------------\r?$", re.MULTILINE)


def before_scissors(message: bytes) -> bytes:
    """A message file's text above git's scissors line (`git commit -v` puts the diff below it)."""
    found = _SCISSORS.search(message)
    return message[: found.start()] if found else message
