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
    if len(args) == 2 and args[0] == "hook" and args[1] in ("capture", "session-start"):
        from gittasks.claude import hook_main  # a hook holds Claude Code's session up: no CLI framework

        return hook_main.main(args[1])
    from gittasks.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
