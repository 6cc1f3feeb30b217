"""The journal: `gittasks log` without an id, filtered by machine, owner, client, project, type, action and dates
(`journal.JournalQuery` on the records `history.journal` reads); `--json` gives the same records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import ACTIVE, Cli, git

from gittasks import history, journal
from gittasks.errors import GittasksError

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


# -- the pure part -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01T12:00:00+02:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("2w", NOW - timedelta(weeks=2)),
        ("3 days ago", NOW - timedelta(days=3)),
        (" 90  Minutes Ago ", NOW - timedelta(minutes=90)),
        ("today", datetime(2026, 3, 10, tzinfo=UTC)),
        ("yesterday", datetime(2026, 3, 9, tzinfo=UTC)),
    ],
)
def test_moments(text: str, expected: datetime) -> None:
    assert journal.parse_moment(text, "--since", NOW) == expected


@pytest.mark.parametrize("text", ["last tuesday", "3 fortnights ago", "", "2026-13-01", "-7d"])
def test_a_moment_not_understood_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(GittasksError, match=r"--until .* is not a date; write YYYY-MM-DD"):
        journal.parse_moment(text, "--until", NOW)


def test_actions_read_as_people_write_them() -> None:
    assert journal.action_names(["completed", "Start"]) == {"complete", "start"}
    assert journal.action_names(["created,hand-edit"]) == {"create", "capture-taskcreate", "edit-by-hand"}
    with pytest.raises(GittasksError, match="unknown action 'finish'; use one of: create, update"):
        journal.action_names(["finish"])


def record(**fields: Any) -> dict[str, Any]:
    return {"commit": "c1", "when": "2026-03-05T10:00:00.000Z", "machine": "pc-a", "action": "update", "task": "t1",
            **fields}  # fmt: skip


def test_which_version_each_filter_reads() -> None:
    now = {"id": "t1", "owner": "bob", "type": "bugfix", "metadata": {"client": "acme"}}
    then = {"id": "t1", "owner": "alice", "type": "research", "metadata": {}}
    by_owner = journal.query_of(owner="alice", now=NOW)
    assert by_owner.needs_then(now) and by_owner.matches(record(), now, then)  # who held it then
    assert not by_owner.matches(record(), then, now)
    by_client = journal.query_of(client="acme", task_type="bugfix", now=NOW)
    assert not by_client.needs_then(now) and by_client.matches(record(), now, then)  # as the task is now
    assert by_client.needs_then(None) and not by_client.matches(record(), None, then)  # deleted: as it was
    assert by_client.matches(record(), None, now)
    spanned = journal.query_of(since="2026-03-05", until="2026-03-06", machine="pc-a", actions=["update"], now=NOW)
    assert spanned.matches(record(), None, None)
    for other in ({"when": "2026-03-06T00:00:00Z"}, {"when": "2026-03-04T23:59:59Z"}, {"machine": "pc-b"},
                  {"action": "start"}, {"when": "not a stamp"}):  # fmt: skip
        assert not spanned.matches(record(**other), None, None), other
    assert not journal.query_of(now=NOW).narrows and spanned.narrows
    with pytest.raises(GittasksError, match="--since must be before --until"):
        journal.query_of(since="2026-03-06", until="2026-03-05", now=NOW)
    with pytest.raises(GittasksError, match="unknown type 'chore'"):
        journal.query_of(task_type="chore", now=NOW)


# -- on a repository -------------------------------------------------------------------------------------------------


def build_history(cli: Cli) -> dict[str, str]:
    """Changes on two machines: owners handed over, a client set after the fact, a task deleted; one project
    (`api`) for b and the deleted c."""
    other = Cli(cli.root, "pc-b")
    a = cli.create("Design the schema", "--type", "research", "--client", "acme")
    b = other.create("Build the API", "--type", "implementation", "--project", "api")
    cli.ok("update", a, "--owner", "alice")
    cli.ok("start", a)
    cli.ok("update", a, "--owner", "bob")
    other.ok("done", a)
    cli.ok("update", b, "--client", "acme")  # b counts for acme from its creation on
    c = cli.create("Throwaway", "--client", "acme", "--owner", "alice", "--project", "api")
    cli.ok("delete", c)
    d = cli.create("Unrelated", "--client", "globex")
    cli.ok("archive")  # a, completed, moves to the archive: found there as now, and as it was
    return {"a": a, "b": b, "c": c, "d": d}


def changes(cli: Cli, *args: str) -> list[tuple[str, str]]:
    return [(e["action"], e["task"]) for e in cli.json("log", "--limit", "100", *args)]


def test_the_journal_filters(cli: Cli) -> None:
    ids = build_history(cli)
    a, b, c, d = ids["a"], ids["b"], ids["c"], ids["d"]
    everything = changes(cli)
    assert changes(cli, "--machine", "pc-b") == [("complete", a), ("create", b)]
    assert changes(cli, "--action", "completed", "--action", "start") == [("complete", a), ("start", a)]
    assert changes(cli, "--action", "delete,create", "--machine", "test-machine") == [
        ("create", d), ("delete", c), ("create", c), ("create", a)]  # fmt: skip
    # owner: as it was at the change (after it; before it for the deletion)
    assert changes(cli, "--owner", "alice") == [("delete", c), ("create", c), ("start", a), ("update", a)]
    assert changes(cli, "--agent", "bob") == [("archive", a), ("complete", a), ("update", a)]
    # client and type: as the task is now; the deleted task as it was
    acme = changes(cli, "--client", "acme")
    assert set(acme) == {e for e in everything if e[1] in (a, b, c)} and ("create", b) in acme
    assert changes(cli, "--client", "acme", "--type", "implementation") == [("update", b), ("create", b)]
    assert changes(cli, "--type", "research") == [("archive", a), ("complete", a), ("update", a), ("start", a),
                                                  ("update", a), ("create", a)]  # fmt: skip
    assert changes(cli, "--client", "nobody") == []
    # project: as the task is now (b), the deleted task as it was (c); a and d have none
    api = [("delete", c), ("create", c), ("update", b), ("create", b)]
    assert changes(cli, "--project", "api") == api
    assert {e[1] for e in everything} - {e[1] for e in api} == {a, d}
    assert changes(cli, "--project", "api", "--owner", "alice") == [("delete", c), ("create", c)]
    assert changes(cli, "--project", "api", "--machine", "pc-b") == [("create", b)]
    assert changes(cli, "--project", "x", "--owner", "alice") == []


def test_a_span_of_time_and_the_same_records_as_log(cli: Cli) -> None:
    build_history(cli)
    full = cli.json("log", "--limit", "100")
    middle = full[len(full) // 2]["when"]
    newer = cli.json("log", "--limit", "100", "--since", middle)
    older = cli.json("log", "--limit", "100", "--until", middle)
    assert newer + older == full  # the records `log` gives, split at a moment: inclusive, exclusive
    assert newer and older and all(e["when"] >= middle for e in newer)
    assert cli.json("log", "--since", "1h") == full[:20]  # a time ago; the default limit as `log`'s
    assert cli.json("log", "--since", "2999-01-01") == []
    text = cli.ok("log", "--limit", "100", "--until", middle).splitlines()
    heads = [line.split()[0] for line in text if not line.startswith(" ")]
    assert heads == [e["commit"][:10] for e in older]  # the text shows the same records
    assert cli.ok("log", "--since", "2999-01-01") == ""
    assert "no change matches the filters" in cli.run("log", "--since", "2999-01-01").stderr


def test_the_journal_with_a_limit_says_what_it_left_out(cli: Cli) -> None:
    build_history(cli)
    proc = cli.run("log", "--machine", "test-machine", "--limit", "2")
    assert proc.returncode == 0 and len([ln for ln in proc.stdout.splitlines() if not ln.startswith(" ")]) == 2
    assert "showing the last 2 changes" in proc.stderr


def test_refusals_change_nothing(cli: Cli) -> None:
    ids = build_history(cli)
    before = git(cli.root, "rev-list", "--all", "--count")
    assert "the journal's filters take no task id" in cli.fail("log", ids["a"], "--machine", "pc-b")
    assert "unknown action 'done-ish'" in cli.fail("log", "--action", "done-ish")
    assert "--since 'soon' is not a date" in cli.fail("log", "--since", "soon")
    assert "unknown type" in cli.fail("log", "--type", "chore")
    assert git(cli.root, "rev-list", "--all", "--count") == before


def test_a_rare_match_far_back_is_found_across_rounds(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "JOURNAL_ROUND", 2)  # rounds of 2, 4, 8, ... commits
    first = Cli(cli.root, "rare-pc").create("Long ago")
    for n in range(12):
        cli.ok("update", first, "--description", f"step {n}")
    assert changes(cli, "--machine", "rare-pc") == [("create", first)]
    assert len(changes(cli, "--owner", "nobody")) == 0
    assert changes(cli, "--action", "update", "--limit", "3") == [("update", first)] * 3


def test_a_hand_edit_is_in_the_journal(cli: Cli, inline: bool) -> None:
    """Inline, a commit of the task file made with git itself (no trailers: edit-by-hand); in the own-branch layout
    the edit of the work-tree copy, which the next command commits as an external edit."""
    tid = cli.create("Edited by hand", "--client", "acme")
    doc = json.loads((cli.root / ACTIVE).read_text(encoding="utf-8"))
    doc["tasks"][0]["owner"] = "carol"
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    if inline:
        git(cli.root, "commit", "-qam", "edit the task list by hand")
    action = "edit-by-hand" if inline else "external-edit"
    [entry] = cli.json("log", "--action", action)
    assert entry["task"] == tid and entry["changes"]["owner"] == {"from": None, "to": "carol"}
    assert entry["machine"] == "test-machine"  # inline: the task's updated_by, the commit names no machine
    assert cli.json("log", "--owner", "carol") == [entry]
    assert cli.json("log", "--client", "acme", "--action", "by-hand" if inline else action) == [entry]
