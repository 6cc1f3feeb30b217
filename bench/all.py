"""Every figure of the speed issue from one run: the benches one after the other, then one summary table.

    .venv/bin/python bench/all.py [--quick] [--only NAME,NAME...]

Runs each bench as a subprocess of this interpreter (`sys.executable bench/NAME.py ARGS --summary FILE`), one after
the other, and passes its full report through to stdout as it comes; each bench appends its figures with a target
to the summary file (JSON lines: figure, value, unit, target, verdict). The figures, by the issue's numbers:

 1. `list --json` <= 2.5x Taskwarrior's `task list`, 1,000 tasks (cli_latency.py; skipped when `task` is missing)
 2. `create` <= 3x (`python -c pass` + the plumbing commit floor) (cli_latency.py)
 3. `hook capture` <= 3x the same floor (hook_capture.py)
 4. `sync` of one change <= 1.5x `git fetch && git push` of the task branch: the round (sender and receiver) and
    the sender's side (sync.py)
 5. `log ID` <= 2x `git log --grep` on 50,000 commits (history.py --commits 50000)
 6. the merge driver on 10,000 tasks <= 1x `git merge-file` (merge.py; with its in-process target)
 7. MCP `initialize` answered in under 0.5 s by a fresh `gittasks mcp` (mcp_start.py)
 8. the scale figures: 10,000 tasks: list, create, hook capture, their peak memory; 50,000 tasks: list, the sync of
    one change, its peak memory (scale.py)
 9. 100,000 archived tasks change nothing on the active commands: big / empty archive <= 1.25x (archive_scale.py)
10. for information: `python -I -S -c pass` and `python -c pass` on gittasks' interpreter (timed here, 15
    interleaved runs): the interpreter's own floor.
11. what autosync adds to `create` and to a hook capture: a few ms at most (autosync.py)
12. a change in the file of a clone running `watch`: within the interval + 1 s (watch_latency.py)

Then prints ONE table: the issue's number, the figure, the measured value, the target and PASS/OVER (or why there is
none), with the load average before and after, the date and the total time. `--quick` runs every bench with few
runs and small sizes (history on 2,000 commits, merge on 2,000 tasks, scale on 2,000 and 5,000 tasks), to check in
a few minutes that the runner and every bench work (about 2 minutes): its figures mean little. The full run took
about 13 minutes on a 2-core machine with other work beside it: history.py's set-up of 50,000 commits (about 4
minutes) and scale.py (about 5) take most of it; the time of each bench is printed with the table.

A measurement, not a test: it exits 0 when every bench ran, whatever the figures, and 1 when one failed (its row
says so; the others still run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    from bench import _common as common
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]

HERE = Path(__file__).resolve().parent
QUICK = ["--runs", "3", "--warmups", "1"]
# name, the figure numbers, the arguments of the full run, of --quick
BENCHES: list[tuple[str, str, list[str], list[str]]] = [
    ("cli_latency", "1, 2", [], QUICK),
    ("hook_capture", "3", [], QUICK),
    ("sync", "4", [], QUICK),
    ("history", "5", ["--commits", "50000", "--runs", "7", "--warmups", "1"], [*QUICK, "--commits", "2000"]),
    ("merge", "6", [], [*QUICK, "--tasks", "2000", "--changed", "200"]),
    ("mcp_start", "7", [], QUICK),
    ("scale", "8", [], ["--runs", "2", "--warmups", "1", "--sizes", "2000,5000"]),
    ("archive_scale", "9", [], QUICK),
    ("autosync", "11", [], QUICK),
    ("watch_latency", "12", [], ["--runs", "3", "--warmups", "1", "--interval", "1"]),
]


def run_bench(name: str, args: list[str], summary: Path) -> tuple[int, float]:
    """Run bench/NAME.py with `args`, its output straight to this process's stdout and stderr; its exit code and
    seconds."""
    cmd = [sys.executable, str(HERE / f"{name}.py"), *args, "--summary", str(summary)]
    print(f"\n{'=' * 40} bench/{name}.py {' '.join(args)}".rstrip(), flush=True)
    began = time.perf_counter()
    code = subprocess.run(cmd, check=False).returncode
    seconds = time.perf_counter() - began
    print(f"(bench/{name}.py: exit {code}, {seconds:.0f} s)", flush=True)
    return code, seconds


def read_summary(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for text in path.read_text(encoding="utf-8").splitlines():
        if text.strip():
            rows.append(json.loads(text))
    return rows


def interpreter_floors(gittasks: str, runs: int) -> list[dict[str, Any]]:
    """Figure 10: `python -I -S -c pass` and `python -c pass` on gittasks' interpreter, interleaved medians."""
    python = common.interpreter_of(Path(gittasks))
    with common.temp_folder("gittasks-bench-all-") as tmp:
        env = common.isolated_env(tmp)
        isolated = common.Bench("python -I -S -c pass", [python, "-I", "-S", "-c", "pass"], tmp, env)
        plain = common.Bench("python -c pass", [python, "-c", "pass"], tmp, env)
        common.measure([isolated, plain], runs, 2)
    print(f"\ninterpreter floors ({python}, median of {runs} interleaved runs):")
    common.print_table([isolated, plain])
    return [
        {
            "figure": f"{bench.name} (the interpreter's floor)",
            "value": bench.median_ms,
            "unit": "ms",
            "target": None,
            "op": "<=",
            "verdict": "information",
        }
        for bench in (isolated, plain)
    ]


