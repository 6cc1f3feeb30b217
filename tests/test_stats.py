"""`gittasks stats`: the pure figures from hand-built entries, and the command end to end on real repositories whose
history is made through the CLI with a set clock (gittasks reads the time through `rules.utc_now` only)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import task
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

from gittasks import rules, stats

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return rules.format_stamp(T0 + timedelta(minutes=minutes))


def entry(task_id: str, minutes: float, to: str | None, before: str | None = None, **extra: Any) -> dict[str, Any]:
    """A status-log entry as `status_log.status_log` makes them."""
    kind = extra.pop("kind", "added" if before is None else "changed")
    changes: dict[str, Any] = {"status": {"from": before, "to": to}}
    if "owner" in extra:
        changes["owner"] = {"from": extra.pop("owner_from", None), "to": extra.pop("owner")}
    return {
        "commit": extra.pop("commit", f"c-{task_id}-{minutes}"),
        "when": at(minutes),
        "machine": extra.pop("machine", "ws-1"),
        "action": extra.pop("action", "update"),
        "task": task_id,
        "kind": kind,
        "changes": changes,
    }


class Clock:
    """The time every in-process gittasks call sees: T0 plus `minutes`."""

    def __init__(self) -> None:
        self.minutes = 0.0

    def now(self) -> datetime:
        return T0 + timedelta(minutes=self.minutes)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    set_clock = Clock()
    monkeypatch.setattr(rules, "utc_now", set_clock.now)
    yield set_clock


def run_at(clock: Clock, minutes: float, cli: Cli, *args: str) -> str:
    clock.minutes = minutes
    return cli.ok(*args)


# -- the pure figures ------------------------------------------------------------------------------------------------


def test_median_and_nearest_rank_p90() -> None:
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert stats.p90([float(n) for n in range(1, 11)]) == 9.0
    assert stats.p90([float(n) for n in range(1, 12)]) == 10.0  # ceil(9.9) = 10th of 11
    assert stats.p90([7.0]) == 7.0


def test_figures_from_hand_built_entries() -> None:
    tasks = [
        task("a", type="implementation", status="completed", created_at=at(0), started_at=at(10),
             completed_at=at(40), owner="alice", metadata={"complexity": "high", "estimated_minutes": 20}),
        task("b", type="implementation", status="completed", created_at=at(0), started_at=at(20),
             completed_at=at(100), blockedBy=["a"], context={"assigned_agents": [
                 {"agent": "bob", "started": at(20), "completed": at(50), "status": "reassigned"},
                 {"agent": "carol", "started": at(50)}]}),
        task("c", status="blocked", created_at=at(30), blockedBy=["a"]),
        task("r", type="review", status="completed", created_at=at(0), started_at=at(45), completed_at=at(50),
             blockedBy=["a"]),
    ]  # fmt: skip
    entries = [
        entry("a", 0, "pending", owner="alice"),
        entry("b", 0, "pending"),
        entry("r", 0, "pending"),
        entry("a", 10, "in_progress", "pending", action="start"),
        entry("b", 20, "in_progress", "pending", action="start"),
        entry("c", 30, "pending"),
        entry("a", 40, "completed", "in_progress", action="complete", machine="ws-2"),
        entry("c", 45, "blocked", "pending", action="block"),
        entry("r", 45, "in_progress", "pending"),
        entry("r", 50, "completed", "in_progress", action="complete"),
        entry("b", 100, "completed", "in_progress", action="complete"),
    ]
    data = stats.build(tasks, entries, now=T0 + timedelta(minutes=120))
    assert data["tasks"] == {"total": 4, "completed": 3, "cancelled": 0, "open": 1}
    assert data["cycle_time"]["by_type"] == [
        {"type": "implementation", "tasks": 2, "median_minutes": 55.0, "p90_minutes": 80.0},
        {"type": "review", "tasks": 1, "median_minutes": 5.0, "p90_minutes": 5.0},
    ]
    assert data["cycle_time"]["all"] == {"tasks": 3, "median_minutes": 30.0, "p90_minutes": 80.0}
    # pending: a 10, b 20, c 15, r 45; in progress: a 30, b 80, r 5; blocked: c from 45 until now (120)
    assert data["time_in_status"] == {
        "pending": {"tasks": 4, "total_minutes": 90.0, "mean_minutes": 22.5},
        "in_progress": {"tasks": 3, "total_minutes": 115.0, "mean_minutes": 38.3},
        "blocked": {"tasks": 1, "total_minutes": 75.0, "mean_minutes": 75.0},
    }
    # on a: b from 0 until b started (20), c from its creation (30) until a was done (40), r from 0 until 40
    assert data["bottlenecks"] == {
        "blocked_minutes": 75.0,
        "blocked_tasks": 1,
        "blockers": 1,
        "top": [{"id": "a", "subject": "Task a", "status": "completed", "blocked_tasks": 3, "waiting_minutes": 70.0}],
    }
    assert data["estimates"] == [
        {"complexity": "high", "tasks": 1, "mean_estimate_minutes": 20.0, "mean_actual_minutes": 30.0, "ratio": 1.5}
    ]
    assert data["reviews"] == {"completed": 1, "passed": 1, "pass_rate": 1.0, "failed": []}
    assert data["throughput"] == {
        "agents": [{"agent": "-", "tasks": 1}, {"agent": "alice", "tasks": 1}, {"agent": "bob", "tasks": 1}],
        "machines": [{"machine": "ws-1", "tasks": 2}, {"machine": "ws-2", "tasks": 1}],
    }
    assert data["history"] == {"commits": len(entries), "changes": len(entries)}


def test_a_reopen_after_the_review_fails_it_and_one_before_does_not() -> None:
    tasks = [
        task("x", status="completed", completed_at=at(60)),
        task("y", status="completed", completed_at=at(25)),
        task("r1", type="review", status="completed", completed_at=at(30), blockedBy=["x"]),
        task("r2", type="review", status="completed", completed_at=at(30), blockedBy=["y"]),
        task("r3", type="review", status="in_progress", blockedBy=["x"]),  # not completed: not counted
    ]
    entries = [
        entry("x", 10, "completed", "in_progress"),
        entry("y", 10, "completed", "in_progress"),
        entry("y", 20, "pending", "completed", action="reopen"),  # before r2 was completed
        entry("y", 25, "completed", "pending"),
        entry("x", 40, "in_progress", "completed", action="reopen"),  # after r1 was completed
        entry("x", 60, "completed", "in_progress"),
    ]
    reviews = stats.build(tasks, entries, now=T0 + timedelta(hours=2))["reviews"]
    assert reviews == {
        "completed": 2,
        "passed": 1,
        "pass_rate": 0.5,
        "failed": [{"id": "r1", "subject": "Task r1", "reopened": ["x"]}],
    }


def test_the_log_order_counts_not_a_wrong_clock_and_no_history_reads_the_stamps() -> None:
    skewed = task("s", status="completed", created_at=at(0), started_at=at(10), completed_at=at(30))
    plain = task("p", status="completed", created_at=at(0), started_at=at(5), completed_at=at(25))
    entries = [
        entry("s", 0, "pending"),
        entry("s", 10, "in_progress", "pending"),
        entry("s", 5, "blocked", "in_progress"),  # a machine whose clock was behind: a stretch backwards is none
        entry("s", 30, "completed", "blocked"),
    ]
    data = stats.build([skewed, plain], entries, now=T0 + timedelta(hours=1))
    assert data["time_in_status"]["in_progress"]["total_minutes"] == 20.0  # s none, p 5 -> 25 from its stamps
    assert data["time_in_status"]["blocked"] == {"tasks": 1, "total_minutes": 25.0, "mean_minutes": 25.0}
    assert data["time_in_status"]["pending"]["total_minutes"] == 15.0  # s 10, p 5


def test_a_task_done_straight_from_pending_counts_from_its_creation() -> None:
    straight = task("d", status="completed", created_at=at(0), started_at=at(45), completed_at=at(45))
    never = task("n", status="completed", created_at=at(0), started_at=None, completed_at=at(15))
    cycle = stats.build([straight, never], [], now=T0 + timedelta(hours=1))["cycle_time"]["all"]
    assert cycle == {"tasks": 2, "median_minutes": 30.0, "p90_minutes": 45.0}


def test_the_owner_at_completion_is_credited_not_a_later_one() -> None:
    done = task("o", status="completed", created_at=at(0), started_at=at(1), completed_at=at(2), owner="later")
    entries = [
        entry("o", 0, "pending", owner="first"),
        entry("o", 2, "completed", "pending", machine="ws-9"),
        {**entry("o", 3, None, kind="changed"), "changes": {"owner": {"from": "first", "to": "later"}}},
    ]
    data = stats.build([done], entries, now=T0 + timedelta(hours=1))
    assert data["throughput"] == {"agents": [{"agent": "first", "tasks": 1}], "machines": [{"machine": "ws-9",
                                                                                              "tasks": 1}]}  # fmt: skip


def test_an_empty_list_has_every_key_and_says_so() -> None:
    data = stats.build([], [], now=T0)
    assert set(data) == {"filters", "now", "history", "tasks", "cycle_time", "time_in_status", "bottlenecks",
                         "estimates", "reviews", "throughput"}  # fmt: skip
    assert data["tasks"]["total"] == 0 and data["reviews"]["pass_rate"] is None
    assert stats.as_table(data) == "no tasks yet: nothing to report"
    assert stats.as_table(stats.build([], [], now=T0, client="Acme")) == "no tasks match --client Acme"


# -- the command on real repositories ----------------------------------------------------------------------------


def build_history(cli: Cli, clock: Clock) -> dict[str, str]:
    """Five tasks with a known history (minutes after T0, 2026-03-01 10:00 UTC): A 10-40, B 50-110 (blocked 60-90,
    waiting on A), C on the next day (1380-1400, on another machine), E waiting on A, F waiting on C."""
    ids = {
        "A": run_at(clock, 0, cli, "create", "Design the schema", "--type", "implementation", "--owner",
                    "Coding Agent", "--client", "Acme", "--context", "estimated_minutes=60", "--context",
                    "complexity=medium").strip(),
    }  # fmt: skip
    ids["B"] = cli.create("Build the API", "--type", "implementation", "--owner", "Test Agent", "--client", "Acme",
                          "--blocked-by", ids["A"])  # fmt: skip
    ids["C"] = cli.create("Research\x1b[2J caching", "--type", "research", "--client", "Beta", "--context",
                          "estimated_minutes=30", "--context", "complexity=low")  # fmt: skip
    ids["E"] = cli.create("Wire the UI", "--client", "Acme", "--blocked-by", ids["A"])
    ids["F"] = cli.create("Tune the cache", "--client", "Beta", "--blocked-by", ids["C"])
    run_at(clock, 10, cli, "start", ids["A"])
    run_at(clock, 40, cli, "done", ids["A"])
    run_at(clock, 50, cli, "start", ids["B"])
    run_at(clock, 60, cli, "block", ids["B"], "--reason", "waiting for the keys")
    run_at(clock, 90, cli, "start", ids["B"])
    run_at(clock, 110, cli, "done", ids["B"])
    laptop = Cli(cli.root, "laptop")
    run_at(clock, 1380, laptop, "start", ids["C"])
    run_at(clock, 1400, laptop, "done", ids["C"])
    clock.minutes = 1560  # now: 2026-03-02 12:00
    return ids


def test_stats_of_a_history_made_through_the_cli(make_repo: MakeRepo, clock: Clock, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    ids = build_history(cli, clock)
    data = cli.json("stats")
    assert data["tasks"] == {"total": 5, "completed": 3, "cancelled": 0, "open": 2}
    assert data["now"] == "2026-03-02T12:00:00.000Z"
    assert data["cycle_time"] == {
        "by_type": [
            {"type": "implementation", "tasks": 2, "median_minutes": 45.0, "p90_minutes": 60.0},
            {"type": "research", "tasks": 1, "median_minutes": 20.0, "p90_minutes": 20.0},
        ],
        "all": {"tasks": 3, "median_minutes": 30.0, "p90_minutes": 60.0},
    }
    # pending: A 10, B 50, C 1380, E and F 1560 (still open); in progress: A 30, B 10 + 20, C 20; blocked: B 30
    assert data["time_in_status"] == {
        "pending": {"tasks": 5, "total_minutes": 4560.0, "mean_minutes": 912.0},
        "in_progress": {"tasks": 3, "total_minutes": 80.0, "mean_minutes": 26.7},
        "blocked": {"tasks": 1, "total_minutes": 30.0, "mean_minutes": 30.0},
    }
    # F waited on C until it was done (1400); B (until A was done at 40, before B started) and E on A
    neck = data["bottlenecks"]
    assert (neck["blocked_minutes"], neck["blocked_tasks"], neck["blockers"]) == (30.0, 1, 2)
    assert [(r["id"], r["blocked_tasks"], r["waiting_minutes"]) for r in neck["top"]] == [
        (ids["C"], 1, 1400.0),
        (ids["A"], 2, 80.0),
    ]
    assert data["estimates"] == [
        {"complexity": "low", "tasks": 1, "mean_estimate_minutes": 30.0, "mean_actual_minutes": 20.0, "ratio": 0.67},
        {"complexity": "medium", "tasks": 1, "mean_estimate_minutes": 60.0, "mean_actual_minutes": 30.0,
         "ratio": 0.5},
    ]  # fmt: skip
    assert data["throughput"] == {
        "agents": [{"agent": "-", "tasks": 1}, {"agent": "Coding Agent", "tasks": 1}, {"agent": "Test Agent",
                                                                                        "tasks": 1}],
        "machines": [{"machine": "test-machine", "tasks": 2}, {"machine": "laptop", "tasks": 1}],
    }  # fmt: skip
    table = cli.ok("stats")
    assert "\x1b" not in table and "Research\\x1b[2J caching" in table  # a subject cannot drive the terminal
    assert "implementation      2    45.0  60.0" in table
    assert table.startswith("5 tasks: 3 completed, 0 cancelled, 2 open")


def test_client_and_since_choose_the_tasks(make_repo: MakeRepo, clock: Clock) -> None:
    cli = init_repo(make_repo(), inline=False)
    ids = build_history(cli, clock)
    acme = cli.json("stats", "--client", "Acme")
    assert acme["filters"] == {"since": None, "client": "Acme"}
    assert acme["tasks"] == {"total": 3, "completed": 2, "cancelled": 0, "open": 1}
    assert [r["type"] for r in acme["cycle_time"]["by_type"]] == ["implementation"]
    assert acme["time_in_status"]["pending"]["total_minutes"] == 1620.0  # A 10, B 50, E 1560
    assert [(r["id"], r["waiting_minutes"]) for r in acme["bottlenecks"]["top"]] == [(ids["A"], 80.0)]
    since = cli.json("stats", "--since", "2026-03-02")  # C ended that day; E and F have not changed since the 1st
    assert since["filters"]["since"] == "2026-03-02T00:00:00.000Z"
    assert since["tasks"] == {"total": 1, "completed": 1, "cancelled": 0, "open": 0}
    assert since["throughput"]["machines"] == [{"machine": "laptop", "tasks": 1}]
    clock.minutes = 1500
    cli.ok("update", ids["E"], "--owner", "Coding Agent")  # an open task changed since: now counted
    assert cli.json("stats", "--since", "2026-03-02")["tasks"]["open"] == 1
    assert cli.ok("stats", "--client", "Nobody") == "no tasks match --client Nobody\n"


def test_reviews_through_the_cli(make_repo: MakeRepo, clock: Clock) -> None:
    cli = init_repo(make_repo(), inline=False)
    x = run_at(clock, 0, cli, "create", "Feature X").strip()
    y = cli.create("Feature Y")
    r1 = cli.create("Review X", "--type", "review", "--blocked-by", x)
    r2 = cli.create("Review Y", "--type", "review", "--blocked-by", y)
    run_at(clock, 10, cli, "done", x)
    run_at(clock, 10, cli, "done", y)
    run_at(clock, 12, cli, "reopen", y)  # before its review was done: the review still passes
    run_at(clock, 14, cli, "done", y)
    run_at(clock, 20, cli, "done", r1)
    run_at(clock, 20, cli, "done", r2)
    run_at(clock, 30, cli, "reopen", x, "--start")  # after its review was done: the review failed
    reviews = cli.json("stats")["reviews"]
    assert reviews == {
        "completed": 2,
        "passed": 1,
        "pass_rate": 0.5,
        "failed": [{"id": r1, "subject": "Review X", "reopened": [x]}],
    }
    table = cli.ok("stats")
    assert "reviews: 2 completed, 1 passed (50%)" in table and f"failed {r1} Review X: reopened {x}" in table


def test_archived_tasks_and_hand_commits_count(make_repo: MakeRepo, clock: Clock) -> None:
    cli = init_repo(make_repo(), inline=True)
    old = run_at(clock, 0, cli, "create", "Old work", "--type", "bugfix").strip()
    run_at(clock, 5, cli, "start", old)
    run_at(clock, 15, cli, "done", old)
    run_at(clock, 60 * 24 * 10, cli, "archive", "--older-than", "7d")
    assert cli.doc()["tasks"] == []
    run_at(clock, 60 * 24 * 10, cli, "create", "Edited by hand")
    doc = cli.doc()
    doc["tasks"][0].update(status="completed", started_at=at(60 * 24 * 10), completed_at=at(60 * 24 * 10 + 5))
    (cli.root / ACTIVE).write_text(json.dumps(doc, separators=(",", ":")))  # not canonical: read whole
    git(cli.root, "commit", "-q", "-am", "finish the task by hand")
    data = cli.json("stats")
    assert data["tasks"] == {"total": 2, "completed": 2, "cancelled": 0, "open": 0}
    assert {r["type"]: r["median_minutes"] for r in data["cycle_time"]["by_type"]} == {"-": 5.0, "bugfix": 10.0}
    assert data["throughput"]["machines"] == [{"machine": "Test Author", "tasks": 1},
                                              {"machine": "test-machine", "tasks": 1}]  # fmt: skip


def test_empty_repository_bad_date_and_json_keys(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    assert cli.ok("stats") == "no tasks yet: nothing to report\n"
    data = cli.json("stats")
    assert data["tasks"]["total"] == 0 and data["history"] == {"commits": 0, "changes": 0}
    assert list(data) == sorted(data)  # one object, keys in a stable order
    err = cli.fail("stats", "--since", "someday")
    assert err.strip().splitlines() == [
        "gittasks: --since 'someday' is not a date; write YYYY-MM-DD, a stamp, a time ago (30m, 12h, 7d, 2w, "
        "'3 days ago'), today or yesterday"
    ]
    assert cli.json("stats", "--since", "7d")["tasks"]["total"] == 0  # as `log --since` reads it
