"""Insights from the task history (`gittasks stats`): cycle time per type, time in each status, what held tasks up,
estimate against actual by complexity, the review pass rate, throughput per agent and per machine.

Pure: the tasks (active and archived) and the status log (`status_log.status_log`: one entry per commit and task with
the status and owner before and after) in, one dict out; `as_table` prints it. All times are minutes.

- **Cycle time**: `started_at` (else `created_at`, also for a task done straight from pending, whose `started_at`
  is its `completed_at`) to `completed_at` of the completed tasks, per `type` ("-" when it has none): median and p90
  (nearest rank: the smallest value that at least 90% of the tasks do not exceed).
- **Time in each status**: each task's timeline of statuses from its history (the commit's `Timestamp:` and the
  status after it), summed per open status (pending, in_progress, blocked) over the tasks; a task still open counts
  up to now. A task without history is read from its own stamps.
- **Bottlenecks**: for each task named in others' `blockedBy`, how long they waited on it: from the later of the
  two tasks' creation to the blocker's completion (or now), ended earlier when the waiting task itself started or
  ended; the top ones by total waiting, and the whole time spent in `blocked`.
- **Estimate vs actual** by complexity (`metadata.complexity`, else `context.complexity`; "-" when none): completed
  tasks with a number in `metadata.estimated_minutes` (else `context.estimated_minutes`); actual is the cycle time.
- **Reviews**: a completed task of type `review` passes when none of the tasks in its `blockedBy` went from
  completed or cancelled back to an open status after the review was completed.
- **Throughput**: completed tasks per agent (the owner when the task was completed, and every agent of a closed
  `context.assigned_agents` entry; "-" when none) and per machine (the `Machine:` of the commit that completed it).
- **Filters**: `client` keeps the tasks whose `metadata.client` is it; `since` the tasks completed or cancelled
  since, and open tasks changed since. Blockers and reviewed tasks are looked up among all tasks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from gittasks import document, render, rules

OPEN_STATUSES = (rules.PENDING, rules.IN_PROGRESS, rules.BLOCKED)
TOP_BLOCKERS = 10
NO_NAME = "-"


class Point:
    """The task has `status` from `moment` to the next point's (or now); `entry`: the log entry that set it, `seq`
    its place in the log (-1: before the log)."""

    __slots__ = ("entry", "moment", "seq", "status")

    def __init__(self, moment: datetime, seq: int, status: str, entry: dict[str, Any] | None = None) -> None:
        self.moment, self.seq, self.status, self.entry = moment, seq, status, entry


class Timeline:
    """One task's statuses over time and the owners its log entries set."""

    __slots__ = ("owners", "points")

    def __init__(self) -> None:
        self.points: list[Point] = []
        self.owners: list[tuple[int, Any]] = []  # (seq, owner)


