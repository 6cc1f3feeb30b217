"""What the background sync adds to the command that triggers it: `gittasks create` and `gittasks hook capture`.

    .venv/bin/python bench/autosync.py [--runs 15] [--warmups 2] [--tasks 200] [--keep] [--summary FILE]

Builds a temporary code repository in the own-branch layout holding 200 realistic tasks (dataset.py), pushed to a
bare remote on the same disk, and times, interleaved, as medians of whole processes:
- `gittasks create SUBJECT` with autosync off (GITTASKS_AUTOSYNC=0): the baseline;
- the same with autosync on and no background sync running: the command writes the request and starts the detached
  runner (`gittasks sync --background`) before it exits; before each run the bench waits, untimed, until the
  previous runner has ended (`gittasks.pullInterval 0`: a runner ends once it has pushed);
- the same with autosync on while a runner is at work (the bench holds the runner lock, as a runner does): the
  command only writes the request;
- the three again for `gittasks hook capture` fed a TaskCreate payload (a new native id every run).
The figures are the differences to the baseline in milliseconds (target: a few ms, at most 5). The runner's own work
(a fetch, a push) is not in them: it runs detached, after the command has exited. Checks at the end that the remote
holds every task made with autosync on. A measurement, not a test: exits 0 whatever the figures, non-zero only when a
command fails. Git reads no config of yours.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

try:
    from bench import _common as common
    from bench import dataset
    from bench.hook_capture import payloads_after
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]
    from hook_capture import payloads_after  # type: ignore[no-redef,unused-ignore]

TARGET_MS = 5.0  # what autosync may add to the command that triggers it
RUNNER_LOCK = "gittasks-autosync.lock"  # the names of gittasks/autosync.py's files in the git dir
REQUEST_FILE = "gittasks-autosync.request"
STATE_FILE = "gittasks-autosync.json"


def _try_hold(path: Path) -> IO[bytes] | None:
    handle = open(path, "a+b")  # noqa: SIM115 - kept open while held
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def wait_for_no_runner(common_dir: Path, timeout: float = 60.0) -> Callable[[], None]:
    """A `prepare` step: wait until the last request has been served (the runner's record is newer than it and
    no attempt is under way) and no background sync holds the runner lock."""

    def served() -> bool:
        request, state = common_dir / REQUEST_FILE, common_dir / STATE_FILE
        if not request.exists():
            return True
        if not state.exists() or state.stat().st_mtime_ns < request.stat().st_mtime_ns:
            return False
        return "attempt_started" not in json.loads(state.read_text(encoding="utf-8") or "{}")

    def prepare() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            handle = _try_hold(common_dir / RUNNER_LOCK) if served() else None
            if handle is not None:
                handle.close()
                return
            time.sleep(0.02)
        raise common.CommandFailed(f"a background sync still ran after {timeout:g} s")

    return prepare


@contextlib.contextmanager
def runner_at_work(lock: Path) -> Iterator[None]:
    """Hold the runner lock, as a background sync at work does."""
    handle = _try_hold(lock)
    if handle is None:
        raise common.CommandFailed("the runner lock is held by a background sync")
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("autosync", __doc__, 200, argv, common.default_gittasks(), "timed runs per command")
    if found is None:
        return 2
    args, gittasks = found
    python, began, load_before, busy = common.start(gittasks)
    try:
        with common.temp_folder("gittasks-bench-autosync-", keep=args.keep) as tmp:
            off = common.isolated_env(tmp)
            on = {**off, "GITTASKS_AUTOSYNC": "1"}
            repo, _ = dataset.setup_repo(tmp, off, gittasks, args.tasks)
            remote = tmp / "remote.git"
            subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True, env=off)
            common.git(repo, off, "remote", "add", "origin", str(remote))
            common.git(repo, off, "config", "gittasks.pullInterval", "0")
            common.run([gittasks, "sync"], repo, off)
            common_dir = Path(common.git(repo, off, "rev-parse", "--path-format=absolute", "--git-common-dir"))
            lock = common_dir / RUNNER_LOCK
            ended = wait_for_no_runner(common_dir)
            counter = iter(range(10**9))
            payloads = payloads_after(0)

            def create(env: dict[str, str], label: str, prepare: Callable[[], None] | None = None) -> common.Bench:
                return common.Bench(f"create, {label}", [gittasks, "create", f"autosync bench {next(counter)}"],
                                    repo, env, prepare=prepare)  # fmt: skip

            def capture(env: dict[str, str], label: str, prepare: Callable[[], None] | None = None) -> common.Bench:
                return common.Bench(f"hook capture, {label}", [gittasks, "hook", "capture"], repo, env,
                                    prepare=prepare, stdin=payloads)  # fmt: skip

            starts = "autosync on, starts a runner"
            free = [create(off, "autosync off", ended), create(on, starts, ended),
                    capture(off, "autosync off", ended), capture(on, starts, ended)]  # fmt: skip
            at_work = "autosync on, a runner at work"
            held = [create(off, "autosync off (runner held)"), create(on, at_work),
                    capture(off, "autosync off (runner held)"), capture(on, at_work)]  # fmt: skip
            setup_s = time.perf_counter() - began
            common.measure(free, args.runs, args.warmups)
            ended()
            with runner_at_work(lock):
                common.measure(held, args.runs, args.warmups)
            common.run([gittasks, "create", "autosync bench: the last one"], repo, on)
            ended()
            pushed = subprocess.run(
                ["git", "--git-dir", str(remote), "show", "gittasks:.claude/active-tasks.json"],
                capture_output=True,
                env=off,
            )
            subjects = {t["subject"] for t in json.loads(pushed.stdout)["tasks"]} if pushed.returncode == 0 else set()
            if "autosync bench: the last one" not in subjects:
                raise common.CommandFailed("the background sync did not push the last change to the remote")
    except common.CommandFailed as exc:
        print(f"autosync: {exc}", file=sys.stderr)
        return 1

    print(
        f"autosync cost: {args.tasks} tasks at the start (each run adds one), a bare remote on the same disk, median "
        f"of {args.runs} runs after {args.warmups} warm-ups (set-up {setup_s:.1f} s, total "
        f"{time.perf_counter() - began:.1f} s)"
    )
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print()
    common.print_table([*free, *held])
    print()
    rows = [
        ("create: starts a runner", free[1], free[0]),
        ("create: a runner at work", held[1], held[0]),
        ("hook capture: starts a runner", free[3], free[2]),
        ("hook capture: a runner at work", held[3], held[2]),
    ]
    print(f"{'what autosync adds (median on - median off)':<48}  {'ms':>6}  target")
    for label, with_it, without in rows:
        added = with_it.median_ms - without.median_ms
        print(f"{label:<48}  {added:6.1f}  <= {TARGET_MS:g} ms {common.verdict(added / TARGET_MS, 1.0)}")
        common.summarize(args.summary, f"autosync adds to {label} ({args.tasks} tasks)", added, "ms", TARGET_MS)
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
