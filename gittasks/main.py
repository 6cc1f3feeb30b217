"""Entry point. The merge driver is dispatched before the CLI framework loads, so git's merges start fast."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["merge-driver"]:
        from gittasks.driver import main as driver_main

        return driver_main(args[1:])
    from gittasks.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
