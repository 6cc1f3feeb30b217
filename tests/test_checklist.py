"""The checklist views: the plain list, one parent's subtasks, and the seed's detailed view (overall status, sections
by status, durations, outcome and files, who works on what, blockers and what a task waits for).

End to end through the CLI in real repositories; the renderer's exact text with hand-built tasks and a fixed `now`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import doc, task, write_tasks
from helpers import Cli, MakeRepo, init_repo

from gittasks import render

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
HOSTILE = ("\x1b", "\x07", "\x9b", "\r")


@pytest.fixture
def cli(make_repo: MakeRepo) -> Cli:
    return init_repo(make_repo())


def seed_tasks() -> list[dict[str, Any]]:
    """The seed's example: a parent and five subtasks, two of them done."""
    return [
        task("p", subject="Implement API authentication", status="in_progress", started_at="2026-01-20T10:00:00Z"),
        task("d1", subject="Design authentication schema", parent="p", status="completed",
             started_at="2026-01-20T10:00:00Z", completed_at="2026-01-20T10:05:00Z", blocks=["d2"],
             context={"outcome": "JWT with refresh tokens", "files_modified": ["docs/auth.md", "src/auth/schema.py"]}),
        task("d2", subject="Implement JWT middleware", parent="p", status="completed", blockedBy=["d1"], blocks=["d3"],
             started_at="2026-01-20T10:05:00Z", completed_at="2026-01-20T10:17:30Z"),
        task("d3", subject="Write authentication tests", parent="p", status="in_progress", owner="test-writer",
             started_at="2026-01-20T11:58:00Z", blockedBy=["d2"], blocks=["d4"]),
        task("d4", subject="Security review", parent="p", blockedBy=["d3"]),
        task("d5", subject="Deploy to staging", parent="p", status="blocked",
             blocked_reason="waiting for staging credentials"),
    ]  # fmt: skip


SEED_VIEW = """\
## Task: Implement API authentication
Overall Status: In Progress (2 of 5 complete)

### Completed
- [✓] Design authentication schema (5 min)
  - Outcome: JWT with refresh tokens
  - Files: docs/auth.md, src/auth/schema.py
- [✓] Implement JWT middleware (12 min)

### In Progress
- [→] Write authentication tests
  - Assigned to: test-writer
  - Started: 2 minutes ago

### Pending
- [ ] Security review
  - Waiting for: Write authentication tests (d3)
- [!] Deploy to staging
  - Blocked: waiting for staging credentials"""


# -- the renderer, exactly --------------------------------------------------------------------------------------


def test_the_seed_view_exactly() -> None:
    assert render.checklist(doc(*seed_tasks()), detailed=True, parent="p", now=NOW) == SEED_VIEW


def test_unscoped_detailed_is_a_block_per_parent_then_the_other_tasks() -> None:
    tasks = [*seed_tasks(), task("o1", subject="Update the changelog", status="completed",
                                 created_at="2026-01-20T09:00:00Z", completed_at="2026-01-20T09:00:40Z"),
             task("o2", subject="Tidy imports")]  # fmt: skip
    out = render.checklist(doc(*tasks), detailed=True, now=NOW)
    assert out == SEED_VIEW + "\n\n" + "\n".join([
        "## Other tasks",
        "Overall Status: In Progress (1 of 2 complete)",
        "",
        "### Completed",
        "- [✓] Update the changelog (<1 min)",  # no started_at: from created_at
        "",
        "### Pending",
        "- [ ] Tidy imports",
    ])  # fmt: skip
    flat = render.checklist(doc(task("a", subject="Alone")), detailed=True, now=NOW)
    assert flat.splitlines()[:2] == ["## Tasks", "Overall Status: Not Started (0 of 1 complete)"]
    assert render.checklist(doc(), detailed=True, now=NOW) == "No tasks"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "<1 min"), (59.9, "<1 min"), (60, "1 min"), (5 * 60 + 59, "5 min"), (59 * 60, "59 min"), (3600, "1 h"),
     (3600 + 5 * 60 + 30, "1 h 5 min"), (26 * 3600 + 60, "26 h 1 min"), (-5, "<1 min")],
)  # fmt: skip
def test_durations_in_whole_minutes(seconds: float, text: str) -> None:
    assert render.minutes_text(seconds) == text


