"""QA round 4: what a new user ran into with billing, the habits (due dates, edit, undo), link-commits, export and
resolve. Each test failed before its fix; each refusal is one line, changes nothing and never an internal error."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

NOT_UTF8 = b"a\xffb".decode("utf-8", "surrogateescape")  # what Python makes of a Latin-1 terminal's bytes


def refused(cli: Cli, *args: str, said: str, env: dict[str, str] | None = None, code: int = 1) -> None:
    """`gittasks ARGS` refused in one line, saying `said`, with nothing changed (task file and branches); exit 2 is
    a usage error (text that is not UTF-8), 1 any other refusal."""
    before = (cli.root / ACTIVE).read_bytes()
    refs = git(cli.root, "for-each-ref", "--format=%(objectname) %(refname)")
    proc = cli.run(*args, env=env)
    assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and said in proc.stderr, proc.stderr
    assert (cli.root / ACTIVE).read_bytes() == before, args
    assert git(cli.root, "for-each-ref", "--format=%(objectname) %(refname)") == refs, args


# ---- dates and durations past the calendar --------------------------------------------------------------------


@pytest.mark.parametrize("due", ["+99999999d", "+9999999999d", "+99999999999999999999999999w"])
def test_a_due_date_past_the_calendar_is_refused_in_one_line(cli: Cli, due: str) -> None:
    refused(cli, "create", "Far away", "--due", due, said="due date")
    tid = cli.create("Near")
    refused(cli, "update", tid, "--due", due, said="due date")


@pytest.mark.parametrize("since", ["99999999d", "9999999999999d", "99999999 days ago"])
def test_a_time_ago_past_the_calendar_is_refused_in_one_line(cli: Cli, since: str) -> None:
    cli.create("Something")
    refused(cli, "log", "--since", since, said="--since")


def test_archive_older_than_past_the_calendar_is_refused_in_one_line(cli: Cli) -> None:
    cli.create("Something")
    refused(cli, "archive", "--older-than", "99999999999999d", said="99999999999999d")


# ---- edit: minutes as every door takes them ---------------------------------------------------------------------

EDITOR = """
import json, sys
path = sys.argv[-1]
task = json.load(open(path, encoding="utf-8"))
task.setdefault("metadata", {})["billable_minutes"] = sys.argv[1]
json.dump(task, open(path, "w", encoding="utf-8"))
"""


def test_edit_takes_minutes_written_as_text_as_the_number_and_refuses_text_that_is_none(
    cli: Cli, tmp_path: Path
) -> None:
    script = tmp_path / "editor.py"
    script.write_text(EDITOR, encoding="utf-8")
    tid = cli.create("Billed", "--client", "Contoso")

    def editor(value: str) -> dict[str, str]:
        return {"VISUAL": f'"{sys.executable}" "{script}" "{value}"', "EDITOR": ""}

    refused(cli, "edit", tid, said="billable_minutes 'soon' is not a number of minutes", env=editor("soon"))
    cli.ok("edit", tid, env=editor("45"))
    assert cli.task(tid)["metadata"]["billable_minutes"] == 45, "45 written as text is the number 45"
    cli.ok("done", tid)
    assert "45" in cli.ok("report", "--items", "--client", "Contoso")


# ---- link-commits: the hook finds the gittasks that installed it ------------------------------------------------


def test_link_commits_works_when_gittasks_is_not_on_the_path(
    make_repo: MakeRepo, inline: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gittasks run by its full path (a venv not activated): the commit hook, run by git without it on PATH, still
    finds it, as the Claude Code hooks do (`gittasks.program`)."""
    monkeypatch.delenv("GITTASKS", raising=False)
    root = make_repo()
    git(root, "commit", "-q", "--allow-empty", "-m", "init")
    cli = init_repo(root, inline=inline)
    cli.ok("link-commits")
    tid = cli.create("Work")
    cli.ok("start", tid)
    path = root / "code.txt"
    path.write_text("code\n")
    git(root, "add", "code.txt")
    git_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    git(root, "commit", "-q", "-m", "code", env={"PATH": f"{git_dir}:/usr/bin:/bin"})
    assert f"Task: {tid}" in git(root, "log", "-1", "--format=%B")


# ---- export -o: a path that names no file ------------------------------------------------------------------------


def test_export_to_a_missing_folder_or_no_name_is_refused_and_creates_nothing(cli: Cli, tmp_path: Path) -> None:
    tid = cli.create("Handover")
    missing = tmp_path / "no-such-folder" / "deeper" / "summary.md"
    refused(cli, "export", tid, "-o", str(missing), said="does not exist")
    assert not (tmp_path / "no-such-folder").exists(), "no folder made for a mistyped path"
    refused(cli, "export", tid, "-o", "", said="file name")
    refused(cli, "export", tid, "-o", str(tmp_path), said="is a folder")
    out = tmp_path / "summary.md"
    cli.ok("export", tid, "-o", str(out))
    assert out.read_text(encoding="utf-8").startswith(f"# {tid}: Handover")


# ---- resolve -----------------------------------------------------------------------------------------------------


def test_resolve_refuses_an_id_that_is_not_utf8_in_one_line(cli: Cli) -> None:
    cli.create("Something")
    refused(cli, "resolve", NOT_UTF8, "--all", "--keep", said="not UTF-8", code=2)


def test_resolve_with_a_field_and_all_says_to_give_one_of_them(cli: Cli) -> None:
    tid = cli.create("Something")
    proc = cli.run("resolve", tid, "subject", "--all", "--keep")
    assert proc.returncode == 1 and "not both" in proc.stderr, proc.stderr


# ---- undo ------------------------------------------------------------------------------------------------------


def test_undo_of_a_resolve_is_refused_in_plain_words(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path) -> None:
    """After a real two-clone conflict settled by `resolve --all`, undo says what the change was ("an resolve"
    before) and changes nothing."""
    a = init_repo(make_repo("a"), "laptop", inline=False)
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Contested")
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "desktop")
    b.ok("sync")
    a.ok("update", tid, "--subject", "From a")
    b.ok("update", tid, "--subject", "From b")
    a.ok("sync")
    b.ok("sync")
    assert b.json("conflicts"), "the two subjects make a conflict"
    b.ok("resolve", tid, "--all", "--ours")
    before = b.doc()
    proc = b.run("undo")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "an resolve" not in proc.stderr and "resolve" in proc.stderr, proc.stderr
    assert b.doc() == before
