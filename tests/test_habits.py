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
from typing import Any

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo, run_gittasks
from hypothesis import given
from hypothesis import strategies as st

from gittasks import fieldwise
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
    assert complete("gittasks lis") == ["list"]
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
    for args, said in ((("--sort", "urgency"), "unknown sort"), (("--type", "chore"), "unknown type")):
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


# ---- "did you mean": near misses and the words of other task tools ----------------------------------------------


def test_a_near_miss_says_which_command_was_meant_in_one_line(tmp_path: Path) -> None:
    from gittasks.cli.suggest import ALIASES

    outside = tmp_path / "anywhere"
    outside.mkdir()
    cli = Cli(outside)
    said = {
        ("add", "Buy milk"): "create", ("close", "abc"): "done", ("new", "x"): "create", ("rm", "abc"): "delete",
        ("ls",): "list", ("lsit",): "list", ("creat", "x"): "create", ("ADD", "x"): "create",
        ("annotate", "abc", "t"): "note", ("modify", "abc"): "update", ("search", "x"): "list --search",
        ("--repo", str(outside), "add", "x"): "create", ("add", "--help"): "create",
    }  # fmt: skip
    for args, meant in said.items():
        err = cli.fail(*args, code=2)
        word = args[2] if args[0] == "--repo" else args[0]
        assert err == f"gittasks: unknown command {word!r}; did you mean {meant!r}?\n", (args, err)
    err = cli.fail("xyzzy", code=2)
    assert err == "gittasks: unknown command 'xyzzy'; see `gittasks --help` for the commands\n"
    assert not (outside / ".git").exists(), "refused before any repository is looked for"
    commands = {name for names in GROUPS.values() for name in names}
    for alias, meant in ALIASES.items():
        assert alias not in commands, f"{alias} is a command: the alias would never be read"
        assert meant.split()[0] in commands, f"{alias} -> {meant}: no such command"
    assert "Commands:" in cli.ok("--help"), "a known command still runs"


# ---- list --search, --priority and --due, list --sort priority|due, list --overdue ----------------------------


def test_list_search_matches_subject_description_and_ids_case_aside(cli: Cli) -> None:
    login = cli.create("Fix the LOGIN page", "-d", "users see a blank form")
    form = cli.create("Write docs", "-d", "Explain the Login form")
    other = cli.create("Unrelated")

    def found(*args: str) -> set[str]:
        return {t["id"] for t in cli.json("list", *args)}

    assert found("--search", "login") == {login, form}
    assert found("--search", "BLANK FORM") == {login}
    assert found("--search", other[:4].upper()) == {other}
    assert found("--search", "login", "--status", "pending") == {login, form}
    cli.ok("done", form)
    assert found("--search", "login", "--status", "completed") == {form}
    assert "no tasks match" in cli.run("list", "--search", "nothing like it").stderr
    table = cli.ok("list", "--search", "docs")
    assert form in table and login not in table


def test_priority_and_due_are_stored_in_one_form_sorted_and_overdue_listed(cli: Cli) -> None:
    from datetime import date, timedelta

    today = date.today()
    ids = {
        "high": cli.create("High", "--priority", "H", "--due", "+3d"),
        "critical": cli.create("Critical", "--priority", "0", "--due", "2020-01-02"),
        "low": cli.create("Low", "--priority", "low", "--due", "tomorrow"),
        "plain": cli.create("No priority"),
        "p3": cli.create("P3 done late", "--priority", "P3", "--due", "2020-01-01"),
    }
    meta = {name: cli.task(tid).get("metadata", {}) for name, tid in ids.items()}
    assert {name: m.get("priority") for name, m in meta.items()} == {
        "high": 1, "critical": 0, "low": 3, "plain": None, "p3": 3,
    }  # fmt: skip
    assert meta["high"]["due"] == (today + timedelta(days=3)).isoformat()
    assert meta["low"]["due"] == (today + timedelta(days=1)).isoformat()
    assert meta["critical"]["due"] == "2020-01-02"
    cli.ok("done", ids["p3"])

    def order(*args: str) -> list[str]:
        return [t["id"] for t in cli.json("list", *args)]

    by_priority = order("--sort", "priority")
    assert by_priority[0] == ids["critical"] and by_priority[1] == ids["high"] and by_priority[-1] == ids["plain"]
    assert order("--sort", "due") == [ids["p3"], ids["critical"], ids["low"], ids["high"], ids["plain"]]
    assert order("--overdue") == [ids["critical"]], "open and due before today; a completed task is not overdue"
    cli.ok("update", ids["critical"], "--due", "")
    assert "due" not in cli.task(ids["critical"])["metadata"] and order("--overdue") == []
    cli.ok("update", ids["plain"], "--priority", "M", "--due", "today")
    assert cli.task(ids["plain"])["metadata"] == {"priority": 2, "due": today.isoformat()}
    assert order("--overdue") == [], "due today is not overdue yet"
    commits = task_commits(cli)
    for args in (("create", "X", "--priority", "urgentish"), ("update", ids["low"], "--due", "someday"),
                 ("create", "X", "--due", "+12h")):  # fmt: skip
        err = cli.fail(*args)
        assert len(err.strip().splitlines()) == 1 and "not understood" in err, err
    assert task_commits(cli) == commits, "nothing changed"


