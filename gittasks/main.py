"""Entry point. The calls that machines make (git's merge driver, Claude Code's hooks, the background sync, the MCP
server, `--version`) are looked up in one table and run before the CLI framework loads, so git's merges and the
assistant's tool calls are not held up by it; every other argument list goes to the typer application
(`gittasks.cli`)."""

from __future__ import annotations

import sys
from collections.abc import Callable


def _version(args: list[str]) -> int:
    from gittasks.version import version_line  # (no CLI framework, no repository)

    print(version_line())
    return 0


def _merge_driver(args: list[str]) -> int:
    from gittasks.driver import main as driver_main

    return driver_main(args[1:])


def _hook(args: list[str]) -> int:
    from gittasks.claude import hook_main  # a hook holds Claude Code's session up

    return hook_main.main(args[1])


def _ping(args: list[str]) -> int:
    from gittasks import activity_spool  # on every prompt and every answer's end: one append, nothing more loads

    activity_spool.hook_ping(sys.stdin)  # prints nothing (UserPromptSubmit's stdout goes to the model), never fails
    return 0  # (whatever happened: a Stop hook's exit 2 would keep the answer going)


def _commit_hook(args: list[str]) -> int:
    from gittasks import commit_links  # git's prepare-commit-msg hook (`link-commits`): every commit waits for it

    return commit_links.run_hook(args[2:])


def _background_sync(args: list[str]) -> int:
    from gittasks import autosync  # started detached after a change: nobody reads what it prints

    return autosync.main()


def _mcp(args: list[str]) -> int:
    from gittasks import errors
    from gittasks.claude import mcp_server  # Claude Code probes a new server's start-up
    from gittasks.render import safe

    try:
        mcp_server.serve()  # (a request's failure is answered; only the server's start can end up here)
    except KeyboardInterrupt:  # Ctrl-C in a terminal: stop quietly
        return 0
    except Exception as exc:
        if errors.traceback_wanted(exc):
            raise
        line, code = errors.explain(exc)
        print(f"gittasks mcp: {safe(line)}", file=sys.stderr)
        return code
    return 0


# The machine entry points: the leading arguments, exactly, and whether more may follow (git's %O %A %B %P do).
# A global option before them (`--repo DIR hook capture`) or `--help` (after them too: git never passes it) goes to
# the CLI, which has the same commands.
MACHINE_ENTRIES: dict[tuple[str, ...], tuple[Callable[[list[str]], int], bool]] = {
    ("--version",): (_version, False),
    ("merge-driver",): (_merge_driver, True),
    ("hook", "capture"): (_hook, False),
    ("hook", "session-start"): (_hook, False),
    ("hook", "session-end"): (_hook, False),
    ("hook", "ping"): (_ping, False),
    ("hook", "prepare-commit-msg"): (_commit_hook, True),
    ("sync", "--background"): (_background_sync, False),
    ("mcp",): (_mcp, False),
}


def machine_entry(args: list[str]) -> Callable[[list[str]], int] | None:
    """The machine entry point `args` call, None when they are for the CLI."""
    for words, (entry, more) in MACHINE_ENTRIES.items():
        if tuple(args[: len(words)]) == words and (more or len(args) == len(words)) and "--help" not in args:
            return entry
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    machine = machine_entry(args)
    if machine is not None:
        return machine(args)
    from gittasks.cli import run

    return run(args)


def entry() -> None:
    """The `gittasks` command: run, then end the process at once. The interpreter's own teardown (freeing every
    module and object one by one) costs more than a whole list lookup (docs/internals.md, Speed); the streams
    are flushed and the exit handlers run first, so nothing written or registered is lost.

    The cycle collector is off while a command runs: it exits within a moment, its data holds no cycles worth
    collecting, and the collector's passes over a large parsed list cost more than the list's parse. The servers
    (`mcp`, `board --serve`) turn it back on."""
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
