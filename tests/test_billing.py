"""Billing that adds up: minutes written as text taken as numbers through every door (the CLI, MCP, the capture
hook, a direct write), hours rounded once per task whatever the filter, minutes with no client billed under
"(no client)" in both reports, and the active time the session hooks measure, offered at completion."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import ACTIVE, Cli, MakeRepo, call_gittasks, call_hook, git, init_repo
from hypothesis import given, settings
from hypothesis import strategies as st

from gittasks import activity, activity_spool, render, work_items, work_report
from gittasks.activity import IDLE_CUTOFF, Event
from gittasks.workspace import Workspace

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def commits(cli: Cli) -> int:
    return int(git(cli.root, "rev-list", "--all", "--count"))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# -- minutes as numbers: the one rule ----------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2**53), st.sampled_from(["{}", " {} ", "+{}", "{}.0", "{}.000"]))
def test_whole_minutes_written_as_text_are_the_number(n: int, form: str) -> None:
    number = work_items.as_minutes(form.format(n))
    assert number == n and type(number) is int
    assert work_items.as_minutes(n) == n


@given(st.text(max_size=12))
def test_text_is_minutes_only_when_it_is_a_plain_number(text: str) -> None:
    number = work_items.as_minutes(text)  # never raises
    plain = text.strip()
    if number is not None:
        assert set(plain) <= set("+0123456789.") and number == float(plain) >= 0
    if plain.isascii() and plain.isdigit():
        assert number == int(plain)


def test_what_counts_as_minutes() -> None:
    assert [work_items.as_minutes(v) for v in ("45", " 45 ", "45.5", ".5", "+7", "0")] == [45, 45, 45.5, 0.5, 7, 0]
    assert [work_items.as_minutes(v) for v in ("soon", "-5", "4 5", "1e3", "٤٥", "", True, None, [45], -1)] == [
        None] * 10  # fmt: skip
    fixed, problems = work_items.with_numbers({"billable_minutes": "45", "estimated_minutes": "soon", "x": "7"}, "m")
    assert fixed == {"billable_minutes": 45, "estimated_minutes": "soon", "x": "7"}
    assert problems == ["m.estimated_minutes 'soon' is not a number of minutes (zero or more)"]


# -- hours: a row's figure never depends on the filter, rows add up ----------------------------------------------

CLIENTS = ["Acme", "Contoso", ""]


def completed(tid: str, client: str, minutes: float, day: int, project: str = "") -> dict[str, Any]:
    return {"id": tid, "subject": tid, "status": "completed", "started_at": f"2026-01-{day:02d}T09:00:00Z",
            "completed_at": f"2026-01-{day:02d}T09:{int(minutes) % 60:02d}:00Z",
            "metadata": {"client": client, "project": project}, "context": {"billable_minutes": minutes}}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CLIENTS), st.integers(0, 600) | st.sampled_from([0.5, 12.5, 25.25]),
                          st.integers(1, 28), st.sampled_from(["", "Web"])), max_size=12))  # fmt: skip
def test_a_rows_hours_are_the_same_under_any_filter_and_the_reports_agree(tasks: list[Any]) -> None:
    data = [completed(f"t{i}", c, m, d, p) for i, (c, m, d, p) in enumerate(tasks)]
    whole = work_report.build(data)
    rows = {(r["period"], r["client"], r["project"]): r for r in whole["rows"]}
    for name in ("billable_minutes", "billable_hours", "minutes_spent", "hours_spent", "tasks"):
        assert round(sum(r[name] for r in whole["rows"]), 2) == round(whole["totals"][name], 2)
    for client in CLIENTS:
        for project in (None, "Web"):
            part = work_report.build(data, client=client, project=project)
            for row in part["rows"]:
                assert row == rows[(row["period"], row["client"], row["project"])]
    by_week = work_report.build(data, by="week")
    assert by_week["totals"]["billable_hours"] == whole["totals"]["billable_hours"]
    # the work items of the same tasks, as invoice lines: the same minutes and the same hours
    items = [work_items.expected_item(t) for t in data]
    files = work_items.with_items([i for i in items if i is not None], lambda _path: None)
    invoice = work_report.invoice(files)
    for name in ("billable_minutes", "billable_hours"):
        assert invoice["totals"][name] == whole["totals"][name]
    for client in CLIENTS:
        assert work_report.invoice(files, client=client)["totals"]["billable_hours"] == work_report.build(
            data, client=client)["totals"]["billable_hours"]  # fmt: skip


def test_25_minutes_are_042_hours_in_every_report(cli: Cli) -> None:
    first = cli.create("Contoso call", "--client", "Contoso")
    second = cli.create("Acme call", "--client", "Acme")
    cli.ok("done", first, "--minutes", "25")
    cli.ok("done", second, "--minutes", "25")
    for args in ((), ("--client", "Contoso"), ("--items",), ("--items", "--client", "Contoso")):
        table = cli.ok("report", *args)
        contoso = next(line for line in table.splitlines() if "Contoso" in line)
        assert "0.42" in contoso.split(), table
    whole = cli.json("report")
    assert [r["billable_hours"] for r in whole["rows"]] == [0.42, 0.42] and whole["totals"]["billable_hours"] == 0.84
    assert cli.ok("report").splitlines()[-1].split()[-3:] == ["50", "0.84", "0"]  # exact minutes, then hours

    one = cli.ok("report", "--items", "--client", "Acme")
    assert " 1 item " in one and "1 items" not in one


def test_an_empty_period_is_refused_in_one_line(cli: Cli) -> None:
    cli.ok("done", cli.create("Call", "--client", "Acme"), "--minutes", "25")
    for args in (
        ("--since", "2026-12-01", "--until", "2026-11-01"),
        ("--since", "2026-12-01", "--until", "2026-12-01"),
    ):
        for items in ((), ("--items",)):
            err = cli.fail("report", *items, *args)
            assert "is not before --until" in err and len(err.strip().splitlines()) == 1, err


# -- minutes with no client: one rule in both reports, a warning at done ---------------------------------------------


def test_minutes_with_no_client_bill_under_no_client_in_both_reports(cli: Cli) -> None:
    tid = cli.create("Printer on floor 2")
    proc = cli.run("done", tid, "--minutes", "20")
    assert proc.returncode == 0
    assert f"task {tid} bills 20 min but has no client" in proc.stderr and "(no client)" in proc.stderr
    report, invoice = cli.json("report"), cli.json("report", "--items")
    assert report["totals"]["billable_minutes"] == invoice["totals"]["billable_minutes"] == 20
    assert [i["client"] for i in invoice["items"]] == [None]
    assert "(no client)" in cli.ok("report") and "(no client)" in cli.ok("report", "--items")
    assert cli.json("report", "--client", "")["totals"]["billable_minutes"] == 20
    assert cli.json("report", "--items", "--client", "(no client)")["totals"]["billable_minutes"] == 20
    assert cli.json("report", "--client", "Acme")["totals"]["billable_minutes"] == 0
    cli.ok("update", tid, "--client", "Acme")  # given a client later: its item follows
    assert [i["client"] for i in cli.json("report", "--items")["items"]] == ["Acme"]
    plain = cli.create("No minutes, no client")
    assert "no client" not in cli.run("done", plain).stderr  # nothing to bill: nothing said


# -- the doors: the CLI ---------------------------------------------------------------------------------------------


def test_the_cli_takes_minutes_given_as_text_and_refuses_what_is_no_number(cli: Cli) -> None:
    tid = cli.create("Renew the certificate", "--client", "Acme", "--meta", "billable_minutes=45")
    assert cli.task(tid)["metadata"]["billable_minutes"] == 45
    other = cli.create("Estimate", "--context", 'billable_minutes="30"', "--context", "estimated_minutes=15.5")
    assert cli.task(other)["context"] == {"billable_minutes": 30, "estimated_minutes": 15.5}
    count = commits(cli)
    for args in (("create", "x", "--meta", "billable_minutes=soon"), ("update", tid, "--meta", "billable_minutes=-5"),
                 ("update", tid, "--context", "billable_minutes=soon")):  # fmt: skip
        err = cli.fail(*args)
        assert (
            len(err.strip().splitlines()) == 1 and "is not a number of minutes" in err and "nothing was changed" in err
        )
    assert commits(cli) == count and cli.task(tid)["metadata"]["billable_minutes"] == 45
    cli.ok("done", tid)
    assert cli.json("report", "--items")["totals"]["billable_minutes"] == 45  # it bills: a work item was written
    cli.ok("update", tid, "--minutes", "50")  # update --minutes: where done --minutes puts them; the item follows
    assert cli.task(tid)["context"]["billable_minutes"] == 50
    assert cli.json("report", "--items")["totals"]["billable_minutes"] == 50 == cli.json("report")["totals"][
        "billable_minutes"]  # fmt: skip
    made = cli.create("Made with minutes", "--client", "Acme", "--minutes", "15")
    assert cli.task(made)["context"]["billable_minutes"] == 15
    assert "--minutes" in cli.fail("update", tid, "--minutes", "-1", code=2)


# -- the doors: the capture hook ---------------------------------------------------------------------------------------


def hook_payload(cli: Cli, tool: str, session: str, tool_input: dict[str, Any], response: Any) -> str:
    return json.dumps({"session_id": session, "hook_event_name": "PostToolUse", "tool_name": tool,
                       "cwd": str(cli.root), "tool_input": tool_input, "tool_response": response})  # fmt: skip


def hook_create(cli: Cli, native: str, subject: str, session: str, **tool_input: Any) -> tuple[str, str]:
    """TaskCreate through the hook: (the new task's id, what the hook said on stderr)."""
    before = {t["id"] for t in cli.doc()["tasks"]}
    proc = cli.run(
        "hook",
        "capture",
        input=hook_payload(
            cli, "TaskCreate", session, {"subject": subject, **tool_input}, {"task": {"id": native, "subject": subject}}
        ),
    )
    assert proc.returncode == 0, proc.stderr
    [tid] = {t["id"] for t in cli.doc()["tasks"]} - before
    return tid, proc.stderr


def hook_update(cli: Cli, native: str, session: str, **tool_input: Any) -> str:
    """TaskUpdate through the hook: what it said on stderr."""
    response = {"success": True, "taskId": native, "updatedFields": sorted(tool_input)}
    proc = cli.run("hook", "capture", input=hook_payload(cli, "TaskUpdate", session, {"taskId": native, **tool_input},
                                                          response))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_the_capture_hook_takes_minutes_as_text_and_warns_of_what_is_no_number(cli: Cli) -> None:
    tid, said = hook_create(
        cli,
        "1",
        "Fix the VPN",
        "S",
        metadata={"client": "Acme", "billable_minutes": "45", "context": {"estimated_minutes": "30"}},
    )
    assert said == "" and cli.task(tid)["metadata"]["billable_minutes"] == 45
    assert cli.task(tid)["context"]["estimated_minutes"] == 30
    said = hook_update(cli, "1", "S", metadata={"billable_minutes": "soon"})
    lines = said.strip().splitlines()  # recorded as the assistant's tool has it, and said in one line
    assert len(lines) == 1 and "metadata.billable_minutes 'soon' is not a number of minutes" in lines[0]
    assert cli.task(tid)["metadata"]["billable_minutes"] == "soon"
    report = cli.run("report")  # a report says why the task bills nothing
    hook_update(cli, "1", "S", status="completed")
    report = cli.run("report")
    assert "'soon' is not a number, so it is not billed" in report.stderr
    assert cli.json("report")["totals"]["billable_minutes"] == 0 == cli.json("report", "--items")["totals"][
        "billable_minutes"]  # fmt: skip
    hook_update(cli, "1", "S", metadata={"billable_minutes": "40"})
    assert cli.json("report")["totals"]["billable_minutes"] == 40 == cli.json("report", "--items")["totals"][
        "billable_minutes"]  # fmt: skip
    plain, _ = hook_create(cli, "2", "Reset the router", "S", metadata={"billable_minutes": 10})
    said = hook_update(cli, "2", "S", status="completed")
    assert f"task {plain} bills 10 min but has no client" in said


# -- the doors: a direct write of the task file ------------------------------------------------------------------


def test_a_direct_write_takes_minutes_as_text_and_warns_of_what_is_no_number(cli: Cli) -> None:
    good = cli.create("Fix the VPN", "--client", "Dataforth")
    bad = cli.create("Fix the printer", "--client", "Dataforth")
    doc = cli.doc()
    for task in doc["tasks"]:
        task["status"] = "completed"
        task["metadata"]["billable_minutes"] = "25" if task["id"] == good else "soon"
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2))
    write = json.dumps({"session_id": "W", "hook_event_name": "PostToolUse", "tool_name": "Write",
                        "cwd": str(cli.root), "tool_input": {"file_path": ACTIVE, "content": "..."},
                        "tool_response": {"filePath": ACTIVE}})  # fmt: skip
    proc = cli.run("hook", "capture", input=write)
    assert proc.returncode == 0
    assert [line for line in proc.stderr.splitlines() if "not a number" in line] == [
        f"gittasks: task {bad}: metadata.billable_minutes 'soon' is not a number of minutes (zero or more); it counts "
        "as none until it is a number"]  # fmt: skip
    assert (
        cli.task(good)["metadata"]["billable_minutes"] == 25 and cli.task(bad)["metadata"]["billable_minutes"] == "soon"
    )
    rev = "gittasks" if git(cli.root, "config", "--get", "gittasks.layout", check=False) != "inline" else "HEAD"
    committed = json.loads(git(cli.root, "show", f"{rev}:{ACTIVE}"))
    assert next(t for t in committed["tasks"] if t["id"] == good)["metadata"]["billable_minutes"] == 25
    assert cli.json("report")["totals"]["billable_minutes"] == 25 == cli.json("report", "--items")["totals"][
        "billable_minutes"]  # fmt: skip
    # an editor's write, no hook: the next command commits it, the number taken the same way
    doc = cli.doc()
    next(t for t in doc["tasks"] if t["id"] == bad)["metadata"]["billable_minutes"] = " 35 "
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    cli.ok("list")
    assert cli.task(bad)["metadata"]["billable_minutes"] == 35
    assert cli.json("report")["totals"]["billable_minutes"] == 60 == cli.json("report", "--items")["totals"][
        "billable_minutes"]  # fmt: skip


