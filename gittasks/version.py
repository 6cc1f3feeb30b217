"""`gittasks --version`: light, so that the entry point answers it before the CLI framework loads.

`importlib.metadata` is imported only when a version is asked for: its import costs more than a command that does
not need it should pay (every call of the CLI imports this module).
"""

from __future__ import annotations


def installed_version() -> str | None:
    """The installed distribution's version; None when gittasks runs from a source tree that is not installed."""
    import importlib.metadata

    try:
        return importlib.metadata.version("gittasks")
    except importlib.metadata.PackageNotFoundError:
        return None


def version_line() -> str:
    """What `gittasks --version` prints."""
    found = installed_version()
    return f"gittasks {found}" if found else "gittasks (version unknown: not installed as a package)"
