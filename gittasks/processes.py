"""Child processes that run in a process group of their own, so that a stopped one takes along everything it
started (git's ssh and credential helpers, a sync's git): the options that start such a child, and how it ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any


def own_group(*, detached: bool = False) -> dict[str, Any]:
    """`subprocess.Popen` options for a child in a group (a session on POSIX) of its own; `detached`: on Windows
    also without this process's console, so that it outlives it."""
    if sys.platform != "win32":
        return {"start_new_session": True}
    flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    if detached:
        flags |= getattr(subprocess, "DETACHED_PROCESS", 0)
    return {"creationflags": flags}


def end_group(child: subprocess.Popen[Any]) -> None:
    """Stop a child started with `own_group` and everything in its group (on Windows, the child itself)."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        child.kill()