# -- the doors: MCP ------------------------------------------------------------------------------------------------


def test_mcp_takes_minutes_as_text_refuses_what_is_no_number_and_says_what_done_bills(make_repo: MakeRepo) -> None:
    from test_mcp import session, text

    cli = init_repo(make_repo())

    async def scenario(client: Any) -> dict[str, Any]:
        made = await client.call_tool("task_create", {"subject": "Renew", "metadata": {"billable_minutes": "45"}})
        assert not made.is_error, text(made)
        task = json.loads(made.content[0].text)
        refused = await client.call_tool("task_update", {"taskId": task["id"],
                                                         "metadata": {"billable_minutes": "soon"}})  # fmt: skip
        assert refused.is_error and "is not a number of minutes" in text(refused)
        done = await client.call_tool("task_update", {"taskId": task["id"], "status": "completed"})
        assert not done.is_error, text(done)
        return {"id": task["id"], "said": text(done)}

    found = session(cli.root, scenario)
    assert cli.task(found["id"])["metadata"]["billable_minutes"] == 45  # the refused call changed nothing
    assert f"task {found['id']} bills 45 min but has no client" in found["said"]
    assert cli.json("report")["totals"]["billable_minutes"] == 45 == cli.json("report", "--items")["totals"][
        "billable_minutes"]  # fmt: skip