def target_text(row: dict[str, Any]) -> str:
    target, unit = row.get("target"), row.get("unit", "")
    if target is None:
        return ""
    return f"{row.get('op', '<=')} {target:g}{'x' if unit == 'x' else ' ' + unit}"


def print_summary(groups: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """The one table: the issue's number (on the first row of each bench), figure, measured, target, verdict."""
    table = [
        (
            number if index == 0 else "",
            row["figure"],
            common.show_value(row.get("value"), row.get("unit", "")),
            target_text(row),
            row["verdict"],
        )
        for number, rows in groups
        for index, row in enumerate(rows)
    ]
    heads = ("#", "figure", "measured", "target", "verdict")
    widths = [max(len(head), *(len(line[i]) for line in table)) for i, head in enumerate(heads)]
    form = f"{{:<{widths[0]}}}  {{:<{widths[1]}}}  {{:>{widths[2]}}}  {{:>{widths[3]}}}  {{}}"
    print(form.format(*heads))
    print(form.format(*("-" * w for w in widths[:4]), "-" * 7))
    for line in table:
        print(form.format(*line))


def version_of(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, check=True).stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few runs, small sizes: checks that everything runs")
    parser.add_argument("--only", help="comma-separated bench names to run (default: all of them)")
    args = parser.parse_args(argv)
    names = [name for name, *_ in BENCHES]
    chosen = names if not args.only else [n.strip().removesuffix(".py") for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"all: no bench named {', '.join(unknown)}; the benches: {', '.join(names)}", file=sys.stderr)
        return 2
    gittasks = common.default_gittasks()
    began = time.perf_counter()
    started = datetime.now().astimezone()
    load_before = common.load_average()
    print(
        f"gittasks speed figures{' (--quick: few runs, small sizes)' if args.quick else ''}: "
        f"{started.isoformat(timespec='seconds')}, {load_before}"
    )
    print(f"{version_of([gittasks, '--version'])}; {version_of(['git', '--version'])}; python {sys.version.split()[0]}")
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    failed = []
    times: list[str] = []
    with common.temp_folder("gittasks-bench-all-summary-") as folder:
        for name, numbers, full, quick in BENCHES:
            if name not in chosen:
                continue
            summary = folder / f"{name}.jsonl"
            code, seconds = run_bench(name, quick if args.quick else full, summary)
            times.append(f"{name} {seconds:.0f} s")
            rows = read_summary(summary)
            if code != 0:
                failed.append(name)
                rows.append(
                    {
                        "figure": f"bench/{name}.py",
                        "value": None,
                        "unit": "",
                        "target": None,
                        "verdict": f"FAILED (exit {code}, see its output above)",
                    }
                )
            elif not rows:
                rows.append(
                    {
                        "figure": f"bench/{name}.py",
                        "value": None,
                        "unit": "",
                        "target": None,
                        "verdict": "no figure reported",
                    }
                )
            groups.append((numbers, rows))
    groups.append(("10", interpreter_floors(gittasks, 5 if args.quick else 15)))

    verdicts = [row["verdict"] for _, rows in groups for row in rows]
    ended = datetime.now().astimezone()
    print(f"\n{'=' * 40} summary")
    print(
        f"{started.isoformat(timespec='seconds')} to {ended.isoformat(timespec='seconds')}; {load_before} before, "
        f"{common.load_average()} after; total {time.perf_counter() - began:.0f} s"
        f"{'; --quick: few runs, small sizes, the figures mean little' if args.quick else ''}"
    )
    print(f"time per bench: {', '.join(times)}")
    print()
    print_summary(groups)
    print()
    print(
        f"{verdicts.count('PASS')} PASS, {verdicts.count('OVER')} OVER, "
        f"{sum(v.startswith('skipped') for v in verdicts)} skipped, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
