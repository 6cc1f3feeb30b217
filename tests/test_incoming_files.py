"""A bad file never spreads: a task file that another machine pushed with plain git (NaN, Infinity, 1e400, nesting
100,000 deep, a lone surrogate, a huge integer, conflict markers) is refused by `gittasks sync` before the branch
moves, on a clone with nothing to push (fast-forward) and on one with changes of its own (merge), in both layouts;
the list stays usable there, and a fix pushed on top is taken. Then the one definition of a valid task file's JSON
that the reader and the writer share, as properties."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gittasks import document
from gittasks.document import MAX_DEPTH, MAX_INT, DocumentError

# (name, the JSON text put in a task's metadata, or None for a whole file of conflict markers; words of the refusal)
BAD = [
    ("nan", b"NaN", "NaN is no JSON number"),
    ("infinity", b"-Infinity", "Infinity is no JSON number"),
    ("1e400", b"1e400", "infinity when parsed as double"),
    ("deep", b"[" * 100_000 + b"]" * 100_000, f"nested more than {MAX_DEPTH} levels deep"),
    ("deep-65", b"[" * 65 + b"]" * 65, f"nested more than {MAX_DEPTH} levels deep"),
    ("surrogate", b'"\\ud800"', "surrogate"),
    ("huge-integer", b"9007199254740993", "beyond +-2**53"),
    ("past-64-bits", b"18446744073709551617", "beyond +-2**53"),
    ("markers", None, "conflict markers"),
]
HOSTILE_AUTHOR = "Hostile Host"  # a commit without a Machine: trailer is named by its author


def task_branch(inline: bool) -> str:
    return "main" if inline else "gittasks"


def clone(remote: Path, path: Path, machine: str) -> Cli:
    git(path.parent, "clone", "-q", str(remote), str(path))
    cli = Cli(path, machine)
    cli.ok("sync")
    return cli


def tip(cli: Cli, inline: bool) -> str:
    return git(cli.root, "rev-parse", "HEAD" if inline else "gittasks")


def push_by_hand(a: Cli, remote: Path, branch: str, data: bytes, machine: str | None) -> str:
    """Commit `data` as the active list on top of the remote's `branch` with git's plumbing alone, as a broken or
    hostile machine would, and push it; the commit."""
    git(a.root, "fetch", "-q", str(remote), branch)
    parent = git(a.root, "rev-parse", "FETCH_HEAD")
    blob = _blob(a.root, data)
    index = {"GIT_INDEX_FILE": str(a.root / ".git" / "by-hand-index")}
    git(a.root, "read-tree", parent, env=index)
    git(a.root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{ACTIVE}", env=index)
    tree = git(a.root, "write-tree", env=index)
    os.remove(index["GIT_INDEX_FILE"])
    message = "edit by hand" + (f"\n\nMachine: {machine}" if machine else "")
    author = {} if machine else {"GIT_AUTHOR_NAME": HOSTILE_AUTHOR}
    commit = git(a.root, "commit-tree", tree, "-p", parent, "-m", message, env=author)
    git(a.root, "push", "-q", str(remote), f"{commit}:refs/heads/{branch}")
    return commit


def _blob(root: Path, data: bytes) -> str:
    path = root / ".git" / "by-hand-blob"
    path.write_bytes(data)
    try:
        return git(root, "hash-object", "-w", str(path))
    finally:
        path.unlink()


def bad_list(good: dict[str, Any], value: bytes | None) -> bytes:
    """The list `good` with `value` (JSON text) as a metadata value of its first task; None: conflict markers."""
    text = json.dumps(good, indent=2)
    if value is None:
        return f"<<<<<<< HEAD\n{text}\n=======\n{text}\n>>>>>>> other\n".encode()
    doc = json.loads(text)
    doc["tasks"][0]["metadata"] = {"x": "@@BAD@@"}
    return json.dumps(doc, indent=2).encode().replace(b'"@@BAD@@"', value)


def committed_list(cli: Cli, inline: bool) -> dict[str, Any]:
    return json.loads(git(cli.root, "show", f"{'HEAD' if inline else 'gittasks'}:{ACTIVE}"))


def subjects(cli: Cli) -> set[str]:
    return {t["subject"] for t in json.loads(cli.ok("list", "--json"))}


def capture_payload(cli: Cli, subject: str, **given: Any) -> str:
    """A TaskCreate the capture hook gets from the client (`given`: more of its tool input)."""
    return json.dumps({"session_id": "s1", "cwd": str(cli.root), "hook_event_name": "PostToolUse",
                       "tool_name": "TaskCreate", "tool_input": {"subject": subject, **given},
                       "tool_response": {"task": {"id": "7", "subject": subject}}})  # fmt: skip


def capture(cli: Cli, subject: str) -> None:
    hook = cli.run("hook", "capture", input=capture_payload(cli, subject))
    assert hook.returncode == 0, hook.stderr
    assert subject in subjects(cli), hook.stderr


@pytest.fixture
def three(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool) -> tuple[Cli, Cli, Cli]:
    """A (set up, one task, synced), B (a clone with nothing to push) and C (a clone with a change not yet synced)."""
    a = init_repo(make_repo("a"), "WS-A", inline=inline)
    a.ok("init", "--remote", str(bare_remote), *(["--inline"] if inline else []))
    a.create("First")
    a.ok("sync")
    b = clone(bare_remote, tmp_path / "b", "WS-B")
    c = clone(bare_remote, tmp_path / "c", "WS-C")
    c.create("Made on C")
    return a, b, c


def test_a_bad_file_from_the_remote_is_refused_on_both_paths_and_a_fix_is_taken(
    three: tuple[Cli, Cli, Cli], bare_remote: Path, inline: bool
) -> None:
    a, b, c = three
    branch = task_branch(inline)
    good = committed_list(a, inline)
    tips = {b.machine: tip(b, inline), c.machine: tip(c, inline)}
    for name, value, words in BAD:
        machine = None if name == "markers" else "WS-A"
        bad = push_by_hand(a, bare_remote, branch, bad_list(good, value), machine)
        for cli in (b, c):  # B fast-forwards, C merges: the same refusal
            err = cli.fail("sync")
            assert len(err.strip().splitlines()) == 1, (name, err)
            assert words in err and bad[:10] in err and f"made on {machine or HOSTILE_AUTHOR}" in err, (name, err)
            assert f"came from origin/{branch}" in err and "keeps working on its last good list" in err, err
            assert "Traceback" not in err and "RecursionError" not in err
            assert tip(cli, inline) == tips[cli.machine], (name, cli.machine)  # the branch did not move
            assert subjects(cli) >= {"First"}, name  # the list reads on
    # the last good list stays usable: list, create and the capture hook on both clones
    b.create("Made on B meanwhile")
    capture(b, "Captured on B meanwhile")
    c.ok("list")
    assert "refused" not in b.ok("list") and (b.root / ACTIVE).read_bytes() != b""
    assert bad[:10] in b.fail("sync")  # a later sync refuses the same commit
    # A fixes the file on top of the bad commit: both take it, with their own changes
    fixed = dict(good, tasks=[*good["tasks"], {**good["tasks"][0], "id": "fixed1", "subject": "Fixed on A"}])
    push_by_hand(a, bare_remote, branch, json.dumps(fixed, indent=2).encode(), "WS-A")
    b.ok("sync")
    c.ok("sync")
    b.ok("sync")
    assert subjects(b) >= {"First", "Fixed on A", "Made on B meanwhile", "Captured on B meanwhile", "Made on C"}
    assert subjects(c) == subjects(b)


@pytest.mark.parametrize("inline", [False], ids=["own-branch"])  # (inline: git's own pull moves the branch)
def test_a_clone_an_older_gittasks_moved_onto_a_bad_file_is_told_the_last_good_commit(
    three: tuple[Cli, Cli, Cli], bare_remote: Path, tmp_path: Path
) -> None:
    a, b, _ = three
    good = committed_list(a, False)
    last_good = tip(b, False)
    bad = push_by_hand(a, bare_remote, "gittasks", bad_list(good, b"NaN"), "WS-A")
    # what an older gittasks did: move the task branch to the remote's tip and write its files
    git(b.root, "fetch", "-q", "origin")
    git(b.root, "update-ref", "refs/heads/gittasks", bad)
    err = b.fail("list")
    assert "NaN is no JSON number" in err and len(err.strip().splitlines()) == 1
    (b.root / ACTIVE).unlink()  # "delete it to get the last committed version back" does not bring it back
    err = b.fail("list")
    assert len(err.strip().splitlines()) == 1, err
    assert f"since commit {bad[:10]} (made on WS-A)" in err and f"git branch -f gittasks {last_good[:10]}" in err, err
    assert not (b.root / ACTIVE).exists()
    git(b.root, "branch", "-f", "gittasks", last_good)
    assert subjects(b) == {"First"}
    b.create("After the way back")
    assert bad[:10] in b.fail("sync")
    # a fresh clone's first command starts from the last good commit, and says so
    fresh = Cli(tmp_path / "d", "WS-D")
    git(tmp_path, "clone", "-q", str(bare_remote), str(fresh.root))
    listed = fresh.run("list")
    assert listed.returncode == 0 and f"as of {last_good[:10]}" in listed.stderr, listed.stderr
    assert tip(fresh, False) == last_good
    assert bad[:10] in fresh.fail("sync")


# -- the one definition: what the writer writes the reader reads back, and the other way round ----------------------


def nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


any_text = st.text(st.characters(exclude_categories=()), max_size=8)  # lone surrogates too
leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(-(2**53) - 2, -(2**53) + 2)
    | st.integers(2**53 - 2, 2**53 + 2)
    | st.floats()
    | any_text
)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)


values = st.recursive(leaves, containers, max_leaves=12)
deep_values = st.builds(nest, values, st.integers(0, MAX_DEPTH + 3))


def fits(value: Any, depth: int = 1) -> bool:
    """The definition, written out plainly (recursive: the values here are shallow enough)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -MAX_INT <= value <= MAX_INT
    if isinstance(value, str):
        return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, list):
        return depth <= MAX_DEPTH and all(fits(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return depth <= MAX_DEPTH and all(fits(k) and fits(v, depth + 1) for k, v in value.items())
    return value is None or isinstance(value, bool)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=deep_values)
def test_the_writer_writes_what_the_reader_reads_back_equal_or_refuses_in_one_line(value: Any) -> None:
    for write in (document.dump_json, document.dump_line):
        try:
            raw = write(value)
        except DocumentError as exc:
            assert "\n" not in str(exc) and not fits(value), str(exc)
            continue
        assert fits(value)
        assert document.parse_bytes(raw, "v.json") == value
    doc = {"tasks": [{"id": "a1", "subject": "s", "metadata": {"x": value}}]}
    try:
        raw = document.dumps(doc)
    except DocumentError as exc:
        assert str(exc).startswith("task 'a1', field 'metadata.x") and "\n" not in str(exc), str(exc)
        assert not fits(value, depth=5)
    else:
        assert fits(value, depth=5)
        assert document.load_document(raw, ACTIVE) == doc


json_texts = (
    st.binary(max_size=200)
    | values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass"))  # NaN, Infinity, huge integers, \ud800
    | st.builds(lambda v, d: json.dumps(nest(v, d)).encode("utf-8", "surrogatepass"), values, st.integers(60, 70))
    | st.integers(0, 3000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(0, 200_000).map(lambda n: b"[" * n)
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=json_texts)
def test_the_reader_returns_what_the_writer_writes_or_refuses_in_one_line(raw: bytes) -> None:
    for read in (document.parse_bytes, document.loads):
        try:
            value = read(raw, "f.json")
        except DocumentError as exc:
            assert "\n" not in str(exc)
            continue
        assert fits(value)
        assert document.parse_bytes(document.dump_json(value), "f.json") == value
    for read_doc in (document.load_document, document.check_file):
        try:
            read_doc(raw, ACTIVE)
        except DocumentError as exc:
            assert "\n" not in str(exc)
    try:
        document.read_lines(raw, "w.jsonl")
    except DocumentError as exc:
        assert "\n" not in str(exc)


def test_a_value_that_came_in_through_a_door_is_refused_at_the_write_in_one_line(
    make_repo: MakeRepo,
) -> None:
    cli = init_repo(make_repo(), "WS-A", inline=False)
    first = cli.create("First")
    before = git(cli.root, "rev-parse", "gittasks")
    refused = [("9007199254740993", "beyond +-2**53"), ("[" * 70 + "]" * 70, "nested more than")]
    for given_value, words in refused:
        err = cli.fail("update", first, "--context", f"x={given_value}")
        assert words in err and f"task '{first}'" in err and len(err.strip().splitlines()) == 1, err
    cli.ok("update", first, "--context", 'x="\\ud800"')  # an escaped lone surrogate is no JSON either: its text
    assert cli.task(first)["context"]["x"] == '"\\ud800"'
    # NaN, and 1e400 (no finite number), are no JSON as gittasks reads it: a --context value is then text
    for text in ("NaN", "1e400"):
        cli.ok("update", first, "--context", f"y={text}")
        assert cli.task(first)["context"]["y"] == text
    before = git(cli.root, "rev-parse", "gittasks")
    # the capture hook: the client's payload holds a NaN (not JSON as gittasks reads it); one line, nothing recorded
    hook = cli.run("hook", "capture", input=capture_payload(cli, "With a NaN", metadata={"x": math.nan}))
    assert hook.returncode == 0 and len(hook.stderr.strip().splitlines()) == 1, hook.stderr
    assert "With a NaN" not in subjects(cli) and "Traceback" not in hook.stderr
    assert git(cli.root, "rev-parse", "gittasks") == before  # nothing was written
    cli.ok("update", first, "--context", "x=9007199254740992")  # the largest integer there is