def build(
    tasks: Iterable[dict[str, Any]],
    entries: Sequence[dict[str, Any]],
    *,
    now: datetime,
    since: datetime | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """The stats of `tasks` (the first of two with one id is kept) from the status log `entries` (oldest first)."""
    everything: dict[str, dict[str, Any]] = {}
    for task in tasks:
        everything.setdefault(str(task.get("id")), task)
    logged: dict[str, list[tuple[int, datetime, dict[str, Any]]]] = {}
    for seq, entry in enumerate(entries):
        moment = rules.parse_stamp(entry.get("when"))
        if moment is not None:
            logged.setdefault(str(entry.get("task")), []).append((seq, moment, entry))
    timelines = {tid: _timeline(task, logged.get(tid, []), now) for tid, task in everything.items()}
    chosen = [t for t in everything.values() if _chosen(t, timelines[str(t.get("id"))], since, client)]
    completed = [t for t in chosen if t.get("status") == rules.COMPLETED]
    cycles = {str(t.get("id")): _cycle_minutes(t) for t in completed}
    in_status = _time_in_status(chosen, timelines, now)
    return {
        "filters": {"since": rules.format_stamp(since) if since else None, "client": client},
        "now": rules.format_stamp(now),
        "history": {
            "commits": len({e.get("commit") for e in entries}),
            "changes": len(entries),
        },
        "tasks": {
            "total": len(chosen),
            "completed": len(completed),
            "cancelled": sum(t.get("status") == rules.CANCELLED for t in chosen),
            "open": sum(t.get("status", rules.PENDING) in rules.OPEN for t in chosen),
        },
        "cycle_time": _cycle_time(completed, cycles),
        "time_in_status": in_status,
        "bottlenecks": _bottlenecks(chosen, everything, timelines, now, in_status[rules.BLOCKED]),
        "estimates": _estimates(completed, cycles),
        "reviews": _reviews(completed, everything, timelines),
        "throughput": _throughput(completed, timelines),
    }


# -- timelines -----------------------------------------------------------------------------------------------------


def _timeline(task: dict[str, Any], logged: list[tuple[int, datetime, dict[str, Any]]], now: datetime) -> Timeline:
    """The task's statuses from its history, in the log's order (parents before children, so a machine with a wrong
    clock does not reorder them; a stretch that would run backwards counts as none); a change to the status it
    already has, or to none (it left the active list), is no change. The current status closes the timeline when
    the history does not end on it (a merge that chose another side's value, a history that is not there)."""
    line = Timeline()
    for seq, moment, entry in logged:
        changes = document.as_object(entry.get("changes"))
        owner = changes.get("owner")
        if isinstance(owner, dict) and entry.get("kind") != "removed":
            line.owners.append((seq, owner.get("to")))
        status = changes.get("status")
        if not isinstance(status, dict):
            continue
        before, after = status.get("from"), status.get("to")
        if not line.points and entry.get("kind") == "changed" and before in rules.STATUSES:
            created = rules.parse_stamp(task.get("created_at"))  # the log starts after the task did
            line.points.append(Point(min(created or moment, moment), -1, str(before)))
        if after in rules.STATUSES and (not line.points or line.points[-1].status != after):
            line.points.append(Point(moment, seq, str(after), entry))
    if not line.points:
        line.points = _from_stamps(task, now)
    current = task.get("status", rules.PENDING)
    last = line.points[-1]
    if current in rules.STATUSES and last.status != current:
        ended = rules.parse_stamp(task.get("completed_at")) if current in rules.TERMINAL else None
        moment = max(ended or rules.parse_stamp(task.get("updated_at")) or now, last.moment)
        line.points.append(Point(moment, last.seq, str(current)))
    return line


def _from_stamps(task: dict[str, Any], now: datetime) -> list[Point]:
    """A timeline from the task's own stamps: created (pending), started (in progress), ended."""
    created = rules.parse_stamp(task.get("created_at")) or rules.parse_stamp(task.get("updated_at")) or now
    points = [Point(created, -1, rules.PENDING)]
    started = rules.parse_stamp(task.get("started_at"))
    if started is not None:
        points.append(Point(max(started, created), -1, rules.IN_PROGRESS))
    ended = rules.parse_stamp(task.get("completed_at"))
    status = task.get("status", rules.PENDING)
    if status in rules.TERMINAL and ended is not None:
        points.append(Point(max(ended, points[-1].moment), -1, str(status)))
    return points


def _completion(line: Timeline) -> Point | None:
    """The point at which the task was last completed."""
    return next((p for p in reversed(line.points) if p.status == rules.COMPLETED), None)


def _reopened_after(line: Timeline, moment: datetime) -> bool:
    """Whether the task went from completed or cancelled back to an open status after `moment`."""
    pairs = zip(line.points, line.points[1:], strict=False)
    return any(b.moment > moment and a.status in rules.TERMINAL and b.status in rules.OPEN for a, b in pairs)


def _chosen(task: dict[str, Any], line: Timeline, since: datetime | None, client: str | None) -> bool:
    if client is not None and document.as_object(task.get("metadata")).get("client") != client:
        return False
    if since is None:
        return True
    if task.get("status") in rules.TERMINAL:
        return (rules.parse_stamp(task.get("completed_at")) or line.points[-1].moment) >= since
    return max(m for m in (rules.parse_stamp(task.get("updated_at")), line.points[-1].moment) if m) >= since


# -- the figures -----------------------------------------------------------------------------------------------------


def minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count); `statistics` costs every command its
    import."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def p90(values: Sequence[float]) -> float:
    """The nearest-rank 90th percentile: the smallest value that at least 90% of `values` do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _cycle_minutes(task: dict[str, Any]) -> float | None:
    """`started_at` to `completed_at`; from `created_at` when the task was never started before it was completed
    (`done` straight from pending stamps both in one change)."""
    end = rules.parse_stamp(task.get("completed_at"))
    started = rules.parse_stamp(task.get("started_at"))
    start = started if started is not None and end is not None and started < end else None
    start = start or rules.parse_stamp(task.get("created_at")) or started
    return minutes(start, end) if start is not None and end is not None and end >= start else None


def _name(value: Any) -> str:
    return NO_NAME if value is None or value == "" else str(value)


def _spread(values: Sequence[float]) -> dict[str, Any]:
    return {
        "tasks": len(values),
        "median_minutes": _round(median(values)) if values else None,
        "p90_minutes": _round(p90(values)) if values else None,
    }


def cycle_time(tasks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`build`'s cycle-time figures from the tasks alone (they need no status log): per type and over all, of the
    completed tasks among `tasks` (the first of two with one id is kept). `next` estimates chains with them."""
    completed: dict[str, dict[str, Any]] = {}
    for task in tasks:
        if task.get("status") == rules.COMPLETED:
            completed.setdefault(str(task.get("id")), task)
    ended = list(completed.values())
    return _cycle_time(ended, {tid: _cycle_minutes(t) for tid, t in completed.items()})