# -- active time: the rule ---------------------------------------------------------------------------------------


def test_active_time_counts_gaps_up_to_the_cutoff_while_a_task_is_in_progress() -> None:
    events = [Event(at(0), "a", "in_progress"), Event(at(5)), Event(at(10)), Event(at(30)), Event(at(35)),
              Event(at(40), "a", "completed"), Event(at(50)), Event(at(52))]  # fmt: skip
    found = activity.figures(events, {})
    # 0-5, 5-10 count; 10-30 is idle (over 15 min); 30-35, 35-40 count; nothing after the completion
    assert found == {"a": {"seconds": 20 * 60, "events": 5, "from": "2026-03-02T09:00:00.000Z",
                           "to": "2026-03-02T09:40:00.000Z"}}  # fmt: skip
    shared = activity.figures([Event(at(0), "a", "in_progress"), Event(at(0), "b", "in_progress"), Event(at(10))], {})
    assert shared["a"]["seconds"] == shared["b"]["seconds"] == 5 * 60  # two tasks at once: the time shared
    clipped = activity.figures([Event(at(0), "a", "in_progress"), Event(at(10)), Event(at(20))], {"a": at(7)})
    assert clipped["a"]["seconds"] == 7 * 60  # ended at 7 (elsewhere): no time after it
    assert activity.figures([Event(at(0)), Event(at(5))], {}) == {}  # pings with no task in progress: nothing


@settings(max_examples=80)
@given(st.lists(st.floats(0, 600, allow_nan=False), min_size=1, max_size=40), st.integers(1, 3))
def test_active_time_is_the_sessions_working_gaps_shared_out(times: list[float], tasks: int) -> None:
    ids = [f"t{i}" for i in range(tasks)]
    start = min(times)
    events = [Event(at(start), tid, "in_progress") for tid in ids] + [Event(at(m)) for m in times]
    found = activity.figures(events, {})
    moments = sorted([start] * tasks + times)
    working = sum(b - a for a, b in itertools.pairwise(moments) if b - a <= IDLE_CUTOFF.total_seconds() / 60)
    total = sum(f["seconds"] for f in found.values())
    assert abs(total - working * 60) <= tasks  # (each task's seconds rounded)
    assert all(f["seconds"] <= (max(times) - start) * 60 + 1 for f in found.values())
    assert len({f["seconds"] for f in found.values()}) == 1  # in progress together: equal shares


