"""What users of Taskwarrior and beads reach for first: `--version` and shell completion, `list` filters, columns
and colour, id prefixes that never change the wrong task, and conflicts settled in one command."""

from __future__ import annotations

import pytest
from helpers import ACTIVE, Cli, git, init_repo


@pytest.fixture(params=[False, True], ids=["own-branch", "inline"])
def inline(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def cli(make_repo, inline: bool) -> Cli:  # type: ignore[no-untyped-def]
    return init_repo(make_repo(), inline=inline)


def task_commits(cli: Cli) -> int:
    return int(git(cli.root, "rev-list", "--count", "--all"))


# ---- ids: a short prefix never changes a task; prefixes ignore case -----------------------------------------


def test_a_short_prefix_never_changes_a_task_and_prefixes_ignore_case(cli: Cli) -> None:
    tid = cli.create("Only task")
    other = cli.create("Other", "--blocked-by", tid)
    before, head = (cli.root / ACTIVE).read_bytes(), task_commits(cli)
    for short in (tid[:1], tid[:2], tid[:2].upper()):
        for args in (("start", short), ("done", short), ("cancel", short), ("delete", short),
                     ("update", short, "--owner", "x"), ("block", short, "--reason", "r"),
                     ("update", other, "--remove-blocked-by", short),
                     ("create", "New", "--blocked-by", short)):  # fmt: skip
            err = cli.fail(*args)
            assert "too short for a change" in err and "3 characters" in err and tid in err, (args, err)
            assert len(err.strip().splitlines()) == 1, err
    assert (cli.root / ACTIVE).read_bytes() == before and task_commits(cli) == head, "nothing changed"
    assert cli.json("show", tid[:1])["id"] == tid, "a read takes any unique prefix"
    assert cli.json("show", tid[:4].upper())["id"] == tid, "case aside"
    assert cli.json("show", tid.upper())["id"] == tid
    assert cli.json("start", tid[:3].upper())["status"] == "in_progress"
    cli.ok("done", tid[:3])
    cli.ok("archive")
    assert "too short for a change" in cli.fail("restore", tid[:2])
    assert cli.json("restore", tid[:4].upper())["id"] == tid