def test_due_dates_read_relative_to_the_day_given() -> None:
    from datetime import date

    from gittasks import schedule

    wednesday = date(2026, 1, 7)
    assert schedule.parse_due("today", wednesday) == "2026-01-07"
    assert schedule.parse_due("Tomorrow", wednesday) == "2026-01-08"
    assert schedule.parse_due("friday", wednesday) == "2026-01-09"
    assert schedule.parse_due("wednesday", wednesday) == "2026-01-14", "the next one, not today"
    assert schedule.parse_due("+2w", wednesday) == "2026-01-21"
    assert schedule.parse_due("2026-02-01T10:00:00Z", wednesday) == "2026-02-01"
    for word, rank in (("critical", 0), ("P1", 1), ("h", 1), ("M", 2), ("l", 3), ("4", 4), ("backlog", 4)):
        assert schedule.parse_priority(word) == rank
    assert schedule.priority_of({"metadata": {"priority": "high"}}) == 1, "a value set by hand with --meta"
    assert schedule.priority_of({"metadata": {"priority": True}}) is None


# ---- shell completion of ids, statuses, clients and owners -----------------------------------------------------


def complete(cli: Cli, words: str, cwd: Path | None = None) -> list[str]:
    """What bash completion offers for the command line `words` (the last word is the one being completed), in the
    way click's completion runs: the environment variables the shell function sets."""
    env = {"_GITTASKS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    proc = Cli(cwd or cli.root).run(env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout.split()


def test_completion_offers_ids_statuses_clients_and_owners(cli: Cli, tmp_path: Path) -> None:
    first = cli.create("First", "--client", "Dataforth", "--owner", "alice")
    second = cli.create("Second", "--client", "Contoso", "--owner", "bob")
    cli.create("Third", "--owner", "two words")  # not one shell word: never offered
    ids = {t["id"] for t in cli.json("list")}
    for command in ("show", "start", "done", "note", "edit", "update", "delete"):
        assert set(complete(cli, f"gittasks {command} ")) == ids, command
    assert complete(cli, f"gittasks show {first[:3]}") == [first]
    assert complete(cli, f"gittasks show {first[:3].upper()}") == [first[:3].upper() + first[3:]]
    assert set(complete(cli, "gittasks create X --blocked-by ")) == ids
    assert complete(cli, f"gittasks update {first} --add-blocked-by {second[:4]}") == [second]
    assert complete(cli, "gittasks list --status ") == ["pending", "in_progress", "blocked", "completed", "cancelled"]
    assert complete(cli, "gittasks list --status in") == ["in_progress"]
    assert complete(cli, "gittasks list --client ") == ["Contoso", "Dataforth"]
    assert complete(cli, "gittasks list --owner a") == ["alice"]
    assert complete(cli, "gittasks update x --owner ") == ["alice", "bob"]
    assert complete(cli, "gittasks list --sort p") == ["priority"]
    assert set(complete(cli, f"gittasks --repo {cli.root} show ", cwd=tmp_path)) == ids
    outside = tmp_path / "not-a-repository"
    outside.mkdir()
    assert complete(cli, "gittasks show ", cwd=outside) == [], "outside a repository: nothing, and no error"
    (cli.root / ACTIVE).write_text("{ broken", encoding="utf-8")
    assert complete(cli, "gittasks show ") == [], "a file that does not parse: nothing"
    assert complete(cli, "gittasks list --status p") == ["pending"], "values that need no file still complete"


# ---- note: timestamped, with the machine, merged as a list -----------------------------------------------------


def test_notes_from_two_machines_are_both_kept_by_sync(two: tuple[Cli, Cli]) -> None:
    a, b = two
    tid = a.create("Shared")
    a.ok("note", tid, "first, on the laptop")
    a.ok("sync")
    b.ok("sync")
    a.ok("note", tid, "then the laptop again")
    b.ok("note", tid[:4], "meanwhile on the desktop")
    b.ok("update", tid, "--owner", "bob")  # another field too: merged as ever
    converge(a, b)
    assert (a.root / ACTIVE).read_bytes() == (b.root / ACTIVE).read_bytes(), "the same bytes on both"
    assert a.json("conflicts") == [] and "conflicts" not in a.doc()
    noted = a.task(tid)["context"]["notes"]
    assert [(n["machine"], n["text"]) for n in noted[:1]] == [("laptop", "first, on the laptop")]
    assert {(n["machine"], n["text"]) for n in noted[1:]} == {
        ("laptop", "then the laptop again"), ("desktop", "meanwhile on the desktop"),
    }  # fmt: skip
    assert [n["at"] for n in noted] == sorted(n["at"] for n in noted), "in the order they were written"
    assert all(set(n) == {"at", "machine", "text"} for n in noted)
    assert a.task(tid)["owner"] == "bob"
    shown = b.ok("show", tid)
    assert "notes:" in shown and "desktop: meanwhile on the desktop" in shown and "laptop: first" in shown
    assert '"notes"' not in shown, "shown as notes, not as raw context JSON"
    before = task_commits(a)
    for text in ("", "   "):
        err = a.fail("note", tid, text)
        assert "the note is empty" in err and len(err.strip().splitlines()) == 1
    assert task_commits(a) == before


def test_notes_merge_as_a_set_whichever_side_is_ours() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from gittasks import document
    from gittasks.merge import merge_documents

    def note(n: int, machine: str) -> dict[str, str]:
        return {"at": f"2026-01-01T00:00:{n:02d}.000Z", "machine": machine, "text": f"note {n} {machine}"}

    seconds = st.lists(st.integers(0, 59), unique=True, max_size=5)

    @settings(max_examples=60, deadline=None)
    @given(seconds, seconds, seconds)
    def check(base_at: list[int], ours_at: list[int], theirs_at: list[int]) -> None:
        base_notes = [note(n, "base") for n in base_at]
        task = {"id": "t1", "subject": "S", "updated_at": "2026-01-01T00:00:00.000Z"}

        def version(extra: list[dict[str, str]], stamp: str) -> dict[str, Any]:
            return {"tasks": [{**task, "updated_at": stamp, "context": {"notes": base_notes + extra}}]}

        base = version([], task["updated_at"])
        ours = version([note(n, "laptop") for n in ours_at], "2026-01-02T00:00:00.000Z")
        theirs = version([note(n, "desktop") for n in theirs_at], "2026-01-03T00:00:00.000Z")
        one, other = merge_documents(base, ours, theirs), merge_documents(base, theirs, ours)
        assert document.dumps(one.document) == document.dumps(other.document)
        assert one.conflicts == []
        merged = one.document["tasks"][0]["context"]["notes"]
        expected = base_notes + [note(n, "laptop") for n in ours_at] + [note(n, "desktop") for n in theirs_at]
        assert sorted(map(str, merged)) == sorted(map(str, expected)), "every note of both sides, once"
        assert merged[: len(base_notes)] == base_notes, "the base's notes keep their place"

    check()


# ---- edit: the task's JSON in $EDITOR --------------------------------------------------------------------------

EDITOR_SCRIPT = """
import json, os, sys
path = sys.argv[-1]
mode = os.environ["EDIT_MODE"]
if mode == "fail":
    sys.exit(3)
task = json.load(open(path, encoding="utf-8"))
if mode == "valid":
    task["subject"] = "Edited subject"
    task["blockedBy"] = [os.environ["EDIT_BLOCKER"]]
    task.setdefault("metadata", {})["priority"] = 1
    task["updated_by"] = "someone else"  # bookkeeping: stamped by gittasks whatever is written
elif mode == "complete":
    task["status"] = "completed"
elif mode == "invalid":
    task["status"] = "finished"
elif mode == "id":
    task["id"] = "another"
elif mode == "race":  # another command sets the same field while the editor is open
    import subprocess
    subprocess.run([sys.executable, "-m", "gittasks", "update", task["id"], "--subject", "Meanwhile"], check=True)
    task["subject"] = "Mine"
elif mode == "not-json":
    open(path, "w").write("{ not json")
    sys.exit(0)
if mode != "same":
    json.dump(task, open(path, "w", encoding="utf-8"), indent=4)
"""


def test_edit_opens_the_task_json_in_the_editor_checked_on_save(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "an editor"  # a blank in the path: the command line is split as a shell would
    folder.mkdir()
    (folder / "edit.py").write_text(EDITOR_SCRIPT, encoding="utf-8")
    editor = f'"{sys.executable}" "{folder / "edit.py"}"'
    blocker, third = cli.create("Blocker"), cli.create("Third")
    tid = cli.create("Original", "--blocked-by", blocker)

    def edit(mode: str, **more: str) -> subprocess.CompletedProcess[str]:
        env = {"EDITOR": editor, "VISUAL": "", "EDIT_MODE": mode, "EDIT_BLOCKER": third, **more}
        return cli.run("edit", tid, env=env)

    before, commits = (cli.root / ACTIVE).read_bytes(), task_commits(cli)
    proc = edit("same")
    assert proc.returncode == 0 and proc.stdout == f"{tid}: nothing changed\n"
    for mode, said in (("invalid", "field 'status' must be one of"), ("not-json", "not valid JSON"),
                       ("id", "the id cannot be changed"), ("fail", "exited with 3")):  # fmt: skip
        proc = edit(mode)
        assert proc.returncode == 1 and said in proc.stderr and "nothing was changed" in proc.stderr, (mode, proc)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = edit("race")
    assert proc.returncode == 1 and "subject changed while it was edited" in proc.stderr, proc.stderr
    assert cli.task(tid)["subject"] == "Meanwhile"
    cli.ok("update", tid, "--subject", "Original")
    before, commits = (cli.root / ACTIVE).read_bytes(), task_commits(cli)
    proc = edit("complete")
    assert proc.returncode == 1 and "waits for" in proc.stderr, "a status goes the edit engine's way: blockers"
    assert (cli.root / ACTIVE).read_bytes() == before and task_commits(cli) == commits, "nothing changed"

    proc = edit("valid")
    assert proc.returncode == 0, proc.stderr
    assert task_commits(cli) == commits + 1, "one commit"
    task = cli.task(tid)
    assert task["subject"] == "Edited subject" and task["metadata"] == {"priority": 1}
    assert task["blockedBy"] == [third] and cli.task(third)["blocks"] == [tid], "the other side follows"
    assert cli.task(blocker)["blocks"] == [], "the link taken away: on both sides"
    assert task["updated_by"] == cli.machine
    assert cli.json("log", tid)[0]["action"] == "edit"
    proc = cli.run("edit", tid, env={"VISUAL": editor, "EDITOR": "false", "EDIT_MODE": "same"})
    assert proc.stdout == f"{tid}: nothing changed\n", "VISUAL before EDITOR"


def test_the_editor_command_is_visual_then_editor_then_vi() -> None:
    from gittasks.edit_in_editor import editor_command

    assert editor_command({"VISUAL": "code --wait", "EDITOR": "nano"}) == ["code", "--wait"]
    assert editor_command({"VISUAL": " ", "EDITOR": "'my vim' -u NONE"}) == ["my vim", "-u", "NONE"]
    assert editor_command({}) == ["vi"]


# ---- undo: this machine's last change, as a new commit ---------------------------------------------------------


def test_undo_takes_back_the_last_change_field_by_field_and_never_an_undo(cli: Cli) -> None:
    tid = cli.create("Subject one", "--client", "Dataforth")
    blocker = cli.create("Blocker")
    cli.ok("update", tid, "--subject", "Subject two", "--add-blocked-by", blocker)
    commits = task_commits(cli)
    out = cli.ok("undo")
    assert "undid" in out and "Subject two" in out
    assert task_commits(cli) == commits + 1, "a new commit, nothing rewritten"
    assert cli.task(tid)["subject"] == "Subject one" and cli.task(tid)["blockedBy"] == []
    assert cli.task(blocker)["blocks"] == [], "both sides of the link"
    assert cli.json("log", tid)[0]["action"] == "undo"
    err = cli.fail("undo")
    assert "never an undo" in err and len(err.strip().splitlines()) == 1
    assert task_commits(cli) == commits + 1

    cli.ok("done", tid, "--minutes", "30")
    cli.ok("undo")
    task = cli.task(tid)
    assert task["status"] == "pending" and not task.get("completed_at") and not task.get("started_at")
    [item] = [json.loads(line) for f in (cli.root / ".claude/tasks/work-items").glob("*.jsonl")
              for line in f.read_text(encoding="utf-8").splitlines()]  # fmt: skip
    assert item["linked_task_id"] == tid and item["void"] is True, "the work item follows its task"
    cli.ok("delete", blocker)
    cli.ok("undo")
    assert cli.task(blocker)["subject"] == "Blocker"
    new = cli.create("Created by mistake")
    cli.ok("undo")
    assert new not in {t["id"] for t in cli.json("list")}
    cli.ok("note", tid, "a note")
    cli.ok("undo")
    assert "notes" not in cli.task(tid).get("context", {})


def test_undo_is_refused_when_a_later_change_built_on_it(two: tuple[Cli, Cli]) -> None:
    a, b = two
    tid, other = a.create("Shared"), a.create("Other")
    a.ok("sync")
    b.ok("sync")
    assert "nothing to undo" in b.fail("undo"), "the desktop made no change yet"
    a.ok("update", tid, "--owner", "alice", "--priority", "high")
    a.ok("sync")
    b.ok("sync")
    b.ok("update", tid, "--owner", "bob")  # the same field of the same task, after it
    b.ok("update", other, "--subject", "Other, renamed")
    b.ok("sync")
    a.ok("sync")
    head = task_commits(a)
    err = a.fail("undo")
    assert "a later change built on it" in err and "owner" in err and len(err.strip().splitlines()) == 1, err
    assert task_commits(a) == head and a.task(tid)["owner"] == "bob", "nothing changed"

    a.ok("update", tid, "--priority", "low")
    b.ok("sync")
    b.ok("update", tid, "--subject", "Renamed on the desktop")  # another field of the same task
    b.ok("sync")
    a.ok("sync")
    a.ok("undo")
    task = a.task(tid)
    assert task["metadata"]["priority"] == 1, "the priority as it was before the laptop's last change"
    assert task["subject"] == "Renamed on the desktop" and task["owner"] == "bob", "what others did stays"
    converge(a, b)


def test_undo_of_a_note_takes_back_that_note_alone_whatever_notes_came_after_it(two: tuple[Cli, Cli]) -> None:
    a, b = two
    tid = a.create("Shared")
    a.ok("note", tid, "an earlier note, kept")
    a.ok("note", tid, "on the laptop, undone")
    a.ok("sync")
    b.ok("sync")
    b.ok("note", tid, "on the desktop, after it")  # notes merge as a set: this one is no change built on it
    b.ok("sync")
    a.ok("sync")
    a.ok("undo")
    texts = [n["text"] for n in a.task(tid)["context"]["notes"]]
    assert texts == ["an earlier note, kept", "on the desktop, after it"], texts
    converge(a, b)
    # a note another machine changed after it is built on: refused, nothing changed
    a.ok("note", tid, "on the laptop again")
    a.ok("sync")
    b.ok("sync")
    doc = b.doc()
    task = next(t for t in doc["tasks"] if t["id"] == tid)
    task["context"]["notes"][-1]["text"] = "on the laptop again, corrected on the desktop"
    (b.root / ACTIVE).write_text(json.dumps(doc), encoding="utf-8")
    b.ok("sync")
    a.ok("sync")
    head = task_commits(a)
    err = a.fail("undo")
    assert "a later change built on it" in err and "context.notes" in err and len(err.strip().splitlines()) == 1
    assert task_commits(a) == head


NOTE_MACHINES = st.sampled_from(["laptop", "desktop", "ci"])
NOTES = st.lists(st.tuples(st.integers(0, 59), NOTE_MACHINES), unique=True, max_size=6)


@given(NOTES, NOTES, st.integers(0, 63), NOTES, st.randoms(use_true_random=False))
def test_a_list_that_merges_as_a_set_is_taken_back_item_by_item(
    base: list[tuple[int, str]], mine: list[tuple[int, str]], drop: int, others: list[tuple[int, str]], order: Any
) -> None:
    def note(at: int, machine: str) -> dict[str, str]:
        return {"at": f"2026-01-01T00:00:{at:02d}.000Z", "machine": machine, "text": f"{machine} {at}"}

    old = [note(*n) for n in base] or fieldwise.MISSING
    dropped = [note(*n) for i, n in enumerate(base) if drop >> i & 1]  # the change removed these
    added = [note(*n) for n in mine if n not in base]
    new = [note(*n) for n in base if note(*n) not in dropped] + added
    listed = fieldwise.list_change("context.notes", old, new)
    if not added and not dropped:
        assert listed is None, "no item added or removed: the value is taken back whole, as before"
        return
    assert listed is not None
    later = [note(*n) for n in others if n not in base and n not in mine]  # other machines' notes since
    now = new + later
    order.shuffle(now)  # (the merge puts another machine's notes anywhere among the new ones)
    assert listed.holds(now)
    back = listed.taken_back(now, old)
    expected = [n for n in now if n not in added] + dropped
    assert back == (expected if expected or old is not fieldwise.MISSING else fieldwise.MISSING)
    if added:
        assert not listed.holds([{**n, "text": "changed"} if n == added[0] else n for n in now]), "changed since"
        assert not listed.holds([n for n in now if n != added[-1]]), "an item it added, removed since"
    if dropped:
        assert not listed.holds([*now, dropped[0]]), "an item it removed, back since"


# ---- help: whole sentences ------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", ["200", "80"])
def test_every_command_has_a_whole_sentence_in_help(tmp_path: Path, columns: str) -> None:
    out = Cli(tmp_path).ok("--help", env={"COLUMNS": columns})
    listed = out.split("Commands:\n", 1)[1]
    helps: dict[str, str] = {}
    wrapped: set[str] = set()
    name = ""
    for line in listed.splitlines():
        if not line.strip():
            continue
        if line.startswith("  ") and not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            helps[name] = text.strip()
        else:  # the help went on to the next line: it does not fit beside the names
            helps[name] += " " + line.strip()
            wrapped.add(name)
    assert set(helps) == {name for names in GROUPS.values() for name in names}
    for name, text in helps.items():
        assert text and not text.endswith("..."), f"{name}: cut mid-sentence: {text!r}"
        assert text.endswith((".", "?", "!")), f"{name}: not a whole sentence: {text!r}"
    assert not wrapped, f"short help longer than a line: {sorted(wrapped)}"


def test_every_argument_and_option_has_a_whole_sentence_of_help_shown_uncut_at_80_columns(tmp_path: Path) -> None:
    import re

    import click
    import typer.main

    from gittasks.cli.app import build

    def walk(command: click.Command, path: tuple[str, ...]) -> Any:
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))

    commands = list(walk(typer.main.get_command(build([])), ()))
    paths = {path for path, _ in commands}
    assert {path[0] for path in paths if path} == {name for names in GROUPS.values() for name in names}
    assert ("hook", "prepare-commit-msg") in paths, "the walk reaches the hook group's commands"

    def flat(text: str) -> str:  # as wrapped: one space for any run, and a word broken after its hyphen joined
        return re.sub(r"-\s+", "-", " ".join(text.split()))

    cli = Cli(tmp_path)
    checked = 0
    for path, command in commands:
        shown = cli.ok(*path, "--help", env={"COLUMNS": "80"})
        where = f"gittasks {' '.join(path)} --help"
        for line in shown.splitlines():
            assert len(line) <= 80, f"{where}: wider than 80 columns: {line!r}"
            # click cuts a help that does not fit with "..." straight after a letter; a metavar's "ARGS..." is
            # upper case
            assert not re.search(r"[a-z]\.\.\.", line), f"{where}: cut mid-word: {line!r}"
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            help_text = " ".join((getattr(param, "help", None) or "").split())
            name = "/".join(param.opts)
            assert re.match(r"[A-Z`]", help_text), f"{where} {name}: no help, or not a sentence: {help_text!r}"
            assert help_text.endswith(".") and not help_text.endswith(".."), f"{where} {name}: {help_text!r}"
            shown_times = flat(shown).count(flat(help_text))
            assert shown_times == 1, f"{where} {name}: its help is shown {shown_times} times, not once and whole"
            checked += 1
    assert checked > 150, "every command's parameters were checked"
