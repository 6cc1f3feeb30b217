"""Properties of the three-way merge over random task documents and random edits on both sides.

A scenario is a base document and two sides made from it by edits as the tool makes them (each edit bumps the task's
`updated_at` to a later stamp and sets `updated_by` to that side's machine): creates (ids from a small alphabet, so the
two sides collide, sometimes with the same task and sometimes with a different one), deletes, field and metadata edits,
status changes, dependency additions and removals that keep `blocks`/`blockedBy` symmetric, and description edits in
different paragraphs (one side edits the even paragraphs, the other the odd ones).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gittasks import document, merge, model, rules

NOW = datetime(2026, 3, 1, tzinfo=UTC)
IDS = ["1", "2", "3", "10", "a", "b"]
SUBJECTS = ["Write docs", "Fix bug", "Ship it"]
CREATED = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
BASE_STAMPS = ["2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-11T00:00:00.000Z"]
EDIT_STAMPS = [f"2026-02-01T10:{m:02d}:00Z" for m in range(60)]
OWNERS = [None, "Coding Agent", "Alice"]
STATUSES = list(rules.STATUSES)
DELETE = "<delete>"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaf = (
    st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from([0.5, 1.0]) | st.text(alphabet="ab\n", max_size=4)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=3),
    max_leaves=5,
)
metadata = st.dictionaries(st.sampled_from(["client", "project", "complexity", "k"]), json_value, max_size=3)


def paragraphs(words: list[str]) -> str:
    return "\n\n".join(words) + "\n"


@st.composite
def new_task(draw: st.DrawFn, task_id: str, stamp: str, machine: str) -> dict[str, Any]:
    count = draw(st.integers(0, 5))
    task: dict[str, Any] = {
        "id": task_id,
        "subject": draw(st.sampled_from(SUBJECTS)),
        "description": paragraphs([f"para {i} of {task_id}" for i in range(count)]) if count else "",
        "activeForm": "Working",
        "status": draw(st.sampled_from(STATUSES)),
        "owner": draw(st.sampled_from(OWNERS)),
        "created_at": draw(st.sampled_from(CREATED)),
        "started_at": None,
        "completed_at": None,
        "updated_at": stamp,
        "updated_by": machine,
        "blocks": [],
        "blockedBy": [],
        "metadata": draw(metadata),
    }
    if draw(st.booleans()):
        task["zz_unknown"] = draw(json_value)
    if draw(st.booleans()):
        task["context"] = {"outcome": draw(json_value), "env": draw(metadata)}
    return task


def blocked_by_path(doc: dict[str, Any], start: str, goal: str) -> bool:
    """Whether `start` is (transitively) blocked by `goal`."""
    tasks = {t["id"]: t for t in doc["tasks"]}
    stack, seen = [start], {start}
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in tasks[node]["blockedBy"] if node in tasks else []:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def add_edge(doc: dict[str, Any], x: str, y: str) -> bool:
    """x blocks y (and y is blockedBy x), unless that closes a cycle: the tool refuses cycles."""
    if x == y or blocked_by_path(doc, x, y):
        return False
    tasks = {t["id"]: t for t in doc["tasks"]}
    if y not in tasks[x]["blocks"]:
        tasks[x]["blocks"].append(y)
    if x not in tasks[y]["blockedBy"]:
        tasks[y]["blockedBy"].append(x)
    return True


def ancestors(doc: dict[str, Any], task_id: str) -> list[str]:
    tasks = {t["id"]: t for t in doc["tasks"]}
    chain = [task_id]
    while (parent := tasks.get(chain[-1], {}).get("parent")) in tasks and parent not in chain:
        chain.append(parent)
    return chain


@st.composite
def documents(draw: st.DrawFn, min_tasks: int = 0, max_tasks: int = 4) -> dict[str, Any]:
    ids = draw(st.lists(st.sampled_from(IDS), unique=True, min_size=min_tasks, max_size=max_tasks))
    doc: dict[str, Any] = {"last_updated": BASE_STAMPS[0], "tasks": []}
    for task_id in ids:
        doc["tasks"].append(draw(new_task(task_id, draw(st.sampled_from(BASE_STAMPS)), "base-pc")))
    if len(ids) >= 2:
        for x, y in draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=4)):
            add_edge(doc, x, y)
    if draw(st.booleans()):
        doc["zz_top"] = draw(json_value)
    if draw(st.booleans()):
        doc["conflicts"] = [{"task": "1", "field": "owner", "kind": "field", "base": None, "values": [], "kept": "x"}]
    return doc


def bump(doc: dict[str, Any], task: dict[str, Any], stamp: str, machine: str) -> None:
    task["updated_at"] = stamp
    task["updated_by"] = machine
    doc["last_updated"] = max(doc.get("last_updated", ""), stamp)


FOCUSED_OPS = ("field", "meta", "status", "status", "desc", "dep_add", "dep_add", "dep_remove", "parent", "ctx_list")
FILES = ["a.py", "b.py", "c.py", "d.py"]
OPS = (
    *["create"] * 3,
    "delete",
    *["field", "meta"] * 2,
    *["status"] * 3,
    *["dep_add"] * 2,
    "parent",
    "dep_remove",
    *["desc"] * 3,
    *["ctx_list"] * 2,
    "top",
    "resolve",
)


@st.composite
def edited(
    draw: st.DrawFn, base: dict[str, Any], machine: str, parity: int, ops: tuple[str, ...] = OPS, min_steps: int = 0
) -> dict[str, Any]:
    """`base` changed by a few edits as machine `machine` would make them."""
    doc = copy.deepcopy(base)
    start = draw(st.integers(0, 30))
    for step in range(draw(st.integers(min_steps, 8))):
        stamp = EDIT_STAMPS[start + step]
        tasks = {t["id"]: t for t in doc["tasks"]}
        op = draw(st.sampled_from(ops))
        if op == "create":
            # New ids are fresh (the tool makes random ones): never one that a dangling reference still names.
            named = {r for t in doc["tasks"] for r in (*t["blocks"], *t["blockedBy"])}
            free = [i for i in IDS if i not in tasks and i not in named]
            if free:
                task = draw(new_task(draw(st.sampled_from(free)), stamp, machine))
                doc["tasks"].append(task)
                doc["last_updated"] = max(doc["last_updated"], stamp)
            continue
        if op == "top":
            doc["zz_top"] = draw(json_value)
            continue
        if op == "resolve":
            doc.pop("conflicts", None)
            continue
        if not tasks:
            continue
        task = tasks[draw(st.sampled_from(sorted(tasks)))]
        if op == "delete":
            doc["tasks"].remove(task)
            if draw(st.booleans()):  # the tool also drops the references to it (else they dangle)
                for other in doc["tasks"]:
                    if task["id"] in other["blocks"] or task["id"] in other["blockedBy"]:
                        other["blocks"] = [r for r in other["blocks"] if r != task["id"]]
                        other["blockedBy"] = [r for r in other["blockedBy"] if r != task["id"]]
                        bump(doc, other, stamp, machine)
            continue
        if op == "field":
            key = draw(st.sampled_from(["owner", "subject", "activeForm", "type", "blocked_reason", "zz_unknown"]))
            if key == "subject":
                value: Any = draw(st.sampled_from([*SUBJECTS, f"{machine} subject"]))
            elif key == "owner":
                value = draw(st.sampled_from([*OWNERS, machine, DELETE]))
            else:
                value = draw(json_value | st.just(DELETE))
            if value == DELETE:
                task.pop(key, None)
            else:
                task[key] = value
        elif op == "parent":
            choices = [None, *(i for i in sorted(tasks) if task["id"] not in ancestors(doc, i))]
            task["parent"] = draw(st.sampled_from(choices))
        elif op == "meta":
            meta = task.setdefault("metadata", {})
            key = draw(st.sampled_from(["client", "project", "complexity", "k"]))
            value = draw(json_value | st.just(DELETE))
            if value == DELETE:
                meta.pop(key, None)
            else:
                meta[key] = value
        elif op == "ctx_list":  # an agent's files added to (or dropped from) context.files_modified
            context = task.setdefault("context", {})
            files = list(context.get("files_modified") or [])
            name = draw(st.sampled_from([*FILES, f"{machine}.py"]))
            if name in files and draw(st.booleans()):
                files.remove(name)
            elif name not in files:
                files.append(name)
            context["files_modified"] = files
        elif op == "status":
            status = draw(st.sampled_from(STATUSES))
            task["status"] = status
            if status == rules.IN_PROGRESS and not task.get("started_at"):
                task["started_at"] = stamp
            task["completed_at"] = stamp if status in rules.TERMINAL else None
            task["blocked_reason"] = f"{machine} reason" if status == rules.BLOCKED else None
        elif op in ("dep_add", "dep_remove"):
            if op == "dep_add":
                other = tasks[draw(st.sampled_from(sorted(tasks)))]
                if not add_edge(doc, task["id"], other["id"]):
                    continue
            else:
                if not task["blocks"]:
                    continue
                other_id = draw(st.sampled_from(sorted(task["blocks"])))
                task["blocks"].remove(other_id)
                other = tasks.get(other_id)
                if other is None:
                    bump(doc, task, stamp, machine)
                    continue
                other["blockedBy"] = [r for r in other["blockedBy"] if r != task["id"]]
            bump(doc, other, stamp, machine)
        elif op == "desc":
            parts = task["description"].removesuffix("\n").split("\n\n") if task["description"] else []
            mine = [i for i in range(len(parts)) if i % 2 == parity]
            if not mine:
                continue
            parts[draw(st.sampled_from(mine))] = f"{machine} rewrote this at {stamp}"
            task["description"] = paragraphs(parts)
        bump(doc, task, stamp, machine)
    return doc


@dataclass
class Scenario:
    base: dict[str, Any]
    a: dict[str, Any]
    b: dict[str, Any]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    if draw(st.integers(0, 2)) == 0:  # focused: two or three tasks, edited on both sides
        base = draw(documents(min_tasks=2, max_tasks=3))
        a = draw(edited(base, "pc-a", 0, FOCUSED_OPS, min_steps=2))
        return Scenario(base, a, draw(edited(base, "pc-b", 1, FOCUSED_OPS, min_steps=2)))
    base = draw(documents())
    return Scenario(base, draw(edited(base, "pc-a", 0)), draw(edited(base, "pc-b", 1)))


def merged(base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any]) -> merge.MergeResult:
    return merge.merge_documents(base, ours, theirs, now=NOW)


def canon(doc: dict[str, Any]) -> bytes:
    return document.dumps(doc)


def show(**docs: Any) -> str:
    return "\n".join(f"--- {name}:\n{canon(d).decode() if isinstance(d, dict) else d}" for name, d in docs.items())


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in doc["tasks"]}


def jb(value: Any) -> bytes:
    return b"<absent>" if value is merge.MISSING else orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


# ---- properties ------------------------------------------------------------------------------------------------------


@SETTINGS
@given(scenarios(), st.booleans())
def test_merge_does_not_depend_on_the_side(s: Scenario, no_base: bool) -> None:
    base = None if no_base else s.base
    ab = merged(base, s.a, s.b)
    ba = merged(base, s.b, s.a)
    assert canon(ab.document) == canon(ba.document), "merge(base, a, b) != merge(base, b, a)\n" + show(
        base=base or "None", a=s.a, b=s.b, ab=ab.document, ba=ba.document
    )
    assert sorted(ab.renamed) == sorted(ba.renamed)


def field_times(seed: int) -> Callable[[str, str], str | None]:
    """A side's history as a function of (task, field): a stamp, often shared with the other side, sometimes far in
    the future (clamped) or unknown; the same answers for the same question."""

    def changed_at(task_id: str, path: str) -> str | None:
        pick = int.from_bytes(hashlib.sha256(f"{seed}:{task_id}:{path}".encode()).digest()[:4], "big")
        if pick % 5 == 0:
            return None
        if pick % 11 == 0:
            return "2099-01-01T00:00:00.000Z"
        return EDIT_STAMPS[pick % 4]

    return changed_at


@SETTINGS
@given(scenarios(), st.booleans(), st.integers(0, 3), st.integers(0, 3))
def test_merge_with_field_times_does_not_depend_on_the_side(
    s: Scenario, no_base: bool, seed_a: int, seed_b: int
) -> None:
    base = None if no_base else s.base
    times_a, times_b = field_times(seed_a), field_times(seed_b)
    ab = merge.merge_documents(base, s.a, s.b, now=NOW, field_time=(times_a, times_b))
    ba = merge.merge_documents(base, s.b, s.a, now=NOW, field_time=(times_b, times_a))
    assert canon(ab.document) == canon(ba.document), "merge(base, a, b) != merge(base, b, a)\n" + show(
        base=base or "None", a=s.a, b=s.b, ab=ab.document, ba=ba.document
    )
    assert sorted(map(document.conflict_key, ab.conflicts)) == sorted(map(document.conflict_key, ba.conflicts))


@SETTINGS
@given(scenarios())
def test_a_change_on_one_side_only_gives_that_side(s: Scenario) -> None:
    x, y = s.base, s.a
    for label, result in (("merge(x, x, y)", merged(x, x, y)), ("merge(x, y, x)", merged(x, y, x))):
        assert canon(result.document) == canon(y), f"{label} != y\n" + show(x=x, y=y, result=result.document)
        assert result.conflicts == [] and result.renamed == [], f"{label} recorded {result.conflicts}"


@SETTINGS
@given(scenarios())
def test_the_same_change_on_both_sides_gives_that_change(s: Scenario) -> None:
    result = merged(s.base, s.a, copy.deepcopy(s.a))
    assert canon(result.document) == canon(s.a), "merge(base, a, a) != a\n" + show(
        base=s.base, a=s.a, result=result.document
    )
    assert result.conflicts == []


@SETTINGS
@given(scenarios())
def test_result_is_valid_with_symmetric_dependencies(s: Scenario) -> None:
    result = merged(s.base, s.a, s.b)
    raw = canon(result.document)
    document.load_document(raw, "merged")
    tasks = by_id(orjson.loads(raw))
    for tid, task in tasks.items():
        for key, back in (("blocks", "blockedBy"), ("blockedBy", "blocks")):
            for ref in task.get(key, []):
                if ref in tasks:
                    assert tid in tasks[ref].get(back, []), (
                        f"{tid}.{key} has {ref} but {ref}.{back} lacks {tid}\n"
                        + show(base=s.base, a=s.a, b=s.b, result=result.document)
                    )
    for tid in tasks:
        assert not blocked_by_path_excluding_self(tasks, tid), f"dependency cycle through {tid}\n" + show(
            base=s.base, a=s.a, b=s.b, result=result.document
        )
        chain = ancestors(orjson.loads(raw), tid)
        assert tasks.get(chain[-1], {}).get("parent") not in chain, f"parent loop through {tid}: {chain}"
    for record in result.conflicts:
        assert set(record) == {"task", "field", "kind", "base", "values", "kept"}, record
        assert record in result.document["conflicts"], record


def blocked_by_path_excluding_self(tasks: dict[str, dict[str, Any]], start: str) -> bool:
    """Whether `start` is (transitively, through tasks that exist) blocked by itself."""
    stack, seen = [r for r in tasks[start].get("blockedBy", []) if r in tasks], set()
    while stack:
        node = stack.pop()
        if node == start:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(r for r in tasks[node].get("blockedBy", []) if r in tasks)
    return False


def _sides_of_renames(s: Scenario, result: merge.MergeResult) -> tuple[dict[str, str], dict[str, str]]:
    """For each side, the ids of that side's tasks that the merge renamed (old -> new)."""
    a_map: dict[str, str] = {}
    b_map: dict[str, str] = {}
    tasks = by_id(result.document)
    a_tasks, b_tasks = by_id(s.a), by_id(s.b)
    for old, new in result.renamed:
        renamed = tasks[new]
        key = (renamed.get("created_at"), renamed.get("subject"))
        a_key = (a_tasks[old].get("created_at"), a_tasks[old].get("subject"))
        b_key = (b_tasks[old].get("created_at"), b_tasks[old].get("subject"))
        assert a_key != b_key, f"renamed {old} although both sides added the same task"
        assert key in (a_key, b_key)
        (a_map if key == a_key else b_map)[old] = new
        assert tasks[old].get("subject") == (b_key if key == a_key else a_key)[1], "the id went to the other task"
    return a_map, b_map


