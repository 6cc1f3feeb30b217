"""How long a change takes to reach another clone's work-tree file when that clone runs `gittasks watch`.

    .venv/bin/python bench/watch_latency.py [--runs 10] [--warmups 1] [--tasks 200] [--interval 2] [--keep]
                                            [--summary FILE]

Set-up, under a temporary folder, in the own-branch layout (as bench/sync.py sets it up): a local bare remote; clone
A holding 200 realistic tasks (bench/dataset.py), its task branch pushed; clone B, a `git clone` of the remote whose
first `gittasks list --json` took the task list. B then runs `gittasks watch --interval N --json` for the whole bench
(machine `bench-b`; A's commands run as `bench-a`), with a wrapper named `git` first on its PATH that notes the
wall-clock start of each `git fetch` it runs.

Every run: a random pause of up to one interval (so the change lands at any point of B's cycle), then, untimed,
`gittasks update ID --owner w<n>` and `gittasks sync` in A. The clock starts when A's sync (its push) has exited and
stops when B's `.claude/active-tasks.json` holds the new owner (read every 5 ms). That latency is split at the start
of the `git fetch` of B's round that brought the change in:

- wait: A's push done -> B's next round starts its fetch (0 up to one interval; longer only after idle rounds);
- overhead: that fetch's start -> the work-tree file written (fetch, fast-forward, the files written: a round).

So the latency is at most the interval plus the overhead; the target is an overhead under 1 s, i.e. a change is in
B's file within `interval + 1 s` of A's push. Also printed: when B's JSON line for the change came (after the file:
the round reads the commits it brought in), and that every run's change was reported once, as `updated` by
`bench-a`. Checks at the end that A, B and the remote are on one task-branch commit with the same file, and that
SIGTERM ends the watch with exit 0. A measurement, not a test: exits 0 whatever the figures, non-zero only when a
command fails. `--summary FILE` appends the overhead's maximum and the worst latency past the interval (targets
1000 ms) as JSON lines (for bench/all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

try:
    from bench import _common as common
    from bench import sync as sync_bench
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import sync as sync_bench  # type: ignore[no-redef,unused-ignore]

OVERHEAD_TARGET_MS = 1000.0  # a change is in the watching clone's file within `interval + 1 s` of the push
POLL = 0.005  # seconds between two reads of B's work-tree file
DEADLINE = 60.0  # a run that has not arrived by then failed
FETCH_LOG = "GITTASKS_BENCH_FETCH_LOG"


def fetch_clock(tmp: Path, env: dict[str, str]) -> tuple[dict[str, str], Path] | None:
    """An environment whose `git` notes the wall-clock start of each `git fetch` (`date +%s.%N`, GNU date) in a log
    and execs the real git; None where date prints no nanoseconds (then the latency is not split)."""
    real = shutil.which("git", path=env.get("PATH"))
    probe = subprocess.run(["date", "+%s.%N"], capture_output=True, text=True, check=False)
    if real is None or probe.returncode != 0 or not probe.stdout.strip().replace(".", "").isdigit():
        return None
    folder = tmp / "git-clock"
    folder.mkdir(exist_ok=True)
    log = tmp / "fetch-starts.log"
    script = folder / "git"
    script.write_text(
        f'#!/bin/sh\n[ "$1" = fetch ] && date +%s.%N >> "${FETCH_LOG}"\nexec {shlex.quote(real)} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return {**env, "PATH": f"{folder}{os.pathsep}{env.get('PATH', '')}", FETCH_LOG: str(log)}, log


class Events:
    """B's JSON lines with the wall-clock time each arrived, read by a thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: list[tuple[float, dict[str, object]]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            with self.lock:
                self.lines.append((time.time(), json.loads(raw)))

    def arrival(self, task: str, since: float) -> float | None:
        with self.lock:
            return next((t for t, e in self.lines if t >= since and e.get("task") == task), None)


def wait_for_file(path: Path, needle: bytes, since: float) -> float:
    """The wall-clock time `path` first held `needle` (polled every POLL seconds)."""
    while time.time() - since < DEADLINE:
        try:
            if needle in path.read_bytes():
                return time.time()
        except OSError:
            pass  # (between the atomic write's rename steps on some systems)
        time.sleep(POLL)
    raise common.CommandFailed(f"the change did not reach {path} within {DEADLINE:g} s")


def last_fetch_before(log: Path | None, moment: float) -> float | None:
    if log is None or not log.exists():
        return None
    starts = [float(line) for line in log.read_text(encoding="utf-8").split() if line.strip()]
    before = [s for s in starts if s <= moment]
    return max(before) if before else None


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):7.0f}  min {min(values):7.0f}  max {max(values):7.0f}"


