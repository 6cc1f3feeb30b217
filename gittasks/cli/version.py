"""`gittasks --version`: light, so that the entry point answers it before the CLI framework loads."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def version_line() -> str:
    """What `gittasks --version` prints: the installed distribution's version."""
    try:
        return f"gittasks {version('gittasks')}"
    except PackageNotFoundError:
        return "gittasks (version unknown: not installed as a package)"
