"""Work items for completed client tasks and the work report, on real repositories."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from helpers import ACTIVE, Cli, MakeRepo, git, init_repo


def work_items(root: Path) -> list[dict[str, object]]:
    items = []
    for path in sorted((root / ".claude/tasks/work-items").glob("*.jsonl")):
        items += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return items


def test_completion_of_client_task_makes_one_work_item_in_the_same_commit(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo())
    tid = cli.create("Fix the VPN", "-d", "Users cannot connect\nmore", "--client", "Dataforth", "--type", "bugfix")
    plain = cli.create("No client")
    cli.ok("start", tid)
    cli.ok("start", plain)
    before = cli.commit_count()
    cli.ok("done", tid, "--minutes", "45", "--outcome", "replaced the certificate")
    assert cli.commit_count() == before + 1
    files = git(cli.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert ACTIVE in files and len(files) == 2 and any(f.startswith(".claude/tasks/work-items/") for f in files)
    items = work_items(cli.root)
    assert len(items) == 1
    item = items[0]
    assert item["linked_task_id"] == tid and item["client"] == "Dataforth" and item["billable_minutes"] == 45
    assert item["date"] == str(item["time"])[:10]
    assert item["category"] == "bugfix" and item["solution"] == "replaced the certificate"
    assert item["problem"] == "Fix the VPN: Users cannot connect" and item["machine"] == "test-machine"
    cli.ok("done", plain)
    assert len(work_items(cli.root)) == 1


def test_work_item_once_when_completed_on_two_machines(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Client job", "--client", "Acme")
    a.ok("start", tid)
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    a.ok("done", tid, "--minutes", "30")
    b.ok("done", tid, "--minutes", "30")
    for cli in (a, b, a):
        cli.ok("sync")
    assert len(work_items(a.root)) == 1
    assert work_items(a.root) == work_items(b.root)


def test_report_on_a_fixed_data_set(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo())

    def task(tid: str, client: str, project: str, start: str, end: str, minutes: int) -> dict[str, object]:
        return {
            "id": tid, "subject": tid, "status": "completed", "started_at": start, "completed_at": end,
            "metadata": {"client": client, "project": project}, "context": {"billable_minutes": minutes},
        }  # fmt: skip

    doc = cli.doc()
    doc["tasks"] = [
        task("1", "Acme", "Web", "2026-01-05T09:00:00Z", "2026-01-05T11:00:00Z", 120),
        task("2", "Acme", "Web", "2026-01-20T09:00:00Z", "2026-01-20T09:30:00Z", 30),
        task("3", "Acme", "Ops", "2026-02-02T10:00:00Z", "2026-02-02T10:45:00Z", 45),
        task("4", "Beta", "Web", "2026-01-10T08:00:00Z", "2026-01-10T09:00:00Z", 60),
        {"id": "5", "subject": "open", "status": "pending"},
    ]
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    report = cli.json("report")
    assert report["totals"] == {"tasks": 4, "minutes_spent": 255, "billable_minutes": 255, "active_minutes": 0,
                                "hours_spent": 4.25, "billable_hours": 4.25}  # fmt: skip
    rows = {(r["period"], r["client"], r["project"]): r for r in report["rows"]}
    assert rows[("2026-01", "Acme", "Web")]["tasks"] == 2
    assert rows[("2026-01", "Acme", "Web")]["billable_minutes"] == 150
    acme = cli.json("report", "--client", "Acme", "--since", "2026-01-15")
    assert {k: acme["totals"][k] for k in ("tasks", "minutes_spent", "billable_minutes")} == {
        "tasks": 2, "minutes_spent": 75, "billable_minutes": 75}  # fmt: skip
    assert cli.json("report", "--project", "Web", "--until", "2026-01-15")["totals"]["tasks"] == 2
    weekly = cli.json("report", "--by", "week")
    assert {r["period"] for r in weekly["rows"]} == {"2026-W02", "2026-W04", "2026-W06"}
    csv_text = cli.ok("report", "--csv")
    assert csv_text.splitlines()[0] == (
        "period,client,project,tasks,minutes_spent,billable_minutes,billable_hours,active_minutes"
    )
    assert "2026-01,Acme,Web,2,150,150,2.50,0" in csv_text
    assert "total" in cli.ok("report")
    assert "not a date" in cli.fail("report", "--since", "someday")
    assert cli.json("report", "--since", "yesterday")["totals"]["tasks"] == 0  # as `log --since` reads it


def test_billable_minutes_from_every_place_the_seed_puts_them_and_hours_that_add_up(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo())
    by_context = cli.create("Reset the router", "--client", "Acme")
    by_meta = cli.create("Renew the certificate", "--client", "Acme", "--meta", "billable_minutes=25")
    assert cli.task(by_meta)["metadata"]["billable_minutes"] == 25  # the number, not the text "25"
    cli.ok("done", by_context, "--minutes", "25", "--category", "troubleshooting")
    doc = cli.doc()
    doc["tasks"].append({"id": "seed1", "subject": "Seed-style task", "status": "in_progress",
                         "metadata": {"client": "Acme"}, "billable_minutes": 385})  # fmt: skip
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    cli.ok("done", "seed1")
    cli.ok("done", by_meta)
    items = {i["linked_task_id"]: i for i in work_items(cli.root)}
    assert {k: i["billable_minutes"] for k, i in items.items()} == {by_context: 25, by_meta: 25, "seed1": 385}
    assert items[by_context]["category"] == "troubleshooting"
    report = cli.json("report")
    assert report["totals"]["billable_minutes"] == 435
    table = cli.ok("report")
    total = table.splitlines()[-1].split()
    assert total[-3:-1] == ["435", "7.26"]  # exact minutes; hours rounded per task (0.42 + 0.42 + 6.42), then summed


def test_hours_in_a_table_add_up_to_the_total() -> None:
    from gittasks.work_report import hours

    for minutes in ([25, 25, 25], [10, 20, 30, 40], [1, 1, 1, 1, 1, 1, 1], [435], [], [0.5, 45.5]):
        shown = hours(minutes)
        assert round(sum(float(h) for h in shown[:-1]), 2) == float(shown[-1])
        assert shown[:-1] == [hours([m])[0] for m in minutes]  # each line its own figure, whatever is beside it
    assert hours([25, 25, 25]) == ["0.42", "0.42", "0.42", "1.26"]  # 25 min is 0.42 h wherever it is listed
    assert hours([1, 0.5, 0.3]) == ["0.02", "0.01", "0.01", "0.04"]  # half up: 0.5 min is 0.00833 h -> 0.01


def test_billing_agrees_with_the_work_items_after_three_machines_and_a_merge_that_cancels(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path
) -> None:
    a = init_repo(make_repo("a"), "WS-A", inline=False)
    a.ok("init", "--remote", str(bare_remote))
    vpn, mail, printer = (a.create(s, "--client", "Acme", "--project", "Office") for s in ("VPN", "Mail", "Printer"))
    a.ok("sync")
    machines = [a]
    for name in ("b", "c"):
        git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / name))
        machines.append(Cli(tmp_path / name, f"WS-{name.upper()}"))
    b, c = machines[1:]
    b.ok("list")
    c.ok("list")
    a.ok("done", vpn, "--minutes", "30")
    a.ok("done", printer, "--minutes", "20")
    b.ok("done", mail, "--minutes", "45")
    b.ok("cancel", printer)  # later than A's completion: the merge keeps the cancel
    c.ok("done", vpn, "--minutes", "40")  # the same task completed on two machines, with other minutes
    for cli in (a, b, c, a, b, c):
        cli.ok("sync")
    assert work_items(a.root) == work_items(b.root) == work_items(c.root)
    assert a.task(printer)["status"] == "cancelled"
    for cli in machines:
        invoice = cli.json("report", "--items")
        billed = [i for i in invoice["items"] if not i.get("void")]
        report = cli.json("report", "--client", "Acme")
        assert report["totals"]["billable_minutes"] == sum(i["billable_minutes"] for i in billed)
        assert invoice["totals"] == {
            "items": 2,
            "void": 1,
            "billable_minutes": report["totals"]["billable_minutes"],
            "billable_hours": report["totals"]["billable_hours"],
            "active_minutes": 0,
        }
        kept_vpn = next(i for i in billed if i["linked_task_id"] == vpn)
        assert kept_vpn["billable_minutes"] == cli.task(vpn)["context"]["billable_minutes"]  # follows the task
        void = next(i for i in invoice["items"] if i["linked_task_id"] == printer)
        assert void["void"] is True and void["void_reason"] == f"task {printer} is cancelled"  # kept, marked
    table = a.ok("report", "--items")
    assert f"(void: task {printer} is cancelled)" in table and "2 items, 1 void" in table
    assert "Acme,Office" in a.ok("report", "--items", "--csv")


def test_a_reopened_task_voids_its_work_item_and_completing_it_again_bills_once(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo())
    tid = cli.create("Fix the VPN", "--client", "Dataforth")
    cli.ok("done", tid, "--minutes", "45")
    cli.ok("reopen", tid)
    [item] = work_items(cli.root)
    assert item["void"] is True and item["void_reason"] == f"task {tid} is pending"
    assert cli.json("report")["totals"]["billable_minutes"] == 0 == cli.json("report", "--items")["totals"][
        "billable_minutes"]  # fmt: skip
    cli.ok("done", tid, "--minutes", "50")
    [item] = work_items(cli.root)
    assert item["billable_minutes"] == 50 and not item.get("void")
    cli.ok("update", tid, "--context", "billable_minutes=55")  # an edit of a completed task: its item follows
    assert [i["billable_minutes"] for i in work_items(cli.root)] == [55]
    cli.ok("delete", tid)
    [item] = work_items(cli.root)
    assert item["void"] is True and item["void_reason"] == f"task {tid} was deleted"
    assert "no work items match" in cli.run("report", "--items", "--client", "Nobody").stderr
    assert "--since" in cli.fail("report", "--items", "--since", "someday")


def test_an_item_bills_in_the_month_its_task_was_completed_so_both_reports_count_the_same_periods() -> None:
    from gittasks import work_items, work_report

    task = {"id": "t1", "subject": "VPN", "status": "completed", "completed_at": "2026-01-31T23:00:00.000Z",
            "metadata": {"client": "Acme"}, "context": {"billable_minutes": 30}}  # fmt: skip
    files = work_items.reconcile({}, {"t1": task})
    assert list(files) == [".claude/tasks/work-items/2026-01.jsonl"]
    again = {**task, "completed_at": "2026-02-02T09:00:00.000Z", "context": {"billable_minutes": 40}}
    files = {**files, **work_items.reconcile(files, {"t1": again})}  # completed again in February (or a merge said so)
    january, february = (document_lines(files[f".claude/tasks/work-items/2026-0{m}.jsonl"]) for m in (1, 2))
    assert january[0]["void"] is True and january[0]["void_reason"] == (
        "billed already in .claude/tasks/work-items/2026-02.jsonl"
    )
    assert february == [work_items.expected_item(again)] and february[0]["billable_minutes"] == 40
    assert work_items.reconcile(files, {"t1": again}) == {}  # settled: nothing more to write
    for since, until in ((None, None), ("2026-01-01", "2026-02-01"), ("2026-02-01", "2026-03-01")):
        start, end = work_report.period(since, until, datetime(2026, 6, 1, tzinfo=UTC))
        billed = work_report.invoice(files, since=start, until=end)["totals"]["billable_minutes"]
        assert work_report.build([again], since=start, until=end)["totals"]["billable_minutes"] == billed
    moved_back = {**again, "completed_at": "2026-01-31T23:00:00.000Z"}
    files = {**files, **work_items.reconcile(files, {"t1": moved_back})}
    assert [i.get("void", False) for i in document_lines(files[".claude/tasks/work-items/2026-01.jsonl"])] == [False]
    assert [i.get("void") for i in document_lines(files[".claude/tasks/work-items/2026-02.jsonl"])] == [True]


def document_lines(raw: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]


def test_two_machines_active_time_merges_without_a_conflict() -> None:
    from gittasks import activity
    from gittasks.merge import merge_documents

    base = {"tasks": [{"id": "t1", "subject": "VPN", "status": "in_progress", "metadata": {"client": "Acme"},
                       "updated_at": "2026-01-05T09:00:00.000Z"}]}  # fmt: skip
    entry = {"seconds": 600, "events": 4, "from": "2026-01-05T09:00:00.000Z", "to": "2026-01-05T09:10:00.000Z"}
    ours, theirs = json.loads(json.dumps(base)), json.loads(json.dumps(base))
    ours["tasks"][0]["metadata"][activity.KEY] = {"WS-A/s1": entry}
    theirs["tasks"][0]["metadata"][activity.KEY] = {"WS-B/s7": {**entry, "seconds": 1200}}
    ours["tasks"][0]["updated_at"], theirs["tasks"][0]["updated_at"] = (
        "2026-01-05T10:00:00.000Z",
        "2026-01-05T11:00:00.000Z",
    )
    merged = merge_documents(base, ours, theirs)
    assert merged.conflicts == []
    [task] = merged.document["tasks"]
    assert set(task["metadata"][activity.KEY]) == {"WS-A/s1", "WS-B/s7"} and activity.active_minutes(task) == 30
