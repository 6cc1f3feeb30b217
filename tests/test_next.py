"""`gittasks next`, MCP `task_next` and the end of the session-start summary: the order (`next_work.build`) on graphs
where it matters, each reason, what is left out, cycles, and the summary's size limit on 1,000 tasks."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import ACTIVE, task
from helpers import Cli, call_hook, git, init_repo
from hypothesis import given, settings
from hypothesis import strategies as st

from gittasks import next_work, stats
from gittasks.claude import mcp_tools

NOW = datetime(2026, 2, 1, tzinfo=UTC)
HERE = "here-pc"


def stamp(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def linked(*pairs: tuple[str, str], **extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Pending tasks with `blocker -> waiting` links (both sides, as the tool keeps them); `extra`: more fields."""
    ids = sorted({i for pair in pairs for i in pair} | set(extra))
    tasks = {i: task(i, created_at=stamp(10), updated_at=stamp(10), blocks=[], blockedBy=[]) for i in ids}
    for blocker, waiting in pairs:
        tasks[blocker]["blocks"].append(waiting)
        tasks[waiting]["blockedBy"].append(blocker)
    for i, fields in extra.items():
        tasks[i].update(fields)
    return list(tasks.values())


def advise(tasks: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    holders = {t["id"]: t.get("updated_by") for t in tasks if t.get("status") == "in_progress"}
    return next_work.build(tasks, machine=HERE, holders=kwargs.pop("holders", holders), now=NOW, **kwargs)


def order(data: dict[str, Any]) -> list[str]:
    return [e["id"] for e in data["tasks"]]


CHAIN = (("a", "b"), ("b", "c"), ("c", "d"))  # a heads a chain of 4
FAN = (("f", "x1"), ("f", "x2"), ("f", "x3"), ("f", "x4"), ("f", "x5"))  # f: 5 wait on it, a chain of 2


def test_the_longest_chain_comes_before_the_widest_fan_then_what_nothing_waits_on() -> None:
    data = advise(linked(*CHAIN, *FAN, lone={}))
    assert order(data) == ["a", "f", "lone"]
    first, second, third = data["tasks"]
    assert first["reason"] == "unblocks 3 tasks; heads the longest open chain (4 tasks)"
    assert first["chain"] == {"tasks": 4, "minutes": None, "longest": True, "ids": ["a", "b", "c", "d"]}
    assert second["reason"] == "unblocks 5 tasks; heads a chain of 2 tasks" and second["waiting"] == 5
    assert third["reason"] == "nothing waits on it; created 10 days ago"
    assert data["signals"] == [
        "critical path in tasks (no cycle times yet)",
        "open tasks waiting on each, transitively",
        "age (oldest created first), then the id",
    ]
    assert data["counts"] == {"resume": 0, "ready": 3, "in_progress_elsewhere": 0, "in_progress_here": 0, "open": 11}


def test_equal_chains_go_to_what_more_tasks_wait_on_then_the_oldest_then_the_id() -> None:
    tasks = linked(("p", "p1"), ("q", "q1"), ("q", "q2"), ("r", "r1"), ("s10", "s10x"), ("s9", "s9x"))
    for t in tasks:
        if t["id"] == "r":
            t["created_at"] = stamp(20)  # older than its equals
    data = advise(tasks)
    assert order(data) == ["q", "r", "p", "s9", "s10"]  # q: 2 wait on it; then r, the oldest; ids naturally


def test_cycle_times_per_type_turn_a_short_wide_task_into_the_critical_path() -> None:
    """The same graph, with history: the fan-out's waiting task is long research, the chain quick bugfixes."""
    tasks = linked(*CHAIN, ("f", "slow"))
    for t in tasks:
        t["type"] = "research" if t["id"] == "slow" else "bugfix"
    done = [
        task(f"old{n}", type=kind, status="completed", created_at=stamp(30), started_at=stamp(30),
             completed_at=(NOW - timedelta(days=30) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        for n, (kind, minutes) in enumerate([("bugfix", 10), ("bugfix", 30), ("research", 600)])
    ]  # fmt: skip
    figures = stats.cycle_time(done)
    assert advise(tasks)["tasks"][0]["id"] == "a"  # no history: counted in tasks, the chain of 4 first
    data = advise(tasks, cycle_time=figures)
    assert order(data) == ["f", "a"]
    assert data["tasks"][0]["chain"]["minutes"] == 620.0  # f at the bugfix median (20), slow at research's (600)
    assert data["tasks"][0]["reason"] == (
        "unblocks 1 task; heads the longest open chain (2 tasks, ~10 hours at each type's median)"
    )
    assert data["tasks"][1]["chain"]["minutes"] == 80.0
    assert data["signals"][0] == "critical path in estimated time (median cycle time per type, from 3 completed tasks)"


def test_cycle_times_of_no_length_leave_the_chain_counted_in_tasks() -> None:
    done = [task("old", status="completed", created_at=stamp(1), completed_at=stamp(1))]  # done at once: 0 minutes
    data = advise(linked(*CHAIN, *FAN), cycle_time=stats.cycle_time(done))
    assert order(data) == ["a", "f"] and data["tasks"][0]["chain"]["minutes"] == 0.0
    assert data["tasks"][0]["reason"].endswith("(4 tasks, under a minute at each type's median)")


def test_stale_work_here_is_resumed_first_and_work_in_progress_elsewhere_is_left_out() -> None:
    tasks = linked(
        *CHAIN,
        stale={"status": "in_progress", "updated_by": HERE, "updated_at": stamp(3)},
        busy={"status": "in_progress", "updated_by": HERE, "updated_at": stamp(0.01)},
        theirs={"status": "in_progress", "updated_by": "pc-b", "updated_at": stamp(5)},
        gone={"status": "in_progress", "updated_by": "pc-c", "updated_at": stamp(1)},
    )
    data = advise(tasks)
    assert order(data) == ["stale", "a"]
    assert data["tasks"][0]["kind"] == "resume"
    assert data["tasks"][0]["reason"].startswith("resume: in progress here, last changed 3 days ago; ")
    assert data["counts"]["in_progress_elsewhere"] == 2 and data["counts"]["in_progress_here"] == 1
    assert data["elsewhere"] == {"pc-b": 1, "pc-c": 1}
    text = next_work.as_lines(next_work.limited(data))
    assert "left out: 2 tasks in progress on other machines (pc-b, pc-c); 1 in progress here, changed recently" in text
    # the holder is the claim's, not the last editor's: a task this machine claimed and another one touched is ours
    claimed = advise(tasks, holders={"stale": HERE, "busy": HERE, "theirs": HERE, "gone": "pc-c"})
    assert order(claimed) == ["stale", "theirs", "a"]  # both to resume, alike but for their ids
    assert claimed["counts"]["in_progress_elsewhere"] == 1


def test_a_subtask_unblocks_its_parent_and_what_waits_on_the_parent() -> None:
    tasks = linked(("parent", "after"), sub={"parent": "parent"})
    data = advise(tasks)
    assert order(data) == ["sub"]  # the parent waits on its open subtask: not ready
    assert data["tasks"][0]["waiting"] == 2 and data["tasks"][0]["chain"]["ids"] == ["sub", "parent", "after"]


def test_cycles_in_blockers_neither_hang_nor_crash_and_are_reported() -> None:
    tasks = linked(("p", "q"), ("q", "p"), ("r", "p"), ("q", "tail"), self_loop={"blockedBy": ["self_loop"]})
    data = advise(tasks)
    assert order(data) == ["r"]  # p, q wait on each other; self_loop on itself; tail on the cycle
    assert data["tasks"][0]["chain"]["tasks"] == 4 and data["tasks"][0]["waiting"] == 3
    assert data["cycles"] == [["p", "q"]]
    assert "1 dependency cycle (e.g. p, q): never ready" in next_work.left_out(data)  # type: ignore[operator]


def test_a_chain_of_thousands_is_one_pass() -> None:
    pairs = [(f"n{i}", f"n{i + 1}") for i in range(4000)]
    data = advise(linked(*pairs, *[("n4000", "n0")]))  # and closed into one big cycle: nothing is ready
    assert data["tasks"] == [] and len(data["cycles"][0]) == 4001
    data = advise(linked(*pairs))
    assert order(data) == ["n0"] and data["tasks"][0]["chain"]["tasks"] == 4001
    assert len(data["tasks"][0]["chain"]["ids"]) == next_work.CHAIN_IDS


@st.composite
def graphs(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 12))
    ids = [f"t{i}" for i in range(count)]
    links = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=20))
    statuses = draw(st.lists(st.sampled_from(["pending", "pending", "in_progress", "completed", "blocked"]),
                             min_size=count, max_size=count))  # fmt: skip
    ages = draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    tasks = linked(*links, **{i: {} for i in ids})
    for t, status, age in zip(sorted(tasks, key=lambda t: int(t["id"][1:])), statuses, ages, strict=True):
        t.update(status=status, created_at=stamp(age), updated_at=stamp(age), updated_by=HERE if age else "pc-b")
    return tasks