@SETTINGS
@given(scenarios())
def test_every_task_that_was_not_deleted_survives(s: Scenario) -> None:
    result = merged(s.base, s.a, s.b)
    a_map, b_map = _sides_of_renames(s, result)
    base, a, b, out = by_id(s.base), by_id(s.a), by_id(s.b), by_id(result.document)
    context = show(base=s.base, a=s.a, b=s.b, result=result.document)
    for side, other, rename, name in ((a, b, a_map, "a"), (b, a, b_map, "b")):
        for tid, task in side.items():
            deleted_by_other = tid in base and tid not in other and task == base[tid]
            new_id = rename.get(tid, tid)
            if deleted_by_other:
                assert tid not in out, f"task {tid} deleted on one side and unchanged on {name} survived\n{context}"
            else:
                assert new_id in out, f"task {tid} of side {name} is lost\n{context}"
    for tid in base:
        if tid not in a and tid not in b:
            assert tid not in out, f"task {tid} deleted on both sides came back\n{context}"
    known = set(a) | set(b) | set(a_map.values()) | set(b_map.values())
    assert set(out) <= known, f"tasks from nowhere: {set(out) - known}\n{context}"


def _check_one_sided(
    path: str, bv: Any, av: Any, bv2: Any, rv: Any, ids: dict[str, str], problems: list[str], *, top: bool = False
) -> None:
    """A value changed on one side only must be in the result as that side has it (recursing into objects)."""
    changed_a, changed_b = jb(av) != jb(bv), jb(bv2) != jb(bv)
    field = path.split(".", 2)[1]
    if changed_a and changed_b:
        if type(av) is dict and type(bv2) is dict and type(rv) is dict:
            base = bv if type(bv) is dict else {}
            for key in {*av, *bv2, *base}:
                _check_one_sided(
                    f"{path}.{key}",
                    base.get(key, merge.MISSING),
                    av.get(key, merge.MISSING),
                    bv2.get(key, merge.MISSING),
                    rv.get(key, merge.MISSING),
                    ids,
                    problems,
                )
        return
    if not changed_a:
        return
    if top and field in rules.ID_LIST_FIELDS:
        side_refs: list[str] = av if type(av) is list else []
        want = {ids.get(r, r) for r in side_refs}
        if not want <= set(rv if type(rv) is list else []):
            problems.append(f"{path}: result {rv!r} lacks some of {sorted(want)!r}")
        return
    if top and field in rules.ID_FIELDS and type(av) is str:
        av = ids.get(av, av)
    if jb(av) != jb(rv):
        problems.append(f"{path}: changed on one side only to {av!r}, result has {rv!r}")