def _cycle_time(completed: list[dict[str, Any]], cycles: dict[str, float | None]) -> dict[str, Any]:
    by_type: dict[str, list[float]] = {}
    for task in completed:
        cycle = cycles[str(task.get("id"))]
        if cycle is not None:
            by_type.setdefault(_name(task.get("type")), []).append(cycle)
    rows = [{"type": name, **_spread(values)} for name, values in sorted(by_type.items())]
    return {"by_type": rows, "all": _spread([v for values in by_type.values() for v in values])}


def _time_in_status(chosen: list[dict[str, Any]], timelines: dict[str, Timeline], now: datetime) -> dict[str, Any]:
    totals = dict.fromkeys(OPEN_STATUSES, 0.0)
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    for task in chosen:
        points = timelines[str(task.get("id"))].points
        seen: set[str] = set()
        for index, point in enumerate(points):
            if point.status not in totals:
                continue
            end = points[index + 1].moment if index + 1 < len(points) else now
            totals[point.status] += minutes(point.moment, end)
            seen.add(point.status)
        for status in seen:
            counts[status] += 1
    return {
        status: {
            "tasks": counts[status],
            "total_minutes": _round(totals[status]),
            "mean_minutes": _round(totals[status] / counts[status]) if counts[status] else None,
        }
        for status in OPEN_STATUSES
    }


