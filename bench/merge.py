"""Speed of the field-level merge on a 10,000-task file, in-process and as git's merge driver, next to `git merge-file`.

    .venv/bin/python bench/merge.py [--runs 15] [--warmups 2] [--tasks 10000] [--changed 1000] [--keep]
                                    [--summary FILE]

Builds, under a temporary folder, the three files git hands a merge driver: a base document of 10,000 realistic tasks
(the data set of dataset.py, a third of them with descriptions of several paragraphs; canonical bytes from
`gittasks.document.dumps`) and two sides made from it as the tool makes edits (each bumps the task's `updated_at`
and sets `updated_by` to the side's machine). Each side changes 1,000 tasks; 200 of them are changed on both sides:
the same field to different values (owner, status: a conflict record), different fields, different paragraphs of the
description (a clean text merge), or the very same edit. Each side also creates 10 tasks, deletes 5, adds a few
dependencies, and edits a task the other side deleted.

Every round times, interleaved (slow drift of a shared machine spreads over all of them):

- in-process, in this interpreter, with the cycle collector off as in the driver: `merge.merge_documents` on the three
  documents parsed once at set-up, and `merge.merge_bytes` end to end (three parses, the merge, the canonical bytes);
  for information its other parts, the three parses (`document.load_document`) and `document.dumps` of the merged
  document;
- the merge-driver process, `python -m gittasks merge-driver BASE OURS THEIRS .claude/active-tasks.json`, as git runs
  it (OURS, which the driver overwrites with the result, is restored before every run, untimed);
- the line-merge floor, `git merge-file -p OURS BASE THEIRS` on the same three files (it prints the merged text with
  markers for the overlapping edits; its exit code is the number of conflicts); for information `python -c pass`.

Prints the medians, the ratios against their targets (PASS/OVER: the merge-driver process <= 1x `git merge-file`,
`merge_documents` on parsed documents under 50 ms) and checks that the driver wrote the same bytes as
`merge_bytes` in canonical form. It is a measurement, not a test: it exits 0 whatever the ratios are, and non-zero
only when a command fails. Unlike the other benchmarks it imports gittasks (run it with the venv's python). The
processes keep their bytecode under the temporary folder (PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE dropped), as
after an install: else every run would compile gittasks anew (about 10 ms). Git reads no config of yours (HOME and
the global git config are temporary). `--summary FILE` appends the two figures with a target to FILE as JSON lines
(for bench/all.py).

The merge walks about 100 MB of parsed objects: the in-process times follow the memory more than the CPU, and move
by 20-30% from one run to the next on a shared machine.
"""

from __future__ import annotations

import argparse
import copy
import gc
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gittasks import document, merge

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

ACTIVE_PATH = common.ACTIVE_PATH
DRIVER_TARGET = 1.0  # merge-driver process / git merge-file -p
IN_PROCESS_TARGET_MS = 50.0  # merge.merge_documents on parsed documents
OURS_MACHINE = "laptop-ours"
THEIRS_MACHINE = "desktop-theirs"


# -- data set ------------------------------------------------------------------------------------------------------


def with_paragraphs(task: dict[str, Any], rng: random.Random) -> None:
    """Give a task a description of three paragraphs (the first is the generator's one-liner)."""
    files = ", ".join(f"`src/{rng.choice(dataset.PROJECTS)}/module_{rng.randrange(100)}.py`" for _ in range(2))
    task["description"] = (
        f"{task['description']}\n\n"
        f"Steps:\n- read {files}\n- write the change and its tests\n- ask for a review\n\n"
        f"Notes: found while working on {rng.choice(dataset.OBJECTS)}; client {task['metadata']['client']}.\n"
    )