@SETTINGS
@given(scenarios())
def test_every_change_made_on_one_side_only_survives(s: Scenario) -> None:
    result = merged(s.base, s.a, s.b)
    a_map, b_map = _sides_of_renames(s, result)
    base, a, b, out = by_id(s.base), by_id(s.a), by_id(s.b), by_id(result.document)
    status_conflicts = {r["task"] for r in result.conflicts if r["kind"] == "status"}
    # A dependency or parent that would close a cycle is dropped (and recorded): those fields are exempt.
    cycles = [r for r in result.conflicts if r["kind"] == "cycle"]
    dropped = {(r["task"], r["field"]) for r in cycles} | {(r["values"][0]["value"], "blocks") for r in cycles}
    problems: list[str] = []
    for tid in a.keys() & b.keys():
        if tid in a_map or tid in b_map:
            continue
        bt = base.get(tid, {})
        both_edited = a[tid] != bt and b[tid] != bt
        for first, second, ids in ((a[tid], b[tid], a_map), (b[tid], a[tid], b_map)):
            for key in {*first, *second, *bt} - {"id"}:
                if key in rules.BOOKKEEPING_FIELDS and both_edited:
                    continue
                if tid in status_conflicts and key in ("started_at", "completed_at", "blocked_reason"):
                    continue
                if (tid, key) in dropped:
                    continue
                _check_one_sided(
                    f"{tid}.{key}",
                    bt.get(key, merge.MISSING),
                    first.get(key, merge.MISSING),
                    second.get(key, merge.MISSING),
                    out[tid].get(key, merge.MISSING),
                    ids,
                    problems,
                    top=True,
                )
        if tid in base and both_edited:
            stamps = sorted((a[tid]["updated_at"], b[tid]["updated_at"]), key=lambda v: rules.ordering_stamp(v, NOW))
            assert rules.ordering_stamp(out[tid]["updated_at"], NOW) == rules.ordering_stamp(stamps[-1], NOW)
    assert not problems, "\n".join(problems) + "\n" + show(base=s.base, a=s.a, b=s.b, result=result.document)


