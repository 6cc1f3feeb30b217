"""Shared helpers for the benchmarks in `bench/`: isolated git environments, temporary folders and timing.

Standard library only, so a benchmark can run under any interpreter; gittasks itself is always run as a subprocess.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

try:
    import resource
except ImportError:  # Windows: no CPU times of children
    resource = None  # type: ignore[assignment]

GIT_NAME = "Bench Author"
GIT_EMAIL = "bench@example.invalid"
ACTIVE_PATH = ".claude/active-tasks.json"
TASK_BRANCH = "gittasks"  # the own-branch layout's branch (the default layout since `gittasks init` without --inline)
TASK_REF = f"refs/heads/{TASK_BRANCH}"
GIT_LOG_VARIABLE = "GITTASKS_BENCH_GIT_LOG"


class CommandFailed(RuntimeError):
    """A measured command exited with a non-zero code."""


def isolated_env(tmp: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment in which git reads no system or user config: HOME and the global config live under `tmp`.

    Inherited `GIT_*` variables (GIT_DIR, GIT_INDEX_FILE, ... from a hook or a wrapper) are dropped.
    """
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users get: Python's bytecode cache in use
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(gitconfig),
            "GIT_AUTHOR_NAME": GIT_NAME,
            "GIT_AUTHOR_EMAIL": GIT_EMAIL,
            "GIT_COMMITTER_NAME": GIT_NAME,
            "GIT_COMMITTER_EMAIL": GIT_EMAIL,
            "GITTASKS_MACHINE": "bench",
            "NO_COLOR": "1",
            "GITTASKS_AUTOSYNC": "0",  # a bench times its command alone; bench/autosync.py turns it on
        }
    )
    if extra:
        env.update(extra)
    return env


@contextlib.contextmanager
def temp_folder(prefix: str = "gittasks-bench-", keep: bool = False) -> Iterator[Path]:
    """A temporary folder, removed afterwards unless `keep`."""
    path = Path(tempfile.mkdtemp(prefix=prefix)).resolve()
    try:
        yield path
    finally:
        if keep:
            print(f"kept the temporary folder {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def run(
    cmd: Sequence[str], cwd: Path, env: Mapping[str, str], input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `cmd`, capturing its output; CommandFailed (with the first lines of stderr) when it exits non-zero."""
    proc = subprocess.run(list(cmd), cwd=cwd, env=dict(env), input=input, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[:5]
        raise CommandFailed(f"`{' '.join(cmd)}` exited with {proc.returncode}: {' / '.join(err) or 'no message'}")
    return proc


RSS_SPAWNER = """import os, sys
devnull = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=devnull)
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mb(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], input: bytes | None = None) -> float | None:
    """Peak resident memory, in MB (2**20 bytes), of one run of `cmd`: its `ru_maxrss` from `os.wait4` on that one
    child, which is the largest resident set of the process itself or of any process it started and waited for (the
    git processes under gittasks), each counted alone, not summed; unlike RUSAGE_CHILDREN, not the largest over every
    child this process ever waited for. The child is started by a small spawner process (`python -I -S`, about 8 MB:
    a reading that low is the spawner's), not by this one: Linux records, when a process execs, the peak of the
    image it replaces, and a child forked from a bench holding a large data set would report the bench's size. The
    output goes to /dev/null; `input` is written to its stdin (else stdin is /dev/null). None where there is no
    `os.wait4` (Windows). CommandFailed when it exits non-zero."""
    if not hasattr(os, "wait4") or not hasattr(os, "posix_spawnp"):
        return None
    feed: dict[str, Any] = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run(
            [sys.executable, "-I", "-S", "-c", RSS_SPAWNER, *cmd],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=err,
            check=False,
            **feed,
        )
        words = proc.stdout.split()
        if proc.returncode != 0 or len(words) != 2 or words[0] != b"0":
            err.seek(0)
            said = err.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            code = words[0].decode() if proc.returncode == 0 and words else f"spawner {proc.returncode}"
            raise CommandFailed(f"`{' '.join(cmd)}` exited with {code}: {' / '.join(said) or 'no message'}")
    per_unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux and the BSDs
    return int(words[1]) * per_unit / 2**20


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by the waited-for child processes of this one and their children."""
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], input: bytes | None = None) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of `cmd` (output captured through pipes, as a caller reading it would;
    `input` is written to its stdin).

    The CPU time counts the processes `cmd` starts (git under gittasks) and, unlike the wall clock, hardly moves
    when other work shares the machine."""
    cpu = children_cpu()
    start = time.perf_counter()
    run(cmd, cwd, env, input=input)
    return time.perf_counter() - start, children_cpu() - cpu