class Side:
    """One side's edits: each bumps the edited task's `updated_at` (to a stamp later than every base stamp) and sets
    `updated_by` to the side's machine."""

    def __init__(self, base: dict[str, Any], machine: str, start: datetime) -> None:
        self.doc = copy.deepcopy(base)
        self.by_id = {t["id"]: t for t in self.doc["tasks"]}
        self.machine = machine
        self.clock = start

    def stamp(self) -> str:
        self.clock += timedelta(milliseconds=1500)
        return dataset.stamp(self.clock)

    def edit(self, task_id: str, **fields: Any) -> dict[str, Any]:
        task = self.by_id[task_id]
        task.update(fields)
        task["updated_at"] = self.stamp()
        task["updated_by"] = self.machine
        return task

    def advance_status(self, task_id: str) -> None:
        """The next status a worker would set: pending -> in_progress -> completed, blocked -> in_progress."""
        task = self.by_id[task_id]
        status = task["status"]
        if status == "pending":
            self.edit(task_id, status="in_progress", started_at=dataset.stamp(self.clock))
        elif status == "in_progress":
            self.edit(task_id, status="completed", completed_at=dataset.stamp(self.clock))
        elif status == "blocked":
            self.edit(task_id, status="in_progress", blocked_reason=None)
        else:
            self.edit(task_id, owner=self.machine)

    def depend(self, blocked: str, blocker: str) -> None:
        """`blocked` is blockedBy `blocker` (and `blocker` blocks `blocked`): two edited tasks."""
        task, other = self.by_id[blocked], self.by_id[blocker]
        self.edit(blocked, blockedBy=sorted({*task["blockedBy"], blocker}, key=dataset.id_sort_key))
        self.edit(blocker, blocks=sorted({*other["blocks"], blocked}, key=dataset.id_sort_key))

    def create(self, rng: random.Random, taken: set[str], subject: str) -> None:
        stamp = self.stamp()
        task_id = dataset.new_id(rng, taken)
        self.doc["tasks"].append(
            {
                "id": task_id,
                "subject": subject,
                "description": f"{subject}, created on {self.machine}.",
                "activeForm": f"Working on: {subject}",
                "status": "pending",
                "owner": None,
                "created_at": stamp,
                "started_at": None,
                "completed_at": None,
                "updated_at": stamp,
                "updated_by": self.machine,
                "blocks": [],
                "blockedBy": [],
                "blocked_reason": None,
                "parent": None,
                "type": "implementation",
                "metadata": {"client": rng.choice(dataset.CLIENTS), "project": rng.choice(dataset.PROJECTS)},
                "context": {},
            }
        )
        self.by_id[task_id] = self.doc["tasks"][-1]

    def delete(self, task_id: str) -> None:
        self.doc["tasks"] = [t for t in self.doc["tasks"] if t["id"] != task_id]
        del self.by_id[task_id]

    def finish(self) -> dict[str, Any]:
        self.doc["last_updated"] = dataset.stamp(self.clock)
        return self.doc


def edit_paragraph(task: dict[str, Any], index: int, text: str) -> str:
    parts = task["description"].split("\n\n")
    parts[index] = f"{parts[index]} {text}"
    return "\n\n".join(parts)


def single_edit(side: Side, task_id: str, kind: int, rng: random.Random) -> None:
    """One of the everyday edits, by `kind`."""
    task = side.by_id[task_id]
    if kind == 0:
        side.advance_status(task_id)
    elif kind == 1:
        side.edit(task_id, owner=rng.choice(["Coding Agent", "Review Agent", "carol", "dave"]))
    elif kind == 2:
        side.edit(task_id, subject=f"{task['subject']} (v2)", activeForm=f"{task['activeForm']} (v2)")
    elif kind == 3:
        side.edit(task_id, metadata={**task["metadata"], "priority": rng.choice(["high", "medium", "low"])})
    elif kind == 4:
        side.edit(task_id, context={**task["context"], "notes": f"checked on {side.machine}"})
    else:
        side.edit(task_id, description=f"{task['description'].rstrip()}\n\nUpdate from {side.machine}.\n")