def _edits_of_own_paragraphs(base: str, side: str, parity: int) -> list[str] | None:
    """The paragraphs a side rewrote, when its description is the base one with only its own paragraphs rewritten."""
    old, new = base.split("\n\n"), side.split("\n\n")
    if len(old) != len(new):
        return None  # the task was deleted and made again, say
    edits = []
    for i, (before, after) in enumerate(zip(old, new, strict=True)):
        if before != after:
            if i % 2 != parity or " rewrote this at " not in after:
                return None
            edits.append(after.strip("\n"))
    return edits


@SETTINGS
@given(scenarios())
def test_description_edits_in_different_paragraphs_both_survive(s: Scenario) -> None:
    result = merged(s.base, s.a, s.b)
    base, a, b, out = by_id(s.base), by_id(s.a), by_id(s.b), by_id(result.document)
    for tid in base.keys() & a.keys() & b.keys():
        before = base[tid]["description"]
        edits = [_edits_of_own_paragraphs(before, side[tid]["description"], p) for p, side in ((0, a), (1, b))]
        if None in edits:
            continue
        text = out[tid]["description"]
        for paragraph in (e for side_edits in edits for e in side_edits or []):
            assert paragraph in text, f"task {tid}: edit {paragraph!r} lost from {text!r}\n" + show(
                base=s.base, a=s.a, b=s.b, result=result.document
            )
        clashes = [r for r in result.conflicts if r["task"] == tid and r["field"] == "description"]
        assert not clashes, f"task {tid}: description edits in different paragraphs conflicted: {clashes}"


