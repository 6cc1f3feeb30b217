"""The dispatch and what the start-up cuts keep: machine entry points run before the CLI framework loads and print
what the CLI's commands of the same name print; a call registers only the command it runs yet help and suggestions
still see every command; the command functions run in-process; and the quick exit of the `gittasks` process loses no
output, no exit code and no exit handler."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from helpers import MakeRepo, call_gittasks, init_repo, run_gittasks


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


def test_a_long_listing_through_a_pipe_arrives_whole_and_errors_keep_their_code(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    ids = [cli.create(f"Task number {n} with a longer subject " + "x" * 200) for n in range(40)]
    proc = run_gittasks(cli.root, "list", "--json")
    assert proc.returncode == 0
    assert [t["id"] for t in json.loads(proc.stdout)] == ids
    missing = run_gittasks(cli.root, "show", "zzzzzz")
    assert missing.returncode == 1 and "no task with id 'zzzzzz'" in missing.stderr
    usage = run_gittasks(cli.root, "create")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_help_and_suggestions_see_every_command_though_a_call_builds_one(make_repo: MakeRepo) -> None:
    cli_repo = init_repo(make_repo(), inline=False)
    listing = call_gittasks(cli_repo.root, "--help")
    assert listing.returncode == 0
    for name in ("create", "list", "sync", "log", "recover", "hook", "mcp", "board", "doctor"):
        assert f"  {name} " in listing.stdout, name
    typo = call_gittasks(cli_repo.root, "crate")
    assert typo.returncode == 2 and "'create'" in typo.stderr
    one = call_gittasks(cli_repo.root, "create", "--help")
    assert one.returncode == 0 and "--blocked-by" in one.stdout
    group = call_gittasks(cli_repo.root, "hook", "--help")
    assert group.returncode == 0 and "capture" in group.stdout and "session-start" in group.stdout
    assert call_gittasks(cli_repo.root, "--repo", str(cli_repo.root), "list").returncode == 0


def test_a_command_runs_without_the_cycle_collector_and_the_mcp_server_runs_with_it(make_repo: MakeRepo) -> None:
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


def test_a_machine_entry_prints_what_the_cli_command_of_that_name_prints(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    cli.create("Open one")
    for args, payload in ((["--version"], None), (["hook", "session-end"], "{}"), (["hook", "capture"], "[1]"),
                          (["merge-driver", "only", "two"], None)):  # fmt: skip
        machine = call_gittasks(cli.root, *args, input=payload)
        typer_run = call_gittasks(cli.root, "--repo", str(cli.root), *args, input=payload)  # a global option: typer
        assert (machine.returncode, machine.stdout, machine.stderr) == (
            typer_run.returncode,
            typer_run.stdout,
            typer_run.stderr,
        ), args


def test_a_machine_entry_loads_no_cli_framework_and_a_call_registers_only_its_command(make_repo: MakeRepo) -> None:
    from gittasks.cli.app import GROUPS, build

    cli = init_repo(make_repo(), inline=False)
    probe = (
        "import sys\nfrom gittasks.main import main\ncode = main(sys.argv[1:])\n"
        "sys.stderr.write('loaded ' + ' '.join(m for m in ('typer', 'click') if m in sys.modules))\nsys.exit(code)\n"
    )

    def loaded(*args: str, payload: str = "") -> tuple[int, str]:
        proc = subprocess.run([sys.executable, "-c", probe, *args], cwd=cli.root, capture_output=True, text=True,
                              input=payload)  # fmt: skip
        return proc.returncode, proc.stderr.rsplit("loaded", 1)[-1].strip()

    assert loaded("--version") == (0, "")
    assert loaded("hook", "capture", payload="{}") == (0, "")
    assert loaded("merge-driver")[1] == ""
    assert loaded("list", "--json") == (0, "typer click")
    assert loaded("--repo", str(cli.root), "hook", "capture", payload="{}") == (0, "typer click")
    one = build(["list", "--json"])
    assert [info.name for info in one.registered_commands] == ["list"] and not one.registered_groups
    assert [info.name for info in build(["--repo", ".", "hook", "capture"]).registered_groups] == ["hook"]
    every = build(["--help"])
    names = [str(info.name) for info in every.registered_commands] + [str(g.name) for g in every.registered_groups]
    assert sorted(names) == sorted(name for group in GROUPS.values() for name in group)


def test_groups_name_the_commands_their_modules_define() -> None:
    from gittasks.cli.app import GROUPS

    for group, names in GROUPS.items():
        assert tuple(importlib.import_module(f"gittasks.cli.{group}").COMMANDS) == names, group


def test_a_command_function_runs_in_process(
    make_repo: MakeRepo, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    from gittasks.cli import output, task_commands

    cli = init_repo(make_repo(), inline=False)
    monkeypatch.setitem(output._state, "repo", cli.root)
    monkeypatch.setattr(output, "opened", [])
    capsys.readouterr()
    task_commands.create("Called as a function", owner="alice", file=["a.py"], as_json=True)
    made = json.loads(capsys.readouterr().out)
    assert made["owner"] == "alice" and made["context"]["files_modified"] == ["a.py"]
    task_commands.done(made["id"], outcome="done in-process")
    assert capsys.readouterr().out.startswith(made["id"])  # the list line of the completed task
    task_commands.show(made["id"][:4], as_json=True)
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
    assert cli.task(made["id"])["context"]["outcome"] == "done in-process"


def test_the_quick_exit_waits_for_a_thread_that_is_not_a_daemon() -> None:
    script = (
        "import threading, time\nfrom gittasks.main import end_process\n"
        "def late():\n    time.sleep(0.3)\n    print('thread done')\n"
        "threading.Thread(target=late).start()\nend_process(0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "thread done\n")


def test_list_json_after_a_change_edits_and_syncs_prints_what_the_parsed_list_holds(make_repo: MakeRepo) -> None:
    from gittasks import document

    cli = init_repo(make_repo(), inline=False)
    active = cli.root / ".claude" / "active-tasks.json"

    def expected() -> str:
        doc = document.load_document(active.read_bytes(), "x")
        return document.dump_json(document.canonical_view(doc)["tasks"]).decode()

    assert call_gittasks(cli.root, "list", "--json").stdout == "[]\n"
    first = cli.create('First, with text: äöü \\ " \u2028')
    cli.create("Second", "--blocked-by", first, "--meta", "k=v")
    state = json.loads((cli.root / ".git" / "gittasks-worktree.json").read_text())
    assert state["files"][".claude/active-tasks.json"][3] is True  # written by a change: canonical
    assert call_gittasks(cli.root, "list", "--json").stdout == expected()
    doc = json.loads(active.read_text())
    doc["tasks"][0]["owner"] = "edited by hand"
    active.write_text(json.dumps(doc, indent=4))  # another layout, not gittasks' bytes
    listed = call_gittasks(cli.root, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["owner"] == "edited by hand"
    assert listed.stdout == expected()
    assert call_gittasks(cli.root, "list", "--json").stdout == expected()