Step = tuple[Sequence[str], Path]  # a command and the folder it runs in


def time_steps(
    steps: Sequence[Step], env: Mapping[str, str], input: bytes | None = None
) -> tuple[float, float, list[float]]:
    """Wall-clock and CPU seconds of `steps` run one after the other as one unit of work (the next starts when the
    previous has exited, like `a && b`), and the wall-clock seconds of each step. `input` goes to the first step."""
    cpu = children_cpu()
    walls: list[float] = []
    for index, (cmd, cwd) in enumerate(steps):
        start = time.perf_counter()
        run(cmd, cwd, env, input=input if index == 0 else None)
        walls.append(time.perf_counter() - start)
    return sum(walls), children_cpu() - cpu, walls


def git(repo: Path, env: Mapping[str, str], *args: str) -> str:
    return run(["git", *args], repo, env).stdout.decode("utf-8", "replace").strip()


# -- the own-branch layout -----------------------------------------------------------------------------------------


def commit_on_branch(repo: Path, env: Mapping[str, str], ref: str, files: Mapping[str, bytes], message: str) -> str:
    """One commit on `ref` (which must exist) with `files` added or replaced, built with plumbing on a private index
    as gittasks builds its own (read-tree, hash-object, update-index, write-tree, commit-tree, then a
    compare-and-swap update-ref); the work tree, the user's index and HEAD are not touched. Returns the commit."""
    old = git(repo, env, "rev-parse", "--verify", f"{ref}^{{commit}}")
    index_env = {**env, "GIT_INDEX_FILE": str(repo / ".git" / "bench-index")}
    try:
        run(["git", "read-tree", old], repo, index_env)
        lines = []
        for path, data in sorted(files.items()):
            blob = run(["git", "hash-object", "-w", "--stdin"], repo, env, input=data).stdout.decode().strip()
            lines.append(f"100644 {blob}\t{path}\n")
        run(["git", "update-index", "--index-info"], repo, index_env, input="".join(lines).encode())
        tree = run(["git", "write-tree"], repo, index_env).stdout.decode().strip()
    finally:
        (repo / ".git" / "bench-index").unlink(missing_ok=True)
    new = run(["git", "commit-tree", "-p", old, "-F", "-", tree], repo, env, input=message.encode()).stdout
    commit = new.decode().strip()
    run(["git", "update-ref", "-m", "bench", ref, commit, old], repo, env)
    return commit


@dataclass
class Layout:
    """What a repository in the own-branch layout holds: the commits of the task branch and of `main`."""

    task_commits: int
    main_commits: int
    tasks: int
    active_bytes: int

    def describe(self) -> str:
        return (
            f"{self.tasks} tasks, {self.active_bytes:,} bytes in {ACTIVE_PATH}; {self.task_commits} commits on the "
            f"task branch {TASK_BRANCH}, {self.main_commits} on main (no task file, no gittasks commit)"
        )