# ---- reading the sides: tasks shared by their text ------------------------------------------------------------------


def layouts(doc: dict[str, Any], kind: int) -> bytes:
    """The same document in another layout: canonical, indent 4, CRLF, a BOM, minified, keys unsorted (indent 2),
    or canonical with a top-level list after the tasks."""
    if kind == 0:
        return canon(doc)
    if kind == 1:
        return json_text(doc, indent=4).encode()
    if kind == 2:
        return canon(doc).replace(b"\n", b"\r\n")
    if kind == 3:
        return b"\xef\xbb\xbf" + canon(doc)
    if kind == 4:
        return orjson.dumps(doc)
    if kind == 5:
        shuffled = {**doc, "tasks": [dict(reversed(list(t.items()))) for t in doc["tasks"]]}
        return json_text(shuffled, indent=2, sort=False).encode()
    return canon({**doc, "zz_extra": [{"a": 1}, {"b": [1, 2]}]})


def json_text(value: Any, indent: int, sort: bool = True) -> str:
    import json

    return json.dumps(value, indent=indent, sort_keys=sort, ensure_ascii=False) + "\n"


@SETTINGS
@given(scenarios(), st.integers(0, 6), st.integers(0, 6), st.integers(0, 6), st.booleans())
def test_merging_the_bytes_reads_every_layout_as_parsing_each_side_whole_would(
    s: Scenario, base_kind: int, ours_kind: int, theirs_kind: int, no_base: bool
) -> None:
    base = None if no_base else layouts(s.base, base_kind)
    ours, theirs = layouts(s.a, ours_kind), layouts(s.b, theirs_kind)
    whole_base = None if base is None else document.load_document(base, "base")
    whole_ours, whole_theirs = document.load_document(ours, "ours"), document.load_document(theirs, "theirs")
    expected = document.dumps(merge.merge_documents(whole_base, whole_ours, whole_theirs, now=NOW).document)
    assert merge.merge_bytes(base, ours, theirs, rules.ACTIVE_PATH, now=NOW) == expected
    versions = document.Versions(ours, "ours")
    for raw in (base, theirs):
        if raw is not None:
            assert versions.load(raw, "side")[0] == document.load_document(raw, "side")


