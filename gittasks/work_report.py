"""Work reports: tasks completed, time spent and billable minutes per client and project, per week or month."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from gittasks import document, rules, work_items
from gittasks.errors import GittasksError
from gittasks.render import safe


def parse_date(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    moment = rules.parse_stamp(text)
    if moment is None:
        raise GittasksError(f"{option} {text!r} is not a date; write YYYY-MM-DD")
    return moment


def period_of(moment: datetime, by: str) -> str:
    if by == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.strftime("%Y-%m")


def build(
    tasks: Iterable[dict[str, Any]],
    *,
    client: str | None = None,
    project: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str = "month",
) -> dict[str, Any]:
    """Rows grouped by (period, client, project) and totals, from completed tasks."""
    if by not in ("week", "month"):
        raise GittasksError("--by takes week or month")
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for task in tasks:
        if task.get("status") != rules.COMPLETED:
            continue
        ended = rules.parse_stamp(task.get("completed_at"))
        if ended is None or (since and ended < since) or (until and ended >= until):
            continue
        metadata = document.as_object(task.get("metadata"))
        task_client, task_project = metadata.get("client") or "", metadata.get("project") or ""
        if (client is not None and task_client != client) or (project is not None and task_project != project):
            continue
        key = (period_of(ended, by), str(task_client), str(task_project))
        row = rows.setdefault(
            key,
            {
                "period": key[0],
                "client": key[1],
                "project": key[2],
                "tasks": 0,
                "minutes_spent": 0,
                "billable_minutes": 0,
            },
        )
        row["tasks"] += 1
        started = rules.parse_stamp(task.get("started_at"))
        if started is not None and ended >= started:
            row["minutes_spent"] += round((ended - started).total_seconds() / 60)
        minutes = work_items.billable_minutes(task)
        if minutes is not None:
            row["billable_minutes"] += minutes
    ordered = [rows[k] for k in sorted(rows)]
    totals = {
        "tasks": sum(r["tasks"] for r in ordered),
        "minutes_spent": sum(r["minutes_spent"] for r in ordered),
        "billable_minutes": sum(r["billable_minutes"] for r in ordered),
    }
    return {"by": by, "rows": ordered, "totals": totals}


def invoice(
    files: dict[str, bytes],
    *,
    client: str | None = None,
    project: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The work items as invoice lines, oldest first (`files`: {path: bytes} of the work-item files), with the
    totals of those that bill; void items are listed, marked, and not counted."""
    lines = []
    for path in sorted(files):
        for item in document.read_lines(files[path], path):
            moment = rules.parse_stamp(item.get("time") or item.get("date"))
            if moment is None or (since and moment < since) or (until and moment >= until):
                continue
            if (client is not None and item.get("client") != client) or (
                project is not None and item.get("project") != project
            ):
                continue
            lines.append(item)
    lines.sort(key=lambda i: (str(i.get("time") or i.get("date") or ""), str(i.get("id"))))
    billed = [i for i in lines if work_items.is_billed(i)]
    minutes = [m for i in billed if isinstance(m := i.get("billable_minutes"), int | float) and not isinstance(m, bool)]
    return {"items": lines, "totals": {"items": len(billed), "void": len(lines) - len(billed),
                                       "billable_minutes": sum(minutes)}}  # fmt: skip


def _minutes(item: dict[str, Any]) -> int | float:
    value = item.get("billable_minutes")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def invoice_table(data: dict[str, Any]) -> str:
    header = ("date", "client", "project", "category", "task", "work", "minutes", "hours")
    items = data["items"]
    billed = [i for i in items if work_items.is_billed(i)]
    shares = dict(zip((id(i) for i in billed), hours([_minutes(i) for i in billed]), strict=False))
    lines = [header]
    for item in items:
        void = not work_items.is_billed(item)
        problem = str(item.get("problem") or "")
        problem = problem if len(problem) <= 50 else problem[:49] + "…"
        lines.append((
            safe(item.get("date")), safe(item.get("client") or "-"), safe(item.get("project") or "-"),
            safe(item.get("category")), safe(work_items.linked_task(item) or "-"),
            safe(problem) + (f" (void: {safe(item.get('void_reason'))})" if void else ""),
            safe(_minutes(item)), "-" if void else shares[id(item)],
        ))  # fmt: skip
    totals = data["totals"]
    voided = f", {totals['void']} void" if totals["void"] else ""
    lines.append(("total", "", "", "", "", f"{totals['items']} items{voided}", str(totals["billable_minutes"]),
                  hours([_minutes(i) for i in billed])[-1]))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines)


def invoice_csv(data: dict[str, Any]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = ["date", "client", "project", "category", "linked_task_id", "problem", "solution", "billable_minutes",
            "machine", "void", "void_reason"]  # fmt: skip
    writer.writerow(keys)
    for item in data["items"]:
        row = {**item, "linked_task_id": work_items.linked_task(item), "void": bool(item.get("void"))}
        writer.writerow(["" if row.get(k) is None else row.get(k) for k in keys])
    return buffer.getvalue().rstrip("\n")


def hours(minutes: Sequence[int | float]) -> list[str]:
    """Hours with two decimals that add up: each row's hundredths rounded down, the ones left over given to the rows
    with the largest remainders, so that the rows sum to the total's own rounding (the last entry is the total)."""
    cents = [m * 100 / 60 for m in minutes]
    total = round(sum(cents))
    floors = [int(c) for c in cents]
    order = sorted(range(len(cents)), key=lambda i: cents[i] - floors[i], reverse=True)
    for i in order[: max(0, total - sum(floors))]:
        floors[i] += 1
    return [f"{c / 100:.2f}" for c in [*floors, total]]


def as_table(report: dict[str, Any]) -> str:
    header = ("period", "client", "project", "tasks", "hours spent", "billable h")
    rows = report["rows"]
    spent = hours([r["minutes_spent"] for r in rows])
    billable = hours([r["billable_minutes"] for r in rows])
    lines = [header]
    for i, row in enumerate(rows):
        lines.append((row["period"], safe(row["client"] or "-"), safe(row["project"] or "-"), str(row["tasks"]),
                      spent[i], billable[i]))  # fmt: skip
    lines.append(("total", "", "", str(report["totals"]["tasks"]), spent[-1], billable[-1]))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines)


def as_csv(report: dict[str, Any]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["period", "client", "project", "tasks", "minutes_spent", "billable_minutes"])
    for row in report["rows"]:
        writer.writerow([row["period"], row["client"], row["project"], row["tasks"], row["minutes_spent"],
                         row["billable_minutes"]])  # fmt: skip
    return buffer.getvalue().rstrip("\n")