def main(argv: list[str] | None = None) -> int:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=2.0, help="the watch's --interval in seconds (default: %(default)s)"
        )

    found = common.bench_args(
        "watch_latency", __doc__, 200, argv, common.default_gittasks(), "timed runs", runs=10, warmups=1, extra=extra
    )
    if found is None:
        return 2
    args, gittasks = found
    interval: float = args.interval
    python, began, load_before, busy = common.start(gittasks)
    rng = random.Random(7)
    latencies: list[float] = []
    waits: list[float] = []
    overheads: list[float] = []
    reported: list[float] = []
    try:
        with common.temp_folder("gittasks-bench-watch-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            bare, clone_a, clone_b, ids = sync_bench.setup_clones(tmp, env, gittasks, args.tasks)
            env_a = {**env, "GITTASKS_MACHINE": "bench-a"}
            clocked = fetch_clock(tmp, {**env, "GITTASKS_MACHINE": "bench-b"})
            env_b, log = clocked if clocked is not None else ({**env, "GITTASKS_MACHINE": "bench-b"}, None)
            watch_cmd = [gittasks, "watch", "--interval", f"{interval:g}", "--json"]
            watcher = subprocess.Popen(watch_cmd, cwd=clone_b, env=env_b, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)  # fmt: skip
            assert watcher.stdout is not None and watcher.stderr is not None
            events = Events(watcher.stdout)
            setup_s = time.perf_counter() - began
            try:
                for n in range(args.warmups + args.runs):
                    time.sleep(rng.uniform(0, interval))
                    task = ids[(n * 7) % len(ids)]
                    common.run([gittasks, "update", task, "--owner", f"w{n}"], clone_a, env_a)
                    common.run([gittasks, "sync"], clone_a, env_a)
                    pushed = time.time()
                    arrived = wait_for_file(clone_b / common.ACTIVE_PATH, f'"owner": "w{n}"'.encode(), pushed)
                    line_end = pushed + DEADLINE
                    while (said := events.arrival(task, pushed)) is None and time.time() < line_end:
                        time.sleep(POLL)
                    if said is None:
                        raise common.CommandFailed(f"B's watch printed no line for run {n}")
                    if n < args.warmups:
                        continue
                    latencies.append((arrived - pushed) * 1000)
                    reported.append((said - pushed) * 1000)
                    fetched = last_fetch_before(log, arrived)
                    if fetched is not None:
                        waits.append(max(0.0, fetched - pushed) * 1000)
                        overheads.append((arrived - max(fetched, pushed)) * 1000)
            finally:
                watcher.send_signal(signal.SIGTERM)
                code: int | None
                try:
                    code = watcher.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    watcher.kill()
                    code = None
            err = watcher.stderr.read().decode("utf-8", "replace")
            if code != 0 or "Traceback" in err:
                raise common.CommandFailed(f"the watch ended with {code} on SIGTERM: {err.strip()[:300]}")
            time.sleep(0.2)  # (the reader thread takes the last lines)
            changes = [e for _, e in events.lines if e.get("event") == "change"]
            wrong = [e for e in changes if e.get("machine") != "bench-a" or e.get("action") != "updated"]
            if len(changes) != args.warmups + args.runs or wrong:
                raise common.CommandFailed(f"B reported {len(changes)} changes for {args.warmups + args.runs} runs")
            common.run([gittasks, "sync"], clone_b, env)
            sync_bench.check_in_step(bare, clone_a, clone_b, env)
    except common.CommandFailed as exc:
        print(f"watch_latency: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks watch latency, own-branch layout, {args.tasks} tasks: one owner change in clone A, `gittasks sync` "
        f"in A, until clone B's work-tree file holds it while B runs `gittasks watch --interval {interval:g}`; "
        f"{args.runs} runs after {args.warmups} warm-up(s), each after a random pause of up to one interval "
        f"(set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print()
    rows = [
        ("latency: B's work-tree file holds the change", latencies),
        ("latency: B's JSON line for it printed", reported),
    ]
    if overheads:
        rows.append(("  wait: until B's round starts its fetch", waits))
        rows.append(("  overhead: that fetch -> the file written", overheads))
    print("milliseconds from the end of A's sync:")
    for label, values in rows:
        print(f"{label:<46}  {spread(values)}")
    if overheads:
        print(
            f"so a change reaches B's file within interval + overhead = {interval * 1000:.0f} + "
            f"{statistics.median(overheads):.0f} ms (median; {max(overheads):.0f} ms at most in these runs)"
        )
    else:
        print("(no nanosecond `date` here: the latency is not split into wait and overhead)")
    print()
    worst_past = max(latencies) - interval * 1000
    common.print_targets(
        [
            ("watch: overhead of the round that brings a change in, max", max(overheads) if overheads else None, "ms",
             OVERHEAD_TARGET_MS, "" if overheads else "not measured"),
            ("watch: worst latency past the interval", worst_past, "ms", OVERHEAD_TARGET_MS, ""),
        ],
        args.summary,
    )  # fmt: skip
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
