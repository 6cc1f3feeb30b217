"""Latency of `gittasks stats --json` on a 5,000-commit task history, against the `git log` it reads, same run.

    .venv/bin/python bench/stats.py [--runs 15] [--warmups 2] [--tasks 500] [--commits 5000] [--keep]

Builds a temporary code repository in the own-branch layout (the default): one ordinary commit on main,
`gittasks init`, then the 500 tasks of the benches' data set (dataset.py), all pending, committed onto the task
branch `gittasks` as an external edit; then appends 5,000 commits with `git fast-import` (one process). Each task
plays out, in order, the status path to the status the data set gives it (start; block and start again for one in
five; complete, and for one in ten reopen and complete again; or cancel), every step one commit with gittasks'
action (`start`, `block`, `complete`, `reopen`, `cancel`) and stamps (`started_at`, `completed_at`); the other
commits change one other field (owner, description, type, `metadata`, `context`) as bench/history.py's do. Owners
change along the way, a third of the tasks carry `metadata.complexity` and `metadata.estimated_minutes`, machines
vary per commit. Every commit is a canonical task file with a message in gittasks' format (`Task:`, `Action:`,
`Machine:`, `Timestamp:`), one commit every ten minutes or so.

Then times, interleaved, as medians: `gittasks stats --json`; the baseline `git log --raw` of the active task file
on the task branch with stats' format (the pass over the history that gives every commit's trailers and blobs);
the floor, that same `git log` piped into one `git cat-file --batch` of every version of the file piped into
`wc -c` (the bytes stats has to read, through a pipe as stats reads them, by a shell pipeline: no Python); and
`gittasks list --json` (the CLI's start and a read of the list). One run of `git log --patch --unified=0` of the
file is timed too: what a reader built on git's diffs would start from. Checks the figures against the history it
built (completed tasks, open tasks, reviews, a machine for every completion). It is a measurement, not a test: it
exits 0 whatever the ratios are, and non-zero only when a command fails or a figure is wrong. Git reads no config of
yours (HOME and the global git config point into the temporary folder).
"""

from __future__ import annotations

import json
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gittasks import trailers

try:
    from bench import _common as common
    from bench import dataset
    from bench import history as history_bench
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]
    import history as history_bench  # type: ignore[no-redef,unused-ignore]

STATS_TARGET = 2.0  # gittasks stats --json / (git log --raw | git cat-file --batch): the bytes it has to read
ACTIVE_PATH = common.ACTIVE_PATH
# what `git log` prints per commit for gittasks: the format stats reads the history with
LOG_FORMAT = trailers.RECORD_SEP + trailers.LOG_FORMAT
COMPLEXITIES = ["low", "medium", "high"]
ACTIONS = {"in_progress": "start", "blocked": "block", "completed": "complete", "cancelled": "cancel"}


def status_path(final: str, rng: random.Random) -> list[str]:
    """The statuses a task goes through, from pending, to end at `final`."""
    if final == "pending":
        return []
    if final == "in_progress":
        return ["in_progress"]
    if final == "blocked":
        return ["in_progress", "blocked"]
    if final == "cancelled":
        return ["cancelled"] if rng.random() < 0.5 else ["in_progress", "cancelled"]
    steps = ["in_progress"]
    if rng.random() < 0.2:
        steps += ["blocked", "in_progress"]
    steps.append("completed")
    if rng.random() < 0.1:
        steps += ["reopen", "completed"]
    return steps