def test_duration_runs_from_the_start_else_the_creation_to_the_completion() -> None:
    def line(**fields: Any) -> str:
        out = render.checklist(doc(task("p", subject="P"), task("c", subject="C", parent="p", **fields)),
                               detailed=True, parent="p", now=NOW)  # fmt: skip
        return next(ln for ln in out.splitlines() if ln.startswith("- ["))

    done = {"status": "completed", "completed_at": "2026-01-20T11:05:00Z"}
    assert line(**done, started_at="2026-01-20T11:00:00Z") == "- [✓] C (5 min)"
    assert line(**done, created_at="2026-01-20T09:59:00Z") == "- [✓] C (1 h 6 min)"
    assert line(**done, started_at="2026-01-20T11:06:00Z") == "- [✓] C"  # a clock that went back: no duration
    assert line(status="completed", completed_at=None) == "- [✓] C"
    assert line(status="cancelled", completed_at="2026-01-20T11:05:00Z") == "- [✗] C"


@pytest.mark.parametrize(
    ("statuses", "text"),
    [
        (["pending", "pending"], "Not Started (0 of 2 complete)"),
        (["completed", "pending"], "In Progress (1 of 2 complete)"),
        (["pending", "in_progress", "blocked"], "In Progress (0 of 3 complete)"),
        (["completed", "blocked", "pending"], "Blocked (1 of 3 complete)"),
        (["completed", "completed"], "Completed (2 of 2 complete)"),
        (["completed", "cancelled"], "Completed (1 of 1 complete, 1 cancelled not counted)"),
        (["pending", "cancelled", "cancelled"], "Not Started (0 of 1 complete, 2 cancelled not counted)"),
        (["cancelled"], "Cancelled (0 of 0 complete, 1 cancelled not counted)"),
    ],
)
def test_overall_status_counts_the_subtasks_and_never_the_parent(statuses: list[str], text: str) -> None:
    kids = [task(f"c{i}", parent="p", status=s) for i, s in enumerate(statuses)]
    out = render.checklist(doc(task("p", status="completed"), *kids), detailed=True, parent="p", now=NOW)
    assert out.splitlines()[1] == f"Overall Status: {text}"
    if "cancelled" in statuses:
        assert "### Cancelled\n- [✗] Task c" in out


def test_a_parent_without_subtasks_says_so() -> None:
    d = doc(task("p", subject="Lonely", status="in_progress"))
    assert (
        render.checklist(d, detailed=True, parent="p", now=NOW)
        == "## Task: Lonely\nOverall Status: In Progress (no subtasks)"
    )
    assert render.checklist(d, parent="p", now=NOW) == "## Task: Lonely\n(no subtasks)"


def test_who_and_what_blocks_come_from_the_context_when_the_fields_are_empty() -> None:
    context = {"assigned_agents": [{"agent": "old", "started": "x", "completed": "y", "status": "reassigned"},
                                   {"agent": "code-writer", "started": "2026-01-20T11:00:00Z"}],
               "blockers_encountered": [{"reason": "old", "at": "x", "resolved": "y"},
                                        {"reason": "no keys", "at": "z"}],
               "files_created": ["src/new.py"], "files_modified": ["src/new.py", "src/old.py"]}  # fmt: skip
    d = doc(task("p", subject="P"), task("c", subject="C", parent="p", status="blocked", context=context))
    out = render.checklist(d, detailed=True, parent="p", now=NOW)
    assert out.endswith(
        "- [!] C\n  - Assigned to: code-writer\n  - Blocked: no keys\n  - Files: src/new.py, src/old.py"
    )


def test_subtasks_of_subtasks_nest_under_theirs_and_conflicts_keep_their_flag() -> None:
    d = doc(task("p", subject="P"), task("c", subject="C", parent="p", status="in_progress"),
            task("g", subject="G", parent="c", status="completed", context={"outcome": {"tests": 12}}),
            task("h", subject="H", parent="c", blockedBy=["x"]), task("x", subject="X elsewhere"),
            conflicts=[{"task": "g", "field": "owner"}, {"task": "p", "field": "subject"}])  # fmt: skip
    out = render.checklist(d, detailed=True, parent="p", now=NOW)
    assert out == "\n".join([
        "## Task: P  ⚠ conflict",
        "Overall Status: In Progress (0 of 1 complete)",
        "",
        "### In Progress",
        "- [→] C",
        "  - [✓] G  ⚠ conflict",
        "    - Outcome: {\"tests\":12}",
        "  - [ ] H",
        "    - Waiting for: X elsewhere (x)",
    ])  # fmt: skip
    assert render.checklist(d, parent="p", now=NOW) == "\n".join([
        "## Task: P  ⚠ conflict",
        "- [→] C (in progress)",
        "  - [✓] G (completed)  ⚠ conflict",
        "  - [ ] H",
    ])  # fmt: skip
    unscoped = render.checklist(d, detailed=True, now=NOW)
    assert "## Task: P  ⚠ conflict" in unscoped and "## Other tasks" in unscoped and "- [ ] X elsewhere" in unscoped


