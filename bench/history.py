"""Latency of `gittasks log ID` on a long history, against `git log --grep` on the same branch, same run.

    .venv/bin/python bench/history.py [--runs 15] [--warmups 2] [--tasks 500] [--commits 5000] [--keep]
                                      [--summary FILE]

Builds a temporary code repository in the own-branch layout (the default): one ordinary commit on main,
`gittasks init`, then 500 realistic tasks (the data set and set-up of dataset.py) committed onto the task branch
`gittasks` as an external edit, and appends to the task branch 5,000 commits with `git fast-import` (one process,
seconds instead of 5,000 CLI runs); the next gittasks command brings the moved branch into the work-tree copy, as
after a sync. Each commit changes one field of one task in `.claude/active-tasks.json` (owner, description,
activeForm, type, a `metadata` or a `context` key; with `updated_at`, `updated_by` and `last_updated`), keeps the
file in canonical form (keys sorted, indent 2, trailing newline) and carries a message in gittasks' format: subject
`gittasks: update ID "Subject"`, trailers `Task:`, `Action: update`, `Machine: bench`, `Timestamp:`. Every task is
changed the same number of times (5,000 / 500 = 10), in shuffled order, one commit every ten minutes or so. main
keeps its one commit.

Then times, interleaved, as medians: `gittasks log ID` (which reads `git log gittasks`), `gittasks log ID --json`,
the baseline `git log --format=%H --grep="Task: ID" gittasks` (the same branch), and `gittasks list --json`; prints
them and the ratios against the target (`log ID` <= 2x `git log --grep`; PASS/OVER); `--summary FILE` appends
that ratio to FILE as a JSON line (for bench/all.py). It is a measurement, not a test: it exits 0 whatever the ratios
are, and non-zero only when a command fails. Git reads no config of yours (HOME and the global git config point into
the temporary folder).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

LOG_TARGET = 2.0  # gittasks log ID / git log --grep "Task: ID"
ACTIVE_PATH = common.ACTIVE_PATH
MACHINE = "bench"
FIELDS = ["owner", "owner", "owner", "description", "description", "activeForm", "type", "metadata", "context"]
NOTES = ["waiting on review", "split into two PRs", "needs a migration", "flaky test fixed", "client asked for a demo"]


# -- the history -----------------------------------------------------------------------------------------------------


def task_chunk(task: dict[str, Any]) -> bytes:
    """One task as it appears inside the canonical file: an element of the `tasks` list, indented by 4 spaces."""
    text = json.dumps(task, indent=2, sort_keys=True, ensure_ascii=False)
    return ("    " + text.replace("\n", "\n    ")).encode("utf-8")


def file_bytes(last_updated: str, chunks: list[bytes]) -> bytes:
    """The canonical task file from its task chunks (same bytes as `canonical_bytes` of the whole document, which
    the set-up checks on the last version); re-serialising one task per commit keeps 5,000 versions cheap."""
    head = b'{\n  "last_updated": "' + last_updated.encode() + b'",\n  "tasks": [\n'
    return head + b",\n".join(chunks) + b"\n  ]\n}\n"


def change_task(task: dict[str, Any], field: str, rng: random.Random, n: int, now: str) -> None:
    """Change one field of `task` (never to the value it has), with the bookkeeping stamps of a gittasks change."""
    if field == "owner":
        task["owner"] = rng.choice([o for o in [*dataset.OWNERS, f"agent-{n % 17}"] if o != task["owner"]])
    elif field == "description":
        task["description"] = f"{task['subject']}. Revision {n}: {rng.choice(NOTES)}; acceptance: tests pass."
    elif field == "activeForm":
        task["activeForm"] = f"{task['activeForm'].split(' (')[0]} (step {n})"
    elif field == "type":
        task["type"] = rng.choice([t for t in dataset.TASK_TYPES if t != task["type"]])
    elif field == "metadata":
        task["metadata"] = {**task["metadata"], "priority": rng.choice(["high", "medium", "low"]), "rev": str(n)}
    else:
        task["context"] = {**task["context"], "notes": f"{rng.choice(NOTES)} (change {n})"}
    task["updated_at"] = now
    task["updated_by"] = MACHINE


def message(task: dict[str, Any], now: str) -> bytes:
    subject = task["subject"] if len(task["subject"]) <= 60 else task["subject"][:59] + "…"
    return (
        f'gittasks: update {task["id"]} "{subject}"\n\n'
        f"Task: {task['id']}\nAction: update\nMachine: {MACHINE}\nTimestamp: {now}\n"
    ).encode()


def fast_import_stream(
    tasks: list[dict[str, Any]], commits: int, parent: str, start: datetime, end: datetime, rng: random.Random
) -> Iterator[bytes]:
    """The fast-import commands of `commits` commits on the task branch after `parent`; the tasks are changed in
    place, so afterwards they hold the last version."""
    chunks = [task_chunk(t) for t in tasks]
    order = [i for _ in range(commits // len(tasks) + 1) for i in rng.sample(range(len(tasks)), len(tasks))][:commits]
    step = (end - start) / max(commits, 1)
    for n, index in enumerate(order):
        moment = start + step * n + timedelta(milliseconds=rng.randrange(1000))
        now = dataset.stamp(moment)
        task = tasks[index]
        change_task(task, FIELDS[rng.randrange(len(FIELDS))], rng, n, now)
        chunks[index] = task_chunk(task)
        body = file_bytes(now, chunks)
        msg = message(task, now)
        header = (
            f"commit {common.TASK_REF}\n"
            f"committer {common.GIT_NAME} <{common.GIT_EMAIL}> {int(moment.timestamp())} +0000\n"
            f"data {len(msg)}\n"
        ).encode()
        link = f"from {parent}\n".encode() if n == 0 else b""
        yield header + msg + link + f"M 100644 inline {ACTIVE_PATH}\ndata {len(body)}\n".encode() + body + b"\n"
    yield b"done\n"


def setup_history(tmp: Path, env: dict[str, str], gittasks: str, count: int, commits: int) -> tuple[Path, str]:
    """The repository with `count` tasks and `commits` update commits on its task branch; returns it and the id of a
    task to log."""
    end = datetime.now(UTC) - timedelta(hours=1)
    start = end - timedelta(minutes=10 * commits)
    tasks = dataset.make_tasks(count, random.Random(1000), start - timedelta(days=3))
    repo, _ = dataset.setup_repo(tmp, env, gittasks, count, {"last_updated": dataset.stamp(start), "tasks": tasks})
    parent = common.git(repo, env, "rev-parse", common.TASK_REF)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=repo, env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stderr is not None
    try:
        for piece in fast_import_stream(tasks, commits, parent, start, end, random.Random(3000)):
            proc.stdin.write(piece)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.wait() != 0:
        raise common.CommandFailed(f"git fast-import exited with {proc.returncode}: {err.splitlines()[:3]}")
    common.run([gittasks, "list", "--json"], repo, env)  # the moved task branch into the work-tree copy
    common.check_own_branch(repo, env, count)
    final = (repo / ACTIVE_PATH).read_bytes()
    if final != dataset.canonical_bytes({"last_updated": json.loads(final)["last_updated"], "tasks": tasks}):
        raise common.CommandFailed(f"the imported {ACTIVE_PATH} is not the canonical form of the last version")
    common.run([gittasks, "validate"], repo, env)
    return repo, tasks[len(tasks) // 2]["id"]


# -- main ------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args(
        "history",
        __doc__,
        500,
        argv,
        common.default_gittasks(),
        "timed runs per command",
        commits=(5000, "update commits"),
    )
    if found is None:
        return 2
    args, gittasks = found
    python, began, load_before, busy = common.start(gittasks)
    try:
        with common.temp_folder("gittasks-bench-history-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, task_id = setup_history(tmp, env, gittasks, args.tasks, args.commits)
            setup_s = time.perf_counter() - began
            grep = ["git", "log", "--format=%H", f"--grep=Task: {task_id}", common.TASK_BRANCH]
            benches = {
                "log": common.Bench(f"gittasks log {task_id}", [gittasks, "log", task_id], repo, env),
                "log_json": common.Bench(
                    f"gittasks log {task_id} --json", [gittasks, "log", task_id, "--json"], repo, env
                ),
                "grep": common.Bench(
                    f'git log --format=%H --grep="Task: {task_id}" {common.TASK_BRANCH}', grep, repo, env
                ),
                "list": common.Bench("gittasks list --json", [gittasks, "list", "--json"], repo, env),
            }
            grepped = common.run(grep, repo, env).stdout.decode().split()
            entries = json.loads(common.run([gittasks, "log", task_id, "--json"], repo, env).stdout)
            updates = [e for e in entries if e["action"] == "update"]
            if len(entries) != len(grepped) or {e["commit"] for e in entries} != set(grepped):
                raise common.CommandFailed(
                    f"gittasks log {task_id} found {len(entries)} commits, git log --grep {len(grepped)}"
                )
            if len(updates) not in (args.commits // args.tasks, args.commits // args.tasks + 1):
                raise common.CommandFailed(f"gittasks log {task_id} found {len(updates)} update commits")
            common.measure(list(benches.values()), args.runs, args.warmups)
            layout = common.check_own_branch(repo, env, args.tasks)
    except common.CommandFailed as exc:
        print(f"history: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks history latency, own-branch layout: {args.commits} task updates built with git fast-import; "
        f"median of {args.runs} interleaved runs after {args.warmups} warm-ups "
        f"(set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(f"data set: {layout.describe()}")
    print(
        f"task {task_id}: {len(grepped)} commits found by git log --grep on {common.TASK_BRANCH}, {len(entries)} "
        f"entries in gittasks log ({len(updates)} updates and the external edit that added it)"
    )
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print()
    common.print_table(list(benches.values()))
    print()
    log, log_json, base = benches["log"], benches["log_json"], benches["grep"]
    walls = common.print_ratios(
        [
            ("log ID / git log --grep", [log], [base], LOG_TARGET, ""),
            ("log ID --json / git log --grep", [log_json], [base], LOG_TARGET, ""),
        ]
    )
    common.summarize(
        args.summary,
        f"log ID / git log --grep ({args.commits:,} commits)",
        walls["log ID / git log --grep"],
        "x",
        LOG_TARGET,
    )
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
