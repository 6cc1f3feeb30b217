"""Active-list commands with a 100,000-task archive next to the same commands with an empty one, in one run.

    .venv/bin/python bench/archive_scale.py [--runs 15] [--warmups 2] [--tasks 50] [--keep] [--summary FILE]

Two code repositories in the own-branch layout (the default) with the same 50 active tasks on the task branch
`gittasks` (the set-up of dataset.py); one also has 100,000 archived tasks in twelve monthly
`.claude/tasks/archive/YYYY-MM.jsonl` files, committed onto the task branch with plumbing (as a sync brings in an
archive made on another machine) and brought into the work-tree copy by the next gittasks command. The active-list
commands (list --json, show, ready, create) must not read the archive, so their ratio big/empty should stay near 1
(target <= 1.25x each, PASS/OVER; `--summary FILE` appends them to FILE as JSON lines, for bench/all.py).
`list --all --json` has to stream: the time until its first line is printed next to the time of the whole listing.
Prints the data sets, the medians of the interleaved runs, the ratios and the git processes each command starts.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

ARCHIVED = 100_000
ARCHIVE_DIR = ".claude/tasks/archive"
RATIO_TARGET = 1.25  # an active command with the big archive / the same with an empty one


def write_archive(repo: Path, env: dict[str, str], gittasks: str, count: int) -> int:
    """`count` completed tasks spread over twelve monthly archive files, committed onto the task branch in one
    plumbing commit, then brought into the work tree by `gittasks list --json`; returns the bytes of the archive."""
    now = datetime.now(UTC) - timedelta(days=400)
    months: dict[str, list[bytes]] = {}
    for index, task in enumerate(dataset.make_tasks(count, random.Random(7), now)):
        ended = now + timedelta(days=index % 360)
        task.update(
            status="completed", completed_at=dataset.stamp(ended), id=f"arch{index:06d}", blocks=[], blockedBy=[]
        )
        task["parent"] = None
        line = json.dumps(task, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        months.setdefault(ended.strftime("%Y-%m"), []).append(line.encode("utf-8"))
    files = {f"{ARCHIVE_DIR}/{month}.jsonl": b"".join(sorted(lines)) for month, lines in months.items()}
    common.commit_on_branch(repo, env, common.TASK_REF, files, f"bench: {count} archived tasks")
    common.run([gittasks, "list", "--json"], repo, env)
    for rel, raw in files.items():
        if (repo / rel).read_bytes() != raw:
            raise common.CommandFailed(f"gittasks did not bring {rel} into the work tree")
    return sum(len(raw) for raw in files.values())


def first_line_ms(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(ms until the first line of output, ms until the command ended)."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.readline()
    first = time.perf_counter() - began
    proc.stdout.read()
    if proc.wait() != 0:
        raise common.CommandFailed(f"{' '.join(cmd)} failed")
    return first * 1000, (time.perf_counter() - began) * 1000


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("archive_scale", __doc__, 50, argv, common.default_gittasks(), "timed runs per command")
    if found is None:
        return 2
    args, gittasks = found
    began = time.perf_counter()
    try:
        with common.temp_folder("gittasks-bench-archive-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            (tmp / "empty").mkdir()
            (tmp / "big").mkdir()
            empty, show_id = dataset.setup_repo(tmp / "empty", env, gittasks, args.tasks)
            big, _ = dataset.setup_repo(tmp / "big", env, gittasks, args.tasks)
            archive_bytes = write_archive(big, env, gittasks, ARCHIVED)
            layouts = {"empty": common.check_own_branch(empty, env, args.tasks)}
            layouts["big"] = common.check_own_branch(big, env, args.tasks)
            commands = (
                ("list --json", [gittasks, "list", "--json"]),
                ("show", [gittasks, "show", show_id]),
                ("ready", [gittasks, "ready", "--json"]),
                ("create", [gittasks, "create", "bench task"]),
            )
            benches = []
            for label, repo in (("empty archive", empty), (f"{ARCHIVED:,} archived", big)):
                for name, cmd in commands:
                    benches.append(common.Bench(f"{name} ({label})", cmd, repo, env))
            common.measure(benches, args.runs, args.warmups)
            stream = [first_line_ms([gittasks, "list", "--all", "--json"], big, env) for _ in range(3)]
            counted, log = common.git_counter(tmp, env)
            calls = []
            for label, repo in (("empty archive", empty), (f"{ARCHIVED:,} archived", big)):
                for name, cmd in [*commands, ("list --all --json", [gittasks, "list", "--all", "--json"])]:
                    calls.append((f"{name} ({label})", common.git_calls(cmd, repo, counted, log)))
            total = time.perf_counter() - began
            print(
                f"gittasks with a {ARCHIVED:,}-task archive, own-branch layout: {args.tasks} active tasks, median of "
                f"{args.runs} interleaved runs after {args.warmups} warm-ups (total {total:.1f} s)"
            )
            print(f"empty archive: {layouts['empty'].describe()}")
            print(
                f"big archive:   {layouts['big'].describe()}; {ARCHIVED:,} archived tasks, {archive_bytes:,} bytes "
                f"in 12 files under {ARCHIVE_DIR}/ (one commit)"
            )
            print(f"{common.load_average()}\n")
            common.print_table(benches)
            print(
                f"\nratio big archive / empty archive (target: about 1, <= {RATIO_TARGET:g}x: the archive is not read)"
            )
            half = len(benches) // 2
            for small, large in zip(benches[:half], benches[half:], strict=True):
                ratio = large.median_ms / small.median_ms
                name = small.name.split(" (")[0]
                print(f"  {name:<12} {ratio:5.2f}x  {common.verdict(ratio, RATIO_TARGET)} (<= {RATIO_TARGET:g}x)")
                common.summarize(
                    args.summary, f"{name}: {ARCHIVED:,} archived / empty archive", ratio, "x", RATIO_TARGET
                )
            firsts = sorted(s[0] for s in stream)
            totals = sorted(s[1] for s in stream)
            print(f"\nlist --all --json over {ARCHIVED + args.tasks:,} tasks: first line after {firsts[1]:.0f} ms, "
                  f"all of it after {totals[1]:.0f} ms (median of 3): it streams")  # fmt: skip
            print("\ngit processes started (a wrapper named `git` first on PATH logs each call):")
            common.print_git_calls(calls)
    except common.CommandFailed as exc:
        print(f"archive_scale: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