@given(graphs(), st.randoms(use_true_random=False))
@settings(max_examples=150, deadline=None)
def test_the_order_is_total_and_ignores_the_list_order(tasks: list[dict[str, Any]], rnd: random.Random) -> None:
    data = advise(tasks)
    shuffled = list(tasks)
    rnd.shuffle(shuffled)
    assert advise(shuffled) == data  # the tie-break decides, never the file's order
    by_id = {t["id"]: t for t in tasks}
    listed = order(data)
    assert len(set(listed)) == len(listed)
    kinds = [e["kind"] for e in data["tasks"]]
    assert kinds == sorted(kinds, key=lambda k: k != "resume")
    for entry in data["tasks"]:
        assert entry["waiting"] >= 0 and entry["chain"]["tasks"] >= 1 + (entry["waiting"] > 0)
        assert by_id[entry["id"]]["status"] == ("in_progress" if entry["kind"] == "resume" else "pending")
    weights = [(e["kind"] != "resume", -(e["chain"]["tasks"] if e["chain"]["tasks"] > 1 else 0), -e["waiting"])
               for e in data["tasks"]]  # fmt: skip
    assert weights == sorted(weights)


# -- the command, the tool, the session start ---------------------------------------------------------------------


def test_next_on_a_repository(cli: Cli) -> None:
    a = cli.create("Design the schema")
    b = cli.create("Build the API", "--blocked-by", a)
    cli.create("Write the docs", "--blocked-by", b)
    f = cli.create("Set up CI")
    for n in range(3):
        cli.create(f"Job {n}", "--blocked-by", f)
    elsewhere = cli.create("Theirs")
    Cli(cli.root, "pc-b").ok("start", elsewhere)
    lines = cli.ok("next").splitlines()
    assert lines[0] == f"1. [{a}] Design the schema: unblocks 2 tasks; heads the longest open chain (3 tasks)"
    assert lines[1] == f"2. [{f}] Set up CI: unblocks 3 tasks; heads a chain of 2 tasks"
    assert "left out: 1 task in progress on other machines (pc-b)" in lines
    assert lines[-1].startswith("order by: critical path in tasks")
    data = cli.json("next", "--limit", "1")
    assert [t["id"] for t in data["tasks"]] == [a] and data["more"] == 1
    assert data["counts"]["in_progress_elsewhere"] == 1
    cli.ok("start", a)
    cli.ok("done", a)
    data = cli.json("next")  # a completed: its cycle time now estimates each chain (both of 2 tasks alike)
    assert [t["id"] for t in data["tasks"]] == [f, b]  # alike: f has more waiting on it
    assert data["signals"][0].startswith("critical path in estimated time (median cycle time per type, from 1 ")
    assert data["tasks"][1]["reason"].endswith("at each type's median)")