def test_a_parent_cycle_in_a_hand_edited_file_loses_no_task() -> None:
    d = doc(task("a", subject="A", parent="b"), task("b", subject="B", parent="a"), task("c", subject="C"))
    out = render.checklist(d, detailed=True, now=NOW)
    assert out.startswith("## Tasks\n") and all(f"- [ ] {s}" in out for s in "ABC")
    assert render.checklist(d, detailed=True, parent="a", now=NOW).endswith("### Pending\n- [ ] B")


def test_hostile_values_are_made_safe_by_the_renderer() -> None:
    evil = "x\x1b[31m\x07\x9b\r\ny"
    d = doc(task("p", subject=evil),
            task("c", subject=evil, parent="p", status="blocked", owner={"name": evil}, blocked_reason=evil,
                 blockedBy=["w"], context={"files_modified": [evil, 7], "outcome": evil}),
            task("w", subject=evil, parent="p", status="completed", context={"outcome": evil, "files_created": evil},
                 completed_at="2026-01-20T11:00:00Z"))  # fmt: skip
    for out in (render.checklist(d, detailed=True, parent="p", now=NOW), render.checklist(d, detailed=True, now=NOW),
                render.checklist(d, parent="p", now=NOW), render.checklist(d, now=NOW)):  # fmt: skip
        assert not any(c in out for c in HOSTILE), out
        assert "x\\x1b[31m\\x07\\x9b ⏎ y" in out
    detailed = render.checklist(d, detailed=True, parent="p", now=NOW)
    assert '  - Assigned to: {"name":"x\\u001b[31m\\u0007\\x9b\\r\\ny"}' in detailed  # JSON, never a Python repr


# -- through the CLI ---------------------------------------------------------------------------------------------


def _seed_repo(cli: Cli) -> dict[str, str]:
    ids = {"parent": cli.create("Implement API authentication")}
    ids["design"] = cli.create("Design authentication schema", "--parent", ids["parent"])
    ids["tests"] = cli.create("Write authentication tests", "--parent", ids["parent"], "--blocked-by", ids["design"])
    ids["review"] = cli.create("Security review", "--parent", ids["parent"], "--blocked-by", ids["tests"])
    ids["deploy"] = cli.create("Deploy to staging", "--parent", ids["parent"])
    cli.ok("done", ids["design"], "--outcome", "JWT with refresh tokens", "--file", "docs/auth.md",
           "--file", "src/auth/schema.py")  # fmt: skip
    cli.ok("start", ids["tests"], "--owner", "test-writer")
    cli.ok("block", ids["deploy"], "--reason", "waiting for staging credentials")
    return ids


def test_the_seed_shape_end_to_end(cli: Cli) -> None:
    ids = _seed_repo(cli)
    out = cli.ok("checklist", ids["parent"][:4], "--detailed")
    started = re.compile(r"  - Started: (\d+ seconds?|1 minute) ago")
    lines = out.splitlines()
    assert started.fullmatch(lines[11]), lines[11]
    assert lines[:11] + lines[12:] == [
        "## Task: Implement API authentication",
        "Overall Status: In Progress (1 of 4 complete)",
        "",
        "### Completed",
        "- [✓] Design authentication schema (<1 min)",  # done from pending: started and completed in one commit
        "  - Outcome: JWT with refresh tokens",
        "  - Files: docs/auth.md, src/auth/schema.py",
        "",
        "### In Progress",
        "- [→] Write authentication tests",
        "  - Assigned to: test-writer",
        "",
        "### Pending",
        "- [ ] Security review",
        f"  - Waiting for: Write authentication tests ({ids['tests']})",
        "- [!] Deploy to staging",
        "  - Blocked: waiting for staging credentials",
    ]
    cli.ok("cancel", cli.create("Old idea", "--parent", ids["parent"]))
    out = cli.ok("checklist", ids["parent"], "--detailed")
    assert "Overall Status: In Progress (1 of 4 complete, 1 cancelled not counted)" in out
    assert out.endswith("### Cancelled\n- [✗] Old idea\n")