@SETTINGS
@given(scenarios(), st.integers(0, 6))
def test_a_rewrite_gives_the_canonical_bytes_and_finds_what_changed_as_comparing_parsed_versions_would(
    s: Scenario, layout: int
) -> None:
    before = layouts(s.base, layout)
    after = copy.deepcopy(s.a)
    rewrite = document.dumps_changed(after, before)
    if layout in (1, 2, 4):  # another indent, CRLF, one line: compared as parsed objects instead
        assert rewrite is None
        return
    if layout == 5 or not s.base["tasks"]:  # keys unsorted: a task's text differs though its value does not
        assert rewrite is None or rewrite.data == document.dumps(after)
        return
    if rewrite is None:  # a top-level list after the tasks: the cut is not trusted there
        assert layout == 6 or any(key > "tasks" and isinstance(value, list) for key, value in s.base.items())
        return
    assert rewrite.data == document.dumps(after)
    parsed = document.load_document(before, "before")
    changed, removed = model.changed_tasks(document.canonical(after), parsed)  # (as read from a file: canonical)
    assert sorted(t["id"] for _, t in rewrite.changed) == sorted(t["id"] for _, t in changed)
    assert sorted(t["id"] for t in rewrite.removed) == sorted(t["id"] for t in removed)
    assert rewrite.removed == sorted(removed, key=lambda t: [r["id"] for r in rewrite.removed].index(t["id"]))
    places = {t["id"]: i for i, t in enumerate(after["tasks"])}
    assert all(places[t["id"]] == i for i, t in rewrite.changed)
    olds = by_id(parsed)
    assert all(rewrite.earlier[t["id"]] == olds[t["id"]] for _, t in rewrite.changed if t["id"] in olds)


