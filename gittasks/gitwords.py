"""What git prints, read back: its messages (a lock file held, a compare-and-swap that found the ref moved, a commit
without an identity, how a fetch or push ended: `Transfer`) and the machine-readable output of the commands
`git.Repo` runs (`cat-file --batch`, `status --porcelain=v2 -z`, `config -z --list`); the lines gittasks prints from
git's messages. `git.Repo` runs git and hands its words here; nothing here starts a process.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

LOCK_ERROR = re.compile(r"Unable to create '([^']+\.lock)'|cannot lock ref|index\.lock", re.IGNORECASE)
NO_IDENTITY = re.compile(r"tell me who you are|auto-detect email|empty ident|no email was given", re.IGNORECASE)
# a lock file that exists: another git holds it now, or a killed one left it (never a lost compare-and-swap)
HELD_LOCK = re.compile(r"Unable to create '([^']+\.lock)': File exists", re.IGNORECASE)
# how update-ref says the ref is not where the compare-and-swap expected it (moved, created or deleted meanwhile)
REF_MOVED = ("but expected", "already exists", "unable to resolve reference", "reference is missing")
_UNREACHABLE_HINTS = (
    "does not appear to be a git repository",
    "could not resolve host",
    "connect to host",
    "unable to access",
    "connection",
    "timed out",
    "not found",
)
# the remote answered and would not take these credentials (or git or ssh would have had to ask someone for them)
_DENIED = re.compile(
    r"authentication failed|permission denied \(|host key verification failed|could not read (username|password)"
    r"|terminal prompts disabled|returned error: 401",
    re.IGNORECASE,
)
_RACE_SIGNS = ("[rejected]", "fetch first", "non-fast-forward", "stale info", "cannot lock ref", "but expected")


@dataclass(frozen=True)
class Transfer:
    """How a fetch or push ended (`kind`): 'ok', 'missing' (fetch: no such branch there), 'race' (push: the remote
    moved), 'refused', 'denied' (the credentials were not accepted, or would have had to be asked for) or
    'unreachable'; git's words for the message."""

    kind: str
    detail: str = ""


def fetched(returncode: int, err: str) -> Transfer:
    """How a `git fetch` that exited `returncode` with `err` on stderr ended."""
    if returncode == 0:
        return Transfer("ok")
    if "couldn't find remote ref" in err.lower():
        return Transfer("missing", err)
    if _DENIED.search(err) or "returned error: 403" in err:
        return Transfer("denied", err)
    return Transfer("unreachable", err)


def pushed(returncode: int, err: str) -> Transfer:
    """How a `git push --porcelain` that exited `returncode` with `err` (its stderr and stdout) ended."""
    if returncode == 0:
        return Transfer("ok", err)
    low = err.lower()
    if any(sign in low for sign in _RACE_SIGNS):
        return Transfer("race", err)
    if "[remote rejected]" in low or "declined" in low or "protected" in low or "returned error: 403" in low:
        return Transfer("refused", err)
    if _DENIED.search(err):
        return Transfer("denied", err)
    if any(h in low for h in _UNREACHABLE_HINTS):
        return Transfer("unreachable", err)
    return Transfer("refused", err)


def lock_left_behind(lock: str) -> str:
    """One line naming a git lock file that stays: how to check that no git uses it and how to remove it."""
    return (
        f"git cannot lock: {lock} exists (a git process is using it, or one was killed and left it behind); if no "
        f"git process is running (`ps -ef | grep git`; on Windows the Task Manager), remove it with "
        f"`rm {shlex.quote(lock)}` (or `gittasks doctor --fix`) and run the command again"
    )


def first_line(raw: bytes) -> str:
    """The first line of git's message that says something (its hints left out)."""
    text = raw.decode("utf-8", "replace").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("hint:")]
    return lines[0] if lines else "no message"


def batch_objects(out: bytes, count: int) -> list[bytes | None]:
    """The `count` objects a `git cat-file --batch` printed, in order (None where git said `missing`)."""
    found: list[bytes | None] = []
    pos = 0
    for _ in range(count):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] == b"missing":
            found.append(None)
            continue
        size = int(header[2])
        found.append(out[pos : pos + size])
        pos += size + 1
    return found


def status_entries(out: str) -> list[tuple[str, str]]:
    """(kind, path) of each entry a `git status --porcelain=v2 -z` printed: 'changed', 'untracked' or 'unmerged'."""
    entries: list[tuple[str, str]] = []
    parts = out.split("\0")
    index = 0
    while index < len(parts):
        entry = parts[index]
        index += 1
        if not entry:
            continue
        if entry.startswith("1 "):
            entries.append(("changed", entry.split(" ", 8)[8]))
        elif entry.startswith("2 "):
            entries.append(("changed", entry.split(" ", 9)[9]))
            index += 1  # the original path of a rename follows
        elif entry.startswith("u "):
            entries.append(("unmerged", entry.split(" ", 10)[10]))
        elif entry.startswith("? "):
            entries.append(("untracked", entry[2:]))
    return entries


def config_values(out: str) -> dict[str, list[str]]:
    """{key in lower case: its values, lowest precedence first} of what a `git config -z --list` printed."""
    values: dict[str, list[str]] = {}
    for entry in out.split("\0"):
        if not entry:
            continue
        key, _, value = entry.partition("\n")
        values.setdefault(key.lower(), []).append(value)
    return values