def check_own_branch(repo: Path, env: Mapping[str, str], tasks: int | None = None) -> Layout:
    """Check that `repo` keeps its tasks in the own-branch layout: `gittasks.layout` is `branch` (or unset, as in a
    clone whose first gittasks command took the task branch from the remote), the task file is
    committed on the task branch and equal to the work-tree copy, `main` holds no task file and no gittasks commit,
    and the work tree is clean for git (the copy is excluded). CommandFailed otherwise; `tasks`: the count expected."""
    layout = subprocess.run(["git", "config", "--get", "gittasks.layout"], cwd=repo, env=dict(env), capture_output=True)
    if layout.stdout.strip() not in (b"branch", b""):  # unset in a clone: found from its task branch
        raise CommandFailed(f"gittasks.layout is {layout.stdout.decode().strip()!r}, not 'branch'")
    if any(p.startswith(".claude/") for p in git(repo, env, "ls-tree", "-r", "--name-only", "main").splitlines()):
        raise CommandFailed("main holds task files: the repository is in the inline layout")
    on_main = git(repo, env, "log", "--format=%s", "main").splitlines()
    if any(s.startswith("gittasks: ") for s in on_main):
        raise CommandFailed("main holds gittasks commits")
    committed = run(["git", "show", f"{TASK_REF}:{ACTIVE_PATH}"], repo, env).stdout
    if (repo / ACTIVE_PATH).read_bytes() != committed:
        raise CommandFailed(f"the work-tree copy of {ACTIVE_PATH} differs from the task branch's")
    status = git(repo, env, "status", "--porcelain", "--untracked-files=all")
    if status:
        raise CommandFailed(f"git status is not clean in the own-branch layout: {status.splitlines()[:3]}")
    count = len(json.loads(committed)["tasks"])
    if tasks is not None and count != tasks:
        raise CommandFailed(f"the task branch holds {count} tasks, not {tasks}")
    return Layout(int(git(repo, env, "rev-list", "--count", TASK_REF)), len(on_main), count, len(committed))


# -- counting git processes ------------------------------------------------------------------------------------------


def git_counter(tmp: Path, env: Mapping[str, str]) -> tuple[dict[str, str], Path]:
    """An environment whose PATH starts with a wrapper script named `git` that appends its arguments to a log file
    (one line per git process) and execs the real git; returns it and the log file."""
    real = shutil.which("git", path=env.get("PATH"))
    if real is None:
        raise CommandFailed("git is not on PATH")
    folder = tmp / "git-wrapper"
    folder.mkdir(exist_ok=True)
    log = tmp / "git-calls.log"
    script = folder / "git"
    script.write_text(
        f'#!/bin/sh\nprintf \'%s\\n\' "$*" >> "${GIT_LOG_VARIABLE}"\nexec {shlex.quote(real)} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    counted = {**env, "PATH": f"{folder}{os.pathsep}{env.get('PATH', '')}", GIT_LOG_VARIABLE: str(log)}
    return counted, log


def git_calls(
    cmd: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path, input: bytes | None = None
) -> list[str]:
    """Run `cmd` once in the `git_counter` environment; the git subcommands it started, in order."""
    log.write_bytes(b"")
    run(cmd, cwd, env, input=input)
    calls = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split()
        while len(words) >= 2 and words[0] == "-c":  # `git -c KEY=VALUE subcommand`
            words = words[2:]
        calls.append(words[0] if words else "?")
    return calls


def print_git_calls(rows: Sequence[tuple[str, list[str]]]) -> None:
    """The git processes each command started: the count and the subcommands."""
    width = max(len(name) for name, _ in rows)
    print(f"{'command':<{width}}  {'git':>3}  subcommands")
    for name, calls in rows:
        print(f"{name:<{width}}  {len(calls):3d}  {' '.join(calls) or '-'}")


@dataclass
class Bench:
    """One measured command. `prepare` runs before every timed run and is not timed (e.g. to modify a file).

    `stdin` is written to the command's stdin (a callable is asked anew before every run). `then` lists commands
    timed together with `cmd`, one after the other (e.g. a push in one clone, then a pull in another); the wall
    time of each step is kept too (`step_samples`, `step_median_ms`)."""

    name: str
    cmd: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    prepare: Callable[[], None] | None = None
    samples: list[float] = field(default_factory=list)
    cpu_samples: list[float] = field(default_factory=list)
    stdin: bytes | Callable[[], bytes] | None = None
    then: Sequence[Step] = ()
    step_samples: list[list[float]] = field(default_factory=list)

    def once(self) -> tuple[float, float]:
        wall, cpu, _ = self._timed()
        return wall, cpu

    def _timed(self) -> tuple[float, float, list[float]]:
        if self.prepare is not None:
            self.prepare()
        data = self.stdin() if callable(self.stdin) else self.stdin
        if not self.then:
            wall, cpu = time_once(self.cmd, self.cwd, self.env, input=data)
            return wall, cpu, [wall]
        return time_steps([(self.cmd, self.cwd), *self.then], self.env, input=data)

    def record(self) -> None:
        wall, cpu, steps = self._timed()
        self.samples.append(wall)
        self.cpu_samples.append(cpu)
        self.step_samples.append(steps)

    def step_median_ms(self, index: int) -> float:
        """Median wall-clock milliseconds of step `index` (0 is `cmd`, then the commands of `then`)."""
        return statistics.median(steps[index] for steps in self.step_samples) * 1000.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000.0

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_samples) * 1000.0

    @property
    def spread_ms(self) -> tuple[float, float]:
        return min(self.samples) * 1000.0, max(self.samples) * 1000.0


