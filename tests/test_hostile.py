"""Hostile and odd input: each gets a clear one-line error or correct handling, never a traceback, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import write_tasks
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo


@pytest.fixture
def cli(make_repo: MakeRepo) -> Cli:
    return init_repo(make_repo())


def test_fifty_megabyte_task_file(cli: Cli) -> None:
    text = "x" * 480
    write_tasks(cli.root, [{"id": f"t{i}", "subject": f"task {i}", "status": "pending", "description": text}
                    for i in range(100_000)])  # fmt: skip
    assert (cli.root / ACTIVE).stat().st_size > 50_000_000
    assert len(cli.json("list", "--status", "in_progress")) == 0
    cli.ok("start", "t99999")
    assert cli.task("t99999")["status"] == "in_progress"


def test_deeply_nested_json(cli: Cli) -> None:
    raw = b'{"tasks": [{"id": "a", "subject": "x", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
    (cli.root / ACTIVE).write_bytes(raw)
    head = cli.head()
    err = cli.fail("create", "y")
    assert ACTIVE in err
    assert (cli.root / ACTIVE).read_bytes() == raw and cli.head() == head


@pytest.mark.parametrize(
    "raw", [b'{"tasks": [{"id": "a", "subject": "\x00"}]}', b'{"tasks": [{"id": "\xc3\x28", "subject": "x"}]}']
)
def test_nul_and_invalid_utf8(cli: Cli, raw: bytes) -> None:
    (cli.root / ACTIVE).write_bytes(raw)
    err = cli.fail("list")
    assert ACTIVE in err and len(err.strip().splitlines()) == 1
    assert (cli.root / ACTIVE).read_bytes() == raw


def test_bom_is_read_and_not_written(cli: Cli) -> None:
    doc = cli.doc()
    doc["tasks"] = [{"id": "a", "subject": "with BOM", "status": "pending"}]
    (cli.root / ACTIVE).write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    cli.ok("start", "a")
    assert not (cli.root / ACTIVE).read_bytes().startswith(b"\xef\xbb\xbf")


def test_autocrlf_checkout_has_no_spurious_changes(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    git(a.root, "config", "core.autocrlf", "true")
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Windows task")
    a.ok("sync")
    git(tmp_path, "clone", "-q", "-c", "core.autocrlf=true", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    path = b.root / ACTIVE
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # as a Windows editor saves it
    count = b.commit_count()
    b.ok("list")
    assert git(b.root, "status", "--porcelain") == ""
    assert b.commit_count() == count, "line ends alone must not count as a change"
    b.ok("update", tid, "--owner", "win")
    a.ok("update", tid, "-d", "from A")
    for cli in (a, b, a):
        cli.ok("sync")
        assert git(cli.root, "status", "--porcelain") == ""
    assert b.task(tid)["owner"] == "win" and b.task(tid)["description"] == "from A"
    assert git(b.root, "show", f"HEAD:{ACTIVE}").count("\r") == 0


ODD_IDS = ["-rf", "a/b", "../etc", "with space", 'quo"te', "new\nline", "Machine: x"]


def test_odd_ids_are_never_options_paths_or_trailers(cli: Cli) -> None:
    write_tasks(cli.root, [{"id": i, "subject": f"task {i!r}", "status": "pending"} for i in ODD_IDS])
    for task_id in ODD_IDS:
        cli.ok("start", "--", task_id)
        assert json.loads(cli.ok("show", "--json", "--", task_id))["status"] == "in_progress"
    trailers = git(cli.root, "log", "-1", "--format=%(trailers:key=Machine,valueonly)")
    assert trailers.strip() == "test-machine"
    entries = json.loads(cli.ok("log", "--json", "--", "new\nline"))
    assert entries and entries[0]["task"] == "new\nline" and entries[0]["action"] == "start"
    assert not (cli.root / "etc").exists() and not (cli.root / "a").exists()


def test_escape_sequences_are_stored_but_printed_safely(cli: Cli) -> None:
    evil = "Title \x1b[31mRED\x1b]0;pwned\x07 \r\nsecond\tline \x9b"
    tid = cli.create(evil, "-d", "desc \x1b[2J")
    assert cli.task(tid)["subject"] == evil
    for args in (("list",), ("show", tid), ("checklist", "--detailed"), ("log", tid), ("recover",)):
        out = cli.ok(*args)
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out, args
    assert json.loads(cli.ok("show", tid, "--json"))["subject"] == evil


def test_meta_keys_that_collide_with_fields_stay_in_metadata(cli: Cli) -> None:
    tid = cli.create("Meta", "--meta", "id=evil", "--meta", "status=completed", "--meta", "subject=x")
    task = cli.task(tid)
    assert task["id"] == tid and task["status"] == "pending" and task["subject"] == "Meta"
    assert task["metadata"] == {"id": "evil", "status": "completed", "subject": "x"}
    assert "KEY=VALUE" in cli.fail("update", tid, "--meta", "novalue")


def test_far_future_stamp_does_not_win_later_conflicts(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path) -> None:
    a = init_repo(make_repo("a"), "WS-A")
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Clock skew")
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "BAD-CLOCK")
    doc = b.doc()
    doc["tasks"][0].update(
        {"owner": "from the future", "updated_at": "2999-01-01T00:00:00.000Z", "updated_by": "BAD-CLOCK"}
    )
    (b.root / ACTIVE).write_text(json.dumps(doc))
    b.ok("list")  # committed as an external edit
    proc = b.run("doctor")
    assert "stamps far in the future" in proc.stdout and "BAD-CLOCK" in proc.stdout
    a.ok("update", tid, "--owner", "from the present")
    for cli in (b, a, b):
        cli.ok("sync")
    assert a.task(tid)["owner"] == "from the present"
    record = next(r for r in a.json("conflicts") if r["field"] == "owner")
    assert "from the future" in [v["value"] for v in record["values"]]


def test_secret_warning_and_opt_out(cli: Cli) -> None:
    proc = cli.run("create", "Use key AKIAIOSFODNN7EXAMPLE for deploys")
    assert proc.returncode == 0
    assert "looks like a credential" in proc.stderr and "subject" in proc.stderr
    quiet = cli.run("--no-secret-check", "create", "Use key AKIAIOSFODNN7EXAMPLE again")
    assert "credential" not in quiet.stderr
    plain = cli.run("create", "Upgrade to version 2.4.1 of libfoo2024")
    assert "credential" not in plain.stderr
    assert "looks like a credential" in cli.run("doctor").stdout


@pytest.mark.parametrize(
    "value", ["[" * 100_000 + "]" * 100_000, '{"a": ' * 70 + "1" + "}" * 70, "NaN", "1e400", "9007199254740993"]
)
def test_a_context_value_no_task_file_may_hold_is_text_or_one_refusal(cli: Cli, value: str) -> None:
    """JSON too deep, not finite or past 2**53 given on the command line: kept as text where it is no JSON, else
    refused in one line; never the reader's recursion, nothing written that another reader refuses."""
    head = cli.head()
    proc = cli.run("create", "with context", "--context", f"x={value}")
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-300:]
    if proc.returncode == 0:
        task = cli.doc()["tasks"][-1]
        assert task["context"]["x"] == value  # not JSON as gittasks reads it: the text itself
    else:
        assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert cli.head() == head


def test_a_hook_payload_nested_too_deep_is_one_line(cli: Cli) -> None:
    head = cli.head()
    proc = cli.run(
        "hook", "capture", input='{"tool_name": "TaskCreate", "tool_input": ' + "[" * 100_000 + "]" * 100_000 + "}"
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert cli.head() == head
