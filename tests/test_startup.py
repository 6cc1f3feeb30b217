"""What the start-up cuts keep: a call builds only the command it runs yet help and suggestions still see every
command, and the quick exit of the `gittasks` process loses no output, no exit code and no exit handler."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import init_repo, run_gittasks


def test_the_quick_exit_flushes_what_is_written_runs_exit_handlers_and_keeps_the_code() -> None:
    script = (
        "import atexit, sys\nfrom gittasks.main import end_process\n"
        "atexit.register(lambda: print('handler ran', flush=True))\n"
        "sys.stdout.write('x' * 300000)\nsys.stderr.write('err')\nend_process(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 3
    assert proc.stdout == "x" * 300000 + "handler ran\n"
    assert proc.stderr == "err"


def test_a_long_listing_through_a_pipe_arrives_whole_and_errors_keep_their_code(make_repo) -> None:  # type: ignore[no-untyped-def]
    cli = init_repo(make_repo(), inline=False)
    ids = [cli.create(f"Task number {n} with a longer subject " + "x" * 200) for n in range(40)]
    proc = run_gittasks(cli.root, "list", "--json")
    assert proc.returncode == 0
    assert [t["id"] for t in json.loads(proc.stdout)] == ids
    missing = run_gittasks(cli.root, "show", "zzzzzz")
    assert missing.returncode == 1 and "no task with id 'zzzzzz'" in missing.stderr
    usage = run_gittasks(cli.root, "create")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_help_and_suggestions_see_every_command_though_a_call_builds_one(make_repo) -> None:  # type: ignore[no-untyped-def]
    cli_repo = init_repo(make_repo(), inline=False)
    listing = run_gittasks(cli_repo.root, "--help")
    assert listing.returncode == 0
    for name in ("create", "list", "sync", "log", "recover", "hook", "mcp", "board", "doctor"):
        assert f"  {name} " in listing.stdout, name
    typo = run_gittasks(cli_repo.root, "crate")
    assert typo.returncode == 2 and "'create'" in typo.stderr
    one = run_gittasks(cli_repo.root, "create", "--help")
    assert one.returncode == 0 and "--blocked-by" in one.stdout
    group = run_gittasks(cli_repo.root, "hook", "--help")
    assert group.returncode == 0 and "capture" in group.stdout and "session-start" in group.stdout
    assert run_gittasks(cli_repo.root, "--repo", str(cli_repo.root), "list").returncode == 0


def test_a_command_runs_without_the_cycle_collector_and_the_mcp_server_runs_with_it(make_repo) -> None:  # type: ignore[no-untyped-def]
    cli = init_repo(make_repo(), inline=False)
    probe = (
        "import gc, sys\nfrom gittasks.cli import output\nfrom gittasks import main\n"
        "seen = []\norig = output.emit_json\n"
        "def spy(value):\n    seen.append(gc.isenabled())\n    orig(value)\n"
        "output.emit_json = spy\nsys.argv = ['gittasks', 'list', '--json']\n"
        "import atexit\natexit.register(lambda: sys.stderr.write(f'collector {seen}'))\nmain.entry()\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], cwd=cli.root, capture_output=True, text=True)
    assert proc.returncode == 0 and "collector [False]" in proc.stderr, proc.stderr
    server = (
        "import gc\ngc.disable()\nfrom gittasks.claude import mcp_server\nmcp_server.serve()\n"
        "import sys\nsys.stderr.write(f'collector {gc.isenabled()}')\n"
    )
    proc = subprocess.run([sys.executable, "-c", server], cwd=cli.root, capture_output=True, text=True, input="")
    assert proc.returncode == 0 and "collector True" in proc.stderr, proc.stderr


QUICK_SHAPES = [("list",), ("list", "--json"), ("ready",), ("--json", "ready"), ("show", "{id}"),
                ("show", "--json", "{id}"), ("show", "{prefix}"), ("show", "nosuch"), ("create", "Quick one"),
                ("create", "Quick two", "--json"), ("create", "")]  # fmt: skip


@pytest.mark.parametrize("layout", ["own-branch", "inline"])
def test_the_quick_shapes_print_what_the_typer_commands_print(make_repo, layout: str) -> None:  # type: ignore[no-untyped-def]
    cli = init_repo(make_repo(), inline=layout == "inline")
    first = cli.create("Waits for nothing")
    cli.create("Waits for the first", "--blocked-by", first)
    cli.ok("block", first, "--reason", "needs a key")
    for shape in QUICK_SHAPES:
        args = [a.format(id=first, prefix=first[:3].upper()) for a in shape]
        if args[:1] == ["--json"]:
            args = [*args[1:], "--json"]
        quick = run_gittasks(cli.root, *args)
        typer_run = run_gittasks(cli.root, "--repo", str(cli.root), *args)  # a global option: the typer path
        if args[0] == "create" and quick.returncode == 0:  # each made its own task: compare their shapes
            made = json.loads(quick.stdout)["id"] if "--json" in args else quick.stdout.strip()
            other = json.loads(typer_run.stdout)["id"] if "--json" in args else typer_run.stdout.strip()
            assert {cli.task(made)["subject"], cli.task(other)["subject"]} == {args[1]}, args
            assert (quick.returncode, quick.stderr) == (typer_run.returncode, typer_run.stderr), args
            continue
        assert (quick.returncode, quick.stdout, quick.stderr) == (
            typer_run.returncode,
            typer_run.stdout,
            typer_run.stderr,
        ), args


def test_a_quick_shape_loads_no_cli_framework_and_any_other_shape_goes_to_typer(make_repo) -> None:  # type: ignore[no-untyped-def]
    cli = init_repo(make_repo(), inline=False)
    tid = cli.create("Looked at")
    probe = (
        "import sys\nfrom gittasks.main import main\ncode = main(sys.argv[1:])\n"
        "sys.stderr.write('loaded ' + ' '.join(m for m in ('typer', 'click') if m in sys.modules))\nsys.exit(code)\n"
    )

    def loaded(*args: str) -> tuple[int, str]:
        proc = subprocess.run([sys.executable, "-c", probe, *args], cwd=cli.root, capture_output=True, text=True)
        return proc.returncode, proc.stderr.rsplit("loaded", 1)[-1].strip()

    for args in (["list"], ["list", "--json"], ["ready"], ["show", tid], ["show", tid, "--json"], ["create", "x"]):
        assert loaded(*args) == (0, ""), args
    assert loaded("list", "--status", "pending") == (0, "typer click")
    assert loaded("show", "-x")[0] == 2 and loaded("list", "--bogus")[0] == 2
    assert loaded("show")[0] == 2 and loaded("create")[0] == 2  # a missing value: typer's usage error
    assert loaded("list", "--json", "--json") == (0, "typer click")
    assert loaded("show", tid, "extra")[0] == 2


def test_the_quick_exit_waits_for_a_thread_that_is_not_a_daemon() -> None:
    script = (
        "import threading, time\nfrom gittasks.main import end_process\n"
        "def late():\n    time.sleep(0.3)\n    print('thread done')\n"
        "threading.Thread(target=late).start()\nend_process(0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "thread done\n")


def test_list_json_after_a_change_edits_and_syncs_prints_what_the_parsed_list_holds(make_repo) -> None:  # type: ignore[no-untyped-def]
    from gittasks import document

    cli = init_repo(make_repo(), inline=False)
    active = cli.root / ".claude" / "active-tasks.json"

    def expected() -> str:
        doc = document.load_document(active.read_bytes(), "x")
        return document.dump_json(document.canonical_view(doc)["tasks"]).decode()

    assert run_gittasks(cli.root, "list", "--json").stdout == "[]\n"
    first = cli.create('First, with text: äöü \\ " \u2028')
    cli.create("Second", "--blocked-by", first, "--meta", "k=v")
    state = json.loads((cli.root / ".git" / "gittasks-worktree.json").read_text())
    assert state["files"][".claude/active-tasks.json"][3] is True  # written by a change: canonical
    assert run_gittasks(cli.root, "list", "--json").stdout == expected()
    doc = json.loads(active.read_text())
    doc["tasks"][0]["owner"] = "edited by hand"
    active.write_text(json.dumps(doc, indent=4))  # another layout, not gittasks' bytes
    listed = run_gittasks(cli.root, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["owner"] == "edited by hand"
    assert listed.stdout == expected()
    assert run_gittasks(cli.root, "list", "--json").stdout == expected()
