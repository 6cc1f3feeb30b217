"""Latency of the gittasks command line on a 1,000-task list, against baselines measured in the same run.

    .venv/bin/python bench/cli_latency.py [--runs 15] [--warmups 2] [--tasks 1000] [--keep] [--summary FILE]

Builds a temporary code repository in the own-branch layout (the default): one ordinary commit on main, `gittasks init`,
then 1,000 realistic tasks written in the canonical file format into the work-tree copy of the task file and committed
onto the task branch `gittasks` by the next gittasks command as an external edit (the data set and set-up of
dataset.py). Times, interleaved, as medians: `gittasks list --json`, `gittasks create SUBJECT` (a real commit on the
task branch every run) and `gittasks show ID`; the floors `python -c pass` (the interpreter gittasks runs on) and the
plumbing commit gittasks makes, as one `sh -c` process (GIT_INDEX_FILE=private index: `git read-tree TIP`, `git
-c core.looseCompression=1 hash-object -w --stdin` (zlib's fastest level, as gittasks stores its blobs), `git
update-index --index-info`, `git write-tree`, `git commit-tree -p TIP`, `git update-ref REF NEW TIP`), and for
comparison with 0.1's figure 0.1's floor, one `git commit` of the task file (in a repository of
its own holding it on main, the inline layout); `python -c "import git"` (GitPython, when installed) next to `python -c
pass`, the start-up cost the hot commands avoid by running the git command line; and, when Taskwarrior's `task` is
installed, `task list` and `task add` on a Taskwarrior data dir holding 1,000 pending tasks. Prints the medians and the
ratios against their targets (PASS/OVER): `list --json` <= 2.5x `task list`, `create` <= 3x (`python -c pass` + the
plumbing commit floor). `--summary FILE` appends those two to FILE as JSON lines (for bench/all.py; the list row says
it was skipped when Taskwarrior is not installed).

Then counts, through a wrapper script named `git` first on PATH that logs each call and execs the real git, the git
processes that `list --json`, `show ID`, `ready`, `checklist` (0 expected: nothing moved), `create`, `update` and
`import git` start, and `list --json` after the task branch moved (as after a sync) and `create` with the identity in
the git config rather than in GIT_AUTHOR_* variables.

It is a measurement, not a test: it exits 0 whatever the ratios are, and non-zero only when a command fails. Git and
Taskwarrior read no config of yours (HOME, the global git config and TASKRC/TASKDATA point into the temporary folder).
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

ACTIVE_PATH = common.ACTIVE_PATH
TW_RC = ["rc.confirmation=off", "rc.verbose=nothing"]
LIST_TARGET = 2.5  # list --json / task list
CREATE_TARGET = 3.0  # create / (python -c pass + the plumbing commit floor)
CREATE_01 = 6.07  # what 0.1 reported for create / (python -c pass + git commit), inline layout


# -- data sets ---------------------------------------------------------------------------------------------------


def taskwarrior_tasks(tasks: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """The same tasks for Taskwarrior's `task import`, all pending so that `task list` shows every one of them
    (as `gittasks list --json` prints every task), with projects, tags, priorities and dependencies."""
    uuids = {t["id"]: str(uuid.UUID(int=rng.getrandbits(128), version=4)) for t in tasks}
    out: list[dict[str, Any]] = []
    for task in tasks:
        created = datetime.strptime(task["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        record: dict[str, Any] = {
            "uuid": uuids[task["id"]],
            "description": task["subject"],
            "status": "pending",
            "entry": created.strftime("%Y%m%dT%H%M%SZ"),
            "modified": created.strftime("%Y%m%dT%H%M%SZ"),
            "project": f"{task['metadata']['client']}.{task['metadata']['project']}",
            "tags": [task["type"] or "task"],
        }
        if task["blockedBy"]:
            record["depends"] = ",".join(uuids[b] for b in task["blockedBy"])
        if "priority" in task["metadata"]:
            record["priority"] = {"high": "H", "medium": "M", "low": "L"}[task["metadata"]["priority"]]
        if task["started_at"]:
            record["start"] = datetime.strptime(task["started_at"], "%Y-%m-%dT%H:%M:%S.%fZ").strftime("%Y%m%dT%H%M%SZ")
        out.append(record)
    return out


# -- set-up ------------------------------------------------------------------------------------------------------


def commit_floor(tmp: Path, env: dict[str, str], raw: bytes) -> common.Bench:
    """0.1's floor, for comparison with its figure: one `git commit` of the task file, in a repository of its own
    that holds the same task file committed on main (the inline layout; the own-branch work tree cannot commit it)."""
    inline = tmp / "inline-floor"
    inline.mkdir()
    common.git(inline, env, "init", "-q", "-b", "main")
    (inline / ".claude").mkdir()
    (inline / ACTIVE_PATH).write_bytes(raw)
    common.git(inline, env, "add", "--", ACTIVE_PATH)
    common.git(inline, env, "commit", "-q", "-m", "bench: tasks")
    return common.Bench(
        "git commit (task file, inline repo)",
        ["git", "commit", "-q", "-m", "bench: touch", "--", ACTIVE_PATH],
        inline,
        env,
        prepare=common.make_touch(inline / ACTIVE_PATH),
    )


def setup_taskwarrior(tmp: Path, env: dict[str, str], task: str, tasks: list[dict[str, Any]]) -> dict[str, str]:
    """A Taskwarrior rc file and data dir under `tmp` holding the tasks; returns the environment to use."""
    data = tmp / "taskdata"
    data.mkdir()
    rc = tmp / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nverbose=nothing\nnews.version=9.9.9\n", encoding="utf-8")
    tw_env = {**env, "TASKRC": str(rc), "TASKDATA": str(data)}
    payload = tmp / "taskwarrior-import.json"
    payload.write_text(json.dumps(taskwarrior_tasks(tasks, random.Random(2000))), encoding="utf-8")
    common.run([task, *TW_RC, "import", str(payload)], tmp, tw_env)
    pending = common.run([task, *TW_RC, "status:pending", "count"], tmp, tw_env).stdout.decode().strip()
    if pending != str(len(tasks)):
        raise common.CommandFailed(f"task import left {pending} pending tasks, not {len(tasks)}")
    return tw_env


# -- main ----------------------------------------------------------------------------------------------------------


def has_gitpython(python: str, env: dict[str, str], cwd: Path) -> str | None:
    """GitPython's version when `python` can import it, else None."""
    try:
        proc = common.run([python, "-c", "import git; print(git.__version__)"], cwd, env)
    except common.CommandFailed:
        return None
    return proc.stdout.decode().strip()


