"""Work reports: tasks completed, time spent, billable and active minutes per client and project, per week or month;
and the work items as invoice lines.

Hours are rounded once per task, the unit of an invoice line (one completed task, one work item): its minutes
divided by 60, rounded half up to the hundredth. A row's hours and a total's are the sums of the lines in them, so a
row's figure never depends on the filter, the rows add up to the total shown, and `report`, `report --items` and
their CSV show the same hours for the same tasks; the minutes stay exact beside them. Minutes billed on a task with
no client show under `work_items.NO_CLIENT` in both reports (`--client ""` selects them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gittasks import activity, document, journal, rules, work_items
from gittasks.document import Task
from gittasks.errors import GittasksError
from gittasks.render import plural, safe
from gittasks.work_items import NO_CLIENT


def period(since: str | None, until: str | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """`--since` and `--until` as moments, read as `log` reads them (`journal.parse_moment`: a date, a stamp, 7d,
    today); refused when the period they give is empty (since at or after until)."""
    start, end = journal.parse_moment(since, "--since", now), journal.parse_moment(until, "--until", now)
    if start is not None and end is not None and start >= end:
        raise GittasksError(f"--since {since!r} is not before --until {until!r}; the period would be empty")
    return start, end


def period_of(moment: datetime, by: str) -> str:
    if by == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    return moment.strftime("%Y-%m")


def cents(minutes: int | float) -> int:
    """Hundredths of an hour in `minutes`, rounded half up: one task's (one invoice line's) figure."""
    exact = Decimal(repr(minutes)) * 100 / 60
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def hours(minutes: Sequence[int | float]) -> list[str]:
    """Each line's hours with two decimals (`cents`), then the total: the sum of the lines as shown."""
    shares = [cents(m) for m in minutes]
    return [_hours_text(c) for c in [*shares, sum(shares)]]


def _hours_text(hundredths: int) -> str:
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _hours(value: float) -> str:
    """Hours as the JSON holds them (hundredths / 100), shown with two decimals."""
    return _hours_text(round(value * 100))


def _client_wanted(client: str | None) -> str | None:
    """The client a filter names: NO_CLIENT (or "") selects the tasks and items that have none."""
    return "" if client == NO_CLIENT else client


def _shown_client(value: Any) -> str:
    return safe(value) if value not in (None, "") else NO_CLIENT


def _number(value: Any) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def build(
    tasks: Iterable[dict[str, Any]],
    *,
    client: str | None = None,
    project: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    by: str = "month",
) -> dict[str, Any]:
    """Rows grouped by (period, client, project) and totals, from completed tasks: tasks, minutes spent (started to
    completed), billable minutes (`work_items.billable_minutes`), active minutes (`activity.active_minutes`), and
    hours (each task's rounded on its own, then summed: `cents`). `problems`: a line for each task whose billable
    minutes are written but are no number (not billed)."""
    if by not in ("week", "month"):
        raise GittasksError("--by takes week or month")
    client = _client_wanted(client)
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    problems: list[str] = []
    for task in tasks:
        if task.get("status") != rules.COMPLETED:
            continue
        ended = rules.parse_stamp(task.get("completed_at"))
        if ended is None or (since and ended < since) or (until and ended >= until):
            continue
        metadata = document.as_object(task.get("metadata"))
        task_client, task_project = str(metadata.get("client") or ""), str(metadata.get("project") or "")
        if (client is not None and task_client != client) or (project is not None and task_project != project):
            continue
        key = (period_of(ended, by), task_client, task_project)
        row = rows.setdefault(key, {"period": key[0], "client": key[1], "project": key[2], "tasks": 0,
                                    "minutes_spent": 0, "billable_minutes": 0, "active_minutes": 0,
                                    "hours_spent": 0, "billable_hours": 0})  # fmt: skip
        row["tasks"] += 1
        started = rules.parse_stamp(task.get("started_at"))
        if started is not None and ended >= started:
            spent = round((ended - started).total_seconds() / 60)
            row["minutes_spent"] += spent
            row["hours_spent"] += cents(spent)  # (hundredths until the rows are done)
        minutes = work_items.billable_minutes(task)
        if minutes is not None:
            row["billable_minutes"] += minutes
            row["billable_hours"] += cents(minutes)
        else:
            problems += unbilled(task)
        row["active_minutes"] += activity.active_minutes(task) or 0
    ordered = [rows[k] for k in sorted(rows)]
    names = ("tasks", "minutes_spent", "billable_minutes", "active_minutes", "hours_spent", "billable_hours")
    totals: dict[str, Any] = {name: sum(r[name] for r in ordered) for name in names}
    for row in [*ordered, totals]:
        row["hours_spent"] /= 100
        row["billable_hours"] /= 100
    return {"by": by, "rows": ordered, "totals": totals, "problems": problems}


def unbilled(task: Task) -> list[str]:
    """Why a completed task bills nothing although it names billable minutes: they are no number (text left in the
    file by an older version or by hand; every door takes "45" as 45)."""
    context, metadata = document.as_object(task.get("context")), document.as_object(task.get("metadata"))
    places = (("context", context), ("metadata", metadata), ("", task))
    for name, values in places:
        value = values.get("billable_minutes")
        if value is not None:
            where = f"{name}.billable_minutes" if name else "billable_minutes"
            return [f"task {task.get('id')}: {where} {value!r} is not a number, so it is not billed; give it one with "
                    f"`gittasks update {task.get('id')} --minutes N`"]  # fmt: skip
    return []


