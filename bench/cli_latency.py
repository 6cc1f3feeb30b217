"""Latency of the gittasks command line on a 1,000-task list, against baselines measured in the same run.

    .venv/bin/python bench/cli_latency.py [--runs 15] [--warmups 2] [--tasks 1000] [--keep]

Builds a temporary git repository holding 1,000 realistic tasks (written directly in the canonical file format, then
committed), and times as medians: `gittasks list --json`, `gittasks create SUBJECT` (a real commit every run) and
`gittasks show ID`; the floors `python -c pass` (the interpreter gittasks runs on) and one `git commit` of the task
file; and, when Taskwarrior's `task` is installed, `task list` and `task add` on a Taskwarrior data dir holding 1,000
pending tasks. Prints the medians and the ratios against their targets (PASS/OVER).

It is a measurement, not a test: it exits 0 whatever the ratios are, and non-zero only when a command fails. Git and
Taskwarrior read no config of yours (HOME, the global git config and TASKRC/TASKDATA point into the temporary folder).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from bench import _common as common
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]

ACTIVE_PATH = ".claude/active-tasks.json"
ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
TW_RC = ["rc.confirmation=off", "rc.verbose=nothing"]
LIST_TARGET = 5.0  # list --json / task list
CREATE_TARGET = 6.0  # create / (python -c pass + git commit)

VERBS = [
    ("Design", "Designing"),
    ("Implement", "Implementing"),
    ("Refactor", "Refactoring"),
    ("Document", "Documenting"),
    ("Test", "Testing"),
    ("Review", "Reviewing"),
    ("Fix", "Fixing"),
    ("Migrate", "Migrating"),
    ("Benchmark", "Benchmarking"),
    ("Deploy", "Deploying"),
    ("Investigate", "Investigating"),
    ("Remove", "Removing"),
]
OBJECTS = [
    "authentication schema",
    "session token refresh",
    "rate limiter for the public API",
    "billing webhook handler",
    "database connection pool",
    "search index rebuild job",
    "CSV export of invoices",
    "password reset flow",
    "feature flag service",
    "audit log retention",
    "image thumbnail pipeline",
    "email templates (äöü, 日本語)",
    "OAuth callback errors",
    "cache invalidation on update",
    "onboarding checklist UI",
    "nightly backup script",
    "GraphQL pagination",
    "dependency upgrade to the latest LTS",
]
OWNERS = [None, "Coding Agent", "Review Agent", "alice", "bob", "Test Agent"]
TASK_TYPES = ["implementation", "research", "review", "testing", "deployment", "documentation", "bugfix", "analysis"]
MACHINES = ["ACG-M-L5090", "build-server", "laptop-alice", "bench"]
CLIENTS = ["acme", "globex", "initech"]
PROJECTS = ["web", "api", "infra", "mobile"]
STATUSES = [
    ("pending", 45),
    ("in_progress", 15),
    ("blocked", 10),
    ("completed", 25),
    ("cancelled", 5),
]


# -- data sets ---------------------------------------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    """ISO 8601 UTC to the millisecond with a Z, as gittasks writes them."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def id_sort_key(task_id: str) -> list[tuple[int, int | str]]:
    """Ids in the order the task file keeps id lists: digit runs compare as numbers ("8x" before "41x")."""
    return [(0, int(run)) if run.isdigit() else (1, run) for run in re.findall(r"\d+|\D+", task_id)]


def new_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        candidate = "".join(rng.choice(ID_ALPHABET) for _ in range(8))
        if candidate not in taken and not candidate.isdigit():
            taken.add(candidate)
            return candidate