def count_git(
    tmp: Path, repo: Path, env: dict[str, str], gittasks: str, python: str, show_id: str, gitpython: bool
) -> list[tuple[str, list[str]]]:
    """The git processes each command starts (wrapper named `git` first on PATH), in a settled repository."""
    counted, log = common.git_counter(tmp, env)
    rows: list[tuple[str, list[str]]] = []

    def count(name: str, cmd: list[str], where: Path = repo, run_env: dict[str, str] = counted) -> None:
        rows.append((name, common.git_calls(cmd, where, run_env, log)))

    common.run([gittasks, "list", "--json"], repo, env)  # settle: the work tree as the task branch holds it
    count("gittasks list --json", [gittasks, "list", "--json"])
    count(f"gittasks show {show_id}", [gittasks, "show", show_id])
    count("gittasks ready", [gittasks, "ready"])
    count("gittasks checklist", [gittasks, "checklist"])
    count('gittasks create "..."', [gittasks, "create", "Count the git processes of create"])
    count(f"gittasks update {show_id} --owner counted", [gittasks, "update", show_id, "--owner", "counted"])
    count("gittasks list --json (after the update)", [gittasks, "list", "--json"])
    raw = (repo / ACTIVE_PATH).read_bytes()
    moved = raw.replace(b'"owner": "counted"', b'"owner": "elsewhere"', 1)
    common.commit_on_branch(repo, env, common.TASK_REF, {ACTIVE_PATH: moved}, "bench: the task branch moved")
    count("gittasks list --json (task branch moved)", [gittasks, "list", "--json"])
    count("gittasks list --json (settled again)", [gittasks, "list", "--json"])
    home = tmp / "home-config-identity"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[user]\n\tname = {common.GIT_NAME}\n\temail = {common.GIT_EMAIL}\n")
    config_identity = {k: v for k, v in counted.items() if not k.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_"))}
    config_identity.update({"HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")})
    count('gittasks create "..." (identity from git config)', [gittasks, "create", "Identity"], repo, config_identity)
    if gitpython:
        count('python -c "import git" (GitPython)', [python, "-c", "import git"])
    return rows


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("cli_latency", __doc__, 1000, argv, common.default_gittasks(), "timed runs per command")
    if found is None:
        return 2
    args, gittasks = found
    python, began, load_before, busy = common.start(gittasks)
    task = shutil.which("task")
    task_version = ""
    try:
        with common.temp_folder("gittasks-bench-latency-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, show_id = dataset.setup_repo(tmp, env, gittasks, args.tasks)
            before = common.check_own_branch(repo, env, args.tasks)
            gitpython = has_gitpython(python, env, repo)
            benches = {
                "python": common.Bench("python -c pass", [python, "-c", "pass"], repo, env),
                "floor": common.plumbing_floor(tmp, repo, env),
                "commit": commit_floor(tmp, env, (repo / ACTIVE_PATH).read_bytes()),
                "list": common.Bench("gittasks list --json", [gittasks, "list", "--json"], repo, env),
                "show": common.Bench(f"gittasks show {show_id}", [gittasks, "show", show_id], repo, env),
                "create": common.Bench(
                    'gittasks create "..."', [gittasks, "create", "Benchmark the create command"], repo, env
                ),
            }
            if gitpython:
                benches["gitpython"] = common.Bench(
                    f'python -c "import git" ({gitpython})', [python, "-c", "import git"], repo, env
                )
            if task:
                tasks = json.loads((repo / ACTIVE_PATH).read_bytes())["tasks"]
                tw_env = setup_taskwarrior(tmp, env, task, tasks)
                task_version = common.run([task, "--version"], tmp, tw_env).stdout.decode().strip()
                benches["task_list"] = common.Bench("task list", [task, *TW_RC, "list"], tmp, tw_env)
                benches["task_add"] = common.Bench(
                    'task add "..."', [task, *TW_RC, "add", "Benchmark the add command"], tmp, tw_env
                )
            setup_s = time.perf_counter() - began
            listed = json.loads(common.run([gittasks, "list", "--json"], repo, env).stdout)
            if len(listed) != args.tasks:
                raise common.CommandFailed(f"gittasks list --json printed {len(listed)} tasks, not {args.tasks}")
            common.measure(list(benches.values()), args.runs, args.warmups)
            after = common.check_own_branch(repo, env, args.tasks + args.runs + args.warmups)
            calls = count_git(tmp, repo, env, gittasks, python, show_id, gitpython is not None)
    except common.CommandFailed as exc:
        print(f"cli_latency: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks CLI latency, own-branch layout: median of {args.runs} interleaved runs after {args.warmups} "
        f"warm-ups (set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(f"data set at the start: {before.describe()}")
    print(f"data set at the end:   {after.describe()}; each create run added a task and a commit")
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print(f"floor: {common.FLOOR_TEXT}")
    print()
    common.print_table(list(benches.values()))
    if not task:
        print("\nTaskwarrior (`task`) is not installed: the task list and task add baselines are skipped.")
    else:
        print(f"\n(task list: Taskwarrior {task_version}, {args.tasks} pending tasks, all listed, 80 columns)")
    if not gitpython:
        print("GitPython is not installed for this interpreter: its import cost is skipped.")
    print()
    b = benches
    rows: list[common.Ratio] = []
    if task:
        rows.append(("list --json / task list", [b["list"]], [b["task_list"]], LIST_TARGET, ""))
    rows.append(
        ("create / (python pass + plumbing floor)", [b["create"]], [b["python"], b["floor"]], CREATE_TARGET, "")
    )
    rows.append(
        (
            "create / (python pass + git commit)",
            [b["create"]],
            [b["python"], b["commit"]],
            None,
            f"information: 0.1 reported {CREATE_01:.2f}x (inline layout)",
        )
    )
    rows.append(("plumbing floor / git commit", [b["floor"]], [b["commit"]], None, "information"))
    rows.append(("show / python pass", [b["show"]], [b["python"]], None, "information"))
    if task:
        rows.append(("create / task add", [b["create"]], [b["task_add"]], None, "information"))
    if gitpython:
        extra = b["gitpython"].median_ms - b["python"].median_ms
        rows.append(
            (
                'python -c "import git" / python -c pass',
                [b["gitpython"]],
                [b["python"]],
                None,
                f"information: the import alone adds {extra:.1f} ms",
            )
        )
    walls = common.print_ratios(rows)
    size = f"({args.tasks:,} tasks)"
    if task:
        common.summarize(
            args.summary, f"list --json / task list {size}", walls["list --json / task list"], "x", LIST_TARGET
        )
    else:
        common.summarize(
            args.summary, f"list --json / task list {size}", None, "x", LIST_TARGET, "skipped: task not installed"
        )
    common.summarize(
        args.summary,
        f"create / (python -c pass + plumbing floor) {size}",
        walls["create / (python pass + plumbing floor)"],
        "x",
        CREATE_TARGET,
    )
    print()
    print("git processes started (a wrapper named `git` first on PATH logs each call; 0 expected when nothing moved):")
    common.print_git_calls(calls)
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
