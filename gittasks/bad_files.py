"""A task file that is not valid on a branch: which one, who made it, and the last commit before it whose files are.

The bring-in, a clone's first command and sync each refuse such a file in one line that names the commit and the
machine that made it, so the person who can fix it is told where to look.
"""

from __future__ import annotations

from gittasks import document, taskbranch, trailers
from gittasks.document import DocumentError
from gittasks.git import Repo


def bad_file(files: dict[str, bytes]) -> tuple[str, str] | None:
    """(path, problem) of the first of `files` that is not a valid task file (`document.check_file`), the problem
    without the advice its message ends with (that one is about the work tree's copy); None when all are valid."""
    for rel, raw in sorted(files.items()):
        try:
            document.check_file(raw, rel)
        except DocumentError as exc:
            return rel, str(exc).split("; ", 1)[0]
    return None


def made_by(repo: Repo, rev: str, rel: str) -> tuple[str, str]:
    """(commit, machine) of the last commit of `rev` that changed `rel`: its `Machine:` trailer, else its author;
    both one safe line."""
    fields = repo.log(rev, "%H%x1f%an%x1f%(trailers:key=Machine,valueonly,separator=)", "-1", "--", rel)
    commit, author, machine = [*fields.strip().split("\x1f"), "", "", ""][:3]
    return commit or repo.rev(rev) or rev, trailers.one_line(trailers.read_value(machine) or author or "unknown", 60)


def last_good(repo: Repo, tip: str, limit: int = 200) -> str | None:
    """The newest commit on `tip`'s first-parent line (the tip excluded) whose task files are all valid, looking at
    `limit` commits at most; None when none is."""
    known: dict[bytes, bool] = {}  # most files are the same from one commit to the next: each is checked once

    def valid(rel: str, raw: bytes) -> bool:
        if raw not in known:
            known[raw] = bad_file({rel: raw}) is None
        return known[raw]

    for commit in repo.out("rev-list", "--first-parent", "-n", str(limit + 1), tip).split()[1:]:
        if all(valid(rel, raw) for rel, raw in taskbranch.files_at(repo, commit, keep=False).items()):
            return commit
    return None