def test_task_next_tool(cli: Cli) -> None:
    a = cli.create("First")
    cli.create("Second", "--blocked-by", a)
    [tool] = [t for t in mcp_tools.TOOLS if t.name == "task_next"]
    schema = tool.listing()["inputSchema"]
    assert schema["properties"]["limit"]["description"] and tool.annotations["readOnlyHint"]
    tools = mcp_tools.TaskTools(cli.root)
    answer = tool.run(tools, tool.checked({"limit": 1}))
    assert [t["id"] for t in answer["tasks"]] == [a] and answer["more"] == 0
    with pytest.raises(Exception, match="limit"):
        tool.checked({"limit": 0})


def many_tasks(count: int) -> list[dict[str, Any]]:
    """`count` open tasks as a busy list might hold: long subjects (some outside the BMP), chains and fan-outs,
    some in progress on this machine (stale) and on others."""
    rnd = random.Random(7)
    out = []
    for n in range(count):
        subject = f"Task {n}: " + " ".join(rnd.choice(["refactor", "the", "payment", "pipeline", "ünïcode", "🚀"])
                                           for _ in range(rnd.randrange(3, 40)))  # fmt: skip
        t = task(f"t{n:04d}", subject=subject, description="x" * rnd.randrange(0, 300), created_at=stamp(n % 30),
                 updated_at=stamp(n % 30), blocks=[], blockedBy=[])  # fmt: skip
        if n % 10 == 3:  # half of them claimed by another machine
            t.update(status="in_progress", started_at=stamp(40))
            if n % 20 == 13:
                t["claimed_by"] = {"machine": "pc-b", "since": stamp(40)}
        out.append(t)
    for n in range(1, count):
        if n % 7 and n % 10 != 3:
            blocker = out[rnd.randrange(max(0, n - 5), n)] if n % 3 else out[n // 50]
            if blocker["status"] == "pending":
                blocker["blocks"].append(out[n]["id"])
                out[n]["blockedBy"].append(blocker["id"])
    return out


def test_the_session_start_text_stays_under_claude_codes_limit_on_1000_tasks(make_repo: Any) -> None:
    cli = init_repo(make_repo(), inline=False)
    path = cli.root / ACTIVE
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["tasks"] = many_tasks(1000)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    git(cli.root, "config", "gittasks.staleAfter", "1s")  # (the hand edit is committed as a change of every task)
    cli.ok("ready")  # the hand edit committed now: a second later, the tasks in progress here are stale
    time.sleep(1.1)
    payload = {"session_id": "s1", "source": "startup", "hook_event_name": "SessionStart", "cwd": str(cli.root)}
    proc = call_hook(cli.root, "session-start", payload)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    text = proc.stdout.rstrip("\n")
    assert next_work.units(text) <= 10_000 and next_work.units(text) > 9_000  # the room is used, not exceeded
    assert len(text.encode("utf-16-le")) // 2 == next_work.units(text)
    assert text.startswith("gittasks: 1000 incomplete tasks")  # the summary first ...
    section = text[text.index("gittasks next: what to take up") :]  # ... and what to take up at its end
    assert "1. [t" in section and section.splitlines()[-1].startswith("order by: ")
    assert "resume: in progress here" in section and "tasks in progress on other machines (pc-b)" in section
    assert "more incomplete tasks (see `gittasks list`)" in text  # the summary gave up lines for it
    assert git(cli.root, "log", "-1", "--format=%s", "gittasks").startswith("gittasks: ")  # the hand edit went in


def test_compose_cuts_the_summary_where_its_characters_take_two_units() -> None:
    wide = "🚀" * 50

    def summary(room: int) -> str:
        lines, used = ["summary"], 7
        while used + 51 <= room:
            lines.append(wide)
            used += 51
        return "\n".join(lines)

    text = next_work.compose(["head"], summary, "tail", 1_000)
    assert next_work.units(text) <= 1_000 and text.startswith("head\nsummary") and text.endswith("\ntail")
    assert next_work.units(next_work.compose(["x" * 2_000], summary, "tail", 1_000)) <= 1_000


def test_brief_keeps_its_budget() -> None:
    data = advise(linked(*CHAIN, *FAN, **{f"long{n}": {"subject": "🚀" * 300} for n in range(10)}))
    for budget in (50, 300, 1_500):
        assert next_work.units(next_work.brief(data, budget)) <= budget
    assert next_work.brief(data, 1_500).count("\n") == 6  # the heading, 5 tasks, the order (nothing left out)