def test_the_fold_keeps_a_machine_and_session_entry_and_never_goes_back() -> None:
    task: dict[str, Any] = {"id": "a", "status": "in_progress", "metadata": {"client": "Acme"}}
    events = [Event(at(0), "a", "in_progress"), Event(at(5)), Event(at(10))]
    assert activity.fold({"a": task}, ["a"], {"m1/s1": events}) == ["a"]
    assert activity.fold({"a": task}, ["a"], {"m1/s1": events}) == []  # the same figure: no change
    assert activity.fold({"a": task}, ["a"], {"m1/s1": events[:2]}) == []  # a pruned spool: the entry stays
    activity.fold({"a": task}, ["a"], {"m2/s9": events})
    assert set(task["metadata"][activity.KEY]) == {"m1/s1", "m2/s9"} and task["metadata"]["client"] == "Acme"
    assert activity.active_minutes(task) == 20 and activity.active_minutes({"id": "b"}) is None


START, END = activity.TURN_START, activity.TURN_END


def mark(minutes: float, turn: str) -> Event:
    return Event(at(minutes), turn=turn)


def test_a_turn_counts_whole_however_long_the_session_goes_without_a_hook_call() -> None:
    # a prompt at 0, the task started at 1, a 39-minute build (Bash: no hook), a tool at 40, the answer ends at 90
    events = [
        mark(0, START),
        Event(at(1), "a", "in_progress"),
        Event(at(40)),
        mark(90, END),
        mark(100, START),
        Event(at(101)),
        mark(102, END),  # between turns: 10 minutes count, under the cut-off
        mark(130, START),
        mark(131, END),
    ]  # fmt: skip  (28 minutes between turns: a break)
    found = activity.figures(events, {})["a"]
    assert found["seconds"] == (89 + 10 + 2 + 1) * 60 and found["to"] == "2026-03-02T11:11:00.000Z"
    # the same events without the turn marks: the idle cut-off alone (the 39 and 50 minute gaps count nothing)
    unmarked = activity.figures([e for e in events if e.turn is None], {})["a"]
    assert unmarked["seconds"] == 0
    # completed at 60 (elsewhere): the turn counts up to it, not after
    assert activity.figures(events, {"a": at(60)})["a"]["seconds"] == 59 * 60


def test_a_turn_without_its_end_ends_at_its_last_event_and_one_without_its_start_begins_with_its_first() -> None:
    killed = [
        mark(0, START),
        Event(at(0), "a", "in_progress"),
        Event(at(50)),  # the session killed after 50
        mark(200, START),
        Event(at(201)),
        mark(260, END),
    ]  # fmt: skip  (resumed much later)
    assert activity.figures(killed, {})["a"]["seconds"] == (50 + 1 + 59) * 60
    # the session's file began with its first task status, within a turn (its start mark went to no file)
    late = [Event(at(0), "a", "in_progress"), mark(40, END)]
    assert activity.figures(late, {})["a"]["seconds"] == 40 * 60
    # a Stop hook kept the answer going: two ends, the second turn's events count whole from its first one
    kept_going = [mark(0, START), Event(at(0), "a", "in_progress"), mark(20, END), Event(at(22)), Event(at(60)),
                  mark(61, END)]  # fmt: skip
    assert activity.figures(kept_going, {})["a"]["seconds"] == (20 + 2 + 38 + 1) * 60
    assert activity.turns([mark(0, END), Event(at(1)), mark(2, START), Event(at(3))]) == [1, None, 2, 2]


def turn_spans(ordered: list[Event]) -> list[tuple[int, int]]:
    """The turns of events in time order as (first, last) positions, found another way than `activity.turns`: from
    each end mark back to its start (or to the first event after the mark before it), from each start with no end
    forward to the last event before the next start."""
    marks = [i for i, e in enumerate(ordered) if e.turn is not None]
    spans = []
    for n, i in enumerate(marks):
        before = marks[n - 1] if n else None
        after = marks[n + 1] if n + 1 < len(marks) else None
        if ordered[i].turn == END:
            if before is None:
                spans.append((0, i))
            else:
                spans.append((before if ordered[before].turn == START else before + 1, i))
        elif after is None or ordered[after].turn == START:
            spans.append((i, (after - 1) if after is not None else len(ordered) - 1))
    return spans


@settings(max_examples=150)
@given(
    st.lists(st.tuples(st.integers(0, 600), st.sampled_from([None, START, END])), min_size=1, max_size=30),
    st.integers(1, 3),
)
def test_turns_count_whole_and_the_rest_up_to_the_cutoff(moments: list[tuple[int, str | None]], tasks: int) -> None:
    ids = [f"t{i}" for i in range(tasks)]
    start = min(m for m, _ in moments)
    events = [Event(at(start), tid, "in_progress") for tid in ids]
    events += [Event(at(m), turn=turn) for m, turn in sorted(moments, key=lambda pair: pair[0])]
    ordered = sorted(events, key=lambda e: e.at)
    spans = turn_spans(ordered)
    assert [n is not None for n in activity.turns(ordered)] == [any(a <= i <= b for a, b in spans)
                                                                  for i in range(len(ordered))]  # fmt: skip
    found = activity.figures(events, {})
    whole, counted = 0.0, 0.0
    for i in range(len(ordered) - 1):
        gap = (ordered[i + 1].at - ordered[i].at).total_seconds()
        inside = any(a <= i and i + 1 <= b for a, b in spans)
        whole += gap if inside else 0
        counted += gap if inside or gap <= IDLE_CUTOFF.total_seconds() else 0
    total = sum(f["seconds"] for f in found.values())
    assert abs(total - counted) <= tasks  # (each task's seconds rounded)
    outside = sum(1 for i in range(len(ordered) - 1) if not any(a <= i and i + 1 <= b for a, b in spans))
    assert total <= whole + outside * IDLE_CUTOFF.total_seconds() + tasks
    assert total <= (ordered[-1].at - ordered[0].at).total_seconds() + tasks  # never more than the wall time
    assert len({f["seconds"] for f in found.values()}) == 1  # in progress together: equal shares of the whole
    if counted:
        ended = activity.figures(events, {tid: at(start) + timedelta(seconds=counted / 2) for tid in ids})
        assert all(ended[t]["seconds"] <= found[t]["seconds"] for t in ids)
        assert all(ended[t]["to"] <= found[t]["to"] for t in ids)  # (the stamps sort as text)