def _bottlenecks(
    chosen: list[dict[str, Any]],
    everything: dict[str, dict[str, Any]],
    timelines: dict[str, Timeline],
    now: datetime,
    blocked: dict[str, Any],
) -> dict[str, Any]:
    waits: dict[str, list[float]] = {}
    for task in chosen:
        created = rules.parse_stamp(task.get("created_at"))
        went_on = [rules.parse_stamp(task.get(k)) for k in ("started_at", "completed_at")]
        stopped = min([m for m in went_on if m is not None], default=now)
        for blocker_id in task.get("blockedBy") or []:
            blocker = everything.get(str(blocker_id))
            if blocker is None:
                continue  # deleted: nothing says when it was done
            done = _completion(timelines[str(blocker_id)]) if blocker.get("status") == rules.COMPLETED else None
            since = [m for m in (created, rules.parse_stamp(blocker.get("created_at"))) if m is not None]
            if not since:
                continue
            end = min(done.moment if done else now, stopped)
            waits.setdefault(str(blocker_id), []).append(minutes(max(since), end))
    rows = [
        {
            "id": blocker_id,
            "subject": everything[blocker_id].get("subject", ""),
            "status": everything[blocker_id].get("status", rules.PENDING),
            "blocked_tasks": len(values),
            "waiting_minutes": _round(sum(values)),
        }
        for blocker_id, values in waits.items()
    ]
    rows.sort(key=lambda r: (-(r["waiting_minutes"] or 0), document.natural_key(r["id"])))
    return {
        "blocked_minutes": blocked["total_minutes"],
        "blocked_tasks": blocked["tasks"],
        "blockers": len(rows),
        "top": rows[:TOP_BLOCKERS],
    }


def _number(*values: Any) -> float | None:
    for value in values:
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def _estimates(completed: list[dict[str, Any]], cycles: dict[str, float | None]) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[float, float]]] = {}
    for task in completed:
        metadata, context = document.as_object(task.get("metadata")), document.as_object(task.get("context"))
        estimate = _number(metadata.get("estimated_minutes"), context.get("estimated_minutes"))
        actual = cycles[str(task.get("id"))]
        if estimate is None or actual is None:
            continue
        complexity = metadata.get("complexity", context.get("complexity"))
        groups.setdefault(_name(complexity), []).append((estimate, actual))
    rows = []
    for name in sorted(groups, key=document.natural_key):
        pairs = groups[name]
        estimated, actual = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        rows.append(
            {
                "complexity": name,
                "tasks": len(pairs),
                "mean_estimate_minutes": _round(estimated / len(pairs)),
                "mean_actual_minutes": _round(actual / len(pairs)),
                "ratio": round(actual / estimated, 2) if estimated else None,
            }
        )
    return rows


def _reviews(
    completed: list[dict[str, Any]], everything: dict[str, dict[str, Any]], timelines: dict[str, Timeline]
) -> dict[str, Any]:
    reviews = [t for t in completed if t.get("type") == "review"]
    failed = []
    for review in reviews:
        done = _completion(timelines[str(review.get("id"))])
        moment = rules.parse_stamp(review.get("completed_at")) or (done.moment if done else None)
        if moment is None:
            continue
        reopened = [
            str(rid)
            for rid in review.get("blockedBy") or []
            if str(rid) in timelines and _reopened_after(timelines[str(rid)], moment)
        ]
        if reopened:
            failed.append({"id": review.get("id"), "subject": review.get("subject", ""), "reopened": reopened})
    passed = len(reviews) - len(failed)
    return {
        "completed": len(reviews),
        "passed": passed,
        "pass_rate": round(passed / len(reviews), 3) if reviews else None,
        "failed": failed,
    }


def _throughput(completed: list[dict[str, Any]], timelines: dict[str, Timeline]) -> dict[str, Any]:
    agents: dict[str, int] = {}
    machines: dict[str, int] = {}
    for task in completed:
        line = timelines[str(task.get("id"))]
        done = _completion(line)
        entry = done.entry if done else None
        owner = task.get("owner")
        if done is not None and entry is not None:
            before = [value for seq, value in line.owners if seq <= done.seq]
            owner = before[-1] if before else owner
        names = {str(owner)} if isinstance(owner, str) and owner else set()
        for stint in document.as_object(task.get("context")).get("assigned_agents") or []:
            if isinstance(stint, dict) and "completed" in stint and isinstance(stint.get("agent"), str):
                names.add(stint["agent"])
        for name in names or {NO_NAME}:
            agents[name] = agents.get(name, 0) + 1
        # a completion no commit of its own made (a parent completed by a sync merge): the machine it names
        machine = _name(entry.get("machine")) if entry is not None else _name(task.get("updated_by"))
        machines[machine] = machines.get(machine, 0) + 1
    return {"agents": _counted(agents, "agent"), "machines": _counted(machines, "machine")}


