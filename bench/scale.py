"""gittasks on 10,000 and 50,000 active tasks: absolute targets, and ratios to baselines measured in the same run.

    .venv/bin/python bench/scale.py [--sizes 10000,50000] [--runs 5] [--warmups 1] [--keep] [--summary FILE]

For every size, a temporary set-up in the own-branch layout (the default) holding that many realistic tasks of the
benches' one data set (`dataset.make_tasks`: every status, parents, mirrored dependency links, clients and projects,
multi-byte text; the canonical file is about 8.4 MB at 10,000 tasks and 42 MB at 50,000). The canonical bytes are
written once (`dataset.canonical_bytes`) and committed onto the task branch `gittasks` with plumbing, as a sync
brings in a list written on another machine; the next gittasks command brings them into the work-tree copy unchanged
and `gittasks validate` checks them (`dataset.setup_repo` with `external_edit=False`: quicker to set up than
gittasks' commit of an edit made outside it).

The first size (10,000 by default), in one repository: times, interleaved, as medians, `gittasks list --json`,
`gittasks create SUBJECT` (a task and a commit every run) and `gittasks hook capture` fed the TaskCreate payload of
bench/hook_capture.py on stdin (a new native id every run: a task and a commit each); the baselines `python -c pass`
(gittasks' interpreter), `python -I -S -c pass` (the interpreter's own floor: no site, no environment), the plumbing
commit of the task file (`_common.plumbing_floor`, as one `sh -c` process) and the read of the task file from the
task branch, `sh -c 'git cat-file -p gittasks:.claude/active-tasks.json > /dev/null'` (the bytes a list must read).
Targets: `list --json` under 250 ms, `create` under 300 ms, `hook capture` under 300 ms, the peak memory of each
under 150 MB.

Every further size (50,000 by default): a local bare remote and two clones, set up as bench/sync.py sets them up
(clone A holds the tasks and pushed them with `gittasks sync`, clone B is a `git clone` whose first gittasks command
took the task branch); times, interleaved, `gittasks list --json` in A, the same read and the two `python` floors,
and bench/sync.py's round: after an untimed `gittasks update ID --owner x<n>` in A, `gittasks sync` in A then
`gittasks sync` in B, against the baseline `git fetch` and `git push` of the task branch in A then `git fetch` in B.
Targets: `list --json` under 1 s, the sync of one change under 2x plain git (the round; the sender's side is printed
too), the peak memory of `gittasks sync` (in A and in B) under 400 MB.

Peak memory: one more, untimed, run of each command (for sync one more round), its `ru_maxrss` from `os.wait4` on
that one child, started by a small spawner process rather than by this one, which holds the data set
(`_common.peak_rss_mb`): the largest resident set of gittasks or of a git process it started. Where there is no
`os.wait4` (Windows) it is skipped with a line saying so.

The absolute targets are the issue's; the ratios to the baselines are printed for information, from the same run.
Prints, per size, the data set at the start and the end (tasks, bytes of the file, commits), the medians, the ratios
and the peak memory; then every target (PASS/OVER) and the time the whole run took. `--summary FILE` appends the
figures with a target to FILE as JSON lines (for bench/all.py). With the defaults it took about 5 minutes on a
2-core machine with other work beside it, most of it in the sync rounds at 50,000 tasks. It is a measurement, not a
test: it exits 0 whatever the figures are, and non-zero only when a command fails. Git reads no config of yours (HOME
and the global git config are temporary).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

try:
    from bench import _common as common
    from bench import dataset
    from bench import hook_capture as hook_bench
    from bench import sync as sync_bench
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]
    import hook_capture as hook_bench  # type: ignore[no-redef,unused-ignore]
    import sync as sync_bench  # type: ignore[no-redef,unused-ignore]

ACTIVE_PATH = common.ACTIVE_PATH
SIZES = "10000,50000"
# the first size: list, create, hook capture
LIST_MS = 250.0
CREATE_MS = 300.0
CAPTURE_MS = 300.0
COMMAND_MB = 150.0
# every further size: list, sync
LARGE_LIST_MS = 1000.0
SYNC_TARGET = 2.0  # (gittasks sync in A + gittasks sync in B) / (git fetch + git push in A + git fetch in B)
SYNC_MB = 400.0
READ_TEXT = f"git cat-file -p {common.TASK_BRANCH}:{ACTIVE_PATH} > /dev/null"
NO_WAIT4 = "skipped: no os.wait4 here"


def sizes_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        default=SIZES,
        help="active tasks per set-up, comma-separated: the first for list, create and hook capture, every further "
        "one for list and sync (default: %(default)s)",
    )


def floors(python: str, repo: Path, env: dict[str, str]) -> dict[str, common.Bench]:
    """The baselines every size shares: the two interpreter floors and the read of the task file from the branch."""
    return {
        "python": common.Bench("python -c pass", [python, "-c", "pass"], repo, env),
        "isolated": common.Bench("python -I -S -c pass", [python, "-I", "-S", "-c", "pass"], repo, env),
        "read": common.Bench(f"sh -c '{READ_TEXT}'", ["sh", "-c", READ_TEXT], repo, env),
    }


def list_ratios(b: dict[str, common.Bench]) -> list[common.Ratio]:
    info = "information"
    return [
        ("list --json / read of the file", [b["list"]], [b["read"]], None, info),
        ("list --json / (python -c pass + read)", [b["list"]], [b["python"], b["read"]], None, info),
        ("list --json / python -c pass", [b["list"]], [b["python"]], None, info),
        ("list --json / python -I -S -c pass", [b["list"]], [b["isolated"]], None, info),
    ]


def print_memory(peaks: dict[str, float | None]) -> None:
    if any(peak is None for peak in peaks.values()):
        print("peak memory: skipped, this system has no os.wait4")
        return
    header = "peak memory (one more run, os.wait4)"
    width = max(len(header), *(len(name) for name in peaks))
    print(f"{header:<{width}}  {'max RSS':>9}")
    for name, peak in peaks.items():
        print(f"{name:<{width}}  {peak:6.1f} MB")


def size_header(count: int, what: str, runs: int, warmups: int) -> None:
    print(f"== {count:,} active tasks: {what}; median of {runs} interleaved runs after {warmups} warm-ups ==")


def commands_size(
    tmp: Path, env: dict[str, str], gittasks: str, python: str, count: int, runs: int, warmups: int
) -> list[common.Target]:
    """list, create and hook capture on `count` tasks; prints the section and returns its target rows."""
    began = time.perf_counter()
    repo, _ = dataset.setup_repo(tmp, env, gittasks, count, external_edit=False)
    before = common.check_own_branch(repo, env, count)
    setup_s = time.perf_counter() - began
    listed = json.loads(common.run([gittasks, "list", "--json"], repo, env).stdout)
    if len(listed) != count:
        raise common.CommandFailed(f"gittasks list --json printed {len(listed)} tasks, not {count}")
    payloads = hook_bench.payloads_after()
    b = {
        "list": common.Bench("gittasks list --json", [gittasks, "list", "--json"], repo, env),
        "create": common.Bench('gittasks create "..."', [gittasks, "create", "Benchmark create at scale"], repo, env),
        "capture": common.Bench(
            "gittasks hook capture (TaskCreate)", [gittasks, "hook", "capture"], repo, env, stdin=payloads
        ),
        **floors(python, repo, env),
        "floor": common.plumbing_floor(tmp, repo, env),
    }
    common.measure(list(b.values()), runs, warmups)
    peaks = {
        "gittasks list --json": common.peak_rss_mb([gittasks, "list", "--json"], repo, env),
        'gittasks create "..."': common.peak_rss_mb([gittasks, "create", "Peak memory of create"], repo, env),
        "gittasks hook capture": common.peak_rss_mb([gittasks, "hook", "capture"], repo, env, input=payloads()),
    }
    per_command = runs + warmups + 1  # the memory run added its task too
    tasks = json.loads((repo / ACTIVE_PATH).read_bytes())["tasks"]
    captured = [t for t in tasks if any(ref.get("session") == "s" for ref in t.get("native") or [])]
    if len(captured) != per_command:
        raise common.CommandFailed(
            f"gittasks hook capture ran {per_command} times but recorded {len(captured)} tasks (it reports its "
            "errors on stderr and exits 0)"
        )
    if len(tasks) != count + 2 * per_command:
        raise common.CommandFailed(f"{len(tasks)} tasks at the end, not {count + 2 * per_command}")
    common.run([gittasks, "validate"], repo, env)
    after = common.check_own_branch(repo, env, len(tasks))

    size_header(count, "list, create, hook capture", runs, warmups)
    print(f"set-up {setup_s:.1f} s, the size's total {time.perf_counter() - began:.1f} s")
    print(f"data set at the start: {before.describe()}")
    print(f"data set at the end:   {after.describe()}; each create and hook capture run added a task and a commit")
    print(f"floor: {common.FLOOR_TEXT}")
    print()
    common.print_table(list(b.values()))
    print()
    info = "information"
    floor, isolated_floor = [b["python"], b["floor"]], [b["isolated"], b["floor"]]
    common.print_ratios(
        [
            *list_ratios(b),
            ("create / (python -c pass + plumbing floor)", [b["create"]], floor, None, info),
            ("create / (python -I -S -c pass + plumbing floor)", [b["create"]], isolated_floor, None, info),
            ("hook capture / (python -c pass + plumbing floor)", [b["capture"]], floor, None, info),
            ("hook capture / (python -I -S -c pass + plumbing floor)", [b["capture"]], isolated_floor, None, info),
            ("python -c pass / python -I -S -c pass", [b["python"]], [b["isolated"]], None, info),
        ]
    )
    print()
    print_memory(peaks)
    print()
    size = f"({count:,} tasks)"
    memory_rows: list[common.Target] = [
        (f"peak memory, {name} {size}", peak, "MB", COMMAND_MB, NO_WAIT4) for name, peak in peaks.items()
    ]
    return [
        (f"list --json {size}", b["list"].median_ms, "ms", LIST_MS, ""),
        (f"create {size}", b["create"].median_ms, "ms", CREATE_MS, ""),
        (f"hook capture {size}", b["capture"].median_ms, "ms", CAPTURE_MS, ""),
        *memory_rows,
    ]


def sync_size(
    tmp: Path, env: dict[str, str], gittasks: str, python: str, count: int, runs: int, warmups: int
) -> list[common.Target]:
    """list and the sync of one change on `count` tasks; prints the section and returns its target rows."""
    began = time.perf_counter()
    bare, clone_a, clone_b, ids = sync_bench.setup_clones(tmp, env, gittasks, count, external_edit=False)
    before = common.check_own_branch(clone_a, env, count)
    setup_s = time.perf_counter() - began
    change = sync_bench.changes(gittasks, clone_a, clone_b, env, ids)
    tool, plain = sync_bench.sync_benches(gittasks, clone_a, clone_b, env, change)
    b = {
        "list": common.Bench("gittasks list --json (A)", [gittasks, "list", "--json"], clone_a, env),
        **floors(python, clone_a, env),
        "tool": tool,
        "plain": plain,
    }
    common.measure(list(b.values()), runs, warmups)
    peaks = {"gittasks list --json (A)": common.peak_rss_mb([gittasks, "list", "--json"], clone_a, env)}
    change(True)
    peaks["gittasks sync (A, one change to push)"] = common.peak_rss_mb([gittasks, "sync"], clone_a, env)
    peaks["gittasks sync (B, one change to take)"] = common.peak_rss_mb([gittasks, "sync"], clone_b, env)
    sync_bench.check_in_step(bare, clone_a, clone_b, env)
    common.check_own_branch(clone_a, env, count)
    after = common.check_own_branch(clone_b, env, count)
    common.run([gittasks, "validate"], clone_b, env)

    size_header(count, "list, sync of one change", runs, warmups)
    print(f"set-up {setup_s:.1f} s (remote and two clones), the size's total {time.perf_counter() - began:.1f} s")
    print(f"data set at the start (A): {before.describe()}")
    print(f"data set at the end (B):   {after.describe()}; one commit per round and method")
    print("sync, per round (untimed before each: `gittasks update ID --owner x<n>` in A):")
    print("  gittasks:  A: gittasks sync  then  B: gittasks sync")
    print(
        f"  plain git: A: {' '.join(sync_bench.FETCH_A)} && {' '.join(sync_bench.PUSH_A)}  then  "
        f"B: {' '.join(sync_bench.FETCH_B)}"
    )
    print()
    common.print_table(list(b.values()), sync_bench.STEPS)
    print()
    walls = common.print_ratios(
        [
            *list_ratios(b),
            ("sync: gittasks / git (round A+B)", [tool], [plain], None, "the target: in the table at the end"),
        ]
    )
    sender, receiver = sync_bench.sender_ratio(tool, plain), sync_bench.receiver_ratio(tool, plain)
    print(f"  sender:   gittasks sync (A) / git fetch+push (A)  {sender:6.2f}x  information (medians of the steps)")
    print(f"  receiver: gittasks sync (B) / git fetch (B)       {receiver:6.2f}x  information")
    print()
    print_memory(peaks)
    print()
    size = f"({count:,} tasks)"
    sync_peaks = [peak for name, peak in peaks.items() if "sync" in name]
    sync_peak = None if None in sync_peaks else max(p for p in sync_peaks if p is not None)
    return [
        (f"list --json {size}", b["list"].median_ms, "ms", LARGE_LIST_MS, ""),
        (
            f"sync of one change, round A+B / git {size}",
            walls["sync: gittasks / git (round A+B)"],
            "x",
            SYNC_TARGET,
            "",
        ),
        (f"  sender: sync A / git fetch && git push A {size}", sender, "x", SYNC_TARGET, ""),
        (f"peak memory, gittasks sync (A and B) {size}", sync_peak, "MB", SYNC_MB, NO_WAIT4),
    ]


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args(
        "scale",
        __doc__,
        None,
        argv,
        common.default_gittasks(),
        "timed runs per command",
        runs=5,
        warmups=1,
        extra=sizes_option,
    )
    if found is None:
        return 2
    args, gittasks = found
    try:
        sizes = [int(text.replace("_", "")) for text in args.sizes.split(",") if text.strip()]
    except ValueError:
        print(f"scale: --sizes takes comma-separated counts, not {args.sizes!r}", file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 100:
        print("scale: --sizes needs at least one count of 100 tasks or more", file=sys.stderr)
        return 2
    python, began, load_before, busy = common.start(gittasks)
    print(
        f"gittasks at scale, own-branch layout: sizes {', '.join(f'{n:,}' for n in sizes)}; python: {python}; "
        f"{load_before}"
    )
    print()
    rows: list[common.Target] = []
    try:
        for index, count in enumerate(sizes):
            with common.temp_folder(f"gittasks-bench-scale-{count}-", keep=args.keep) as tmp:
                env = common.isolated_env(tmp)
                measure_size = commands_size if index == 0 else sync_size
                rows += measure_size(tmp, env, gittasks, python, count, args.runs, args.warmups)
            sys.stdout.flush()
    except common.CommandFailed as exc:
        print(f"scale: {exc}", file=sys.stderr)
        return 1

    print("== targets (the issue's, for 10,000 and 50,000 tasks) ==")
    common.print_targets(rows, args.summary)
    print()
    print(f"total {time.perf_counter() - began:.1f} s; {load_before} before, {common.load_average()} after")
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
