"""Latency of carrying one task change from one clone to another: `gittasks sync` against plain git, same run.

    .venv/bin/python bench/sync.py [--runs 15] [--warmups 2] [--tasks 200] [--keep] [--summary FILE]

Set-up, under a temporary folder, in the own-branch layout (the default): a local bare remote; clone A, a code
repository holding 200 realistic tasks on the task branch `gittasks` (the data set and set-up of dataset.py),
given the remote with `gittasks init --remote <bare>`, its code branch pushed with `git push origin main` and its
task branch with `gittasks sync`; clone B, a `git clone` of the remote (main checked out, origin/gittasks fetched)
whose first gittasks command (`gittasks list --json`) takes the task branch from origin/gittasks into its work tree.

Every round carries one task change from A to B with each of the two methods in turn (two changes a round; the
interleaving spreads slow drift of a shared machine over both). The change is untimed and of the same kind for both,
`gittasks update ID --owner x<n>` in A (one plumbing commit on A's task branch); then:

- gittasks: timed, `gittasks sync` in A (fetch, push) followed by `gittasks sync` in B (fetch, fast-forward of the
  task branch, the work-tree copy written, report of what came in);
- plain git, the baseline: the same ref moved with git alone, timed,
  `git fetch origin +refs/heads/gittasks:refs/remotes/origin/gittasks` and
  `git push origin refs/heads/gittasks:refs/heads/gittasks` in A (the refspecs gittasks' sync uses), followed by
  `git fetch origin refs/heads/gittasks:refs/heads/gittasks` in B (one fetch that also fast-forwards B's local task
  branch, which gittasks does with its fetch and an update-ref; plain git writes no work-tree copy). So the baseline
  is `git fetch && git push` of the ref by the sender plus the `git fetch` that brings it to the receiver.

The plain round leaves B's work-tree copy behind its task branch; the untimed change of the next gittasks round also
runs `gittasks list --json` in B to bring it in, so that each timed `gittasks sync` in B carries exactly one change,
as it would for a user who only runs gittasks.

Prints the medians (and of each step), the ratio gittasks / git of the round (sender and receiver) against the target
(<= 1.5x: a sync of one change costs at most one and a half times plain git's fetch and push of the same ref;
PASS/OVER), the ratio of each side (the sender's, `gittasks sync` in A / `git fetch && git push` in A, against the
same target), the git processes each `gittasks sync` starts, and checks that A, B and the remote end on the same
task-branch commit, that A and B hold the same task file and that main is the same single commit in all three. It is
a measurement, not a test: it exits 0 whatever the ratio is, and non-zero only when a command fails. Git reads no
config of yours (HOME and the global git config are temporary). `--summary FILE` appends the two ratios with a
target to FILE as JSON lines (for bench/all.py).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

SYNC_TARGET = 1.5  # (gittasks sync in A + gittasks sync in B) / (git fetch + git push in A + git fetch in B); the
# sender's side alone, gittasks sync in A / (git fetch + git push in A), against the same target
ACTIVE_PATH = common.ACTIVE_PATH
REF = common.TASK_REF
TRACKING = f"refs/remotes/origin/{common.TASK_BRANCH}"
FETCH_A = ["git", "fetch", "-q", "origin", f"+{REF}:{TRACKING}"]
PUSH_A = ["git", "push", "-q", "origin", f"{REF}:{REF}"]
FETCH_B = ["git", "fetch", "-q", "origin", f"{REF}:{REF}"]


def setup_clones(
    tmp: Path, env: dict[str, str], gittasks: str, count: int, external_edit: bool = True
) -> tuple[Path, Path, Path, list[str]]:
    """The bare remote and the clones A and B, in step; returns them and the ids of the tasks. `external_edit`: how
    clone A's tasks are committed (see `dataset.setup_repo`)."""
    bare = tmp / "remote.git"
    common.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], tmp, env)
    clone_a, _ = dataset.setup_repo(tmp, env, gittasks, count, external_edit=external_edit)
    common.run([gittasks, "init", "--remote", str(bare)], clone_a, env)
    common.run(["git", "push", "-q", "origin", "main"], clone_a, env)
    common.run([gittasks, "sync"], clone_a, env)
    clone_b = tmp / "clone-b"
    common.run(["git", "clone", "-q", str(bare), str(clone_b)], tmp, env)
    said = common.run([gittasks, "list", "--json"], clone_b, env).stderr.decode("utf-8", "replace")
    if "took the task list from origin" not in said:
        raise common.CommandFailed(f"the first gittasks command in clone B did not take the task branch: {said!r}")
    common.check_own_branch(clone_b, env, count)
    ids = [t["id"] for t in json.loads((clone_a / ACTIVE_PATH).read_bytes())["tasks"]]
    return bare, clone_a, clone_b, ids


def changes(gittasks: str, clone_a: Path, clone_b: Path, env: dict[str, str], ids: list[str]) -> Callable[[bool], None]:
    """The untimed change of a round: a new owner for the next task in turn (one commit in A); `settle_b` also brings
    B's work-tree copy up to its task branch (moved by the plain-git round before)."""
    counter = iter(range(10**9))

    def change(settle_b: bool) -> None:
        n = next(counter)
        common.run([gittasks, "update", ids[(n * 7) % len(ids)], "--owner", f"x{n}"], clone_a, env)
        if settle_b:
            common.run([gittasks, "list", "--json"], clone_b, env)

    return change