def _counted(counts: dict[str, int], key: str) -> list[dict[str, Any]]:
    return [{key: name, "tasks": n} for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


# -- the table -------------------------------------------------------------------------------------------------------


def _figure(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], text_columns: int = 1) -> list[str]:
    """Aligned columns: the first `text_columns` left-aligned text (made safe), the others right-aligned figures."""
    cells = [list(header)] + [
        [render.safe(v) if i < text_columns else _figure(v) for i, v in enumerate(row)] for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return [
        "  ".join(c.ljust(widths[i]) if i < text_columns else c.rjust(widths[i]) for i, c in enumerate(line)).rstrip()
        for line in cells
    ]


def as_table(data: dict[str, Any]) -> str:
    """The stats as plain text, one section per figure; every value from the tasks or the commits made safe."""
    tasks, filters = data["tasks"], data["filters"]
    if not tasks["total"]:
        named = [f"--{k} {render.safe(v)}" for k, v in filters.items() if v is not None]
        return f"no tasks match {' '.join(named)}" if named else "no tasks yet: nothing to report"
    history = data["history"]
    lines = [
        f"{tasks['total']} tasks: {tasks['completed']} completed, {tasks['cancelled']} cancelled, {tasks['open']} "
        f"open (history: {history['changes']} status changes in {history['commits']} commits; minutes throughout)",
        "",
        "cycle time (started, else created, to completed) by type",
    ]
    cycle = data["cycle_time"]
    lines += _table(
        ("type", "tasks", "median", "p90"),
        [*[(r["type"], r["tasks"], r["median_minutes"], r["p90_minutes"]) for r in cycle["by_type"]],
         ("all", cycle["all"]["tasks"], cycle["all"]["median_minutes"], cycle["all"]["p90_minutes"])],
    )  # fmt: skip
    lines += ["", "time in each status (open tasks up to now)"]
    lines += _table(
        ("status", "tasks", "total", "mean"),
        [(s, v["tasks"], v["total_minutes"], v["mean_minutes"]) for s, v in data["time_in_status"].items()],
    )
    neck = data["bottlenecks"]
    lines += ["", f"bottlenecks: {_figure(neck['blocked_minutes'])} min blocked over {neck['blocked_tasks']} tasks"]
    if neck["top"]:
        lines += _table(
            ("blocker", "subject", "status", "waiting tasks", "waited"),
            [(r["id"], r["subject"], r["status"], r["blocked_tasks"], r["waiting_minutes"]) for r in neck["top"]],
            text_columns=3,
        )
    else:
        lines.append("no task waited on another")
    lines += ["", "estimate vs actual by complexity (completed tasks with an estimate)"]
    if data["estimates"]:
        lines += _table(
            ("complexity", "tasks", "estimate", "actual", "ratio"),
            [(r["complexity"], r["tasks"], r["mean_estimate_minutes"], r["mean_actual_minutes"],
              "-" if r["ratio"] is None else f"{r['ratio']:.2f}") for r in data["estimates"]],
        )  # fmt: skip
    else:
        lines.append("no completed task has estimated_minutes")
    reviews = data["reviews"]
    rate = "-" if reviews["pass_rate"] is None else f"{reviews['pass_rate'] * 100:.0f}%"
    lines += ["", f"reviews: {reviews['completed']} completed, {reviews['passed']} passed ({rate})"]
    for failed in reviews["failed"]:
        reopened = ", ".join(render.safe(i) for i in failed["reopened"])
        lines.append(f"  failed {render.safe(failed['id'])} {render.safe(failed['subject'])}: reopened {reopened}")
    throughput = data["throughput"]
    lines += ["", "throughput (completed tasks)"]
    lines += _table(("agent", "tasks"), [(r["agent"], r["tasks"]) for r in throughput["agents"]])
    lines.append("")
    lines += _table(("machine", "tasks"), [(r["machine"], r["tasks"]) for r in throughput["machines"]])
    return "\n".join(lines)