def build(tasks: int, changed: int, seed: int = 4242) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]:
    """The base document and the two sides; returns them and a one-line description of the changes."""
    rng = random.Random(seed)
    now = datetime.now(UTC) - timedelta(hours=2)
    base_tasks = dataset.make_tasks(tasks, rng, now)
    for task in base_tasks[::3]:
        with_paragraphs(task, rng)
    base: dict[str, Any] = {"last_updated": dataset.stamp(now), "tasks": base_tasks}
    ids = [t["id"] for t in base_tasks]
    position = {task_id: i for i, task_id in enumerate(ids)}
    start = now + timedelta(minutes=1)
    ours, theirs = Side(base, OURS_MACHINE, start), Side(base, THEIRS_MACHINE, start + timedelta(milliseconds=700))

    both = changed // 5  # changed on both sides
    order = list(range(tasks))
    rng.shuffle(order)
    picked = iter(order)
    shared = [ids[next(picked)] for _ in range(both)]
    only_ours = [ids[next(picked)] for _ in range(changed - both)]
    only_theirs = [ids[next(picked)] for _ in range(changed - both)]
    untouched = [ids[i] for i in picked]  # left for deletions and dependencies

    same_field, other_fields, paragraphs = both * 2 // 5, both * 3 // 10, both // 5
    paragraph_ids = [t for t in shared if "\n\n" in base_tasks[position[t]]["description"]]
    paragraph_set = set(paragraph_ids[:paragraphs])
    rest = [t for t in shared if t not in paragraph_set]
    for n, task_id in enumerate(rest):
        if n < same_field:  # the same field to different values: a conflict record
            if n % 2:
                ours.edit(task_id, owner="Coding Agent")
                theirs.edit(task_id, owner="Review Agent")
            else:
                ours.edit(task_id, subject=f"{ours.by_id[task_id]['subject']} (ours)")
                theirs.edit(task_id, subject=f"{theirs.by_id[task_id]['subject']} (theirs)")
        elif n < same_field + other_fields:  # different fields
            ours.advance_status(task_id)
            single_edit(theirs, task_id, 3, rng)
        else:  # the same edit on both sides
            for side in (ours, theirs):
                side.by_id[task_id].update(owner="pair", updated_at=dataset.stamp(start), updated_by="pair-session")
    for task_id in paragraph_set:  # description edited in different paragraphs: a clean text merge
        ours.edit(task_id, description=edit_paragraph(ours.by_id[task_id], 0, "Also handle the retry case."))
        theirs.edit(task_id, description=edit_paragraph(theirs.by_id[task_id], 2, "Client asked for it by Friday."))
    for side, own in ((ours, only_ours), (theirs, only_theirs)):
        for n, task_id in enumerate(own):
            single_edit(side, task_id, n % 6, rng)

    # Dependencies on earlier untouched tasks (every link points to an earlier task: no cycle, even merged).
    for side, own in ((ours, only_ours), (theirs, only_theirs)):
        for task_id in own[:5]:
            earlier = [u for u in untouched[:200] if position[u] < position[task_id]]
            if earlier:
                side.depend(task_id, earlier[0])
    blockers = {b for side in (ours, theirs) for t in side.doc["tasks"] for b in t["blockedBy"]}
    parents = {t["parent"] for t in base["tasks"]}
    spare = [  # tasks no other task refers to, and referring to none: deleted without touching another task
        u
        for u in untouched[200:]
        if u not in blockers
        and u not in parents
        and not any(base["tasks"][position[u]][k] for k in ("blocks", "blockedBy"))
    ]
    taken = set(ids)
    for side, name in ((ours, "ours"), (theirs, "theirs")):
        for n in range(10):
            side.create(rng, taken, f"New task {n} from {name}")
    for task_id in spare[:5]:
        ours.delete(task_id)
    for task_id in spare[5:10]:
        theirs.delete(task_id)
    ours.delete(spare[10])  # deleted on ours, edited on theirs (and the other way round): kept, with a record
    theirs.edit(spare[10], owner="carol")
    theirs.delete(spare[11])
    ours.edit(spare[11], owner="dave")

    ours_doc, theirs_doc = ours.finish(), theirs.finish()
    base_map = {t["id"]: t for t in base["tasks"]}

    def touched(doc: dict[str, Any]) -> set[str]:
        return {t["id"] for t in doc["tasks"] if base_map.get(t["id"]) != t}

    o, t = touched(ours_doc), touched(theirs_doc)
    summary = (
        f"ours changes or adds {len(o)} tasks, theirs {len(t)}, {len(o & t)} changed on both sides "
        f"({len(paragraph_set)} in different paragraphs of the description); 10 created and 6 deleted on each side"
    )
    return base, ours_doc, theirs_doc, summary