def test_scoped_plain_checklist_and_the_unscoped_ones(cli: Cli) -> None:
    ids = _seed_repo(cli)
    cli.create("Review the token lifetime", "--parent", ids["review"])
    cli.create("Tidy imports")
    scoped = [
        "- [✓] Design authentication schema (completed)",
        "- [→] Write authentication tests (in progress - test-writer)",
        "- [ ] Security review",
        "  - [ ] Review the token lifetime",
        "- [!] Deploy to staging (blocked: waiting for staging credentials)",
    ]
    assert cli.ok("checklist", ids["parent"]).splitlines() == ["## Task: Implement API authentication", *scoped]
    assert cli.ok("checklist", ids["review"]) == "## Task: Security review\n- [ ] Review the token lifetime\n"
    plain = ["- [ ] Implement API authentication", *("  " + line for line in scoped), "- [ ] Tidy imports"]
    assert cli.ok("checklist").splitlines() == plain  # as before: every task in tree order, no heading
    detailed = cli.ok("checklist", "--detailed")
    assert detailed.startswith("## Task: Implement API authentication\nOverall Status: In Progress (1 of 4 complete)")
    assert "- [ ] Security review\n  - Waiting for" in detailed and "  - [ ] Review the token lifetime\n" in detailed
    assert detailed.endswith(
        "\n\n## Other tasks\nOverall Status: Not Started (0 of 1 complete)\n\n### Pending\n- [ ] Tidy imports\n"
    )


def test_an_unknown_or_ambiguous_parent_is_one_line_and_exit_1(cli: Cli) -> None:
    write_tasks(cli.root, [task("abc111", subject="One"), task("abc222", subject="Two", parent="abc111")])
    assert cli.ok("checklist", "abc1") == "## Task: One\n- [ ] Two\n"
    for given, message in (("zzzzzz", "no task with id 'zzzzzz'"), ("", "no task with id ''"),
                           ("abc", "id prefix 'abc' is ambiguous: abc111, abc222")):  # fmt: skip
        err = cli.fail("checklist", given, "--detailed")
        assert err.startswith(f"gittasks: {message}") and len(err.strip().splitlines()) == 1


def test_an_archived_parent_is_named_as_archived(cli: Cli) -> None:
    parent = cli.create("Shipped")
    cli.ok("done", parent)
    cli.ok("archive")
    err = cli.fail("checklist", parent)
    assert f"task {parent!r} is archived" in err and len(err.strip().splitlines()) == 1


def test_hostile_text_through_the_cli_is_printed_safely(cli: Cli) -> None:
    evil = "Title \x1b[31mRED\x1b]0;pwned\x07 \r\nsecond\tline \x9b"
    parent = cli.create(evil)
    kid = cli.create(evil, "--parent", parent, "--owner", evil)
    waiting = cli.create(evil, "--parent", parent, "--blocked-by", kid)
    cli.ok("start", kid)
    cli.ok("done", kid, "--outcome", evil, "--file", evil)
    cli.ok("block", waiting, "--reason", evil)
    for args in (
        ("checklist",),
        ("checklist", parent),
        ("checklist", parent, "--detailed"),
        ("checklist", "--detailed"),
    ):
        out = cli.ok(*args)
        assert not any(c in out for c in HOSTILE), args
        assert "Title \\x1b[31mRED\\x1b]0;pwned\\x07  ⏎ second line \\x9b" in out, args


def test_the_checklist_is_styled_through_the_views_one_paint() -> None:
    text = "\n".join(
        [
            "## Task: P",
            "Overall Status: In Progress (1 of 4 complete)",
            "",
            "### Completed",
            "- [✓] A (5 min)",
            "  - Outcome: - [!] not a mark here",
            "  - [→] B (in progress - me)",
            "- [ ] C",
            "- [!] D (blocked: r)",
            "- [✗] E (cancelled)",
        ]
    )
    tagged = render.painted_checklist(text, lambda line, style: f"<{style}>{line}")
    assert tagged.split("\n") == [
        "<heading>## Task: P",
        "<heading>Overall Status: In Progress (1 of 4 complete)",
        "",
        "<heading>### Completed",
        "<completed>- [✓] A (5 min)",
        "  - Outcome: - [!] not a mark here",
        "<in_progress>  - [→] B (in progress - me)",
        "- [ ] C",
        "<blocked>- [!] D (blocked: r)",
        "<cancelled>- [✗] E (cancelled)",
    ]
    assert render.painted_checklist(text) == text  # piped, NO_COLOR, TERM=dumb: the plain text, byte for byte