@SETTINGS
@given(scenarios(), st.integers(0, 6), st.integers(0, 6), st.integers(0, 3))
def test_what_a_fast_forward_brings_in_is_what_the_merge_of_it_says(
    s: Scenario, before_kind: int, after_kind: int, archive_kind: int
) -> None:
    before = {rules.ACTIVE_PATH: layouts(s.base, before_kind)}
    after = {rules.ACTIVE_PATH: layouts(s.a, after_kind)}
    if archive_kind:  # the same archive on both sides: none, tasks of neither list, or a task of one of them
        ids = [t["id"] for t in s.base["tasks"] + s.a["tasks"]]
        archived_ids = ["zz-old"] if archive_kind == 1 or not ids else ["zz-old", ids[archive_kind % len(ids)]]
        lines = [{"id": i, "subject": f"archived {i}", "status": "completed"} for i in archived_ids]
        archive = document.dump_lines(lines)
        before[".claude/tasks/archive/2026-01.jsonl"] = after[".claude/tasks/archive/2026-01.jsonl"] = archive
    assert merge.incoming(before, after) == merge.merge_task_files(before, before, after).incoming


@SETTINGS
@given(scenarios(), st.booleans())
def test_the_tasks_printed_from_a_canonical_lists_bytes_are_those_of_the_parsed_list(s: Scenario, extra: bool) -> None:
    doc = {**s.a, "zz_extra": [{"a": [1, 2]}]} if extra else s.a
    raw = document.dumps(doc)
    expected = document.dump_json(document.canonical_view(document.load_document(raw, "x"))["tasks"])
    assert document.tasks_json(raw) == expected


