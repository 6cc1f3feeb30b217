"""The git merge driver: argument and input handling in-process, then real git merges, pulls, rebases and picks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import doc, edit, task
from helpers import git

from gittasks import document, driver, merge

ACTIVE = ".claude/active-tasks.json"
ARCHIVE = ".claude/tasks/archive/2026-01.jsonl"
ATTRIBUTES = ".claude/active-tasks.json merge=gittasks\n.claude/tasks/**/*.jsonl merge=gittasks\n"


PARAGRAPHS = "First paragraph.\n\nSecond paragraph.\n\nThird paragraph.\n"
SEED = {"description": PARAGRAPHS, "updated_by": "seed", "metadata": {"client": "Dataforth"}}
BASE_DOC: dict[str, Any] = doc(task("1", blocks=["2"], **SEED), task("2", blockedBy=["1"], **SEED), task("3", **SEED))


# ---- in-process: arguments and invalid input -------------------------------------------------------------------------


def files(tmp_path: Path, base: bytes | None, ours: bytes, theirs: bytes) -> list[str]:
    """The three files as git hands them over (in a folder of their own) and the path argument."""
    folder = tmp_path / "work"
    folder.mkdir(exist_ok=True)
    paths = []
    for name, data in (("base", base), ("ours", ours), ("theirs", theirs)):
        path = folder / f".merge_file_{name}"
        if data is not None:
            path.write_bytes(data)
        paths.append(str(path))
    return [*paths, ACTIVE]


OURS = edit(BASE_DOC, "1", "pc-a", "2026-01-21T10:00:00Z", owner="Alice")
THEIRS = edit(BASE_DOC, "2", "pc-b", "2026-01-21T11:00:00Z", status="in_progress")


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err
    return lines[0]


def test_driver_merges_into_ours(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = files(tmp_path, document.dumps(BASE_DOC), document.dumps(OURS), document.dumps(THEIRS))
    assert driver.main(args) == 0
    raw = Path(args[1]).read_bytes()
    assert raw == merge.merge_bytes(document.dumps(BASE_DOC), document.dumps(THEIRS), document.dumps(OURS), ACTIVE)
    got = {t["id"]: t for t in orjson.loads(raw)["tasks"]}
    assert got["1"]["owner"] == "Alice" and got["2"]["status"] == "in_progress"
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [
        ".merge_file_base",
        ".merge_file_ours",
        ".merge_file_theirs",
    ]
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("base", [None, b"", b"  \n"], ids=["missing", "empty", "blank"])
def test_driver_without_a_common_ancestor(tmp_path: Path, base: bytes | None) -> None:
    args = files(tmp_path, base, document.dumps(OURS), document.dumps(THEIRS))
    assert driver.main(args) == 0
    assert Path(args[1]).read_bytes() == merge.merge_bytes(None, document.dumps(OURS), document.dumps(THEIRS), ACTIVE)


def test_driver_falls_back_to_no_base_when_the_virtual_base_has_markers(tmp_path: Path) -> None:
    base = (
        b'<<<<<<< Temporary merge branch 1\n{"tasks": []}\n=======\n{"tasks": [1]}\n>>>>>>> Temporary merge branch 2\n'
    )
    args = files(tmp_path, base, document.dumps(OURS), document.dumps(THEIRS))
    assert driver.main(args) == 0
    document.load_document(Path(args[1]).read_bytes(), "merged")


@pytest.mark.parametrize(
    ("ours", "theirs", "problem"),
    [
        (b'{"tasks": [', document.dumps(THEIRS), "(ours):1:12: not valid JSON"),
        (document.dumps(OURS), b'{"tasks": [}', "(theirs):1:12: not valid JSON"),
        (document.dumps(OURS), b"", "the file is empty"),
        (b"", document.dumps(THEIRS), "the file is empty"),
        (document.dumps(OURS), b'{"todos": []}', "no 'tasks' list"),
        (document.dumps(OURS), b"\xff\xfe{}", "not UTF-8"),
        (document.dumps(OURS), b'<<<<<<< HEAD\n{"tasks": []}\n=======\n', "conflict markers"),
    ],
    ids=["bad-ours", "bad-theirs", "empty-theirs", "empty-ours", "foreign", "not-utf8", "markers"],
)
def test_driver_refuses_invalid_input_and_leaves_ours_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ours: bytes, theirs: bytes, problem: str
) -> None:
    args = files(tmp_path, document.dumps(BASE_DOC), ours, theirs)
    assert driver.main(args) == 1
    assert Path(args[1]).read_bytes() == ours, "OURS must be left untouched"
    line = one_line(capsys.readouterr().err)
    assert ACTIVE in line and problem in line, line
    assert len(list((tmp_path / "work").iterdir())) == 3, "no temporary file left behind"


def test_driver_missing_theirs_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = files(tmp_path, None, document.dumps(OURS), document.dumps(THEIRS))
    args[2] = str(tmp_path / "nowhere")
    assert driver.main(args) == 1
    assert "does not exist" in one_line(capsys.readouterr().err)


def test_driver_unexpected_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = files(tmp_path, None, document.dumps(OURS), document.dumps(THEIRS))
    args[2] = str(tmp_path / "work")  # a folder: reading it fails with an OSError
    assert driver.main(args) == 1
    line = one_line(capsys.readouterr().err)
    assert ACTIVE in line
    assert Path(args[1]).read_bytes() == document.dumps(OURS)


@pytest.mark.parametrize("args", [[], ["a", "b", "c"], ["a", "b", "c", "d", "e"]])
def test_driver_wrong_argument_count_is_a_usage_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert driver.main(args) == 2
    assert "usage: gittasks merge-driver" in one_line(capsys.readouterr().err)


def test_driver_merges_archive_lines(tmp_path: Path) -> None:
    def lines(*tasks: dict[str, Any]) -> bytes:
        return b"".join(document.dump_line(t) for t in tasks)

    base = lines(task("1", status="completed"))
    paths = files(
        tmp_path, base, lines(task("1", status="completed"), task("2")), lines(task("1", status="completed"), task("3"))
    )
    paths[3] = ARCHIVE
    assert driver.main(paths) == 0
    assert [orjson.loads(line)["id"] for line in Path(paths[1]).read_bytes().splitlines()] == ["1", "2", "3"]


def test_driver_as_a_process_exits_1_with_one_line(tmp_path: Path) -> None:
    args = files(tmp_path, None, document.dumps(OURS), b"{broken")
    proc = subprocess.run(
        [sys.executable, "-m", "gittasks", "merge-driver", *args], capture_output=True, text=True, env=os.environ
    )
    assert proc.returncode == 1
    assert "(theirs)" in one_line(proc.stderr)
    proc = subprocess.run([sys.executable, "-m", "gittasks", "merge-driver"], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage" in one_line(proc.stderr)


# ---- real git --------------------------------------------------------------------------------------------------------


def register(repo: Path) -> None:
    command = f'"{Path(sys.executable).as_posix()}" -m gittasks merge-driver %O %A %B %P'
    git(repo, "config", "merge.gittasks.driver", command)
    git(repo, "config", "merge.gittasks.name", "gittasks")


def write_doc(repo: Path, doc: dict[str, Any]) -> None:
    path = repo / ACTIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(document.dumps(doc))


def read_doc(repo: Path) -> dict[str, Any]:
    raw = (repo / ACTIVE).read_bytes()
    assert b"<<<<<<<" not in raw and b">>>>>>>" not in raw, f"conflict markers in {ACTIVE}:\n{raw.decode()}"
    doc = document.load_document(raw, ACTIVE)
    assert raw == document.dumps(doc), "the merged file is not in canonical form"
    return doc


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def change(repo: Path, machine: str, stamp: str, task_id: str, **fields: Any) -> None:
    """Edit one task as the tool would (bumping updated_at/updated_by) and commit."""
    write_doc(repo, edit(read_doc(repo), task_id, machine, stamp, **fields))
    commit(repo, f"gittasks: update {task_id} on {machine}")


def tasks_in(repo: Path) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in read_doc(repo)["tasks"]}


def assert_clean(repo: Path) -> None:
    assert git(repo, "diff", "--name-only", "--diff-filter=U") == "", "unmerged paths left"
    assert git(repo, "status", "--porcelain") == "", git(repo, "status")


@pytest.fixture
def clones(tmp_path: Path, bare_remote: Path, make_repo: Any) -> tuple[Path, Path]:
    seed = make_repo("seed")
    (seed / ".gitattributes").write_text(ATTRIBUTES, encoding="utf-8")
    write_doc(seed, BASE_DOC)
    archive = seed / ARCHIVE
    archive.parent.mkdir(parents=True)
    archive.write_bytes(document.dump_line(task("0", status="completed")))
    commit(seed, "seed")
    git(seed, "remote", "add", "origin", str(bare_remote))
    git(seed, "push", "-q", "-u", "origin", "main")
    out = []
    for name in ("a", "b"):
        path = tmp_path / name
        git(tmp_path, "clone", "-q", str(bare_remote), str(path))
        register(path)
        out.append(path)
    return out[0], out[1]


def test_git_merge_of_different_fields_both_ways_converges(clones: tuple[Path, Path]) -> None:
    a, b = clones
    change(a, "pc-a", "2026-01-21T10:00:00Z", "1", owner="Alice")
    change(a, "pc-a", "2026-01-21T10:01:00Z", "3", status="in_progress", started_at="2026-01-21T10:01:00Z")
    change(b, "pc-b", "2026-01-21T11:00:00Z", "1", subject="Renamed on b")
    change(b, "pc-b", "2026-01-21T11:01:00Z", "2", metadata={"client": "Dataforth", "project": "X"})
    git(a, "push", "-q", "origin", "main")
    git(b, "push", "-q", "origin", "main:from-b")
    git(a, "fetch", "-q", "origin")
    git(b, "fetch", "-q", "origin")
    git(a, "merge", "--no-edit", "origin/from-b")
    git(b, "merge", "--no-edit", "origin/main")
    for repo in (a, b):
        assert_clean(repo)
        got = tasks_in(repo)
        assert got["1"]["owner"] == "Alice" and got["1"]["subject"] == "Renamed on b"
        assert got["2"]["metadata"] == {"client": "Dataforth", "project": "X"}
        assert got["3"]["status"] == "in_progress"
        assert "conflicts" not in read_doc(repo)
    assert (a / ACTIVE).read_bytes() == (b / ACTIVE).read_bytes(), "the two clones merged to different bytes"


def test_git_pull_no_rebase_with_the_same_field_records_the_conflict(clones: tuple[Path, Path]) -> None:
    a, b = clones
    change(a, "pc-a", "2026-01-21T10:00:00Z", "1", owner="Alice")
    change(b, "pc-b", "2026-01-21T11:00:00Z", "1", owner="Bob")
    git(a, "push", "-q", "origin", "main")
    git(b, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert_clean(b)
    doc = read_doc(b)
    assert {t["id"]: t for t in doc["tasks"]}["1"]["owner"] == "Bob"
    [record] = doc["conflicts"]
    assert record["task"] == "1" and record["field"] == "owner" and record["kept"] == "Bob"
    assert sorted(v["value"] for v in record["values"]) == ["Alice", "Bob"]
    git(b, "push", "-q", "origin", "main")
    git(a, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert (a / ACTIVE).read_bytes() == (b / ACTIVE).read_bytes()


def test_git_pull_rebase_gives_the_same_bytes_as_a_merge(clones: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = clones
    change(a, "pc-a", "2026-01-21T10:00:00Z", "1", owner="Alice")
    change(a, "pc-a", "2026-01-21T10:05:00Z", "2", status="completed", completed_at="2026-01-21T10:05:00Z")
    change(b, "pc-b", "2026-01-21T11:00:00Z", "1", owner="Bob")
    change(b, "pc-b", "2026-01-21T11:05:00Z", "2", status="blocked", blocked_reason="waiting")
    git(a, "push", "-q", "origin", "main")
    git(b, "push", "-q", "origin", "main:from-b")
    git(b, "pull", "-q", "--rebase", "origin", "main")  # replays b's two commits on top of a's
    assert_clean(b)
    got = tasks_in(b)
    assert got["1"]["owner"] == "Bob"
    assert got["2"]["status"] == "completed" and "blocked_reason" not in got["2"]
    # The same two histories merged the other way round (a merges b's commits) give the same bytes.
    git(a, "fetch", "-q", "origin")
    git(a, "merge", "--no-edit", "origin/from-b")
    assert_clean(a)
    assert (a / ACTIVE).read_bytes() == (b / ACTIVE).read_bytes(), "rebase and merge disagree"
    # The rebased history fast-forwards the other clone onto the same bytes too.
    git(b, "push", "-q", "origin", "main")
    c = tmp_path / "c"
    git(tmp_path, "clone", "-q", str(git(b, "remote", "get-url", "origin")), str(c))
    assert (c / ACTIVE).read_bytes() == (b / ACTIVE).read_bytes()


def test_git_cherry_pick(clones: tuple[Path, Path]) -> None:
    a, _ = clones
    git(a, "switch", "-q", "-c", "feature")
    change(
        a,
        "pc-a",
        "2026-01-21T10:00:00Z",
        "1",
        owner="Alice",
        description="First paragraph, edited.\n\nSecond paragraph.\n\nThird paragraph.\n",
    )
    git(a, "switch", "-q", "main")
    change(
        a,
        "pc-b",
        "2026-01-21T11:00:00Z",
        "1",
        subject="Subject on main",
        description="First paragraph.\n\nSecond paragraph.\n\nThird paragraph, edited.\n",
    )
    git(a, "cherry-pick", "feature")
    assert_clean(a)
    got = tasks_in(a)["1"]
    assert got["owner"] == "Alice" and got["subject"] == "Subject on main"
    assert got["description"] == "First paragraph, edited.\n\nSecond paragraph.\n\nThird paragraph, edited.\n"


def test_git_merge_of_archive_lines(clones: tuple[Path, Path]) -> None:
    a, b = clones
    for repo, new_id in ((a, "5"), (b, "4")):
        with (repo / ARCHIVE).open("ab") as handle:
            handle.write(document.dump_line(task(new_id, status="completed")))
        commit(repo, f"archive {new_id}")
    git(a, "push", "-q", "origin", "main")
    git(b, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    assert_clean(b)
    raw = (b / ARCHIVE).read_bytes()
    assert b"<<<<<<<" not in raw
    assert [orjson.loads(line)["id"] for line in raw.splitlines()] == ["0", "4", "5"]


def test_git_criss_cross_merge(clones: tuple[Path, Path]) -> None:
    a, _ = clones
    git(a, "switch", "-q", "-c", "left")
    change(a, "pc-a", "2026-01-21T10:00:00Z", "1", owner="Left")
    git(a, "switch", "-q", "-c", "right", "main")
    change(a, "pc-b", "2026-01-21T10:00:00Z", "2", owner="Right")
    left_tip, right_tip = git(a, "rev-parse", "left"), git(a, "rev-parse", "right")
    git(a, "switch", "-q", "left")
    git(a, "merge", "-q", "--no-edit", right_tip)  # left merges right's first commit
    change(a, "pc-a", "2026-01-21T12:00:00Z", "3", owner="Left later")
    git(a, "switch", "-q", "right")
    git(a, "merge", "-q", "--no-edit", left_tip)  # right merges left's first commit: two merge bases from here on
    change(a, "pc-b", "2026-01-21T12:00:00Z", "1", subject="Right later")
    bases = git(a, "merge-base", "--all", "left", "right").split()
    assert len(bases) == 2, "the scenario must be a criss-cross"
    git(a, "merge", "-q", "--no-edit", "left")
    assert_clean(a)
    got = tasks_in(a)
    assert got["1"]["owner"] == "Left" and got["1"]["subject"] == "Right later"
    assert got["2"]["owner"] == "Right" and got["3"]["owner"] == "Left later"