# -- active time: through the hooks ----------------------------------------------------------------------------------


def backdate(cli: Cli, session: str, tid: str, now: datetime) -> None:
    """What a session's hooks would have recorded over the last 40 minutes: the task started 40 minutes ago, a tool
    used every 5 minutes for 15 minutes, a break of 22 minutes, a tool 3 minutes ago (18 active minutes by now)."""
    ws = Workspace.open(cli.root)
    activity_spool.record(ws, session, [(tid, "in_progress")], at=now - timedelta(minutes=40))
    for minutes in (35, 30, 25, 3):
        activity_spool.ping(ws, session, at=now - timedelta(minutes=minutes))


def spool_lines(cli: Cli) -> list[str]:
    folder = Path(git(cli.root, "rev-parse", "--path-format=absolute", "--git-common-dir")) / activity_spool.FOLDER
    return [line for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_the_hooks_record_times_and_counts_only_and_commit_nothing_for_them(cli: Cli) -> None:
    tid, _ = hook_create(cli, "1", "Private subject text", "S1", description="secret words")
    assert spool_lines(cli) == []  # a new task left pending: nothing to time yet
    hook_update(cli, "1", "S1", status="in_progress")
    count = commits(cli)
    (cli.root / "notes.md").write_text("hello")
    for _ in range(3):  # the assistant at work: each hook call a time stamp, no commit
        proc = cli.run(
            "hook",
            "capture",
            input=hook_payload(
                cli, "Write", "S1", {"file_path": "notes.md", "content": "secret words"}, {"filePath": "notes.md"}
            ),
        )
        assert proc.returncode == 0 and proc.stderr == ""
    assert commits(cli) == count
    lines = spool_lines(cli)
    assert json.loads(lines[0]) == {"t": json.loads(lines[0])["t"], "task": tid, "status": "in_progress"}
    assert len(lines) == 4 and all(line.isdigit() for line in lines[1:])  # times, never what the tools did
    assert "secret" not in "".join(lines) and "Private" not in "".join(lines)
    activity_spool.ping(Workspace.open(cli.root), "S1", at=datetime.now(UTC) + timedelta(minutes=2))  # work goes on
    other = cli.run(
        "hook",
        "capture",
        input=hook_payload(cli, "Write", "S2", {"file_path": "notes.md", "content": "x"}, {"filePath": "notes.md"}),
    )
    assert other.returncode == 0 and len(spool_lines(cli)) == 5  # a session that never took a task: nothing
    proc = cli.run(
        "hook",
        "session-end",
        input=json.dumps(
            {"session_id": "S1", "hook_event_name": "SessionEnd", "reason": "other", "cwd": str(cli.root)}
        ),
    )
    assert proc.returncode == 0, proc.stderr
    assert commits(cli) == count + 1  # the session's time folded into its task at its end, one commit
    [entry] = cli.task(tid)["metadata"][activity.KEY].values()
    assert set(entry) == {"seconds", "events", "from", "to"} and entry["events"] == 5 and 110 <= entry["seconds"] <= 130
    assert list(cli.task(tid)["metadata"][activity.KEY]) == ["test-machine/S1"]
    cli.run("hook", "session-end", input=json.dumps({"session_id": "S1", "cwd": str(cli.root)}))
    assert commits(cli) == count + 1  # nothing new: no commit


def test_active_minutes_are_offered_at_completion_and_shown_beside_the_billed_ones(cli: Cli) -> None:
    tid, _ = hook_create(cli, "1", "Fix the VPN", "S", metadata={"client": "Acme"})
    backdate(cli, "S", tid, datetime.now(UTC))
    said = hook_update(cli, "1", "S", status="completed")
    assert f"task {tid}: active 18 min in its sessions; bill it with `gittasks update {tid} --minutes 18`" in said
    task = cli.task(tid)
    assert activity.active_minutes(task) == 18 and work_items.billable_minutes(task) is None  # offered, not billed
    count = commits(cli)
    proc = cli.run("hook", "session-end", input=json.dumps({"session_id": "S", "cwd": str(cli.root)}))
    assert proc.returncode == 0 and commits(cli) == count  # folded with the completion already: nothing more
    assert cli.json("report", "--items")["items"] == []
    cli.ok("update", tid, "--minutes", "18")
    invoice = cli.json("report", "--items")
    assert [(i["billable_minutes"], i["active_minutes"]) for i in invoice["items"]] == [(18, 18)]
    assert invoice["totals"]["active_minutes"] == 18 == cli.json("report")["totals"]["active_minutes"]
    rows = list(csv.DictReader(io.StringIO(cli.ok("report", "--items", "--csv"))))
    assert [(r["billable_minutes"], r["hours"], r["active_minutes"]) for r in rows] == [("18", "0.30", "18")]
    assert "active min" in cli.ok("report", "--items").splitlines()[0]


def test_show_gives_the_active_time_on_one_line_and_its_json_keeps_the_entries(cli: Cli) -> None:
    tid, _ = hook_create(cli, "1", "Fix the VPN", "S", metadata={"client": "Acme"})
    backdate(cli, "S", tid, datetime.now(UTC))
    hook_update(cli, "1", "S", status="completed")
    shown = cli.ok("show", tid).splitlines()
    assert "active:         18 min (1 session, 1 machine)" in shown
    assert not any(activity.KEY in line for line in shown) and "  client: Acme" in shown  # the rest stays
    entries = cli.task(tid)["metadata"][activity.KEY]
    assert json.loads(cli.ok("show", tid, "--json"))["metadata"][activity.KEY] == entries  # as stored


def test_the_active_line_counts_the_sessions_and_machines_with_a_figure() -> None:
    def entry(seconds: Any) -> dict[str, Any]:
        return {"seconds": seconds, "events": 3, "from": "2026-03-02T09:00:00Z", "to": "2026-03-02T10:00:00Z"}

    held = {"WS-A/s1": entry(1200), "WS-A/s2": entry(600), "my/pc/s9": entry(420), "WS-B/s3": entry("soon")}
    task = {"id": "a", "subject": "x", "metadata": {activity.KEY: held, "client": "Acme"}}
    assert render.active_time(task) == "37 min (3 sessions, 2 machines)"  # WS-B's entry holds no figure
    assert render.active_time({**task, "metadata": {activity.KEY: {"WS-A/s1": entry(5400)}}}) == (
        "1 h 30 min (1 session, 1 machine)")  # fmt: skip
    detail = render.task_detail(task).splitlines()
    assert "active:         37 min (3 sessions, 2 machines)" in detail and activity.KEY not in "".join(detail)
    odd = {"id": "b", "subject": "y", "metadata": {activity.KEY: "by hand"}}  # no figure: shown as it is
    assert render.active_time(odd) is None and f"  {activity.KEY}: by hand" in render.task_detail(odd)


# -- active time: the turn marks (`hook ping` on UserPromptSubmit and Stop) ----------------------------------------


def turn_payload(cli: Cli, event: str, session: str) -> dict[str, Any]:
    """A UserPromptSubmit or Stop payload as Claude Code 2.1.332 sends it: the prompt and the answer's text in it."""
    payload: dict[str, Any] = {
        "session_id": session, "transcript_path": f"/home/user/.claude/projects/-repo/{session}.jsonl",
        "cwd": str(cli.root), "prompt_id": "da2585f5-b517-4600-b5f5-8a3e9000a3ae", "permission_mode": "default",
        "hook_event_name": event}  # fmt: skip
    if event == "UserPromptSubmit":
        payload["prompt"] = "secret prompt words"
    else:
        payload.update(stop_hook_active=False, last_assistant_message="secret answer words", background_tasks=[],
                       session_crons=[])  # fmt: skip
    return payload


NO_PROJECT = {activity_spool.PROJECT_VARIABLE: ""}  # (a test run inside a Claude Code session: not its project)


def test_the_ping_marks_a_turn_in_one_line_says_nothing_and_always_exits_0(cli: Cli, tmp_path: Path) -> None:
    hook_create(cli, "1", "Fix the VPN", "S")
    hook_update(cli, "1", "S", status="in_progress")
    count, before = commits(cli), len(spool_lines(cli))
    for event, word in (("UserPromptSubmit", "turn-start"), ("Stop", "turn-end")):
        proc = call_hook(cli.root, "ping", turn_payload(cli, event, "S"), env=NO_PROJECT)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")  # stdout would reach the model
        assert re.fullmatch(rf"\d{{13}} {word}", spool_lines(cli)[-1]), spool_lines(cli)
    assert len(spool_lines(cli)) == before + 2 and commits(cli) == count  # an append, no commit
    assert "secret" not in "".join(spool_lines(cli))  # the time and the mark, never the prompt or the answer
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    ignored = ["", "not json", "[1]", "{}", '{"session_id": 5}', "\x00\u00ff", '{"session_id": "S"',
               json.dumps(turn_payload(cli, "Stop", "S2")),  # a session that never worked on a task: no file
               json.dumps({**turn_payload(cli, "Stop", "S"), "cwd": str(outside)}),  # no repository there
               json.dumps({**turn_payload(cli, "Stop", "S"), "cwd": ["not", "a", "folder"]})]  # fmt: skip
    for stdin in ignored:
        proc = call_hook(cli.root, "ping", stdin, env=NO_PROJECT)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", ""), stdin
    assert len(spool_lines(cli)) == before + 2
    assert sorted(p.name for p in spool_folder(cli).iterdir()) == ["S.jsonl"]
    # the project Claude Code was started in comes first (the session went into another folder), as for every hook
    moved = {**turn_payload(cli, "UserPromptSubmit", "S"), "cwd": str(outside)}
    assert call_hook(outside, "ping", moved, env={activity_spool.PROJECT_VARIABLE: str(cli.root)}).returncode == 0
    # and `--repo` before them all (through the CLI framework)
    proc = call_gittasks(outside, "--repo", str(cli.root), "hook", "ping", input=json.dumps(moved), env=NO_PROJECT)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert [line.split()[-1] for line in spool_lines(cli)[-2:]] == ["turn-start", "turn-start"]
    # any other event: a moment of work, its time alone
    call_hook(cli.root, "ping", {**turn_payload(cli, "SubagentStop", "S")}, env=NO_PROJECT)
    assert spool_lines(cli)[-1].isdigit()


def spool_folder(cli: Cli) -> Path:
    return Path(git(cli.root, "rev-parse", "--path-format=absolute", "--git-common-dir")) / activity_spool.FOLDER


def test_the_ping_starts_no_git_and_loads_nothing_heavy(cli: Cli, tmp_path: Path) -> None:
    hook_create(cli, "1", "Fix the VPN", "S")
    hook_update(cli, "1", "S", status="in_progress")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text(f"#!/bin/sh\ntouch '{tmp_path / 'git-ran'}'\nexit 1\n")
    (fake / "git").chmod(0o755)
    probe = ("import sys\nfrom gittasks.main import main\ncode = main(sys.argv[1:])\n"
             "heavy = [m for m in ('orjson', 'subprocess', 'gittasks.workspace', 'gittasks.document', 'typer') "
             "if m in sys.modules]\nsys.stderr.write(' '.join(heavy))\nsys.exit(code)\n")  # fmt: skip
    env = {**os.environ, "PATH": str(fake), **NO_PROJECT}
    proc = subprocess.run([sys.executable, "-c", probe, "hook", "ping"], cwd=cli.root, capture_output=True, text=True,
                          input=json.dumps(turn_payload(cli, "Stop", "S")), env=env)  # fmt: skip
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert not (tmp_path / "git-ran").exists() and spool_lines(cli)[-1].endswith(" turn-end")
    broken = subprocess.run([sys.executable, "-m", "gittasks", "hook", "ping"], cwd=cli.root, capture_output=True,
                            input=b"\xff\xfe{\x00", env=env)  # fmt: skip
    assert (broken.returncode, broken.stdout, broken.stderr) == (0, b"", b"")


def test_a_turn_of_work_no_hook_sees_counts_whole_at_the_sessions_end(cli: Cli) -> None:
    tid, _ = hook_create(cli, "1", "Fix the VPN", "S", metadata={"client": "Acme"})
    ws = Workspace.open(cli.root)
    now = datetime.now(UTC)
    # the task started 40 minutes ago (its start, in the session's first turn, opened the session's file), then 40
    # minutes of Bash and Read work: no hook call until the answer ended now
    activity_spool.record(ws, "S", [(tid, "in_progress")], at=now - timedelta(minutes=40))
    assert call_hook(cli.root, "ping", turn_payload(cli, "Stop", "S"), env=NO_PROJECT).returncode == 0
    end = {"session_id": "S", "hook_event_name": "SessionEnd", "reason": "other", "cwd": str(cli.root)}
    assert call_hook(cli.root, "session-end", end, env=NO_PROJECT).returncode == 0
    [entry] = cli.task(tid)["metadata"][activity.KEY].values()
    assert 40 * 60 - 5 <= entry["seconds"] <= 40 * 60 + 5 and entry["events"] == 2
    # the next turn: a prompt 30 minutes later (a break: not counted), 20 minutes of work, the task completed
    with (spool_folder(cli) / "S.jsonl").open("a") as spool:
        spool.write(f"{int((now + timedelta(minutes=30)).timestamp() * 1000)} turn-start\n")
    activity_spool.record(ws, "S", [(tid, "completed")], at=now + timedelta(minutes=50))
    figures = activity.figures(activity_spool.session(ws, "S"), {tid: now + timedelta(minutes=50)})
    assert 60 * 60 - 5 <= figures[tid]["seconds"] <= 60 * 60 + 5


# -- active time: a session that drives its tasks through the MCP server --------------------------------------------


def test_a_session_working_through_mcp_records_its_task_statuses_and_gets_its_turns_time(make_repo: MakeRepo) -> None:
    from mcp.client.stdio import StdioServerParameters
    from test_mcp import ok, session, text

    cli = init_repo(make_repo())

    def server(env: dict[str, str]) -> StdioServerParameters:  # as Claude Code starts it: the session named
        return StdioServerParameters(command=sys.executable, args=["-m", "gittasks", "mcp"], cwd=str(cli.root),
                                     env={**os.environ, **NO_PROJECT, **env})  # fmt: skip

    async def start(client: Any) -> str:
        task = await ok(client, "task_create", subject="Renew the certificate", client="Acme")
        await ok(client, "task_update", taskId=task["id"], status="in_progress")
        return str(task["id"])

    outside_claude = {k: v for k, v in os.environ.items() if k != activity_spool.SESSION_VARIABLE}
    other = session(StdioServerParameters(command=sys.executable, args=["-m", "gittasks", "mcp"], cwd=str(cli.root),
                                          env=outside_claude), start)  # fmt: skip
    assert spool_lines(cli) == [] and other  # no session named: nothing timed
    tid = session(server({activity_spool.SESSION_VARIABLE: "S-mcp"}), start)
    [line] = spool_lines(cli)
    assert {k: v for k, v in json.loads(line).items() if k != "t"} == {"task": tid, "status": "in_progress"}
    # the prompt came 30 minutes earlier, the task started 25 minutes ago; Bash work since, no hook call
    file = spool_folder(cli) / "S-mcp.jsonl"
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    started = {**json.loads(line), "t": now_ms - 25 * 60_000}
    file.write_text(f"{now_ms - 30 * 60_000} turn-start\n{json.dumps(started, separators=(',', ':'))}\n")

    async def complete(client: Any) -> Any:
        return text(await client.call_tool("task_update", {"taskId": tid, "status": "completed"}))

    said = session(server({activity_spool.SESSION_VARIABLE: "S-mcp"}), complete)
    assert f"task {tid}: active 25 min in its sessions" in said, said
    assert list(cli.task(tid)["metadata"][activity.KEY]) == ["test-machine/S-mcp"]
    assert spool_lines(cli)[-1].endswith('"status":"completed"}')


# -- a month of mixed work, on two machines ----------------------------------------------------------------------------


def month_history(tasks: list[dict[str, Any]]) -> None:
    """Work done in January 2025, written into the task file directly (as an editor or an assistant would)."""
    work = (("jan-1", "Acme", "Web", 6, 120), ("jan-2", "Contoso", "Ops", 14, 25), ("jan-3", "", "", 20, 35),
            ("jan-4", "Acme", "Web", 31, 25))  # fmt: skip
    for tid, client, project, day, minutes in work:
        tasks.append({"id": tid, "subject": f"January work {tid}", "status": "completed",
                      "created_at": f"2025-01-{day:02d}T08:00:00Z", "started_at": f"2025-01-{day:02d}T09:00:00Z",
                      "completed_at": f"2025-01-{day:02d}T10:00:00Z", "blocks": [], "blockedBy": [],
                      "metadata": {"client": client, "project": project} if client else {},
                      "context": {"billable_minutes": str(minutes)}})  # fmt: skip


def totals_everywhere(cli: Cli, *filters: str) -> tuple[Any, ...]:
    """The billed minutes and hours as `report`, `report --items` and their CSV say them (asserting each adds up)."""
    report, invoice = cli.json("report", *filters), cli.json("report", "--items", *filters)
    rows = list(csv.DictReader(io.StringIO(cli.ok("report", "--csv", *filters))))
    lines = [
        r for r in csv.DictReader(io.StringIO(cli.ok("report", "--items", "--csv", *filters))) if r["void"] == "False"
    ]
    assert sum(r["billable_hours"] for r in report["rows"]) == pytest.approx(report["totals"]["billable_hours"])
    table, items_table = cli.ok("report", *filters).splitlines(), cli.ok("report", "--items", *filters).splitlines()
    assert table[-1].split()[-3:-1] == items_table[-1].split()[-3:-1] == [  # minutes and hours, as printed
        str(report["totals"]["billable_minutes"]), f"{report['totals']['billable_hours']:.2f}"]  # fmt: skip
    return (
        (report["totals"]["billable_minutes"], report["totals"]["billable_hours"]),
        (invoice["totals"]["billable_minutes"], invoice["totals"]["billable_hours"]),
        (sum(int(r["billable_minutes"]) for r in rows), round(sum(float(r["billable_hours"]) for r in rows), 2)),
        (sum(int(r["billable_minutes"]) for r in lines), round(sum(float(r["hours"]) for r in lines), 2)),
    )


def test_a_month_of_mixed_work_adds_up_the_same_in_every_report(make_repo: MakeRepo, bare_remote: Path,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    a = init_repo(make_repo("a"), "WS-A", inline=False)
    a.ok("init", "--remote", str(bare_remote))
    doc = a.doc()
    month_history(doc["tasks"])  # a direct write: minutes as text, a task with no client
    (a.root / ACTIVE).write_text(json.dumps(doc))
    a.ok("list")
    acme = a.create("Acme site fix", "--client", "Acme", "--project", "Web", "--meta", "billable_minutes=25")
    a.ok("done", acme)
    contoso = a.create("Contoso mail", "--client", "Contoso", "--project", "Ops")
    a.ok("done", contoso, "--minutes", "25")
    nobody = a.create("Office printer")
    assert "no client" in a.run("done", nobody, "--minutes", "20").stderr
    reopened = a.create("Acme backup", "--client", "Acme", "--project", "Web")
    a.ok("done", reopened, "--minutes", "45")
    a.ok("reopen", reopened)
    a.ok("done", reopened, "--minutes", "50")
    hooked, _ = hook_create(a, "1", "Contoso VPN", "S", metadata={"client": "Contoso", "project": "Ops"})
    backdate(a, "S", hooked, datetime.now(UTC))
    assert "--minutes 18" in hook_update(a, "1", "S", status="completed")
    a.ok("update", hooked, "--minutes", "18")  # the offered figure, billed
    both = a.create("Contoso server", "--client", "Contoso", "--project", "Ops")
    a.ok("start", both)
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    b.ok("list")
    a.ok("done", both, "--minutes", "30")
    b.ok("done", both, "--minutes", "40")  # completed on two machines
    for cli in (a, b, a, b):
        cli.ok("sync")
    for cli in (a, b):
        kept = work_items.billable_minutes(cli.task(both))
        assert kept in (30, 40)
        expected_minutes = 120 + 25 + 35 + 25 + 25 + 25 + 20 + 50 + 18 + kept
        every = totals_everywhere(cli)
        assert len(set(every)) == 1 and every[0][0] == expected_minutes, every
        for client in ("Acme", "Contoso", ""):
            assert len(set(totals_everywhere(cli, "--client", client))) == 1
        january = totals_everywhere(cli, "--since", "2025-01-01", "--until", "2025-02-01")
        assert len(set(january)) == 1 and january[0][0] == 205
        invoice = cli.json("report", "--items")
        assert sum(not i.get("void") for i in invoice["items"]) == 10 and invoice["totals"]["void"] == 0
        assert next(i for i in invoice["items"] if i["linked_task_id"] == hooked)["active_minutes"] == 18  # travelled
        assert "(no client)" in cli.ok("report") and "(no client)" in cli.ok("report", "--items")
    assert a.json("report") == b.json("report") and a.json("report", "--items") == b.json("report", "--items")


# -- priority and due through --meta, MCP and the hook: the stored forms of `--priority` and `--due` --------------


def test_priority_and_due_given_as_metadata_are_stored_as_the_options_store_them(cli: Cli) -> None:
    tid = cli.create("Patch", "--meta", "priority=high", "--meta", "due=2026-12-31T10:00:00Z")
    assert {k: cli.task(tid)["metadata"][k] for k in ("priority", "due")} == {"priority": 1, "due": "2026-12-31"}
    before = cli.doc()
    for bad in ("priority=9999", "priority=soon", "priority=true", "due=garbage", "due=12"):
        err = cli.fail("update", tid, "--meta", bad)
        assert "(nothing was changed)" in err and len(err.strip().splitlines()) == 1, err
        assert cli.fail("create", "Other", "--meta", bad)
    assert cli.doc() == before
    cli.ok("update", tid, "--meta", "priority=P0")
    assert cli.task(tid)["metadata"]["priority"] == 0
    assert next(t["id"] for t in cli.json("list", "--sort", "priority")) == tid


def test_mcp_and_the_hook_take_priority_words_and_the_hook_keeps_what_names_none(cli: Cli) -> None:
    from test_mcp import session, text

    async def scenario(client: Any) -> str:
        made = await client.call_tool("task_create", {"subject": "Renew", "metadata": {"priority": "urgent"}})
        assert not made.is_error, text(made)
        refused = await client.call_tool("task_create", {"subject": "No", "metadata": {"due": "someday"}})
        assert refused.is_error and "metadata.due 'someday' is no day" in text(refused)
        return str(json.loads(made.content[0].text)["id"])

    made = session(cli.root, scenario)
    assert cli.task(made)["metadata"]["priority"] == 0
    tid, said = hook_create(cli, "1", "Fix the VPN", "S", metadata={"priority": "whenever", "due": "2027-01-05"})
    lines = said.strip().splitlines()
    assert len(lines) == 1 and "metadata.priority 'whenever' is no priority" in lines[0], said
    assert cli.task(tid)["metadata"] == {"priority": "whenever", "due": "2027-01-05"}  # kept: the tool did it already