TRANSITION_STAMPS = [*EDIT_STAMPS[:6], "2026-02-01T10:03:00.000Z", "2026-02-01T10:03:00+00:00", "2099-01-01T00:00:00Z"]


@st.composite
def same_transition(draw: st.DrawFn) -> tuple[Scenario, str]:
    """A scenario whose two sides, after edits of their own, both move one task to the same status, each at its own
    moments (stamps that may be the same moment in other bytes, or far in the future)."""
    base = draw(documents(min_tasks=1, max_tasks=3))
    task_id = draw(st.sampled_from([t["id"] for t in base["tasks"]]))
    status = draw(st.sampled_from([rules.IN_PROGRESS, rules.BLOCKED, rules.COMPLETED, rules.CANCELLED]))
    sides = []
    for machine, parity in (("pc-a", 0), ("pc-b", 1)):
        side = draw(edited(base, machine, parity, FOCUSED_OPS))
        task = by_id(side)[task_id]
        task["status"] = status
        task["started_at"] = draw(st.sampled_from(TRANSITION_STAMPS))
        task["completed_at"] = draw(st.sampled_from(TRANSITION_STAMPS)) if status in rules.TERMINAL else None
        task["blocked_reason"] = "waiting" if status == rules.BLOCKED else None
        bump(side, task, EDIT_STAMPS[40 + parity], machine)
        sides.append(side)
    return Scenario(base, sides[0], sides[1]), task_id


@SETTINGS
@given(same_transition(), st.booleans())
def test_the_stamps_of_one_transition_on_both_sides_merge_to_the_earlier_without_a_record(
    case: tuple[Scenario, str], swap: bool
) -> None:
    s, task_id = case
    ours, theirs = (s.b, s.a) if swap else (s.a, s.b)
    result = merged(s.base, ours, theirs)
    assert canon(result.document) == canon(merged(s.base, theirs, ours).document)
    out, base = by_id(result.document)[task_id], by_id(s.base)[task_id]
    a, b = by_id(s.a)[task_id], by_id(s.b)[task_id]
    for key in ("started_at", "completed_at"):
        assert not [r for r in result.conflicts if (r["task"], r["field"]) == (task_id, key)], key
        if a[key] != b[key] and base.get(key) not in (a[key], b[key]):
            earlier = min(a[key], b[key], key=lambda v: (rules.ordering_stamp(v), jb(v)))
            assert out[key] == earlier, show(base=s.base, a=s.a, b=s.b, result=result.document)
    assert out["status"] == a["status"]
    assert not [r for r in result.conflicts if (r["task"], r["field"]) == (task_id, "status")]
