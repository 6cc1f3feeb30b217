"""The benches' one data set: realistic tasks of every status (parents, mirrored dependencies, clients and projects,
multi-byte text) made from a seeded random generator, the task file's canonical bytes, and a gittasks repository in
the own-branch layout holding them, set up as a user would. Every bench that needs tasks takes them from here, so
two figures that say "1,000 tasks" count the same tasks.

Standard library only, like `_common`.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from bench import _common as common
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]

ACTIVE_PATH = common.ACTIVE_PATH
ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

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


def setup_repo(
    tmp: Path,
    env: dict[str, str],
    gittasks: str,
    count: int,
    doc: dict[str, Any] | None = None,
    external_edit: bool = True,
) -> tuple[Path, str]:
    """A gittasks repository in the own-branch layout (the default) holding `count` tasks, set up as a user would: a
    code repository with one ordinary commit on main, `gittasks init` (the task branch `gittasks` with an empty list,
    the work-tree copy excluded in .git/info/exclude), then the tasks written into the work-tree copy of the task file
    and committed onto the task branch by the next gittasks command (`gittasks list --json`) as an edit made outside
    gittasks (`Action: external-edit`), as an assistant's edit of the file is. Checks that the tasks are on the task
    branch and that main holds no task commit; returns the repository and the id of a task in the middle. `doc`: the
    task list to write instead of `count` tasks made an hour ago.

    `external_edit=False`: the canonical bytes are committed onto the task branch with plumbing instead (one commit
    without trailers, as a sync brings in a list written on another machine) and the next gittasks command brings
    them into the work-tree copy unchanged (checked). For large lists: quicker to set up, and the parents whose
    subtasks are all done stay as generated (gittasks' commit of an external edit completes them)."""
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
    raw = canonical_bytes(doc)
    if external_edit:
        (repo / ACTIVE_PATH).write_bytes(raw)
        said = common.run([gittasks, "list", "--json"], repo, env).stderr.decode("utf-8", "replace")
        if "committed an edit made outside gittasks" not in said:
            raise common.CommandFailed(f"gittasks did not commit the task file as an external edit: {said.strip()!r}")
        expected = ["external-edit", "init"]
    else:
        common.commit_on_branch(repo, env, common.TASK_REF, {ACTIVE_PATH: raw}, f"bench: {len(tasks)} tasks\n")
        common.run([gittasks, "list", "--json"], repo, env)
        if (repo / ACTIVE_PATH).read_bytes() != raw:
            raise common.CommandFailed(f"gittasks did not bring the committed {ACTIVE_PATH} into the work tree as is")
        expected = ["init"]
    actions = common.git(repo, env, "log", "--format=%(trailers:key=Action,valueonly,separator=)", common.TASK_REF)
    if actions.split() != expected:
        raise common.CommandFailed(f"the task branch holds the actions {actions.split()}, not {', '.join(expected)}")
    common.check_own_branch(repo, env, count)
    common.run([gittasks, "validate"], repo, env)
    return repo, tasks[len(tasks) // 2]["id"]
