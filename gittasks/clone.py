"""A clone's git set-up for gittasks: the merge driver's registration, the `.gitattributes` lines that route the
task files to it, and the remote. Used by `init`, by every command of an inline clone (arming a fresh clone) and by
`doctor`, which checks and repairs the same things.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from shutil import which

from gittasks import rules, taskbranch
from gittasks.errors import GittasksError
from gittasks.git import DRIVER_NAME, Repo

GITATTRIBUTES_LINES = (  # the inline layout's lines, in the code branch's .gitattributes
    f"{rules.ACTIVE_PATH} merge=gittasks text eol=lf",
    f"{rules.ARCHIVE_DIR}/*.jsonl merge=gittasks text eol=lf",
    f"{rules.WORK_ITEMS_DIR}/*.jsonl merge=gittasks text eol=lf",
)


BRANCH_GITATTRIBUTES = ("\n".join(GITATTRIBUTES_LINES) + "\n").encode("utf-8")  # the task branch's own file


def driver_command() -> str:
    """The merge driver command registered in git config: an absolute interpreter path, forward slashes, quoted."""
    exe = Path(sys.executable).as_posix()
    return f"{shlex.quote(exe)} -m gittasks merge-driver %O %A %B %P"


def gitattributes_with_driver(text: str) -> str | None:
    """`.gitattributes` text with the lines routing task files to the driver, or None when all are there."""
    return taskbranch.with_lines(text, GITATTRIBUTES_LINES)


def set_remote(repo: Repo, remote: str | None, done: list[str], force: bool) -> None:
    """Make `remote` the clone's origin (added, or repointed only with `force`); what was done goes to `done`."""
    if not remote:
        return
    names = repo.remotes()
    if "origin" in names:
        current = repo.remote_url("origin")
        if current != remote and not force:
            raise GittasksError(
                f"remote origin is {current} already; nothing was changed. Repoint it with `gittasks init --remote "
                f"{remote} --force`, or add it under another name and set `git config gittasks.remote NAME`"
            )
        if current != remote:
            repo.set_remote_url("origin", remote)
            done.append(f"set remote origin to {remote}")
    else:
        repo.add_remote("origin", remote)
        done.append(f"added remote origin {remote}")


def register_driver(repo: Repo) -> None:
    """Register the merge driver in the clone's own config (`.git/config`)."""
    repo.config_set_local("merge.gittasks.name", "gittasks field-level merge of task files")
    repo.config_set_local("merge.gittasks.driver", driver_command())


def driver_current(repo: Repo) -> bool:
    """Is the merge driver registered, with this installation's command?"""
    return repo.has_merge_driver() and repo.config_get("merge.gittasks.driver") == driver_command()


def registered_driver(repo: Repo) -> str | None:
    """The merge driver command git config registers (read from the config files where they are plain)."""
    return repo.file_setting(f"merge.{DRIVER_NAME}", "driver")


def command_runs(command: str, *, search_path: bool = True) -> bool:
    """Does a registered command's program still exist (a bare name: on this PATH, when `search_path`)?"""
    try:
        program = shlex.split(command)[0]
    except (ValueError, IndexError):
        return False
    if "/" in program or "\\" in program:
        return Path(program).exists()
    return search_path and which(program) is not None
