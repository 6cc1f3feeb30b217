"""What users of Taskwarrior and beads reach for first: `--version` and shell completion, `list` filters, columns
and colour, id prefixes that never change the wrong task, and conflicts settled in one command."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo, run_gittasks

from gittasks.cli.app import GROUPS


def task_commits(cli: Cli) -> int:
    return int(git(cli.root, "rev-list", "--count", "--all"))


# ---- --version and shell completion ----------------------------------------------------------------------------


def test_version_is_printed_fast_anywhere_and_completion_lists_every_command(tmp_path: Path) -> None:
    outside = tmp_path / "not-a-repository"
    outside.mkdir()
    for args in (["--version"], ["--repo", str(outside), "--version"]):
        proc = run_gittasks(outside, *args)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"gittasks {version('gittasks')}\n", ""), args
    script = (
        "import sys\nfrom gittasks.main import main\nmain(['--version'])\n"
        "print(sorted(m for m in sys.modules if m in ('typer', 'click')))"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=outside, capture_output=True, text=True)
    assert proc.stdout.splitlines()[-1] == "[]", "--version loads no CLI framework"

    def complete(words: str) -> list[str]:
        env = {"_GITTASKS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
        proc = run_gittasks(outside, env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    everything = {name for names in GROUPS.values() for name in names}
    assert set(complete("gittasks ")) == everything  # the app is built per call: completing builds every group
    assert complete("gittasks li") == ["list"]
    assert "--sort" in complete("gittasks list --so")
    shown = run_gittasks(outside, "--show-completion", "bash")
    assert shown.returncode == 0 and "_GITTASKS_COMPLETE=complete_bash" in shown.stdout
    assert "--install-completion" in run_gittasks(outside, "--help").stdout


# ---- list: filters, sort, table, colour ------------------------------------------------------------------------


def test_list_filters_sorts_and_shows_client_and_blockers(cli: Cli) -> None:
    parent = cli.create("Parent", "--client", "Dataforth", "--project", "Auth", "--owner", "alice")
    blocker = cli.create("Blocker", "--type", "research")
    waiting = cli.create("Waiting", "--blocked-by", blocker, "--client", "Other")
    child = cli.create("Child", "--parent", parent, "--type", "research")  # inherits client and project
    stuck = cli.create("Stuck")
    cli.ok("block", stuck, "--reason", "no keys")
    cli.ok("start", blocker)
    cli.ok("update", waiting, "--subject", "Waiting, renamed")  # the last change

    def ids(*args: str) -> list[str]:
        return [t["id"] for t in cli.json("list", *args)]

    commits = task_commits(cli)
    assert sorted(ids("--client", "Dataforth")) == sorted([parent, child])
    assert ids("--project", "Auth", "--type", "research") == [child]
    assert ids("--owner", "alice") == [parent]
    assert sorted(ids("--type", "research")) == sorted([blocker, child])
    assert ids("--parent", parent[:3].upper()) == [child]
    assert ids("--ready") == [t["id"] for t in cli.json("ready")] == [child]  # the parent waits for its subtask
    assert sorted(ids("--blocked")) == sorted([waiting, stuck])
    assert ids("--blocked", "--status", "blocked") == [stuck]
    assert ids("--sort", "status")[:2] == [blocker, stuck]  # in progress first, then blocked, then pending
    assert ids("--sort", "updated")[0] == waiting
    assert ids("--sort", "id") == sorted(ids())  # generated ids: alphabetical
    assert task_commits(cli) == commits, "a listing commits nothing"

    lines = cli.ok("list").splitlines()
    assert lines[0].split() == ["ID", "STATUS", "CLIENT", "BLOCKED", "BY", "SUBJECT"]
    row = next(line for line in lines if line.startswith(waiting))
    assert row.split()[:4] == [waiting, "pending", "Other", blocker]
    assert next(line for line in lines if line.startswith(parent)).endswith("Parent (alice)")
    assert cli.ok("list", "--owner", "alice").splitlines()[0].split() == ["ID", "STATUS", "CLIENT", "SUBJECT"]
    for args, said in ((("--sort", "priority"), "unknown sort"), (("--type", "chore"), "unknown type")):
        err = cli.fail("list", *args)
        assert said in err and len(err.strip().splitlines()) == 1, err
    assert "no tasks match" in cli.run("list", "--owner", "nobody").stderr


def in_a_terminal(cwd: Path, args: list[str], env: dict[str, str] | None = None) -> str:
    """What `python ARGS` prints on a terminal (a pseudo-terminal as its stdout and stderr)."""
    import pty

    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environment.update({"TERM": "xterm", **(env or {})})
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=follower, stderr=follower, env=environment)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0, b"".join(chunks)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_colour_on_a_terminal_only_and_the_list_stays_light(cli: Cli) -> None:
    tid = cli.create("Coloured")
    cli.ok("done", tid)
    commands = (["list"], ["show", tid], ["status"], ["log"])
    for args in commands:
        assert "\x1b[" in in_a_terminal(cli.root, ["-m", "gittasks", *args]), args
        assert "\x1b[" not in in_a_terminal(cli.root, ["-m", "gittasks", *args], {"NO_COLOR": "1"}), args
        piped = run_gittasks(cli.root, *args, env={"TERM": "xterm", "NO_COLOR": ""})
        assert piped.returncode == 0 and "\x1b[" not in piped.stdout, args
    assert "\x1b[32mcompleted" in in_a_terminal(cli.root, ["-m", "gittasks", "list"])
    script = (
        "import sys\nfrom gittasks.main import main\nmain(['list'])\n"
        "print('@@', sorted(m for m in ('rich', 'pydantic') if m in sys.modules))"
    )
    out = in_a_terminal(cli.root, ["-c", script])
    assert ast.literal_eval(out.split("@@", 1)[1].strip()) == [], "colour costs the list no heavy import"


# ---- ids: a short prefix never changes a task; prefixes ignore case -----------------------------------------


def test_a_short_prefix_never_changes_a_task_and_prefixes_ignore_case(cli: Cli) -> None:
    tid = cli.create("Only task")
    other = cli.create("Other", "--blocked-by", tid)
    while other[:1] == tid[:1]:  # (ids are random: a shared first character would make the short prefixes ambiguous)
        cli.ok("delete", other)
        other = cli.create("Other", "--blocked-by", tid)
    before, head = (cli.root / ACTIVE).read_bytes(), task_commits(cli)
    for short in (tid[:1], tid[:2], tid[:2].upper()):
        for args in (("start", short), ("done", short), ("cancel", short), ("delete", short),
                     ("update", short, "--owner", "x"), ("block", short, "--reason", "r"),
                     ("update", other, "--remove-blocked-by", short),
                     ("create", "New", "--blocked-by", short)):  # fmt: skip
            err = cli.fail(*args)
            assert "too short for a change" in err and "3 characters" in err and tid in err, (args, err)
            assert len(err.strip().splitlines()) == 1, err
    assert (cli.root / ACTIVE).read_bytes() == before and task_commits(cli) == head, "nothing changed"
    assert cli.json("show", tid[:1])["id"] == tid, "a read takes any unique prefix"
    assert cli.json("show", tid[:4].upper())["id"] == tid, "case aside"
    assert cli.json("show", tid.upper())["id"] == tid
    assert cli.json("start", tid[:3].upper())["status"] == "in_progress"
    cli.ok("done", tid[:3])
    cli.ok("archive")
    assert "too short for a change" in cli.fail("restore", tid[:2])
    assert cli.json("restore", tid[:4].upper())["id"] == tid


# ---- conflicts: settled in one command; a delete names its machine ------------------------------------------


@pytest.fixture
def two(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool) -> tuple[Cli, Cli]:
    a = init_repo(make_repo("a"), "laptop", inline=inline)
    a.ok("init", "--remote", str(bare_remote))
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    return a, Cli(tmp_path / "b", "desktop")


def converge(a: Cli, b: Cli) -> None:
    for cli in (a, b, a, b):
        cli.ok("sync")
    assert a.doc() == b.doc()


def test_a_status_conflict_settles_in_one_command(two: tuple[Cli, Cli]) -> None:
    a, b = two
    chosen, kept = a.create("Done here, cancelled there"), a.create("Also contested")
    a.ok("sync")
    b.ok("sync")
    for tid in (chosen, kept):
        a.ok("done", tid)
        b.ok("cancel", tid)
    converge(a, b)
    assert {(r["task"], r["field"]) for r in a.json("conflicts")} == {(chosen, "status"), (kept, "status")}
    merged = a.task(kept)["status"]
    commits = task_commits(a)
    task = a.json("resolve", chosen, "status", "--value", "completed")
    assert task_commits(a) == commits + 1, "one command, one commit"
    assert task["status"] == "completed" and task["completed_at"] and task["updated_by"] == "laptop"
    assert a.json("resolve", kept, "status", "--keep")["status"] == merged
    assert a.json("conflicts") == []
    a.ok("reopen", chosen)
    converge(a, b)
    assert b.json("conflicts") == [] and b.task(chosen)["status"] == "pending"


def test_a_delete_edit_conflict_names_the_machine_that_deleted(two: tuple[Cli, Cli]) -> None:
    a, b = two
    settled, old = a.create("Deleted on the laptop"), a.create("An old record")
    a.ok("sync")
    b.ok("sync")
    a.ok("delete", settled)
    b.ok("update", settled, "-d", "edited on the desktop")
    converge(a, b)
    [record] = a.json("conflicts")
    assert record["field"] == "task" and record["kind"] == "delete-edit"
    deleted = next(v for v in record["values"] if v["value"] == "deleted")
    assert deleted["machine"] == "laptop" and deleted["updated_at"]
    line = a.ok("conflicts")
    assert "deleted (laptop)" in line and "edited (desktop)" in line and " * " not in line, line
    a.ok("resolve", settled, "task", "--keep")
    assert a.json("conflicts") == [] and a.task(settled)["description"] == "edited on the desktop"
    # a record written before says "*": still settled as `task`, and `--value deleted` settles it by deleting
    doc = a.doc()
    doc["conflicts"] = [{**record, "task": old, "field": "*"}]
    (a.root / ACTIVE).write_text(json.dumps(doc), encoding="utf-8")
    assert "--value deleted" in a.fail("resolve", old, "task", "--value", "gone")
    a.ok("resolve", old, "task", "--value", "deleted")
    assert [t["id"] for t in a.json("list")] == [settled] and a.json("conflicts") == []
