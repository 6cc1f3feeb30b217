"""Warn when task text looks like a credential: task history lives forever in git and travels to every machine.

A cheap pattern check runs on every write, in linear time whatever the text; only what it flags goes through
detect-secrets (imported then, never on the common path): its detectors as for a line of code, its keyword detector
as for a line of a config file as well (`password = value`, unquoted), and `pw is VALUE` said in prose. Entropy-only
detectors are left out: they flag ordinary prose.
"""

from __future__ import annotations

import itertools
import os
import re
import string
from collections.abc import Iterator
from typing import Any

_TOKEN = r"a-z0-9_\-+/=."  # the characters of an API key or token (the text is lowered first)
# each pattern starts with a literal or is tried only where a run of its characters starts (the look-behind), and
# its quantifiers never give back (possessive): the check takes time linear in the text, whatever the text
_FLAGGED = (
    re.compile(r"private key|://[^\s/:@]++:[^\s/@]++@"),  # a PEM key; a URL with a password
    re.compile(rf"(?<![{_TOKEN}])(?=[{_TOKEN}]*?[0-9])(?=[{_TOKEN}]*?[a-z])[{_TOKEN}]{{16,}}+"),  # a long token
    # what a password is called, up to the sign or word that gives it a value (`password =`, `api_key:`, `pw is`)
    re.compile(
        r"(?:pass|pw|secret|token|credential|contrase|key)[a-z_]{0,30}+['\"\]]{0,2}+\s{0,5}+(?:[:=]|is\b|was\b)"
    ),
)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# a password given in prose: `temp pw is Summer2026!xK9`, `the passcode was Xy7...` (`password = ...` and
# `password: ...` are detect-secrets' keyword detector's)
_SAID = re.compile(r"(?i:\b(?:pw|pwd|pass(?:word|wd|code|phrase)?|passwort|secret)\s{1,5}(?:is|was)\s{1,5}(\S{1,200}))")
CONFIG_LINE = "task.cfg"  # the file name under which detect-secrets reads a line as a config file's
# what detect-secrets reads (slow per character): a long line only around what was flagged, and that much in all
PIECE, BEFORE, BUDGET, MAX_PIECES = 1000, 100, 50_000, 200
SKIPPED_DETECTORS = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}
FIELDS = ("subject", "description", "activeForm", "metadata", "context")


def disabled() -> bool:
    return os.environ.get("GITTASKS_NO_SECRET_CHECK", "") not in ("", "0")


def _strings(value: Any, path: str, key: str | None = None) -> Iterator[tuple[str, str]]:
    """(path, text) of every text in a field; a text under a key reads `key = text` (`--meta password=...`)."""
    if isinstance(value, str):
        yield path, (f"{key} = {value}" if key else value)
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, f"{path}.{name}", str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _lowered(line: str) -> str:
    low = line.lower()
    return low if len(low) == len(line) else line.translate(_ASCII_LOWER)  # positions must stay where they were


def _pieces(text: str) -> list[str]:
    """What detect-secrets reads of a text: each line the cheap check flags, a long line only around what it flags,
    up to BUDGET characters in all, so that a huge field costs a bounded time."""
    whole = _lowered(text)
    if not any(pattern.search(whole) for pattern in _FLAGGED):
        return []  # the common path: one pass over the text
    found: dict[str, None] = {}
    used = 0
    for line in text.splitlines():
        low = _lowered(line)
        if len(line) <= PIECE:
            starts = [0] if any(pattern.search(low) for pattern in _FLAGGED) else []
        else:
            matches = (itertools.islice(pattern.finditer(low), MAX_PIECES) for pattern in _FLAGGED)
            starts = [max(0, match.start() - BEFORE) for match in itertools.chain(*matches)]
        for start in starts:
            piece = line[start : start + PIECE]
            if piece not in found:
                found[piece] = None
                used += len(piece)
            if used >= BUDGET or len(found) >= MAX_PIECES:
                return list(found)
    return list(found)


def _looks_like_password(value: str) -> bool:
    """The first word of a value a keyword names: a password when it has 8 or more characters with a letter and a
    digit, or upper and lower case and a symbol (not `reset`, `stored in the vault`, `${DB_PASSWORD}`)."""
    words = value.split()
    word = words[0].strip("'\"`,;") if words else ""
    if len(word) < 8:
        return False
    digit = any(c.isdigit() for c in word)
    upper, lower = any(c.isupper() for c in word), any(c.islower() for c in word)
    symbol = any(not c.isalnum() for c in word)
    return (upper or lower) and (digit or (upper and lower and symbol))


def _detect(pieces: list[str]) -> list[str]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_line
    from detect_secrets.plugins.keyword import KeywordDetector
    from detect_secrets.settings import transient_settings

    classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    names = [str(getattr(cls, "__name__", "")) for cls in classes]
    plugins = [{"name": name} for name in names if name and name not in SKIPPED_DETECTORS]
    keyword = KeywordDetector()
    found: list[str] = []
    with transient_settings({"plugins_used": plugins}):
        for piece in pieces:
            kinds = {secret.type for secret in scan_line(piece)}
            in_config = keyword.analyze_line(filename=CONFIG_LINE, line=piece)
            if any(_looks_like_password(secret.secret_value or "") for secret in in_config):
                kinds.add(keyword.secret_type)
            if any(_looks_like_password(match.group(1)) for match in _SAID.finditer(piece)):
                kinds.add("Password")
            found += sorted(kinds)
    return found


def findings(task: dict[str, Any]) -> list[str]:
    """'field: kind' for each field of the task whose text looks like a credential."""
    out: list[str] = []
    for name in FIELDS:
        for path, text in _strings(task.get(name), name):
            pieces = _pieces(text)
            if not pieces:
                continue
            kinds = _detect(pieces)
            if kinds:
                out.append(f"{path}: {', '.join(dict.fromkeys(kinds))}")
    return out


def warnings_for(tasks: list[dict[str, Any]]) -> list[str]:
    lines = []
    for task in tasks:
        for finding in findings(task):
            lines.append(
                f"warning: task {task['id']} {finding} looks like a credential; git keeps it forever on every "
                "machine: remove it now (`gittasks update`) and rotate it (--no-secret-check turns this off)"
            )
    return lines