# -- benches -------------------------------------------------------------------------------------------------------


@dataclass
class InProcess(common.Bench):
    """A function of this process timed like a command (wall clock and this process's CPU time), with the cycle
    collector off as in the merge-driver process."""

    func: Callable[[], object] | None = None

    def _timed(self) -> tuple[float, float, list[float]]:
        assert self.func is not None
        if self.prepare is not None:
            self.prepare()
        gc.collect()  # the garbage of the previous run is not this run's cost
        gc.disable()  # as in the driver process, which turns the cycle collector off
        try:
            cpu = time.process_time()
            start = time.perf_counter()
            self.func()
            wall = time.perf_counter() - start
            return wall, time.process_time() - cpu, [wall]
        finally:
            gc.enable()


@dataclass
class MergeFile(common.Bench):
    """`git merge-file`: its exit code is the number of conflicts (up to 127); only a negative one is a failure."""

    conflicts: int = 0

    def _timed(self) -> tuple[float, float, list[float]]:
        cpu = common.children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(list(self.cmd), cwd=self.cwd, env=dict(self.env), capture_output=True)
        wall = time.perf_counter() - start
        if not 0 <= proc.returncode <= 127:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise common.CommandFailed(f"`{' '.join(self.cmd)}` exited with {proc.returncode}: {err or 'no message'}")
        self.conflicts = proc.returncode
        return wall, common.children_cpu() - cpu, [wall]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (default: %(default)s)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed rounds first (default: %(default)s)")
    parser.add_argument("--tasks", type=int, default=10000, help="tasks in the base file (default: %(default)s)")
    parser.add_argument("--changed", type=int, default=1000, help="tasks changed per side (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    common.add_summary_arg(parser)
    args = parser.parse_args(argv)

    python = sys.executable
    began = time.perf_counter()
    load_before = common.load_average()
    busy = common.busy()
    base_doc, ours_doc, theirs_doc, summary = build(args.tasks, args.changed)
    raw = {name: document.dumps(doc) for name, doc in (("base", base_doc), ("ours", ours_doc), ("theirs", theirs_doc))}
    parsed = {name: document.load_document(value, name) for name, value in raw.items()}
    try:
        with common.temp_folder("gittasks-bench-merge-", keep=args.keep) as tmp:
            # Bytecode cached (under the temporary folder), as after an install: not recompiled in every run.
            env = common.isolated_env(tmp, {"PYTHONPYCACHEPREFIX": str(tmp / "pycache")})
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            work = tmp / "work"
            work.mkdir()
            paths = {name: work / f".merge_file_{name}" for name in raw}
            for name, path in paths.items():
                path.write_bytes(raw[name])
            expected = merge.merge_bytes(raw["base"], raw["ours"], raw["theirs"], ACTIVE_PATH)

            def restore_ours() -> None:
                paths["ours"].write_bytes(raw["ours"])

            def load_three() -> None:
                for name, value in raw.items():
                    document.load_document(value, name)

            merged_doc = merge.merge_documents(parsed["base"], parsed["ours"], parsed["theirs"]).document
            merge_file = MergeFile(
                "git merge-file -p",
                ["git", "merge-file", "-p", *(str(paths[n]) for n in ("ours", "base", "theirs"))],
                work,
                env,
            )
            benches = {
                "documents": InProcess(
                    "merge_documents (parsed)",
                    (),
                    work,
                    env,
                    func=lambda: merge.merge_documents(parsed["base"], parsed["ours"], parsed["theirs"]),
                ),
                "bytes": InProcess(
                    "merge_bytes (end to end)",
                    (),
                    work,
                    env,
                    func=lambda: merge.merge_bytes(raw["base"], raw["ours"], raw["theirs"], ACTIVE_PATH),
                ),
                "load": InProcess("  3 x load_document", (), work, env, func=load_three),
                "dumps": InProcess("  dumps (merged)", (), work, env, func=lambda: document.dumps(merged_doc)),
                "driver": common.Bench(
                    "merge-driver process",
                    [python, "-m", "gittasks", "merge-driver", *(str(paths[n]) for n in raw), ACTIVE_PATH],
                    work,
                    env,
                    prepare=restore_ours,
                ),
                "merge_file": merge_file,
                "python": common.Bench("python -c pass", [python, "-c", "pass"], work, env),
            }
            setup_s = time.perf_counter() - began
            gc.collect()
            gc.freeze()  # the data set is not the in-process runs' garbage to walk through
            common.measure(list(benches.values()), args.runs, args.warmups)
            written = paths["ours"].read_bytes()
            if written != expected:
                raise common.CommandFailed("the merge driver wrote other bytes than merge.merge_bytes returns")
            if written != document.dumps(orjson.loads(written)):
                raise common.CommandFailed("the merge driver's result is not in canonical form")
    except common.CommandFailed as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 1

    result = orjson.loads(expected)
    conflicts = len(result.get("conflicts", []))
    sizes = ", ".join(f"{name} {len(value) / 1e6:.1f} MB" for name, value in raw.items())
    print(
        f"gittasks merge: {args.tasks} tasks; {summary}; median of {args.runs} interleaved rounds after "
        f"{args.warmups} warm-ups (set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(
        f"files: {sizes}; merged: {len(result['tasks'])} tasks, {conflicts} conflict records; "
        f"git merge-file: {merge_file.conflicts} conflicts (markers)"
    )
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print()
    common.print_table(list(benches.values()))
    print(
        "(in-process rows: this interpreter, cycle collector off as in the driver, cpu = its own CPU time; indented "
        "rows: parts of merge_bytes; processes: bytecode cached)"
    )
    print()
    walls = common.print_ratios(
        [
            ("merge-driver / git merge-file", [benches["driver"]], [benches["merge_file"]], DRIVER_TARGET, ""),
            ("merge-driver / python -c pass", [benches["driver"]], [benches["python"]], None, "information"),
        ]
    )
    print()
    label = "merge_documents (parsed)"
    in_process = benches["documents"].median_ms
    print(f"{'in-process target':<{len(label)}}  {'median ms':>9}  {'target':>9}")
    print(
        f"{label}  {in_process:9.1f}  {'<= ' + format(IN_PROCESS_TARGET_MS, 'g') + ' ms':>9}  "
        f"{common.verdict(in_process / IN_PROCESS_TARGET_MS, 1.0)}"
    )
    print(f"{'merge_bytes (end to end)':<{len(label)}}  {benches['bytes'].median_ms:9.1f}  {'':>9}  information")
    common.summarize(
        args.summary,
        f"merge driver / git merge-file ({args.tasks:,} tasks)",
        walls["merge-driver / git merge-file"],
        "x",
        DRIVER_TARGET,
    )
    common.summarize(
        args.summary, f"  merge_documents in-process ({args.tasks:,} tasks)", in_process, "ms", IN_PROCESS_TARGET_MS
    )
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
