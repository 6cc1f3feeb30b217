"""The process's standard streams, for the front ends that print (the command line, the hooks): UTF-8 whatever the
console's encoding, and a reader that went away (`gittasks ... | head`)."""

from __future__ import annotations

import contextlib
import os
import sys


def utf8_streams() -> None:
    """stdout and stderr in UTF-8 whatever the console's encoding (task text may hold any character)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(encoding="utf-8", errors="replace")


def stdout_closed() -> None:
    """The reader of stdout is gone (`gittasks ... | head`): point stdout at the null device, so that what is still
    buffered goes nowhere quietly, also at the interpreter's last flush."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