def sync_benches(
    gittasks: str, clone_a: Path, clone_b: Path, env: dict[str, str], change: Callable[[bool], None]
) -> tuple[common.Bench, common.Bench]:
    """The two methods of a round: gittasks (sync in A, then in B) and plain git (fetch and push in A, fetch in B),
    each after its untimed change in A."""
    tool = common.Bench(
        "gittasks: sync A, sync B",
        [gittasks, "sync"],
        clone_a,
        env,
        prepare=lambda: change(True),
        then=[([gittasks, "sync"], clone_b)],
    )
    plain = common.Bench(
        "git: fetch+push A, fetch B",
        FETCH_A,
        clone_a,
        env,
        prepare=lambda: change(False),
        then=[(PUSH_A, clone_a), (FETCH_B, clone_b)],
    )
    return tool, plain


STEPS = {
    "gittasks: sync A, sync B": ["gittasks sync (A)", "gittasks sync (B)"],
    "git: fetch+push A, fetch B": ["git fetch (A)", "git push (A)", "git fetch (B, fast-forwards the branch)"],
}


def sender_ratio(tool: common.Bench, plain: common.Bench) -> float:
    """gittasks sync in A / (git fetch + git push in A), from the medians of the steps."""
    return tool.step_median_ms(0) / (plain.step_median_ms(0) + plain.step_median_ms(1))


def receiver_ratio(tool: common.Bench, plain: common.Bench) -> float:
    """gittasks sync in B / git fetch in B, from the medians of the steps."""
    return tool.step_median_ms(1) / plain.step_median_ms(2)


def check_in_step(bare: Path, clone_a: Path, clone_b: Path, env: dict[str, str]) -> None:
    """A, B and the remote on the same task-branch commit, the same main; A and B with the same task file."""
    tips = {common.git(repo, env, "rev-parse", REF) for repo in (clone_a, clone_b, bare)}
    if len(tips) != 1:
        raise common.CommandFailed(f"A, B and the remote ended on different task commits: {sorted(tips)}")
    mains = {common.git(repo, env, "rev-parse", "main") for repo in (clone_a, clone_b, bare)}
    if len(mains) != 1:
        raise common.CommandFailed(f"main differs between A, B and the remote: {sorted(mains)}")
    if (clone_a / ACTIVE_PATH).read_bytes() != (clone_b / ACTIVE_PATH).read_bytes():
        raise common.CommandFailed("the task files of A and B differ after the last round")


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("sync", __doc__, 200, argv, common.default_gittasks(), "timed rounds")
    if found is None:
        return 2
    args, gittasks = found
    python, began, load_before, busy = common.start(gittasks)
    try:
        with common.temp_folder("gittasks-bench-sync-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            bare, clone_a, clone_b, ids = setup_clones(tmp, env, gittasks, args.tasks)
            before = common.check_own_branch(clone_a, env, args.tasks)
            change = changes(gittasks, clone_a, clone_b, env, ids)
            tool, plain = sync_benches(gittasks, clone_a, clone_b, env, change)
            setup_s = time.perf_counter() - began
            common.measure([tool, plain], args.runs, args.warmups)
            counted, log = common.git_counter(tmp, env)
            change(True)
            calls = [
                ("gittasks sync (A, one change to push)", common.git_calls([gittasks, "sync"], clone_a, counted, log)),
                ("gittasks sync (B, one change to take)", common.git_calls([gittasks, "sync"], clone_b, counted, log)),
                ("gittasks sync (B again, nothing moved)", common.git_calls([gittasks, "sync"], clone_b, counted, log)),
            ]
            check_in_step(bare, clone_a, clone_b, env)
            after = common.check_own_branch(clone_b, env, args.tasks)
            common.check_own_branch(clone_a, env, args.tasks)
            common.run([gittasks, "validate"], clone_b, env)
    except common.CommandFailed as exc:
        print(f"sync: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks sync latency, own-branch layout: one task change carried from clone A to clone B through a local "
        f"bare remote, median of {args.runs} interleaved rounds after {args.warmups} warm-ups "
        f"(set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(f"data set at the start: {before.describe()}")
    print(f"data set at the end (B): {after.describe()}; one commit per round and method")
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print("compared, per round (untimed before each: `gittasks update ID --owner x<n>` in A):")
    print("  gittasks:  A: gittasks sync  then  B: gittasks sync")
    print(f"  plain git: A: {' '.join(FETCH_A)} && {' '.join(PUSH_A)}  then  B: {' '.join(FETCH_B)}")
    print()
    common.print_table([tool, plain], STEPS)
    print()
    round_ratio = common.print_ratios([("gittasks / git", [tool], [plain], SYNC_TARGET, "")])["gittasks / git"]
    sender, receiver = sender_ratio(tool, plain), receiver_ratio(tool, plain)
    print(
        f"  sender:   gittasks sync (A) / git fetch+push (A)  {sender:6.2f}x  target <= {SYNC_TARGET:g}x  "
        f"{common.verdict(sender, SYNC_TARGET)}  (medians of the steps)"
    )
    print(f"  receiver: gittasks sync (B) / git fetch (B)       {receiver:6.2f}x  information")
    common.summarize(
        args.summary, f"sync of one change, round A+B / git ({args.tasks:,} tasks)", round_ratio, "x", SYNC_TARGET
    )
    common.summarize(
        args.summary, f"  sender: sync A / git fetch && git push A ({args.tasks:,} tasks)", sender, "x", SYNC_TARGET
    )
    print()
    print("git processes started by one more round (a wrapper named `git` first on PATH logs each call):")
    common.print_git_calls(calls)
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