def make_tasks(count: int, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """`count` tasks of every status, with parents and mirrored dependency links (always on earlier tasks, so no
    cycles), in the canonical order (created_at strictly increasing)."""
    start = now - timedelta(days=60)
    step = timedelta(days=59) / max(count, 1)
    taken: set[str] = set()
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    tasks: list[dict[str, Any]] = []
    for index in range(count):
        verb, active = rng.choice(VERBS)
        obj = rng.choice(OBJECTS)
        status = rng.choices(statuses, weights)[0]
        created = start + step * index + timedelta(milliseconds=rng.randrange(1000))
        started = created + timedelta(minutes=rng.randrange(5, 600)) if status != "pending" else None
        if status in ("completed", "cancelled"):
            completed: datetime | None = (started or created) + timedelta(minutes=rng.randrange(10, 3000))
        else:
            completed = None
        updated = max(m for m in (created, started, completed) if m is not None)
        metadata: dict[str, Any] = {"client": rng.choice(CLIENTS), "project": rng.choice(PROJECTS)}
        if rng.random() < 0.3:
            metadata["priority"] = rng.choice(["high", "medium", "low"])
        context: dict[str, Any] = {}
        if rng.random() < 0.4:
            context["files"] = [f"src/{rng.choice(PROJECTS)}/module_{rng.randrange(100)}.py" for _ in range(2)]
        if status == "completed":
            context["outcome"] = f"{obj} done; see PR #{rng.randrange(100, 9999)}"
        earlier = tasks[max(0, index - 50) : index]
        blocked_by = sorted(
            {t["id"] for t in rng.sample(earlier, min(len(earlier), rng.randint(1, 2)))}, key=id_sort_key
        )
        if not earlier or rng.random() >= 0.15:
            blocked_by = []
        parent = rng.choice(earlier)["id"] if earlier and rng.random() < 0.2 else None
        task: dict[str, Any] = {
            "id": new_id(rng, taken),
            "subject": f"{verb} {obj}",
            "description": f"{verb} the {obj}. Acceptance: tests pass, docs updated, reviewed by a second agent.",
            "activeForm": f"{active} {obj}",
            "status": status,
            "owner": rng.choice(OWNERS),
            "created_at": stamp(created),
            "started_at": stamp(started) if started else None,
            "completed_at": stamp(completed) if completed else None,
            "updated_at": stamp(updated),
            "updated_by": rng.choice(MACHINES),
            "blocks": [],
            "blockedBy": blocked_by,
            "blocked_reason": "waiting for the API keys from the client" if status == "blocked" else None,
            "parent": parent,
            "type": rng.choice([None, *TASK_TYPES]),
            "metadata": metadata,
            "context": context,
        }
        by_id = {t["id"]: t for t in earlier}
        for blocker in blocked_by:
            by_id[blocker]["blocks"] = sorted({*by_id[blocker]["blocks"], task["id"]}, key=id_sort_key)
        tasks.append(task)
    return tasks


def canonical_bytes(doc: dict[str, Any]) -> bytes:
    """The task file format: keys sorted, indent 2, UTF-8, trailing newline."""
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


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


def setup_repo(tmp: Path, env: dict[str, str], gittasks: str, count: int) -> tuple[Path, str]:
    """A gittasks repository with `count` tasks committed; returns it and the id of a task in the middle."""
    repo = tmp / "repo"
    repo.mkdir()
    common.git(repo, env, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("bench repository\n", encoding="utf-8")
    common.git(repo, env, "add", "README.md")
    common.git(repo, env, "commit", "-q", "-m", "initial commit")
    common.run([gittasks, "init"], repo, env)
    now = datetime.now(UTC) - timedelta(hours=1)
    tasks = make_tasks(count, random.Random(1000), now)
    doc = {"last_updated": stamp(now), "tasks": tasks}
    (repo / ACTIVE_PATH).write_bytes(canonical_bytes(doc))
    common.git(repo, env, "add", "--", ACTIVE_PATH)
    common.git(repo, env, "commit", "-q", "-m", f"bench: {count} tasks", "--", ACTIVE_PATH)
    common.run([gittasks, "validate"], repo, env)
    return repo, tasks[len(tasks) // 2]["id"]


def make_touch(path: Path) -> Callable[[], None]:
    """A `prepare` step for the git commit floor: change the task file's `last_updated` (same length, still a
    valid canonical task file, so gittasks sees a clean tree afterwards)."""
    key = b'"last_updated": "'

    def touch() -> None:
        raw = path.read_bytes()
        at = raw.index(key) + len(key)
        new = stamp(datetime.now(UTC)).encode()
        path.write_bytes(raw[:at] + new + raw[at + len(new) :])

    return touch


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


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("cli_latency", __doc__, 1000, argv, default_gittasks(), "timed runs per command")
    if found is None:
        return 2
    args, gittasks = found
    python = common.interpreter_of(Path(gittasks))
    task = shutil.which("task")
    task_version = ""
    began = time.perf_counter()
    load_before = common.load_average()
    busy = common.busy()
    try:
        with common.temp_folder("gittasks-bench-latency-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, show_id = setup_repo(tmp, env, gittasks, args.tasks)
            benches = {
                "python": common.Bench("python -c pass", [python, "-c", "pass"], repo, env),
                "commit": common.Bench(
                    "git commit (task file)",
                    ["git", "commit", "-q", "-m", "bench: touch", "--", ACTIVE_PATH],
                    repo,
                    env,
                    prepare=make_touch(repo / ACTIVE_PATH),
                ),
                "list": common.Bench("gittasks list --json", [gittasks, "list", "--json"], repo, env),
                "show": common.Bench(f"gittasks show {show_id}", [gittasks, "show", show_id], repo, env),
                "create": common.Bench(
                    'gittasks create "..."', [gittasks, "create", "Benchmark the create command"], repo, env
                ),
            }
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
            commits = int(common.git(repo, env, "rev-list", "--count", "HEAD"))
    except common.CommandFailed as exc:
        print(f"cli_latency: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks CLI latency: {args.tasks} tasks, median of {args.runs} runs after {args.warmups} warm-ups "
        f"(set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s, {commits} commits in the repo)"
    )
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print()
    width = max(len(b.name) for b in benches.values())
    print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>8}  {'max ms':>8}  {'cpu ms':>8}")
    for bench in benches.values():
        low, high = bench.spread_ms
        print(f"{bench.name:<{width}}  {bench.median_ms:9.1f}  {low:8.1f}  {high:8.1f}  {bench.cpu_median_ms:8.1f}")
    if not task:
        print("\nTaskwarrior (`task`) is not installed: the task list and task add baselines are skipped.")
    else:
        print(f"\n(task list: Taskwarrior {task_version}, {args.tasks} pending tasks, all listed, 80 columns)")
    print()
    wall = {key: bench.median_ms for key, bench in benches.items()}
    cpu = {key: bench.cpu_median_ms for key, bench in benches.items()}
    ratios: list[tuple[str, str, str, float | None]] = []  # name, numerator, denominator, target
    if task:
        ratios.append(("list --json / task list", "list", "task_list", LIST_TARGET))
    ratios.append(("create / (python pass + git commit)", "create", "python+commit", CREATE_TARGET))
    ratios.append(("show / python pass", "show", "python", None))
    if task:
        ratios.append(("create / task add", "create", "task_add", None))

    def ratio(times: dict[str, float], top: str, bottom: str) -> float:
        return times[top] / sum(times[key] for key in bottom.split("+"))

    label = max(len(r[0]) for r in ratios)
    print(f"{'ratio of medians':<{label}}  {'wall':>7}  {'cpu':>7}")
    for name, top, bottom, target in ratios:
        value = ratio(wall, top, bottom)
        note = "information" if target is None else f"target <= {target:g}x  {common.verdict(value, target)}"
        print(f"{name:<{label}}  {value:6.2f}x  {ratio(cpu, top, bottom):6.2f}x  {note}")
    if busy or common.busy():
        print(
            "\nThe machine was busy (load above half the CPUs): wall-clock medians include waiting for a CPU and short "
            "commands suffer most; the cpu ratios are steadier. The verdicts use the wall-clock ratios."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