def measure(benches: Sequence[Bench], runs: int, warmups: int) -> None:
    """Warm up, then time `runs` rounds; each round runs every bench once, so slow drift of the machine (other
    load, CPU frequency, page cache) spreads over all commands instead of biasing the one measured last."""
    for _ in range(warmups):
        for bench in benches:
            bench.once()
    for _ in range(runs):
        for bench in benches:
            bench.record()


def median_ms(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], runs: int = 15, warmups: int = 2) -> float:
    """Median wall-clock milliseconds of `runs` runs of `cmd` after `warmups` untimed ones."""
    bench = Bench(cmd[0], cmd, cwd, env)
    measure([bench], runs, warmups)
    return bench.median_ms


def bench_args(
    name: str,
    doc: str | None,
    default_tasks: int | None,
    argv: list[str] | None,
    default_gittasks: str,
    runs_help: str,
    commits: tuple[int, str] | None = None,
    runs: int = 15,
    warmups: int = 2,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[argparse.Namespace, str] | None:
    """The options every bench takes (`--tasks` unless `default_tasks` is None; `--commits` when `commits` gives its
    default and what they are; `extra` adds a bench's own), and the gittasks command found; None (after saying why)
    when it is missing."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    if commits is not None:
        parser.add_argument("--commits", type=int, default=commits[0], help=f"{commits[1]} (default: %(default)s)")
    parser.add_argument("--gittasks", default=default_gittasks, help="the gittasks command (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=runs, help=f"{runs_help} (default: %(default)s)")
    parser.add_argument("--warmups", type=int, default=warmups, help="untimed runs first (default: %(default)s)")
    if default_tasks is not None:
        parser.add_argument("--tasks", type=int, default=default_tasks, help="tasks in the list (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    add_summary_arg(parser)
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    gittasks = shutil.which(args.gittasks) or args.gittasks
    if not Path(gittasks).exists():
        print(f"{name}: no gittasks command at {gittasks}; pass --gittasks PATH", file=sys.stderr)
        return None
    return args, gittasks


def add_summary_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--summary",
        metavar="FILE",
        help="append the figures with a target to FILE, one JSON object a line (as bench/all.py reads them)",
    )


def summarize(
    path: str | None,
    figure: str,
    value: float | None,
    unit: str,
    target: float | None,
    verdict_text: str | None = None,
    op: str = "<=",
) -> None:
    """Append one figure to the summary file `path` (nothing when it is None): a JSON line with `figure`, `value`,
    `unit` ("x", "ms" or "MB"), `target`, `op` (how value and target compare: "<=" or "<") and `verdict` (PASS/OVER
    from value and target unless `verdict_text` gives it, e.g. "skipped: ..."; "information" without a target)."""
    if path is None:
        return
    if verdict_text is None:
        if value is None or target is None:
            verdict_text = "information"
        else:
            verdict_text = "PASS" if (value < target if op == "<" else value <= target) else "OVER"
    line = {"figure": figure, "value": value, "unit": unit, "target": target, "op": op, "verdict": verdict_text}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def interpreter_of(script: Path) -> str:
    """The interpreter named on the `#!` line of a console script (the venv's python), else this interpreter."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").strip()
    except OSError:
        return sys.executable
    if first.startswith("#!"):
        parts = first[2:].split()
        if parts and Path(parts[0]).name != "env" and Path(parts[0]).exists():
            return parts[0]
    return sys.executable


class Start(NamedTuple):
    """What a bench notes as it starts: the interpreter gittasks runs on, the clock, and how busy the machine was."""

    python: str
    began: float
    load_before: str
    busy: bool


def start(gittasks: str) -> Start:
    """`Start` for the gittasks command at `gittasks` (its interpreter from its `#!` line), now."""
    return Start(interpreter_of(Path(gittasks)), time.perf_counter(), load_average(), busy())


def load_average() -> str:
    """The 1-minute load average and the CPU count, to judge how much other work shared the machine."""
    try:
        load = f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        load = "n/a"
    return f"load {load} on {os.cpu_count()} CPUs"


def busy() -> bool:
    """True when the 1-minute load average is above half the CPU count."""
    try:
        return os.getloadavg()[0] > (os.cpu_count() or 1) / 2
    except (AttributeError, OSError):
        return False


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "OVER"


def print_table(benches: Sequence[Bench], steps: Mapping[str, Sequence[str]] | None = None) -> None:
    """The table of medians (wall and CPU) with the fastest and slowest run. `steps` names, per bench name, the
    steps of a chained bench; their wall-clock medians are printed indented below it."""
    rows: list[tuple[str, Bench, int]] = []
    for bench in benches:
        rows.append((bench.name, bench, -1))
        for index, label in enumerate((steps or {}).get(bench.name, ())):
            rows.append((f"  {label}", bench, index))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>8}  {'max ms':>8}  {'cpu ms':>8}")
    for name, bench, index in rows:
        if index < 0:
            low, high = bench.spread_ms
            print(f"{name:<{width}}  {bench.median_ms:9.1f}  {low:8.1f}  {high:8.1f}  {bench.cpu_median_ms:8.1f}")
        else:
            print(f"{name:<{width}}  {bench.step_median_ms(index):9.1f}")


Ratio = tuple[str, Sequence[Bench], Sequence[Bench], float | None, str]
"""A ratio line: label, the benches whose medians are summed above and below, the target (None: no verdict) and the
note printed when there is no target."""


def print_ratios(rows: Sequence[Ratio]) -> dict[str, float]:
    """The ratios of summed medians, wall clock and CPU, with PASS/OVER against the target (from the wall clock);
    returns the wall-clock ratio of each row by its label."""
    label = max(len(row[0]) for row in rows)
    print(f"{'ratio of medians':<{label}}  {'wall':>7}  {'cpu':>7}")
    walls: dict[str, float] = {}
    for name, top, bottom, target, note in rows:
        wall = sum(b.median_ms for b in top) / sum(b.median_ms for b in bottom)
        walls[name] = wall
        cpu_bottom = sum(b.cpu_median_ms for b in bottom)
        cpu = f"{sum(b.cpu_median_ms for b in top) / cpu_bottom:6.2f}x" if cpu_bottom > 0 else "    n/a"
        verdict_text = note if target is None else f"target <= {target:g}x  {verdict(wall, target)}"
        print(f"{name:<{label}}  {wall:6.2f}x  {cpu}  {verdict_text}")
    return walls


Target = tuple[str, float | None, str, float | None, str]
"""A line of figures against targets: label, the value measured (None: not measured), its unit ("ms", "MB", or "x"
for a ratio), the target (None: no verdict) and the note printed when there is no target or no value."""


def show_value(value: float | None, unit: str) -> str:
    """A measured value with its unit: "2.31x", "123.4 ms", "87.5 MB"; "n/a" for None."""
    if value is None:
        return "n/a"
    return f"{value:.2f}x" if unit == "x" else f"{value:.1f} {unit}"


def print_targets(rows: Sequence[Target], summary: str | None = None) -> None:
    """Figures against targets that say "under" (PASS when value < target, else OVER); each row with a target is
    also appended to the summary file `summary` (see `summarize`)."""
    label = max(len(row[0]) for row in rows)
    print(f"{'figure':<{label}}  {'measured':>11}  {'target':>11}  verdict")
    for name, value, unit, target, note in rows:
        goal = "" if target is None else f"< {target:g}{'x' if unit == 'x' else ' ' + unit}"
        said = note or "information"
        if value is not None and target is not None:
            said = "PASS" if value < target else "OVER"
        print(f"{name:<{label}}  {show_value(value, unit):>11}  {goal:>11}  {said}")
        if target is not None:
            summarize(summary, name, value, unit, target, None if value is not None else said, op="<")


def busy_note() -> str:
    return (
        "The machine was busy (load above half the CPUs): wall-clock medians include waiting for a CPU and short "
        "commands suffer most; the cpu ratios are steadier. The verdicts use the wall-clock ratios."
    )


# -- the floor of a change, and where gittasks is -------------------------------------------------------------------


def _stamp_now() -> str:
    """Now in the task file's stamp format (as `dataset.stamp` writes it)."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_touch(path: Path) -> Callable[[], None]:
    """A `prepare` step for the floors: change the task file's `last_updated` (same length, still a valid canonical
    task file), so that every floor run hashes and commits new bytes as gittasks does."""
    key = b'"last_updated": "'

    def touch() -> None:
        raw = path.read_bytes()
        at = raw.index(key) + len(key)
        new = _stamp_now().encode()
        path.write_bytes(raw[:at] + new + raw[at + len(new) :])

    return touch


FLOOR_REF = "refs/heads/bench-floor"
FLOOR_SCRIPT = """set -e
GIT_INDEX_FILE="$1"; export GIT_INDEX_FILE
read -r old < "$2"
git read-tree "$old"
blob=$(git -c core.looseCompression=1 hash-object -w --stdin < "$3")
printf '100644 %s\\t%s\\n' "$blob" "$4" | git update-index --index-info
tree=$(git write-tree)
new=$(printf 'bench: floor\\n' | git commit-tree --no-gpg-sign -p "$old" -F - "$tree")
git update-ref -m bench "$5" "$new" "$old"
rm -f "$GIT_INDEX_FILE"
"""
FLOOR_TEXT = (
    "sh -c 'GIT_INDEX_FILE=tmp: git read-tree TIP; git -c core.looseCompression=1 hash-object -w --stdin < FILE; "
    "git update-index --index-info; "
    f"git write-tree; git commit-tree -p TIP; git update-ref {FLOOR_REF} NEW TIP' (6 git processes; TIP read from the "
    "ref file, as gittasks reads it)"
)


def plumbing_floor(tmp: Path, repo: Path, env: dict[str, str]) -> Bench:
    """The floor of a change in the own-branch layout: the commit sequence gittasks runs, as one `sh -c` process
    (so it counts git's own cost and a shell's, no Python), committing a copy of the task file (kept outside the work
    tree and touched before every run) onto a branch of its own started at the task branch's tip, in the same
    repository (same object store)."""
    copy = tmp / "floor-active-tasks.json"
    copy.write_bytes((repo / ACTIVE_PATH).read_bytes())
    git(repo, env, "update-ref", FLOOR_REF, git(repo, env, "rev-parse", TASK_REF))
    args = [str(repo / ".git" / "bench-floor-index"), str(repo / ".git" / FLOOR_REF), str(copy), ACTIVE_PATH]
    return Bench(
        "floor: plumbing commit (sh -c)",
        ["sh", "-c", FLOOR_SCRIPT, "floor", *args, FLOOR_REF],
        repo,
        env,
        prepare=make_touch(copy),
    )


def default_gittasks() -> str:
    """gittasks next to this interpreter, else on PATH, else in the repository's .venv."""
    for candidate in (
        Path(sys.executable).parent / "gittasks",
        shutil.which("gittasks"),
        Path(__file__).resolve().parents[1] / ".venv" / "bin" / "gittasks",
    ):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return "gittasks"
