"""Every task command through the real CLI, in real repositories: output, JSON, exit codes, one commit each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo


@pytest.fixture
def cli(make_repo: MakeRepo) -> Cli:
    return init_repo(make_repo())


def test_init_in_fresh_repo_without_commits_then_idempotent(make_repo: MakeRepo) -> None:
    root = make_repo()
    cli = Cli(root)
    out = cli.ok("init", "--inline")
    assert "merge driver" in out
    assert cli.commit_count() == 1
    assert json.loads((root / ACTIVE).read_text())["tasks"] == []
    attributes = (root / ".gitattributes").read_text()
    assert f"{ACTIVE} merge=gittasks" in attributes
    assert "merge-driver %O %A %B %P" in git(root, "config", "--get", "merge.gittasks.driver")
    assert "already set up" in cli.ok("init")
    assert cli.commit_count() == 1


def test_init_makes_repository_when_none(tmp_path: Path) -> None:
    target = tmp_path / "new"
    target.mkdir()
    cli = Cli(target)
    cli.ok("init", "--inline")
    assert (target / ".git").is_dir()
    assert (target / ACTIVE).exists()


def test_create_prints_id_and_json(cli: Cli) -> None:
    task_id = cli.create("Design authentication schema", "-d", "JWT", "--owner", "Agent", "--type", "research")
    assert len(task_id) >= 6
    task = cli.task(task_id)
    assert task["subject"] == "Design authentication schema"
    assert task["status"] == "pending"
    assert task["owner"] == "Agent"
    assert task["updated_by"] == "test-machine"
    data = cli.json("create", "Second", "--client", "Dataforth", "--project", "Tools", "--meta", "complexity=low")
    assert data["metadata"] == {"client": "Dataforth", "project": "Tools", "complexity": "low"}
    assert cli.json("show", data["id"])["id"] == data["id"]


def test_list_show_ready_checklist(cli: Cli) -> None:
    a = cli.create("Design")
    b = cli.create("Build", "--blocked-by", a)
    listed = cli.json("list")
    assert [t["id"] for t in listed] == [a, b]
    assert cli.task(a)["blocks"] == [b]
    assert cli.task(b)["blockedBy"] == [a]
    assert [t["id"] for t in cli.json("ready")] == [a]
    cli.ok("start", a, "--owner", "Coding Agent")
    assert "- [→] Design (in progress - Coding Agent)" in cli.ok("checklist")
    cli.ok("done", a)
    assert [t["id"] for t in cli.json("ready")] == [b]
    assert [t["id"] for t in cli.json("list", "--status", "completed")] == [a]
    out = cli.ok("checklist", "--detailed")
    assert "## Tasks\nOverall Status: In Progress (1 of 2 complete)" in out
    assert "### Completed\n- [✓] Design (<1 min)" in out
    shown = cli.ok("show", a)
    assert "Design" in shown and "completed" in shown
    cli.ok("block", b, "--reason", "waiting for keys")
    assert "- [!] Build (blocked: waiting for keys)" in cli.ok("checklist")
    assert "- [!] Build\n  - Blocked: waiting for keys" in cli.ok("checklist", "--detailed")


LEGAL = [
    ("pending", "start", "in_progress"),
    ("pending", "cancel", "cancelled"),
    ("pending", "block", "blocked"),
    ("in_progress", "done", "completed"),
    ("pending", "done", "completed"),  # through in_progress, in the same commit (started_at stamped too)
    ("blocked", "done", "completed"),
    ("in_progress", "block", "blocked"),
    ("in_progress", "cancel", "cancelled"),
    ("blocked", "start", "in_progress"),
    ("blocked", "cancel", "cancelled"),
    ("completed", "reopen", "pending"),
    ("cancelled", "reopen", "pending"),
]
ILLEGAL = [
    ("completed", "start"),
    ("completed", "block"),
    ("completed", "cancel"),
    ("cancelled", "start"),
    ("cancelled", "done"),
    ("pending", "reopen"),
    ("in_progress", "reopen"),
]


def _bring_to(cli: Cli, task_id: str, status: str) -> None:
    paths: dict[str, list[tuple[str, ...]]] = {
        "pending": [],
        "in_progress": [("start",)],
        "blocked": [("block", "--reason", "r")],
        "completed": [("start",), ("done",)],
        "cancelled": [("cancel",)],
    }
    path = paths[status]
    for step in path:
        cli.ok(step[0], task_id, *step[1:])
    assert cli.task(task_id)["status"] == status


@pytest.mark.parametrize(("start", "command", "end"), LEGAL)
def test_legal_transitions(cli: Cli, start: str, command: str, end: str) -> None:
    task_id = cli.create("Task")
    _bring_to(cli, task_id, start)
    before = cli.commit_count()
    extra = ("--reason", "because") if command == "block" else ()
    cli.ok(command, task_id, *extra)
    task = cli.task(task_id)
    assert task["status"] == end
    assert cli.commit_count() == before + 1
    if end in ("completed", "cancelled"):
        assert task["completed_at"]
    else:
        assert task["completed_at"] is None


@pytest.mark.parametrize(("start", "command"), ILLEGAL)
def test_illegal_transitions_refused_and_change_nothing(cli: Cli, start: str, command: str) -> None:
    task_id = cli.create("Task")
    _bring_to(cli, task_id, start)
    head, raw = cli.head(), (cli.root / ACTIVE).read_bytes()
    extra = ("--reason", "because") if command == "block" else ()
    err = cli.fail(command, task_id, *extra)
    assert err.startswith("gittasks: ") and len(err.strip().splitlines()) == 1
    assert cli.head() == head
    assert (cli.root / ACTIVE).read_bytes() == raw


def test_update_fields_dependencies_and_meta(cli: Cli) -> None:
    a = cli.create("A")
    b = cli.create("B")
    c = cli.create("C")
    data = cli.json("update", a, "--subject", "A2", "-d", "desc", "--active-form", "Doing A", "--owner", "me",
                    "--add-blocked-by", b, "--add-blocks", c, "--meta", "k=v", "--meta", "z=1")  # fmt: skip
    assert data["subject"] == "A2" and data["description"] == "desc" and data["activeForm"] == "Doing A"
    assert data["blockedBy"] == [b] and data["blocks"] == [c]
    assert cli.task(b)["blocks"] == [a] and cli.task(c)["blockedBy"] == [a]
    assert data["metadata"] == {"k": "v", "z": "1"}
    data = cli.json("update", a, "--remove-blocked-by", b, "--meta", "k=")
    assert data["blockedBy"] == [] and cli.task(b)["blocks"] == []
    assert data["metadata"] == {"z": "1"}
    data = cli.json("update", a, "--status", "blocked", "--reason", "keys")
    assert data["status"] == "blocked" and data["blocked_reason"] == "keys"


def test_dependency_cycles_and_self_links_refused(cli: Cli) -> None:
    a = cli.create("A")
    b = cli.create("B", "--blocked-by", a)
    c = cli.create("C", "--blocked-by", b)
    head = cli.head()
    assert "cycle" in cli.fail("update", a, "--add-blocked-by", c)
    assert "itself" in cli.fail("update", a, "--add-blocked-by", a)
    assert cli.head() == head
    assert cli.task(a)["blockedBy"] == []


def test_the_last_open_subtask_completes_the_parent(cli: Cli) -> None:
    parent = cli.create("Implement API authentication")
    kids = [cli.create(f"Part {i}", "--parent", parent) for i in range(3)]
    assert parent not in [t["id"] for t in cli.json("ready")]  # a parent with open subtasks is not offered
    cli.ok("cancel", kids[2])  # a cancelled subtask does not count
    cli.ok("start", kids[0])
    cli.ok("update", kids[0], "--meta", "x=1")
    proc = cli.run("done", kids[0])
    assert "completed " + parent not in proc.stderr and cli.task(parent)["status"] == "pending"
    before = cli.commit_count()
    proc = cli.run("done", kids[1])  # from pending: walks through in_progress
    assert proc.returncode == 0 and f"completed {parent} Implement API authentication: all 2 subtasks" in proc.stderr
    assert cli.commit_count() == before + 1  # the subtask and its parent in one commit
    done = cli.task(parent)
    assert done["status"] == "completed" and done["started_at"] and done["context"]["subtasks_completed"] == 2
    assert cli.task(kids[1])["started_at"]
    out = cli.ok("checklist")
    assert "  - [✓] Part 0" in out


def test_auto_completing_parents_can_be_turned_off(cli: Cli) -> None:
    git(cli.root, "config", "gittasks.autoCompleteParents", "false")
    parent = cli.create("Parent")
    kid = cli.create("Kid", "--parent", parent)
    proc = cli.run("done", kid)
    assert f"every subtask of {parent} is completed" in proc.stderr and cli.task(parent)["status"] == "pending"


def test_start_waits_for_blockers_unless_forced(cli: Cli) -> None:
    first = cli.create("Design schema")
    second = cli.create("Write migrations", "--blocked-by", first)
    head = cli.head()
    err = cli.fail("start", second)
    assert f"waits for {first} (Design schema)" in err and "--force" in err and cli.head() == head
    assert "waits for" in cli.fail("done", second)
    cli.ok("start", second, "--force")
    assert cli.task(second)["status"] == "in_progress"


def test_delete_removes_links(cli: Cli) -> None:
    a = cli.create("A")
    b = cli.create("B", "--blocked-by", a)
    deleted = cli.json("delete", a)
    assert deleted["id"] == a
    assert [t["id"] for t in cli.json("list")] == [b]
    assert cli.task(b)["blockedBy"] == []
    assert git(cli.root, "log", "-1", "--format=%s") == f'gittasks: delete {a} "A" (+1 linked)'  # keeps the subject


def test_unique_prefix_and_ambiguous_prefix(cli: Cli) -> None:
    doc = cli.doc()
    doc["tasks"] = [
        {"id": "abc1", "subject": "one", "status": "pending"},
        {"id": "abc2", "subject": "two", "status": "pending"},
        {"id": "xyz9", "subject": "three", "status": "pending"},
    ]
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    assert cli.json("show", "xy")["id"] == "xyz9"
    err = cli.fail("show", "abc")
    assert "ambiguous" in err and "abc1" in err and "abc2" in err
    assert "no task" in cli.fail("start", "nope")


def test_unknown_command_and_bad_options_exit_2(cli: Cli) -> None:
    cli.fail("frobnicate", code=2)
    cli.fail("create", code=2)
    cli.fail("list", "--status", "weird", code=1)


def test_outside_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    err = Cli(plain).fail("list")
    assert "not inside a git repository" in err


def test_repo_option_from_elsewhere(cli: Cli, tmp_path: Path) -> None:
    task_id = cli.create("Far away")
    other = Cli(tmp_path)
    listed = json.loads(other.ok("--repo", str(cli.root), "list", "--json"))
    assert [t["id"] for t in listed] == [task_id]


def test_subcommand_of_repo_works_from_subfolder(cli: Cli) -> None:
    sub = cli.root / "src" / "deep"
    sub.mkdir(parents=True)
    task_id = cli.create("From root")
    assert [t["id"] for t in json.loads(Cli(sub).ok("list", "--json"))] == [task_id]


def test_json_stdout_is_only_json(cli: Cli) -> None:
    proc = cli.run("create", "X", "--json")
    json.loads(proc.stdout)


def test_validate_and_doctor_on_good_repo(cli: Cli) -> None:
    cli.create("A")
    assert cli.ok("validate") == ""
    out = cli.ok("doctor")
    assert "merge driver registered" in out


def test_agents_and_blockers_are_recorded_in_the_context(cli: Cli) -> None:
    first = cli.create("Design schema")
    task = cli.create("Generate JWT authentication code")
    cli.ok("start", task, "--owner", "Coding Agent")
    [opened] = cli.task(task)["context"]["assigned_agents"]
    assert opened["agent"] == "Coding Agent" and opened["started"] and "completed" not in opened
    cli.ok("block", task, "--reason", "waiting for the signing keys")
    [blocker] = cli.task(task)["context"]["blockers_encountered"]
    assert blocker["reason"] == "waiting for the signing keys" and blocker["at"] and "resolved" not in blocker
    cli.ok("start", task)
    assert cli.task(task)["context"]["blockers_encountered"][0]["resolved"]
    cli.ok("update", task, "--owner", "Security Agent")
    agents = cli.task(task)["context"]["assigned_agents"]
    assert [(a["agent"], a.get("status")) for a in agents] == [("Coding Agent", "reassigned"), ("Security Agent", None)]
    cli.ok("done", task)
    agents = cli.task(task)["context"]["assigned_agents"]
    assert agents[1]["status"] == "completed" and agents[1]["completed"]
    assert "assigned_agents" not in cli.task(first).get("context", {})  # nothing recorded where nothing happened


def test_subtasks_bill_to_the_parents_client_and_update_sets_client_and_project(cli: Cli) -> None:
    job = cli.create("File server migration", "--client", "Dataforth", "--project", "FS-migration")
    copy = cli.create("Copy the shares", "--parent", job)
    other = cli.create("Check the other site", "--parent", job, "--client", "Globex")
    assert cli.task(copy)["metadata"] == {"client": "Dataforth", "project": "FS-migration"}
    assert cli.task(other)["metadata"] == {"client": "Globex", "project": "FS-migration"}
    cli.ok("update", other, "--client", "Dataforth", "--project", "")
    assert cli.task(other)["metadata"] == {"client": "Dataforth"}


def test_show_prints_json_values_never_python_reprs(cli: Cli) -> None:
    tid = cli.create("Rich context")
    doc = cli.doc()
    task = next(t for t in doc["tasks"] if t["id"] == tid)
    task["context"] = {"files_modified": ["a.py"], "production_ready": True, "outcome": None, "note": "plain"}
    task["zz_extra"] = {"k": [1, 2]}
    (cli.root / ACTIVE).write_text(json.dumps(doc))
    out = cli.ok("show", tid)
    assert '  files_modified: ["a.py"]' in out and "  production_ready: true" in out and "  outcome: null" in out
    assert "  note: plain" in out and 'zz_extra:       {"k":[1,2]}' in out
    assert "['a.py']" not in out and "True" not in out


def test_context_through_the_command_line(cli: Cli) -> None:
    tid = cli.create("Generate JWT authentication code", "--context", "user_request=Add JWT login",
                     "--context", 'environment={"python": "3.11"}', "--context", "production_ready=false",
                     "--requirement", "tokens expire", "--file", "src/auth.py")  # fmt: skip
    context = cli.task(tid)["context"]
    assert context == {"user_request": "Add JWT login", "environment": {"python": "3.11"}, "production_ready": False,
                       "requirements": ["tokens expire"], "files_modified": ["src/auth.py"]}  # fmt: skip
    cli.ok("update", tid, "--context", "environment.os=linux", "--context", "user_request=",
           "--file", "src/auth.py", "--file", "tests/test_auth.py", "--constraint", "no new deps")  # fmt: skip
    context = cli.task(tid)["context"]
    assert context["environment"] == {"python": "3.11", "os": "linux"} and "user_request" not in context
    assert context["files_modified"] == ["src/auth.py", "tests/test_auth.py"]  # appended, never repeated
    assert context["constraints"] == ["no new deps"]
    head = cli.head()
    assert "not an object" in cli.fail("update", tid, "--context", "production_ready.x=1")
    assert "KEY=VALUE" in cli.fail("update", tid, "--context", "oops")
    assert cli.head() == head
    before = cli.commit_count()
    cli.ok("done", tid, "--outcome", "JWT login works", "--file", "src/auth.py", "--file", "docs/auth.md")
    done = cli.task(tid)
    assert done["status"] == "completed" and done["context"]["outcome"] == "JWT login works"
    assert done["context"]["files_modified"] == ["src/auth.py", "tests/test_auth.py", "docs/auth.md"]
    assert cli.commit_count() == before + 1 and git(cli.root, "log", "-1", "--format=%s").startswith(
        f"gittasks: complete {tid}"
    )


def test_an_agents_result_is_taken_into_the_task(cli: Cli) -> None:
    design = cli.create("Design authentication schema", "--client", "Dataforth")
    result = {"status": "success", "outcome": "JWT with refresh tokens", "files_created": ["docs/auth.md"],
              "files_modified": ["src/auth/schema.py"], "production_ready": True, "billable_minutes": 30}  # fmt: skip
    cli.ok("done", design, "--result", "-", input=json.dumps(result))
    task = cli.task(design)
    assert task["status"] == "completed" and task["started_at"] and task["completed_at"]
    assert task["context"]["outcome"] == "JWT with refresh tokens" and task["context"]["production_ready"] is True
    assert task["context"]["files_created"] == ["docs/auth.md"]
    assert task["context"]["files_modified"] == ["src/auth/schema.py"]
    assert task["context"]["billable_minutes"] == 30
    assert cli.json("report")["totals"]["billable_minutes"] == 30  # the work item and the report see the minutes

    deploy = cli.create("Deploy to staging")
    (cli.root / "result.json").write_text(json.dumps({"status": "failed", "error": "no staging credentials",
                                                      "files_modified": ["deploy.sh"]}))  # fmt: skip
    cli.ok("done", deploy, "--result", str(cli.root / "result.json"), "--file", "notes.md")
    task = cli.task(deploy)
    assert task["status"] == "blocked" and task["blocked_reason"] == "no staging credentials"
    assert task["context"]["files_modified"] == ["deploy.sh", "notes.md"]
    assert task["context"]["blockers_encountered"][0]["reason"] == "no staging credentials"
    assert git(cli.root, "log", "--all", "-1", "--format=%s").startswith(f'gittasks: block {deploy} "Deploy')

    head = cli.head()
    for given, message in (("[1]", "not a JSON object"), ('{"status": "weird"}', "'weird' is not one of"),
                           ("{", "not JSON"), ('{"files_created": "a.py"}', "not a list of strings"),
                           ('{"billable_minutes": -5}', "whole number")):  # fmt: skip
        assert message in cli.fail("done", deploy, "--result", "-", input=given)
    assert "cannot read it" in cli.fail("done", deploy, "--result", str(cli.root / "missing.json"))
    assert cli.head() == head and cli.task(deploy) == task
