"""Latency of the gittasks command line on a 1,000-task list, against baselines measured in the same run.

    .venv/bin/python bench/cli_latency.py [--runs 15] [--warmups 2] [--tasks 1000] [--keep]

Builds a temporary code repository in the own-branch layout (the default): one ordinary commit on main,
`gittasks init`, then 1,000 realistic tasks written in the canonical file format into the work-tree copy of the task
file and committed onto the task branch `gittasks` by the next gittasks command as an external edit (see
`setup_repo`). Times, interleaved, as medians: `gittasks list --json`, `gittasks create SUBJECT` (a real commit on
the task branch every run) and `gittasks show ID`; the floors `python -c pass` (the interpreter gittasks runs on) and
the plumbing commit gittasks makes, as one `sh -c` process (GIT_INDEX_FILE=private index: `git read-tree TIP`,
`git hash-object -w --stdin`, `git update-index --index-info`, `git write-tree`, `git commit-tree -p TIP`,
`git update-ref REF NEW TIP`), and for comparison with 0.1's figure 0.1's floor, one `git commit` of the task file
(in a repository of its own holding it on main, the inline layout); `python -c "import git"` (GitPython, when
installed) next to `python -c pass`, the start-up cost the hot commands avoid by running the git command line; and,
when Taskwarrior's `task` is installed, `task list` and `task add` on a Taskwarrior data dir holding 1,000 pending
tasks. Prints the medians and the ratios against their targets (PASS/OVER).

Then counts, through a wrapper script named `git` first on PATH that logs each call and execs the real git, the git
processes that `list --json`, `show ID`, `ready`, `checklist` (0 expected: nothing moved), `create`, `update` and
`import git` start, and `list --json` after the task branch moved (as after a sync) and `create` with the identity
in the git config rather than in GIT_AUTHOR_* variables.

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

ACTIVE_PATH = common.ACTIVE_PATH
ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
TW_RC = ["rc.confirmation=off", "rc.verbose=nothing"]
LIST_TARGET = 5.0  # list --json / task list
CREATE_TARGET = 6.0  # create / (python -c pass + the plumbing commit floor)
CREATE_01 = 6.07  # what 0.1 reported for create / (python -c pass + git commit), inline layout

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


def setup_repo(
    tmp: Path, env: dict[str, str], gittasks: str, count: int, doc: dict[str, Any] | None = None
) -> tuple[Path, str]:
    """A gittasks repository in the own-branch layout (the default) holding `count` tasks, set up as a user would: a
    code repository with one ordinary commit on main, `gittasks init` (the task branch `gittasks` with an empty list,
    the work-tree copy excluded in .git/info/exclude), then the tasks written into the work-tree copy of the task file
    and committed onto the task branch by the next gittasks command (`gittasks list --json`) as an edit made outside
    gittasks (`Action: external-edit`), as an assistant's edit of the file is. Checks that the tasks are on the task
    branch and that main holds no task commit; returns the repository and the id of a task in the middle. `doc`: the
    task list to write instead of `count` tasks made an hour ago."""
    repo = tmp / "repo"
    repo.mkdir()
    common.git(repo, env, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("bench repository\n", encoding="utf-8")
    common.git(repo, env, "add", "README.md")
    common.git(repo, env, "commit", "-q", "-m", "initial commit")
    common.run([gittasks, "init"], repo, env)
    if doc is None:
        now = datetime.now(UTC) - timedelta(hours=1)
        doc = {"last_updated": stamp(now), "tasks": make_tasks(count, random.Random(1000), now)}
    tasks = doc["tasks"]
    (repo / ACTIVE_PATH).write_bytes(canonical_bytes(doc))
    said = common.run([gittasks, "list", "--json"], repo, env).stderr.decode("utf-8", "replace")
    if "committed an edit made outside gittasks" not in said:
        raise common.CommandFailed(f"gittasks did not commit the task file as an external edit: {said.strip()!r}")
    actions = common.git(repo, env, "log", "--format=%(trailers:key=Action,valueonly,separator=)", common.TASK_REF)
    if actions.split() != ["external-edit", "init"]:
        raise common.CommandFailed(f"the task branch holds the actions {actions.split()}, not external-edit, init")
    common.check_own_branch(repo, env, count)
    common.run([gittasks, "validate"], repo, env)
    return repo, tasks[len(tasks) // 2]["id"]


def make_touch(path: Path) -> Callable[[], None]:
    """A `prepare` step for the floors: change the task file's `last_updated` (same length, still a valid canonical
    task file), so that every floor run hashes and commits new bytes as gittasks does."""
    key = b'"last_updated": "'

    def touch() -> None:
        raw = path.read_bytes()
        at = raw.index(key) + len(key)
        new = stamp(datetime.now(UTC)).encode()
        path.write_bytes(raw[:at] + new + raw[at + len(new) :])

    return touch


FLOOR_REF = "refs/heads/bench-floor"
FLOOR_SCRIPT = """set -e
GIT_INDEX_FILE="$1"; export GIT_INDEX_FILE
read -r old < "$2"
git read-tree "$old"
blob=$(git hash-object -w --stdin < "$3")
printf '100644 %s\\t%s\\n' "$blob" "$4" | git update-index --index-info
tree=$(git write-tree)
new=$(printf 'bench: floor\\n' | git commit-tree --no-gpg-sign -p "$old" -F - "$tree")
git update-ref -m bench "$5" "$new" "$old"
rm -f "$GIT_INDEX_FILE"
"""
FLOOR_TEXT = (
    "sh -c 'GIT_INDEX_FILE=tmp: git read-tree TIP; git hash-object -w --stdin < FILE; git update-index --index-info; "
    f"git write-tree; git commit-tree -p TIP; git update-ref {FLOOR_REF} NEW TIP' (6 git processes; TIP read from the "
    "ref file, as gittasks reads it)"
)


def plumbing_floor(tmp: Path, repo: Path, env: dict[str, str]) -> common.Bench:
    """The floor of a change in the own-branch layout: the commit sequence gittasks runs, as one `sh -c` process
    (so it counts git's own cost and a shell's, no Python), committing a copy of the task file (kept outside the work
    tree and touched before every run) onto a branch of its own started at the task branch's tip, in the same
    repository (same object store)."""
    copy = tmp / "floor-active-tasks.json"
    copy.write_bytes((repo / ACTIVE_PATH).read_bytes())
    common.git(repo, env, "update-ref", FLOOR_REF, common.git(repo, env, "rev-parse", common.TASK_REF))
    args = [str(repo / ".git" / "bench-floor-index"), str(repo / ".git" / FLOOR_REF), str(copy), ACTIVE_PATH]
    return common.Bench(
        "floor: plumbing commit (sh -c)",
        ["sh", "-c", FLOOR_SCRIPT, "floor", *args, FLOOR_REF],
        repo,
        env,
        prepare=make_touch(copy),
    )


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
        prepare=make_touch(inline / ACTIVE_PATH),
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
            before = common.check_own_branch(repo, env, args.tasks)
            gitpython = has_gitpython(python, env, repo)
            benches = {
                "python": common.Bench("python -c pass", [python, "-c", "pass"], repo, env),
                "floor": plumbing_floor(tmp, repo, env),
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
    print(f"floor: {FLOOR_TEXT}")
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
    common.print_ratios(rows)
    print()
    print("git processes started (a wrapper named `git` first on PATH logs each call; 0 expected when nothing moved):")
    common.print_git_calls(calls)
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
