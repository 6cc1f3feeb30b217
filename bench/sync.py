"""Latency of carrying one task change from one clone to another: `gittasks sync` against plain git, same run.

    .venv/bin/python bench/sync.py [--runs 15] [--warmups 2] [--tasks 200] [--keep]

Set-up, under a temporary folder: a local bare remote; clone A, a gittasks repository holding 200 realistic tasks
(the data set of cli_latency.py), given the remote with `gittasks init --remote <bare>` and pushed with
`gittasks sync`; clone B, a `git clone` of the remote armed by one gittasks command (`gittasks list --json`).

Every round makes one task change on A and carries it to B twice, once each way (the rounds interleave the two, so
slow drift of a shared machine spreads over both):

- gittasks: `gittasks update ID --owner x<n>` in A (untimed: it is the change), then timed: `gittasks sync` in A
  (fetch, push) followed by `gittasks sync` in B (fetch, fast-forward, report what came in);
- plain git: the same kind of edit of the same file written in A and committed with `git commit` (untimed), then
  timed: `git pull --no-rebase` and `git push` in A followed by `git pull --no-rebase` in B.

Prints the medians (and of each step), the ratio gittasks / git against its target (PASS/OVER) and checks that A,
B and the remote end on the same commit. It is a measurement, not a test: it exits 0 whatever the ratio is, and
non-zero only when a command fails. Git reads no config of yours (HOME and the global git config are temporary).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

try:
    from bench import _common as common
    from bench import cli_latency as data
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import cli_latency as data  # type: ignore[no-redef,unused-ignore]

SYNC_TARGET = 2.0  # (gittasks sync in A + gittasks sync in B) / (git pull + git push in A + git pull in B)
ACTIVE_PATH = data.ACTIVE_PATH


def setup_clones(tmp: Path, env: dict[str, str], gittasks: str, count: int) -> tuple[Path, Path, Path, list[str]]:
    """The bare remote and the clones A and B, in step; returns them and the ids of the tasks."""
    bare = tmp / "remote.git"
    common.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], tmp, env)
    clone_a, _ = data.setup_repo(tmp, env, gittasks, count)
    common.run([gittasks, "init", "--remote", str(bare)], clone_a, env)
    common.run([gittasks, "sync"], clone_a, env)
    clone_b = tmp / "clone-b"
    common.run(["git", "clone", "-q", str(bare), str(clone_b)], tmp, env)
    common.run([gittasks, "list", "--json"], clone_b, env)  # arms B: registers the merge driver in its config
    if 'merge "gittasks"' not in (clone_b / ".git" / "config").read_text(encoding="utf-8"):
        raise common.CommandFailed("the first gittasks command in clone B did not register the merge driver")
    ids = [t["id"] for t in json.loads((clone_a / ACTIVE_PATH).read_bytes())["tasks"]]
    return bare, clone_a, clone_b, ids


def gittasks_change(gittasks: str, clone: Path, env: dict[str, str], ids: list[str]) -> Callable[[], None]:
    """The untimed change of a gittasks round: a new owner for the next task in turn (one commit)."""
    counter = iter(range(10**9))

    def change() -> None:
        n = next(counter)
        common.run([gittasks, "update", ids[(n * 7) % len(ids)], "--owner", f"x{n}"], clone, env)

    return change


def git_change(clone: Path, env: dict[str, str], ids: list[str]) -> Callable[[], None]:
    """The untimed change of a plain-git round: the same kind of edit (owner, bookkeeping stamps) written into the
    task file in canonical form and committed with `git commit`, with a message in gittasks' format."""
    counter = iter(range(10**9))
    path = clone / ACTIVE_PATH

    def change() -> None:
        n = next(counter)
        task_id = ids[(n * 11 + 3) % len(ids)]
        doc = json.loads(path.read_bytes())
        now = data.stamp(datetime.now(UTC))
        task = next(t for t in doc["tasks"] if t["id"] == task_id)
        task.update({"owner": f"y{n}", "updated_at": now, "updated_by": "bench"})
        doc["last_updated"] = now
        path.write_bytes(data.canonical_bytes(doc))
        message = (
            f'gittasks: update {task_id} "{task["subject"]}"\n\n'
            f"Task: {task_id}\nAction: update\nMachine: bench\nTimestamp: {now}\n"
        )
        common.run(["git", "commit", "-q", "-F", "-", "--", ACTIVE_PATH], clone, env, input=message.encode())

    return change


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("sync", __doc__, 200, argv, data.default_gittasks(), "timed rounds")
    if found is None:
        return 2
    args, gittasks = found
    python = common.interpreter_of(Path(gittasks))
    began = time.perf_counter()
    load_before = common.load_average()
    busy = common.busy()
    try:
        with common.temp_folder("gittasks-bench-sync-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            bare, clone_a, clone_b, ids = setup_clones(tmp, env, gittasks, args.tasks)
            tool = common.Bench(
                "gittasks: sync A, sync B",
                [gittasks, "sync"],
                clone_a,
                env,
                prepare=gittasks_change(gittasks, clone_a, env, ids),
                then=[([gittasks, "sync"], clone_b)],
            )
            plain = common.Bench(
                "git: pull+push A, pull B",
                ["git", "pull", "--no-rebase"],
                clone_a,
                env,
                prepare=git_change(clone_a, env, ids),
                then=[(["git", "push"], clone_a), (["git", "pull", "--no-rebase"], clone_b)],
            )
            setup_s = time.perf_counter() - began
            common.measure([tool, plain], args.runs, args.warmups)
            heads = {common.git(repo, env, "rev-parse", "main") for repo in (clone_a, clone_b, bare)}
            if len(heads) != 1:
                raise common.CommandFailed(f"A, B and the remote ended on different commits: {sorted(heads)}")
            if (clone_a / ACTIVE_PATH).read_bytes() != (clone_b / ACTIVE_PATH).read_bytes():
                raise common.CommandFailed("the task files of A and B differ after the last round")
            common.run([gittasks, "validate"], clone_b, env)
            commits = int(common.git(clone_b, env, "rev-list", "--count", "HEAD"))
    except common.CommandFailed as exc:
        print(f"sync: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks sync latency: one task change carried from clone A to clone B through a local bare remote, "
        f"{args.tasks} tasks, median of {args.runs} interleaved rounds after {args.warmups} warm-ups "
        f"(set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s, {commits} commits in the repo)"
    )
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print()
    common.print_table(
        [tool, plain],
        {
            tool.name: ["gittasks sync (A)", "gittasks sync (B)"],
            plain.name: ["git pull --no-rebase (A)", "git push (A)", "git pull --no-rebase (B)"],
        },
    )
    print("(untimed in each round: the change itself, `gittasks update` or an edit + `git commit`)")
    print()
    common.print_ratios([("gittasks / git", [tool], [plain], SYNC_TARGET, "")])
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
