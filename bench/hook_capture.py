"""Latency of `gittasks hook capture` (Claude Code's PostToolUse hook) recording a TaskCreate, against its floor.

    .venv/bin/python bench/hook_capture.py [--runs 15] [--warmups 2] [--tasks 200] [--keep] [--summary FILE]

Builds a temporary code repository in the own-branch layout (the default) holding 200 realistic tasks on the task branch
`gittasks` (the data set and set-up of dataset.py) and times, interleaved, as medians: `gittasks hook capture` fed on
stdin the payload Claude Code sends after a TaskCreate (`{"session_id": "s", "tool_name": "TaskCreate", "tool_input":
{"subject": "x"}, "tool_response": {"task": {"id": "<n>"}}}`, a new native id every run: one new task and one commit
each), the floor of a change (`python -c pass` on gittasks' interpreter plus the plumbing commit of the task file that
gittasks makes, as one `sh -c` process: see `_common.plumbing_floor`) and, for comparison, `gittasks create SUBJECT`.
Prints the medians, the ratios against their targets (capture <= 3x the floor, create <= 3x) and the git processes
one hook capture starts. `--summary FILE` appends the capture ratio to FILE as a JSON line (for bench/all.py).

The hook exits 0 even when it fails (it must never break a session), so the script checks afterwards that every run
added its task and its commit on the task branch. It is a measurement, not a test: it exits 0 whatever the ratios are,
and non-zero only when a command fails. Git reads no config of yours (HOME and the global git config are temporary).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

ACTIVE_PATH = common.ACTIVE_PATH
CAPTURE_TARGET = 3.0  # hook capture / (python -c pass + plumbing floor): a PostToolUse hook holds the session up
CREATE_TARGET = 3.0  # gittasks create / the same floor (the core target)


def payloads_after(start: int = 0) -> Callable[[], bytes]:
    """A TaskCreate PostToolUse payload with a new native id on every call (the first is `start` + 1)."""
    counter = iter(range(start + 1, 10**9))

    def payload() -> bytes:
        n = next(counter)
        return json.dumps(
            {
                "session_id": "s",
                "tool_name": "TaskCreate",
                "tool_input": {"subject": "x"},
                "tool_response": {"task": {"id": str(n)}},
            }
        ).encode()

    return payload


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("hook_capture", __doc__, 200, argv, common.default_gittasks(), "timed runs per command")
    if found is None:
        return 2
    args, gittasks = found
    python, began, load_before, busy = common.start(gittasks)
    try:
        with common.temp_folder("gittasks-bench-hook-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, _ = dataset.setup_repo(tmp, env, gittasks, args.tasks)
            before = common.check_own_branch(repo, env, args.tasks)
            hook = common.Bench(
                "gittasks hook capture (TaskCreate)", [gittasks, "hook", "capture"], repo, env, stdin=payloads_after()
            )
            benches = {
                "hook": hook,
                "python": common.Bench("python -c pass", [python, "-c", "pass"], repo, env),
                "floor": common.plumbing_floor(tmp, repo, env),
                "create": common.Bench(
                    'gittasks create "..."', [gittasks, "create", "Benchmark the create command"], repo, env
                ),
            }
            setup_s = time.perf_counter() - began
            common.measure(list(benches.values()), args.runs, args.warmups)
            per_command = args.runs + args.warmups
            tasks = json.loads((repo / ACTIVE_PATH).read_bytes())["tasks"]
            captured = [t for t in tasks if any(ref.get("session") == "s" for ref in t.get("native") or [])]
            hook_commits = common.git(repo, env, "log", "--format=%H", "--grep=^Via: claude-hook$", common.TASK_REF)
            if len(captured) != per_command or len(hook_commits.split()) != per_command:
                raise common.CommandFailed(
                    f"gittasks hook capture ran {per_command} times but recorded {len(captured)} tasks in "
                    f"{len(hook_commits.split())} commits (it reports its errors on stderr and exits 0)"
                )
            if len(tasks) != args.tasks + 2 * per_command:
                raise common.CommandFailed(f"{len(tasks)} tasks at the end, not {args.tasks + 2 * per_command}")
            common.run([gittasks, "validate"], repo, env)
            after = common.check_own_branch(repo, env, len(tasks))
            counted, log = common.git_counter(tmp, env)
            calls = [
                ("gittasks hook capture (TaskCreate)", common.git_calls(
                    [gittasks, "hook", "capture"], repo, counted, log, input=payloads_after(per_command)())),
                ('gittasks create "..."', common.git_calls([gittasks, "create", "Count"], repo, counted, log)),
            ]  # fmt: skip
            common.check_own_branch(repo, env, len(tasks) + 2)  # the counted hook run and create added theirs
    except common.CommandFailed as exc:
        print(f"hook_capture: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks hook capture latency: TaskCreate payload on stdin, {args.tasks} tasks at the start (each hook and "
        f"create run adds one), median of {args.runs} runs after {args.warmups} warm-ups "
        f"(set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(f"data set at the start: {before.describe()}")
    print(f"data set at the end:   {after.describe()}")
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print(f"floor: python -c pass + {common.FLOOR_TEXT}")
    print()
    common.print_table(list(benches.values()))
    print()
    hook, create = benches["hook"], benches["create"]
    floor = [benches["python"], benches["floor"]]
    walls = common.print_ratios(
        [
            ("hook capture / (python pass + plumbing floor)", [hook], floor, CAPTURE_TARGET, ""),
            ("create / (python pass + plumbing floor)", [create], floor, CREATE_TARGET, ""),
            ("hook capture / create", [hook], [create], None, "information"),
        ]
    )
    common.summarize(
        args.summary,
        f"hook capture / (python -c pass + plumbing floor) ({args.tasks:,} tasks)",
        walls["hook capture / (python pass + plumbing floor)"],
        "x",
        CAPTURE_TARGET,
    )
    print()
    print("git processes started by one more run of each (a wrapper named `git` first on PATH logs each call):")
    common.print_git_calls(calls)
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
