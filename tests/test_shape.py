"""The shape of the code, as guards: what each path imports, and that the modules import each other without a cycle.

The import guards run the real entry point in a new interpreter (nothing is loaded in advance) and read
`sys.modules` after the command ran, so a stray import anywhere on a path fails here instead of slowing every call.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Cli, git, init_repo

PACKAGE = Path(__file__).resolve().parent.parent / "gittasks"
# what a read or the driver must never load: the schema, the git library, the diff library, the MCP SDK, the secret
# scanner, typer's rich formatting, and the board's template engine and graph layout
HEAVY = ("pydantic", "git", "deepdiff", "mcp", "detect_secrets", "rich", "typer.rich_utils", "jinja2", "grandalf",
         "importlib.metadata")  # fmt: skip
MARK = "@@loaded@@"


def loaded_heavy(cwd: Path, args: list[str], stdin: str | None = None) -> list[str]:
    """The HEAVY modules in `sys.modules` after `gittasks ARGS` ran in a new interpreter (asserting it succeeded)."""
    script = (
        "import sys\nfrom gittasks.main import main\n"
        f"code = main({args!r})\n"
        f"print({MARK!r} + repr(sorted(m for m in {HEAVY!r} if m in sys.modules)))\nsys.exit(code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, input=stdin)
    assert proc.returncode == 0, (args, proc.stderr)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(MARK))
    return list(ast.literal_eval(line[len(MARK) :]))


@pytest.fixture(params=[False, True], ids=["own-branch", "inline"])
def cli(request: pytest.FixtureRequest, make_repo) -> Cli:  # type: ignore[no-untyped-def]
    return init_repo(make_repo(), inline=request.param)


def test_the_read_path_loads_nothing_heavy(cli: Cli) -> None:
    tid = cli.create("Read me")
    cli.create("A part of it", "--parent", tid)
    for args in (["list"], ["list", "--status", "pending", "--json"], ["show", tid], ["ready"], ["checklist"],
                 ["checklist", "--detailed"], ["checklist", tid[:4], "--detailed"], ["recover"],
                 ["recover", "--json"], ["stats"], ["stats", "--json"]):  # fmt: skip
        assert loaded_heavy(cli.root, args) == [], args


def test_only_the_board_loads_its_template_engine_and_graph_layout(cli: Cli) -> None:
    cli.create("Shown")
    out = cli.root.parent / f"{cli.root.name}.html"
    assert {"jinja2", "grandalf"} <= set(loaded_heavy(cli.root, ["board", "--out", str(out)]))  # a real load
    assert loaded_heavy(cli.root, ["create", "Not a board"]) == []


def test_a_capture_loads_nothing_heavy_whether_it_changes_something_or_not(cli: Cli) -> None:
    def payload(tool: str, tool_input: dict[str, object]) -> str:
        response = {"task": {"id": "1"}} if tool == "TaskCreate" else {"success": True}
        return json.dumps(
            {"session_id": "s1", "hook_event_name": "PostToolUse", "tool_name": tool, "tool_input": tool_input,
             "tool_response": response, "cwd": str(cli.root)}
        )  # fmt: skip

    created = payload("TaskCreate", {"subject": "Native task"})
    assert loaded_heavy(cli.root, ["hook", "capture"], created) == []  # a change: no pydantic either (taskcheck)
    [task] = cli.json("list")
    assert task["subject"] == "Native task"
    commits = git(cli.root, "rev-list", "--all", "--count")
    for stdin in (payload("Read", {"file_path": "x"}), payload("TaskUpdate", {"taskId": "1", "status": "pending"})):
        assert loaded_heavy(cli.root, ["hook", "capture"], stdin) == []
    assert git(cli.root, "rev-list", "--all", "--count") == commits and cli.json("list") == [task]


def test_a_write_checks_without_pydantic_and_validate_runs_the_schema(cli: Cli) -> None:
    assert loaded_heavy(cli.root, ["create", "Written"]) == []
    assert [t["subject"] for t in cli.json("list")] == ["Written"]
    assert "pydantic" in loaded_heavy(cli.root, ["validate"])  # the guard sees a real load


def test_the_merge_driver_path_loads_nothing_heavy() -> None:
    code = (
        "import sys, gittasks.merge, gittasks.driver; "
        "bad = [m for m in ('pydantic', 'typer', 'git', 'rich', 'merge3', 'gittasks.cli', 'gittasks.schema') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"the merge path imported {out}"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the gittasks modules it imports (at the top or inside a function)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gittasks"):
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]  # fmt: skip
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("gittasks")]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycle() -> None:
    graph = _import_graph()
    assert len(graph) > 30 and "gittasks.workspace" in graph["gittasks.operations"]  # the graph is read
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(node) :], node]))
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, [*path, node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])


def test_only_doctor_and_validate_import_the_schema() -> None:
    importers = {name for name, deps in _import_graph().items() if "gittasks.schema" in deps}
    assert importers == {"gittasks.doctor", "gittasks.cli.setup_commands"}  # doctor, validate, schema; no write


CORE = {"errors", "rules", "ids", "jsonvalue", "tasktext", "document", "model", "edits", "query", "schema",
        "schema_table", "taskcheck", "work_items", "taskset", "merge", "trailers", "render", "recover", "work_report",
        "stats", "board", "activity", "schedule", "notes", "fieldwise", "journal", "next_work", "handover"}  # fmt: skip
# claude.hooks and claude.installer are shell (they decide and write); the hook commands and MCP server (its
# framing, its tools): front ends
FRONT = {"main", "driver", "cli", "__main__", "claude.hook_main", "claude.mcp_server", "claude.mcp_tools",
         "claude.jsonrpc", "claude.mcp_listing"}  # fmt: skip


def _layer(module: str) -> int:
    parts = module.split(".")[1:]
    top, sub = (parts[0] if parts else ""), ".".join(parts[:2])
    return 0 if top in CORE else 2 if top in FRONT or sub in FRONT else 1


def test_layers_import_downwards_only() -> None:
    """The module map (docs/internals.md): the pure core imports only the core; the shell never imports a front end."""
    wrong = [
        f"{name} -> {dep}"
        for name, deps in _import_graph().items()
        for dep in deps
        if name != "gittasks" and _layer(dep) > _layer(name)
    ]
    assert wrong == []


IO_MODULES = {"os", "subprocess", "shutil", "tempfile", "socket", "pathlib", "sys", "signal", "fcntl"}
# the core modules that may touch one, and why: errors reads its debug switch from the environment; schema is also
# a script that writes its generated table (`python -m gittasks.schema`)
CORE_IO_EXCEPTIONS = {"gittasks.errors": {"os"}, "gittasks.schema": {"os", "sys", "pathlib"}}


def test_the_core_does_no_io() -> None:
    """The pure core (CORE) imports no module that reaches files, processes or the environment: what it needs of
    them the shell hands it."""
    found: dict[str, set[str]] = {}
    seen = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if _layer(name) != 0 or name == "gittasks":
            continue
        seen.append(name)
        used = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                used |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                used.add(node.module.split(".")[0])
        wrong = (used & IO_MODULES) - CORE_IO_EXCEPTIONS.get(name, set())
        if wrong:
            found[name] = wrong
    assert found == {}
    assert {"gittasks.edits", "gittasks.merge.values", "gittasks.errors"} <= set(seen)  # the walk saw the core
