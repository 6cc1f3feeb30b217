"""The git merge driver: `gittasks merge-driver %O %A %B %P`.

git runs it for every task file both sides changed (`.gitattributes` routes the files to it). It merges field by field
and writes the result into %A; conflicts are recorded in the file, never left as markers. Exit 0: merged. Exit 1: %A
or %B is empty or not a valid task file; %A is left untouched and one line on stderr names the file and the problem.
Exit 2: wrong arguments.

This runs once per merged file in every `git pull`, so it imports only the standard library, orjson, `errors`, `merge`,
`document`, `rules` and `render` (for `safe`: git shows what it says in the terminal).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time

from gittasks import document, errors, merge
from gittasks.document import DocumentError
from gittasks.render import safe

USAGE = "usage: gittasks merge-driver BASE OURS THEIRS PATH   (git: %O %A %B %P)"


def _say(message: str) -> None:
    line = safe(" ".join(str(message).split()))
    try:
        sys.stderr.write(f"gittasks merge-driver: {line}\n")
        sys.stderr.flush()
    except Exception:  # a closed or unencodable stderr must not turn into a traceback
        pass


def _read(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename. Not flushed to the disk: the
    file is git's own temporary copy (%A), which git reads as soon as the driver exits, and a crash before then loses
    git's whole merge anyway, while the flush would add to every merge of a large list."""
    folder = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(folder, f".{os.path.basename(path)}.gittasks-{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)
        for attempt in range(10):
            try:
                os.replace(temp, path)
                return
            except PermissionError:  # Windows: another process holds the target open for a moment
                if attempt == 9:
                    raise
                time.sleep(0.02 * (attempt + 1))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _merge(base_path: str, ours_path: str, theirs_path: str, name: str) -> int:
    base = _read(base_path)  # missing or empty: no common ancestor
    ours = _read(ours_path)
    theirs = _read(theirs_path)
    for label, path, raw in (("ours", ours_path, ours), ("theirs", theirs_path, theirs)):
        if raw is None:
            _say(f"{name} ({label}, {path}): the file does not exist")
            return 1
        if document.is_blank(raw):
            _say(f"{name} ({label}, {path}): the file is empty; nothing to merge")
            return 1
    assert ours is not None and theirs is not None
    try:
        # A criss-cross merge hands over a virtual base that may itself hold markers: then there is no usable base.
        merged = merge.merge_bytes(base, ours, theirs, name, lenient_base=True)
    except DocumentError as exc:
        _say(str(exc))
        return 1
    _write_atomic(ours_path, merged)
    return 0


def main(args: list[str]) -> int:
    """Run the driver with git's arguments (%O %A %B %P); returns the exit code."""
    if len(args) != 4:
        _say(USAGE)
        return 2
    base_path, ours_path, theirs_path, name = args
    # The driver builds a few million small objects and exits: the cycle collector would only slow it down.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _merge(base_path, ours_path, theirs_path, name or ours_path)
    except (Exception, KeyboardInterrupt) as exc:  # one line, and git falls back to reporting a conflict (exit 1)
        if errors.traceback_wanted(exc):
            raise
        _say(f"{name}: {errors.explain(exc)[0]}")
        return 1
    finally:
        if collecting:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