def initial_tasks(count: int, rng: random.Random, now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """The data set's tasks as they start: all pending, not started; a third with a complexity and an estimate.
    Returns them and each one's final status."""
    tasks = dataset.make_tasks(count, random.Random(1000), now)
    finals = [t["status"] for t in tasks]
    for task in tasks:
        task.update(status="pending", started_at=None, completed_at=None, blocked_reason=None)
        task["updated_at"] = task["created_at"]
        task["context"].pop("outcome", None)
        if rng.random() < 1 / 3:
            task["metadata"]["complexity"] = rng.choice(COMPLEXITIES)
            task["metadata"]["estimated_minutes"] = rng.choice([30, 60, 120, 240, 480])
    return tasks, finals


def set_status(task: dict[str, Any], step: str, now: str) -> str:
    """Apply one status step as gittasks does (stamps included); the commit's action."""
    if step == "reopen":
        task.update(status="pending", completed_at=None)
        return "reopen"
    if step == "in_progress":
        if not task["started_at"] or task["status"] in ("completed", "cancelled"):
            task["started_at"] = now
        task.update(completed_at=None, blocked_reason=None)
    elif step == "blocked":
        task["blocked_reason"] = "waiting for the API keys from the client"
    else:
        task.update(completed_at=now, blocked_reason=None)
    task["status"] = step
    return ACTIONS[step]


def plan(tasks: list[dict[str, Any]], finals: list[str], commits: int, rng: random.Random) -> list[tuple[int, str]]:
    """(task index, status step or a field name) per commit: each task's status steps in order, spread over the
    commits, the other commits field updates."""
    steps = [(i, s) for i, final in enumerate(finals) for s in status_path(final, rng)]
    if len(steps) > commits:
        raise common.CommandFailed(f"{len(steps)} status steps do not fit in {commits} commits")
    slots = sorted(rng.sample(range(commits), len(steps)))
    queues: dict[int, list[str]] = {}
    for index, step in steps:
        queues.setdefault(index, []).append(step)
    order = rng.sample(range(len(steps)), len(steps))  # which task's next step each slot takes
    owners = [steps[k][0] for k in order]
    out: list[tuple[int, str]] = []
    slot_set = dict.fromkeys(slots)
    taken = iter(owners)
    for n in range(commits):
        if n in slot_set:
            index = next(taken)
            out.append((index, queues[index].pop(0)))
        else:
            out.append((rng.randrange(len(tasks)), history_bench.FIELDS[rng.randrange(len(history_bench.FIELDS))]))
    return out


def message(task: dict[str, Any], action: str, machine: str, now: str) -> bytes:
    subject = task["subject"] if len(task["subject"]) <= 60 else task["subject"][:59] + "…"
    return (
        f'gittasks: {action} {task["id"]} "{subject}"\n\n'
        f"Task: {task['id']}\nAction: {action}\nMachine: {machine}\nTimestamp: {now}\n"
    ).encode()


def fast_import_stream(
    tasks: list[dict[str, Any]], steps: list[tuple[int, str]], parent: str, start: datetime, end: datetime,
    rng: random.Random,
) -> Iterator[bytes]:  # fmt: skip
    """The fast-import commands of the commit that adds the tasks at `start` (as the external edit that set up the
    repository did, whose stamp is the set-up's clock: it is replaced), then of one commit per step; the tasks are
    changed in place, so afterwards they hold the last version."""
    chunks = [history_bench.task_chunk(t) for t in tasks]
    now = dataset.stamp(start)
    body = history_bench.file_bytes(now, chunks)
    ids = "".join(f"Task: {t['id']}\n" for t in tasks)
    msg = (
        f"gittasks: external-edit {len(tasks)} tasks\n\n{ids}Action: external-edit\nMachine: bench\nTimestamp: {now}\n"
    ).encode()
    committer = f"committer {common.GIT_NAME} <{common.GIT_EMAIL}> {int(start.timestamp())} +0000"
    head = f"commit {common.TASK_REF}\n{committer}\ndata {len(msg)}\n".encode()
    yield head + msg + f"from {parent}\nM 100644 inline {ACTIVE_PATH}\ndata {len(body)}\n".encode() + body + b"\n"
    step_time = (end - start) / max(len(steps), 1)
    for n, (index, step) in enumerate(steps, start=1):
        moment = start + step_time * n + timedelta(milliseconds=rng.randrange(1000))
        now = dataset.stamp(moment)
        task = tasks[index]
        machine = rng.choice(dataset.MACHINES)
        if step in ACTIONS or step == "reopen":
            action = set_status(task, step, now)
            task["updated_at"], task["updated_by"] = now, machine
        else:
            history_bench.change_task(task, step, rng, n, now)
            task["updated_by"] = machine
            action = "update"
        chunks[index] = history_bench.task_chunk(task)
        body = history_bench.file_bytes(now, chunks)
        msg = message(task, action, machine, now)
        header = (
            f"commit {common.TASK_REF}\n"
            f"committer {common.GIT_NAME} <{common.GIT_EMAIL}> {int(moment.timestamp())} +0000\n"
            f"data {len(msg)}\n"
        ).encode()
        yield header + msg + f"M 100644 inline {ACTIVE_PATH}\ndata {len(body)}\n".encode() + body + b"\n"
    yield b"done\n"


def setup_stats(
    tmp: Path, env: dict[str, str], gittasks: str, count: int, commits: int
) -> tuple[Path, list[dict[str, Any]], list[tuple[int, str]]]:
    """The repository with `count` tasks and `commits` commits on its task branch; returns it, the tasks as they
    end and the plan."""
    end = datetime.now(UTC) - timedelta(hours=1)
    start = end - timedelta(minutes=10 * commits)
    rng = random.Random(4000)
    tasks, finals = initial_tasks(count, rng, start - timedelta(days=3))
    steps = plan(tasks, finals, commits, rng)
    repo, _ = dataset.setup_repo(tmp, env, gittasks, count, {"last_updated": dataset.stamp(start), "tasks": tasks})
    parent = common.git(repo, env, "rev-parse", f"{common.TASK_REF}~1")  # the init commit
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done", "--force"],
        cwd=repo,
        env=env,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    try:
        for piece in fast_import_stream(tasks, steps, parent, start, end, rng):
            proc.stdin.write(piece)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.wait() != 0:
        raise common.CommandFailed(f"git fast-import exited with {proc.returncode}: {err.splitlines()[:3]}")
    common.run([gittasks, "list", "--json"], repo, env)  # the moved task branch into the work-tree copy
    common.check_own_branch(repo, env, count)
    if [t["status"] for t in tasks] != finals:
        raise common.CommandFailed("the history did not bring every task to the data set's status")
    common.run([gittasks, "validate"], repo, env)
    return repo, tasks, steps


def check_figures(data: dict[str, Any], tasks: list[dict[str, Any]], steps: list[tuple[int, str]]) -> None:
    """The figures `stats --json` printed against what the history holds."""
    completed = [t for t in tasks if t["status"] == "completed"]
    status_steps = sum(1 for _, s in steps if s in ACTIONS or s == "reopen")
    expected = {
        "completed": len(completed),
        "open": sum(t["status"] in ("pending", "in_progress", "blocked") for t in tasks),
        "reviews": sum(t.get("type") == "review" for t in completed),
        "machines": len(completed),
    }
    got = {
        "completed": data["tasks"]["completed"],
        "open": data["tasks"]["open"],
        "reviews": data["reviews"]["completed"],
        "machines": sum(r["tasks"] for r in data["throughput"]["machines"]),
    }
    if got != expected:
        raise common.CommandFailed(f"stats printed {got}, the history holds {expected}")
    if data["history"]["changes"] < status_steps + len(tasks):
        raise common.CommandFailed(f"stats read {data['history']['changes']} changes, fewer than {status_steps} steps")
    if any(r["machine"] == "-" for r in data["throughput"]["machines"]):
        raise common.CommandFailed("stats did not find the machine of every completion")


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args(
        "stats",
        __doc__,
        500,
        argv,
        common.default_gittasks(),
        "timed runs per command",
        commits=(5000, "commits after the import"),
    )
    if found is None:
        return 2
    args, gittasks = found
    python, began, load_before, busy = common.start(gittasks)
    try:
        with common.temp_folder("gittasks-bench-stats-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, tasks, steps = setup_stats(tmp, env, gittasks, args.tasks, args.commits)
            setup_s = time.perf_counter() - began
            log_raw = [
                "git", "log", f"--format={LOG_FORMAT}", "--date-order", "--raw", "--no-abbrev", "--no-renames",
                "--no-diff-merges", "--no-show-signature", common.TASK_BRANCH, "--", ACTIVE_PATH,
            ]  # fmt: skip
            floor = f"{shlex.join(log_raw)} | awk '/^:/ {{print $4}}' | git cat-file --batch | wc -c > /dev/null"
            benches = {
                "stats": common.Bench("gittasks stats --json", [gittasks, "stats", "--json"], repo, env),
                "log": common.Bench(f"git log --raw {common.TASK_BRANCH} -- {ACTIVE_PATH}", log_raw, repo, env),
                "floor": common.Bench(
                    "floor: git log --raw | git cat-file --batch | wc -c", ["sh", "-c", floor], repo, env
                ),
                "list": common.Bench("gittasks list --json", [gittasks, "list", "--json"], repo, env),
            }
            data = json.loads(common.run([gittasks, "stats", "--json"], repo, env).stdout)
            check_figures(data, tasks, steps)
            common.measure(list(benches.values()), args.runs, args.warmups)
            patch = ["git", "log", "--format=%H", "--patch", "--unified=0", common.TASK_BRANCH, "--", ACTIVE_PATH]
            patch_ms = common.time_once(patch, repo, env)[0] * 1000
            layout = common.check_own_branch(repo, env, args.tasks)
    except common.CommandFailed as exc:
        print(f"stats: {exc}", file=sys.stderr)
        return 1

    status_steps = sum(1 for _, s in steps if s in ACTIONS or s == "reopen")
    print(
        f"gittasks stats latency, own-branch layout: {args.commits} task commits built with git fast-import "
        f"({status_steps} status changes, the rest field updates); median of {args.runs} interleaved runs after "
        f"{args.warmups} warm-ups (set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(f"data set: {layout.describe()}")
    print(
        f"stats read {data['history']['changes']} changes in {data['history']['commits']} commits: "
        f"{data['tasks']['completed']} completed tasks, {data['reviews']['completed']} reviews"
    )
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print()
    common.print_table(list(benches.values()))
    print()
    common.print_ratios(
        [
            ("stats --json / floor (log | cat-file)", [benches["stats"]], [benches["floor"]], STATS_TARGET, ""),
            ("stats --json / git log --raw", [benches["stats"]], [benches["log"]], None, "the history pass alone"),
            ("stats --json / list --json", [benches["stats"]], [benches["list"]], None, "the CLI's start and a read"),
        ]
    )  # fmt: skip
    print(
        f"\none run of git log --patch --unified=0 of the file (what a reader of git's diffs starts from): "
        f"{patch_ms:.0f} ms, {patch_ms / benches['stats'].median_ms:.1f}x stats"
    )
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
