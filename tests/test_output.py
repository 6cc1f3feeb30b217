"""What gittasks prints: no escape sequence from a file or a commit reaches the terminal, plain help, messages that
say what happened (a cut log, an unknown id, empty values, nothing listed or ready, counts), a closed stdout, and
the machine an incoming change came from. Both layouts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

EVIL = "\x1b[31mRED\x1b]0;pwned\x07\x9b"
RAW = re.compile(r"[\x07\x1b\x80-\x9f]")  # BEL, ESC and the C1 controls (CSI, OSC, ...)


def commit_to_history(cli: Cli, inline: bool, doc: dict[str, object], message: str) -> None:
    """Put `doc` into the task history as another tool (or another machine's gittasks) would commit it: on the
    current branch (inline) or on the task branch with plumbing (own branch), with the commit message `message`."""
    raw = json.dumps(doc, indent=2).encode()
    if inline:
        (cli.root / ACTIVE).write_bytes(raw)
        git(cli.root, "add", "-f", ACTIVE)
        git(cli.root, "commit", "-q", "--no-verify", "-m", message)
        return
    blob_file = cli.root.parent / "blob.json"
    blob_file.write_bytes(raw)
    env = {"GIT_INDEX_FILE": str(cli.root.parent / "plumbing-index")}
    git(cli.root, "read-tree", "gittasks", env=env)
    blob = git(cli.root, "hash-object", "-w", str(blob_file))
    git(cli.root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{ACTIVE}", env=env)
    tree = git(cli.root, "write-tree", env=env)
    commit = git(cli.root, "commit-tree", tree, "-p", "gittasks", "-m", message)
    git(cli.root, "update-ref", "refs/heads/gittasks", commit)


def test_no_escape_sequence_from_a_file_or_a_commit_reaches_the_terminal(tmp_path: Path, inline: bool) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    (tmp_path / "a").mkdir()
    git(tmp_path / "a", "init", "-q", "-b", "main")
    a = init_repo(tmp_path / "a", "WS-A", inline=inline)
    a.ok("init", "--remote", str(remote))
    done = a.create("Billed")
    a.ok("update", done, "--client", "Client")
    a.ok("done", done, "--minutes", "5", "--category", "support")
    waiting = a.create("Waiting", "--blocked-by", a.create("Blocker"))
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    b.ok("list")
    # text the tool itself takes as it is (a subject, an owner, a machine name) and a sync brings to the other side
    evil_machine = Cli(a.root, "laptop" + EVIL)
    evil_machine.ok("update", waiting, "--subject", "Waiting" + EVIL, "--owner", "owner" + EVIL)
    evil_machine.ok("sync")
    synced = b.run("sync")
    # what only a file or a commit can hold: an odd status, a conflict record, every field, an Action trailer
    doc = a.doc()
    for task in doc["tasks"]:
        for key in ("activeForm", "description", "blocked_reason", "type", "updated_by", "created_at"):
            task[key] = key + EVIL
        task["metadata"] = {**task.get("metadata", {}), "key" + EVIL: EVIL, "client": "client" + EVIL}
        task["context"] = {"outcome": EVIL, "files_modified": [EVIL]}
        task["extra" + EVIL] = EVIL
        if task["id"] == waiting:
            task["status"] = "status" + EVIL
    doc["conflicts"] = [{"task": done, "field": "owner" + EVIL, "kind": "kind" + EVIL, "kept": EVIL,
                         "values": [{"value": EVIL, "machine": EVIL}]}]  # fmt: skip
    commit_to_history(a, inline, doc, f"by hand\n\nTask: {done}\nAction: act\x1b[32mGREEN\nMachine: m\x1b[33mM\n")
    commands = [
        ("list",), ("list", "--all"), ("show", done), ("show", waiting), ("log",), ("log", done), ("log", waiting),
        ("conflicts",), ("status",), ("checklist",), ("checklist", "--detailed"), ("recover",), ("ready",),
        ("report",), ("report", "--items"), ("stats",), ("doctor",), ("validate",), ("start", waiting),
    ]  # fmt: skip
    results = [(("sync",), synced), *((args, a.run(*args)) for args in commands)]
    results.append((("hook", "session-start"), a.run("hook", "session-start", input="{}")))
    for args, proc in results:
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        for stream in (proc.stdout, proc.stderr):
            assert not RAW.search(stream), (args, stream)
    shown = {args: proc.stdout + proc.stderr for args, proc in results}
    assert "\\x1b[31mRED" in shown[("list",)] and "status\\x1b" in shown[("list",)]  # shown, made safe
    assert "kind\\x1b" in shown[("conflicts",)] and "act\\x1b[32mGREEN" in shown[("log",)]
    assert "Waiting\\x1b" in shown[("sync",)] and "laptop\\x1b" in shown[("sync",)]


def test_help_is_plain_text_piped_and_in_a_terminal(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    from gittasks.cli.app import GROUPS

    for names in GROUPS.values():
        for name in names:
            if name != "merge-driver":  # git's entry point, dispatched before the CLI: no help of its own
                assert "\\" not in cli.ok(name, "--help"), name
    assert re.search(r"SUBJECT Imperative title, .*\[required\]", " ".join(cli.ok("create", "--help").split()))
    assert "[default: month]" in cli.ok("report", "--help")
    assert "[x>=1]" in cli.ok("log", "--help")
    assert "\\" not in cli.ok("--help") + cli.ok("hook", "--help")
    if sys.platform == "win32":
        return
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "gittasks", "create", "--help"], cwd=tmp_path, stdout=follower,
                          stderr=subprocess.PIPE, env=env, timeout=60)  # fmt: skip
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    text = out.decode()
    assert "SUBJECT  Imperative title, e.g. 'Design authentication schema'.  [required]" in text, text
    assert "\\[" not in text, text


def test_log_says_when_it_stops_short(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    for n in range(22):
        cli.create(f"Task {n}")
    proc = cli.run("log")
    assert proc.returncode == 0
    assert len([line for line in proc.stdout.splitlines() if not line.startswith(" ")]) == 20
    assert "showing the last 20 changes; --limit N for more" in proc.stderr
    proc = cli.run("log", "--limit", "30")
    assert len([line for line in proc.stdout.splitlines() if not line.startswith(" ")]) == 22
    assert proc.stderr == ""


def test_log_of_an_unknown_id_is_refused_and_a_deleted_task_keeps_its_history(
    make_repo: MakeRepo, inline: bool
) -> None:
    cli = init_repo(make_repo(), inline=inline)
    gone = cli.create("Deleted later")
    cli.ok("delete", gone)
    err = cli.fail("log", "nosuchid")
    assert len(err.strip().splitlines()) == 1 and "'nosuchid'" in err and "gittasks list --all" in err
    assert "deleted" in cli.ok("log", gone) or "removed" in cli.ok("log", gone)


def test_log_shows_empty_and_missing_values(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    tid = cli.create("Values")
    cli.ok("update", tid, "-d", "hello")
    cli.ok("update", tid, "--owner", "bob")
    cli.ok("update", tid, "--owner", "")
    cli.ok("update", tid, "--meta", "k=v")
    out = cli.ok("log", tid)
    assert 'description: "" -> hello' in out
    assert "owner: (none) -> bob" in out and re.search(r"owner: bob -> (\(none\)|\"\")$", out, re.M)
    assert "metadata.k: (none) -> v" in out
    assert not re.search(r"(: | -> )$|:  ->", out, re.M), out


def test_list_after_archiving_everything_points_to_all(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    for subject in ("One", "Two"):
        cli.ok("done", cli.create(subject))
    cli.ok("archive")
    proc = cli.run("list")
    assert proc.returncode == 0 and proc.stdout == ""
    assert "no active tasks; 2 archived: `gittasks list --all`" in proc.stderr
    assert len(cli.ok("list", "--all").splitlines()) == 3  # the heading and the two archived tasks


def test_ready_with_nothing_ready_says_why(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    proc = cli.run("ready")
    assert proc.returncode == 0 and proc.stdout == "" and "no task is pending" in proc.stderr
    blocker = cli.create("Blocker")
    cli.ok("start", blocker)
    waiting = cli.create("Waiting", "--blocked-by", blocker)
    proc = cli.run("ready")
    assert proc.stdout == ""
    assert f"the one pending task waits: {waiting} (Waiting) for {blocker} (Blocker)" in proc.stderr
    parent = cli.create("Parent")
    cli.create("Child", "--parent", parent, "--blocked-by", blocker)
    proc = cli.run("ready")
    assert "all 3 pending tasks wait" in proc.stderr and f"{parent} (Parent) for its open subtasks" in proc.stderr
    assert cli.json("ready") == []


def test_one_incomplete_task_is_singular(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    cli.create("Only one")
    for out in (cli.ok("recover"), cli.ok("hook", "session-start", input="{}")):
        assert "1 incomplete task in " in out and "1 incomplete tasks" not in out
    cli.create("Another")
    assert "2 incomplete tasks in " in cli.ok("recover")


@pytest.mark.parametrize(
    "args", [("list",), ("log",), ("recover",), ("checklist",), ("status",), ("list", "--json"), ("ready", "--json"),
             ("--help",), ("hook", "session-start")], ids=" ".join,
)  # fmt: skip
def test_a_closed_stdout_ends_quietly(make_repo: MakeRepo, inline: bool, args: tuple[str, ...]) -> None:
    cli = init_repo(make_repo(), inline=inline)
    for n in range(3):
        cli.create(f"Task {n}")
    read_end, write_end = os.pipe()
    os.close(read_end)  # `gittasks ... | head -0`: the reader is gone before anything is written
    try:
        proc = subprocess.run([sys.executable, "-m", "gittasks", *args], cwd=cli.root, stdout=write_end,
                              stderr=subprocess.PIPE, input=b"{}", timeout=120)  # fmt: skip
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert err == "", err
    assert proc.returncode in (0, 1)


def test_sync_names_the_machine_an_incoming_change_came_from(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool
) -> None:
    a = init_repo(make_repo("a"), "WS-A", inline=inline)
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Shared")
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    b.ok("list")
    a.ok("update", tid, "--owner", "alice")
    a.ok("sync")
    b.ok("update", tid, "-d", "edited on B, later")  # B's edit is the later one: the merged task names WS-B
    out = b.ok("sync")
    assert re.search(rf"^in +changed +{tid} +Shared \(from WS-A\)$", out, re.M), out
    assert b.task(tid)["owner"] == "alice" and b.task(tid)["description"] == "edited on B, later"
    c = a.json("sync")
    assert [(i["id"], i["change"], i["machine"]) for i in c["incoming"]] == [(tid, "changed", "WS-B")]
