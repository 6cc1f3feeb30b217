"""Claims: `start` (and MCP task_update to in_progress) takes a task on the remote atomically; one agent per task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, MakeRepo, git, init_repo

from gittasks.claude.mcp_server import Server, TaskTools

ACTIVE = ".claude/active-tasks.json"
PAYLOADS = Path(__file__).parent / "data" / "claude-code"
RACERS = 8
ROUNDS = 4
# each racer loads gittasks, says it is ready, then waits for the go file: the starts begin together, not one
# interpreter start apart
RACER = """
import os, sys, time
from gittasks.main import main
go = sys.argv[1]
open(go + "." + os.environ["GITTASKS_MACHINE"], "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
sys.exit(main(sys.argv[2:]))
"""


def clone(tmp_path: Path, remote: Path, name: str, machine: str) -> Cli:
    git(tmp_path, "clone", "-q", str(remote), name)
    return Cli(tmp_path / name, machine)


@pytest.fixture
def pair(tmp_path: Path, bare_remote: Path, make_repo: MakeRepo) -> tuple[Cli, Cli]:
    """Two workstations of one remote: PC-A (which made the list) and PC-B."""
    a = init_repo(make_repo("a"), "PC-A", inline=False)
    git(a.root, "remote", "add", "origin", str(bare_remote))
    a.create("Seed")
    a.ok("sync")
    return a, clone(tmp_path, bare_remote, "b", "PC-B")


def new_task(a: Cli, subject: str) -> str:
    tid = a.create(subject)
    a.ok("sync")
    return tid


def remote_doc(remote: Path) -> dict[str, Any]:
    return json.loads(git(remote, "show", f"gittasks:{ACTIVE}"))


def remote_task(remote: Path, tid: str) -> dict[str, Any]:
    return next(t for t in remote_doc(remote)["tasks"] if t["id"] == tid)


def test_eight_clones_race_to_start_one_task_and_exactly_one_wins_every_round(
    tmp_path: Path, bare_remote: Path, pair: tuple[Cli, Cli]
) -> None:
    a, b = pair
    racers = [a, b] + [clone(tmp_path, bare_remote, f"c{i}", f"PC-{i}") for i in range(2, RACERS)]
    script = tmp_path / "racer.py"
    script.write_text(RACER, encoding="utf-8")
    for round_no in range(ROUNDS):
        tid = new_task(a, f"Contended task {round_no}")
        go = tmp_path / f"go{round_no}"
        env = {**os.environ}
        procs = []
        for r in racers:
            env["GITTASKS_MACHINE"] = r.machine
            command = [sys.executable, str(script), str(go), "start", tid]
            procs.append(subprocess.Popen(command, cwd=r.root, env=dict(env), stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))  # fmt: skip
        for _ in range(3000):  # until every racer has loaded gittasks and waits
            if all(Path(f"{go}.{r.machine}").exists() for r in racers):
                break
            time.sleep(0.01)
        go.touch()
        results = [(r, p.wait(timeout=60), p.communicate()) for r, p in zip(racers, procs, strict=True)]
        winners = [r.machine for r, code, _ in results if code == 0]
        assert len(winners) == 1, [(r.machine, code, err) for r, code, (_, err) in results]
        [winner] = winners
        for r, code, (_, err) in results:
            assert "Traceback" not in err, err
            if code != 0:
                assert code == 1 and len(err.strip().splitlines()) == 1, err
                assert f"task {tid} is in progress on {winner} " in err and "--force" in err, err
                # the loser's own start is nowhere: nothing of it waits to be pushed, its list shows the winner
                assert git(r.root, "rev-list", "--count", "refs/remotes/origin/gittasks..gittasks") == "0"
                assert r.task(tid)["claimed_by"]["machine"] == winner
        task = remote_task(bare_remote, tid)
        assert task["status"] == "in_progress" and task["claimed_by"]["machine"] == winner
        assert task["updated_by"] == winner
    for r in racers[:3]:  # the losers' next syncs bring no second claim and no conflict
        r.ok("sync")
    assert not remote_doc(bare_remote).get("conflicts")


def test_a_start_held_elsewhere_is_refused_in_one_line_and_force_takes_it_over(
    bare_remote: Path, pair: tuple[Cli, Cli]
) -> None:
    a, b = pair
    tid = new_task(a, "Write the parser")
    a.ok("start", tid, "--owner", "alice")
    err = b.fail("start", tid, "--owner", "bob")
    assert err.count("\n") == 1 and "on PC-A (owner alice) since " in err and f"gittasks start {tid} --force" in err
    assert b.task(tid)["owner"] == "alice"  # nothing started here; the list shows the holder
    b.ok("start", tid, "--owner", "bob", "--force")
    task = remote_task(bare_remote, tid)
    assert task["owner"] == "bob" and task["claimed_by"]["machine"] == "PC-B"
    assert task["claimed_by"]["took_over_from"]["machine"] == "PC-A"
    assert task["claimed_by"]["took_over_from"]["owner"] == "alice"
    message = git(bare_remote, "log", "-1", "--format=%B", "gittasks")
    assert "Taken-Over-From: PC-A" in message and "Action: take-over" in message
    assert "Took the task over from the holder on PC-A (owner alice)" in message
    assert "on PC-B (owner bob)" in a.fail("start", tid, "--owner", "alice")  # now A is the one refused


def test_starting_ones_own_task_again_is_fine_and_another_owner_here_is_refused(pair: tuple[Cli, Cli]) -> None:
    a, _ = pair
    tid = new_task(a, "Review the schema")
    a.ok("start", tid, "--owner", "alice")
    commits = git(a.root, "rev-list", "--count", "gittasks")
    assert "nothing to change" in a.ok("start", tid)
    assert "nothing to change" in a.ok("start", tid, "--owner", "alice")
    assert git(a.root, "rev-list", "--count", "gittasks") == commits
    assert "on this machine (owner alice)" in a.fail("start", tid, "--owner", "bob")


def test_offline_a_start_is_made_here_with_a_note_and_sync_records_the_conflict(
    bare_remote: Path, pair: tuple[Cli, Cli]
) -> None:
    a, b = pair
    tid = new_task(a, "Deploy to staging")
    b.ok("sync")  # B has the task
    away = bare_remote.with_name("away.git")
    bare_remote.rename(away)
    proc = b.run("start", tid, "--owner", "bob")
    assert proc.returncode == 0, proc.stderr
    assert "offline: started here only; a sync will record a conflict if another machine started it too" in proc.stderr
    assert b.task(tid)["status"] == "in_progress" and b.task(tid)["claimed_by"]["machine"] == "PC-B"
    away.rename(bare_remote)
    a.ok("start", tid, "--owner", "alice")  # the remote never saw B's start: A's claim goes through
    b.ok("sync")
    assert any(c["task"] == tid for c in b.json("conflicts"))


def test_claims_can_be_turned_off(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    tid = new_task(a, "Profile the importer")
    other = new_task(a, "Second")
    a.ok("start", tid, "--owner", "alice")
    a.ok("start", other, "--owner", "alice")
    b.ok("sync")  # with claims off a start fetches nothing
    b.ok("start", tid, "--owner", "bob", env={"GITTASKS_CLAIMS": "0"})  # today's start, though PC-A holds it
    git(b.root, "config", "gittasks.claims", "false")
    b.ok("start", other, "--owner", "bob")
    assert b.task(tid)["owner"] == b.task(other)["owner"] == "bob"
    assert git(b.root, "rev-list", "--count", "refs/remotes/origin/gittasks..gittasks") == "2"  # local, not pushed


def test_mcp_task_update_to_in_progress_claims(pair: tuple[Cli, Cli], monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pair
    tid = new_task(a, "Generate the client")
    a.ok("start", tid, "--owner", "alice")
    monkeypatch.setenv("GITTASKS_MACHINE", "PC-B")
    server = Server(TaskTools(b.root))
    refused = server.call("task_update", {"taskId": tid, "status": "in_progress", "owner": "bob"})
    assert refused["isError"] is True
    [line] = [block["text"] for block in refused["content"]]
    assert "in progress on PC-A (owner alice)" in line and "force=true takes it over" in line and "\n" not in line
    taken = server.call("task_update", {"taskId": tid, "status": "in_progress", "owner": "bob", "force": True})
    assert taken["isError"] is False
    assert json.loads(taken["content"][0]["text"])["claimed_by"]["took_over_from"]["machine"] == "PC-A"
    assert remote_task(b.root.parent / "remote.git", tid)["owner"] == "bob"


def hook(cli: Cli, name: str, session: str, tool_input: dict[str, Any], response: dict[str, Any]) -> Any:
    data = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    data.update(session_id=session, cwd=str(cli.root), tool_input=tool_input, tool_response=response)
    return cli.run("hook", "capture", input=json.dumps(data))


def test_the_capture_hook_tells_the_model_when_another_machine_holds_the_task(pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    tid = new_task(a, "Write the migration")
    a.ok("start", tid, "--owner", "alice")
    b.ok("sync")
    linked = {"subject": "Write the migration", "description": "x", "metadata": {"gittasks_id": tid}}
    created = hook(b, "posttooluse-taskcreate", "S-B", linked, {"task": {"id": "1", "subject": linked["subject"]}})
    assert created.returncode == 0 and created.stdout == "", created.stderr
    started = hook(b, "posttooluse-taskupdate", "S-B", {"taskId": "1", "status": "in_progress"}, {"success": True})
    assert started.returncode == 0, started.stderr
    output = json.loads(started.stdout)
    assert output["hookSpecificOutput"]["hookEventName"] == "PostToolUse"
    context = output["hookSpecificOutput"]["additionalContext"]
    assert f"task {tid}" in context and "in progress on PC-A (owner alice)" in context and "--force" in context
    assert b.task(tid)["claimed_by"]["machine"] == "PC-A"  # the hook records, it takes nothing over
    # a task nobody holds: the session's start is recorded as its claim, and the model is told nothing
    other = new_task(a, "Write the rollback")
    b.ok("sync")
    hook(b, "posttooluse-taskcreate", "S-B", {"subject": "Write the rollback", "description": "x"},
         {"task": {"id": "2", "subject": "Write the rollback"}})  # fmt: skip
    quiet = hook(b, "posttooluse-taskupdate", "S-B", {"taskId": "2", "status": "in_progress"}, {"success": True})
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr
    assert b.task(other)["claimed_by"] == {"machine": "PC-B", "session": "S-B", "since": b.task(other)["started_at"]}


def test_update_to_in_progress_is_claimed_as_start_is(bare_remote: Path, pair: tuple[Cli, Cli]) -> None:
    a, b = pair
    tid = new_task(a, "Write the lexer")
    a.ok("update", tid, "--status", "in_progress", "--owner", "alice")
    assert remote_task(bare_remote, tid)["claimed_by"]["machine"] == "PC-A"  # claimed, as a start is
    err = b.fail("update", tid, "--status", "in_progress", "--owner", "bob")
    assert err.count("\n") == 1 and "on PC-A (owner alice) since " in err
    assert b.task(tid)["owner"] == "alice"
    b.ok("update", tid, "--subject", "Write the lexer and the parser")  # other edits are plain changes
    b.ok("sync")
    a.ok("sync")
    assert a.task(tid)["status"] == "in_progress" and a.task(tid)["subject"] == "Write the lexer and the parser"
