"""What `gittasks next` reads from a workspace for `next_work.build`: the active list, which machine holds each task
in progress (`claim.holder`: its claim record, else the machine that changed it last), the stale time
(`operations.stale_after`) and the cycle times of recently completed tasks (`stats.cycle_time`: the active list's,
then the archive's, newest month first, up to CYCLE_SAMPLE tasks: a long archive is not read whole, and recent work
says more about the next).

The CLI's `next`, the MCP tool `task_next` and the session-start summary call `advice`.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from gittasks import archive, claim, next_work, operations, rules, stats
from gittasks.document import Document
from gittasks.workspace import Workspace

CYCLE_SAMPLE = 500  # completed tasks at most behind the cycle times


def advice(ws: Workspace, doc: Document | None = None, now: datetime | None = None) -> dict[str, Any]:
    """`next_work.build` for this machine, from the active list `doc` (default: the workspace's)."""
    tasks = list((doc if doc is not None else ws.load())["tasks"])
    holders = {}
    for task in tasks:
        held = claim.holder(task)
        if held is not None:
            holders[str(task["id"])] = held.machine
    return next_work.build(
        tasks,
        machine=ws.machine,
        holders=holders,
        now=now or rules.utc_now(),
        stale_after=operations.stale_after(ws),
        cycle_time=stats.cycle_time(_recently_completed(ws, tasks)),
    )


def _recently_completed(ws: Workspace, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    everywhere = itertools.chain(tasks, archive.iter_archived(ws.repo.root))
    done = (t for t in everywhere if t.get("status") == rules.COMPLETED)
    return list(itertools.islice(done, CYCLE_SAMPLE))