def invoice(
    files: dict[str, bytes],
    *,
    tasks: Mapping[str, Task] | None = None,
    client: str | None = None,
    project: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The work items as invoice lines, oldest first (`files`: {path: bytes} of the work-item files), each with the
    active minutes of its task (`tasks`: {id: task}, active and archived; None when not known), with the totals of
    those that bill; void items are listed, marked, and not counted."""
    client = _client_wanted(client)
    lines = []
    for path in sorted(files):
        for item in document.read_lines(files[path], path):
            moment = rules.parse_stamp(item.get("time") or item.get("date"))
            if moment is None or (since and moment < since) or (until and moment >= until):
                continue
            if (client is not None and str(item.get("client") or "") != client) or (
                project is not None and str(item.get("project") or "") != project
            ):
                continue
            task = (tasks or {}).get(work_items.linked_task(item) or "")
            lines.append({**item, "active_minutes": activity.active_minutes(task) if task is not None else None})
    lines.sort(key=lambda i: (str(i.get("time") or i.get("date") or ""), str(i.get("id"))))
    billed = [i for i in lines if work_items.is_billed(i)]
    totals = {
        "items": len(billed),
        "void": len(lines) - len(billed),
        "billable_minutes": sum(_number(i.get("billable_minutes")) for i in billed),
        "billable_hours": sum(cents(_number(i.get("billable_minutes"))) for i in billed) / 100,
        "active_minutes": sum(_number(i.get("active_minutes")) for i in billed),
    }
    return {"items": lines, "totals": totals}


def _minutes(item: dict[str, Any]) -> int | float:
    return _number(item.get("billable_minutes"))


def _cell(value: Any) -> str:
    return "-" if value is None else safe(value)


def _table(lines: Sequence[Sequence[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines)


def invoice_table(data: dict[str, Any]) -> str:
    lines = [("date", "client", "project", "category", "task", "work", "minutes", "hours", "active min")]
    for item in data["items"]:
        void = not work_items.is_billed(item)
        problem = str(item.get("problem") or "")
        problem = problem if len(problem) <= 50 else problem[:49] + "…"
        lines.append((
            safe(item.get("date")), _shown_client(item.get("client")), safe(item.get("project") or "-"),
            safe(item.get("category")), safe(work_items.linked_task(item) or "-"),
            safe(problem) + (f" (void: {safe(item.get('void_reason'))})" if void else ""),
            safe(_minutes(item)), "-" if void else _hours_text(cents(_minutes(item))),
            _cell(item.get("active_minutes")),
        ))  # fmt: skip
    totals = data["totals"]
    counted = plural(totals["items"], "item") + (f", {totals['void']} void" if totals["void"] else "")
    lines.append(("total", "", "", "", "", counted, str(totals["billable_minutes"]),
                  _hours(totals["billable_hours"]), str(totals["active_minutes"])))  # fmt: skip
    return _table(lines)


def invoice_csv(data: dict[str, Any]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = ["date", "client", "project", "category", "linked_task_id", "problem", "solution", "billable_minutes",
            "hours", "active_minutes", "machine", "void", "void_reason"]  # fmt: skip
    writer.writerow(keys)
    for item in data["items"]:
        billed = work_items.is_billed(item)
        row = {**item, "linked_task_id": work_items.linked_task(item), "void": not billed,
               "hours": _hours_text(cents(_minutes(item))) if billed else ""}  # fmt: skip
        writer.writerow([_csv_cell(row.get(k)) for k in keys])
    return buffer.getvalue().rstrip("\n")


# a spreadsheet runs a cell starting with one of these as a formula (CSV injection): text gets a leading quote
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A CSV cell: None empty, a number as it is, text that a spreadsheet would take for a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def as_table(report: dict[str, Any]) -> str:
    rows = report["rows"]
    lines = [("period", "client", "project", "tasks", "hours spent", "billable min", "billable h", "active min")]
    for row in rows:
        lines.append((row["period"], _shown_client(row["client"]), safe(row["project"] or "-"), str(row["tasks"]),
                      _hours(row["hours_spent"]), safe(row["billable_minutes"]), _hours(row["billable_hours"]),
                      str(row["active_minutes"])))  # fmt: skip
    totals = report["totals"]
    lines.append(("total", "", "", str(totals["tasks"]), _hours(totals["hours_spent"]),
                  safe(totals["billable_minutes"]), _hours(totals["billable_hours"]),
                  str(totals["active_minutes"])))  # fmt: skip
    return _table(lines)


def as_csv(report: dict[str, Any]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = ["period", "client", "project", "tasks", "minutes_spent", "billable_minutes", "billable_hours",
            "active_minutes"]  # fmt: skip
    writer.writerow(keys)
    for row in report["rows"]:
        writer.writerow([_hours(row[k]) if k == "billable_hours" else _csv_cell(row[k]) for k in keys])
    return buffer.getvalue().rstrip("\n")
