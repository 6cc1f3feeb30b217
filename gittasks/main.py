"""Entry point. The merge driver and the Claude Code hooks are dispatched before the CLI framework loads, so
git's merges and the assistant's tool calls are not held up by it."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:  # at once, without the CLI framework or a repository
        from gittasks.cli.version import version_line

        print(version_line())
        return 0
    if args[:1] == ["merge-driver"]:
        from gittasks.driver import main as driver_main

        return driver_main(args[1:])
    if len(args) == 2 and args[0] == "hook" and args[1] in ("capture", "session-start", "session-end"):
        from gittasks.claude import hook_main  # a hook holds Claude Code's session up: no CLI framework

        return hook_main.main(args[1])
    if args == ["sync", "--background"]:
        from gittasks import autosync  # started detached after a change: nobody reads what it prints

        return autosync.main()
    from gittasks.cli import run

    return run(args)


def entry() -> None:
    """The `gittasks` command: run, then end the process at once. The interpreter's own teardown (freeing every
    module and object one by one) cost about 35 ms a call on the benches' machine, more than a whole list lookup;
    the streams are flushed and the exit handlers run first, so nothing written or registered is lost.

    The cycle collector is off while a command runs: it exits within a moment, its data holds no cycles worth
    collecting, and the collector's passes over a parsed list cost about 80 ms at 10,000 tasks. The servers (`mcp`,
    `board --serve`) turn it back on."""
    import gc

    gc.disable()
    code = main()
    end_process(code)


def end_process(code: int) -> None:
    """End the process with `code` as the interpreter would, without its teardown: wait for the threads that are
    not daemons, run the exit handlers, flush the streams."""
    import atexit
    import contextlib
    import os

    threading = sys.modules.get("threading")
    if threading is not None:  # as the interpreter would: wait for the threads that are not daemons
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
    atexit._run_exitfuncs()  # e.g. temporary folders' clean-up (weakref.finalize registers itself there)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (`| head`), a closed stream: nothing to do
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
