"""Warn when task text looks like a credential: task history lives forever in git and travels to every machine.

A cheap pattern check runs on every write; only text it flags goes through detect-secrets (imported then, never on
the common path). Entropy-only detectors are left out: they flag ordinary prose.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

_CANDIDATE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY|[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@|"
    r"(?=[A-Za-z0-9_\-+/=.]*\d)(?=[A-Za-z0-9_\-+/=.]*[A-Za-z])[A-Za-z0-9_\-+/=.]{16,}"
)
SKIPPED_DETECTORS = {"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"}
FIELDS = ("subject", "description", "activeForm", "metadata", "context")


def disabled() -> bool:
    return os.environ.get("GITTASKS_NO_SECRET_CHECK", "") not in ("", "0")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _detect(lines: list[str]) -> list[str]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
    names = [str(getattr(cls, "__name__", "")) for cls in classes]
    plugins = [{"name": name} for name in names if name and name not in SKIPPED_DETECTORS]
    found: list[str] = []
    with transient_settings({"plugins_used": plugins}):
        for line in lines:
            found += sorted({secret.type for secret in scan_line(line)})
    return found


def findings(task: dict[str, Any]) -> list[str]:
    """'field: kind' for each field of the task whose text looks like a credential."""
    out: list[str] = []
    for name in FIELDS:
        for path, text in _strings(task.get(name), name):
            lines = [line for line in text.splitlines() if _CANDIDATE.search(line)]
            if not lines:
                continue
            kinds = _detect(lines)
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
