"""Child processes that run in a process group of their own, so that a stopped one takes along everything it
started (git's ssh and credential helpers, a sync's git): the options that start such a child, and how it ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import FrameType
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


def end_group(child: subprocess.Popen[Any], grace: float = 0.0) -> None:
    """Stop a child started with `own_group` and everything in its group (on Windows, the child itself). With a
    `grace`, the group is first asked to stop (SIGTERM) and given that many seconds: a gittasks child then ends the
    groups of its own children (git's network steps, see `stop_on_term`) before it goes; then the rest is killed."""
    if os.name == "posix" and grace > 0:
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=grace)
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        child.kill()


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def stop_on_term() -> Iterator[None]:
    """While the body runs (in the main thread, on POSIX), SIGTERM raises SystemExit instead of ending the process
    at once, so that the body's `except`/`finally` ends the children it started in groups of their own: a kill of
    this process's group does not reach them."""
    previous = None
    if os.name == "posix" and threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        if previous is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _stop)
        else:
            previous = None  # someone else's handler decides
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
