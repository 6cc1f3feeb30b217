"""The seed's worked example end to end, with gittasks commands and MCP calls alone: the API authentication request
broken into a parent and four dependent subtasks, agents taking them up and reporting results with files, a blocked
subtask, an MSP client job billed by the minute; then the detailed checklist, the invoice lines and the insights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import MakeRepo, init_repo
from mcp import Client
from test_mcp import ok, session


def test_the_api_authentication_request_end_to_end(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), "WS-A", inline=False)
    root: Path = cli.root
    # the orchestrator breaks the request down (the CLI)
    epic = cli.create("Implement API authentication", "--client", "Dataforth", "--project", "API",
                      "--context", "user_request=Add JWT authentication to the public API",
                      "--context", 'environment={"python": "3.11", "framework": "fastapi"}',
                      "--requirement", "tokens expire after one hour", "--constraint", "no new services")  # fmt: skip
    design = cli.create("Design authentication schema", "--parent", epic, "--type", "research")
    build = cli.create("Implement JWT middleware", "--parent", epic, "--blocked-by", design)
    tests = cli.create("Write authentication tests", "--parent", epic, "--blocked-by", build, "--type", "testing")
    review = cli.create("Security review", "--parent", epic, "--blocked-by", tests, "--type", "review")
    assert [t["id"] for t in cli.json("ready")] == [design]  # never the parent, never a task that waits
    assert cli.task(build)["metadata"] == {"client": "Dataforth", "project": "API"}  # subtasks bill to the job
    assert "waits for" in cli.fail("start", build)

    async def agents(client: Client) -> None:
        # the architect agent works through MCP and reports its result
        await ok(client, "task_update", taskId=design, status="in_progress", owner="architect")
        done = await ok(client, "task_update", taskId=design, result={
            "status": "success", "outcome": "JWT with refresh tokens", "files_created": ["docs/auth.md"],
            "files_modified": ["src/auth/schema.py"], "billable_minutes": 30, "production_ready": True,
        })  # fmt: skip
        assert done["status"] == "completed" and done["context"]["assigned_agents"][0]["status"] == "completed"
        ready = await ok(client, "task_ready")
        assert [t["id"] for t in ready["tasks"]] == [build]

    session(root, agents)
    # the coder agent reports through the CLI
    cli.ok("start", build, "--owner", "coder")
    result = {"status": "success", "outcome": "middleware in src/auth/jwt.py", "files_created": ["src/auth/jwt.py"],
              "dependencies_added": ["pyjwt"], "billable_minutes": 60}  # fmt: skip
    cli.ok("done", build, "--result", "-", input=json.dumps(result))
    # the test writer hits a wall, then goes on
    cli.ok("start", tests, "--owner", "test-writer")
    cli.ok("done", tests, "--result", "-", input=json.dumps({"status": "failed", "blocker": "CI runner offline"}))
    assert cli.task(tests)["status"] == "blocked" and cli.task(tests)["blocked_reason"] == "CI runner offline"
    cli.ok("start", tests)

    view = cli.ok("checklist", epic, "--detailed")
    assert "## Task: Implement API authentication" in view
    assert "Overall Status: In Progress (2 of 4 complete)" in view
    assert view.index("### Completed") < view.index("### In Progress") < view.index("### Pending")
    assert "  - Outcome: JWT with refresh tokens" in view and "docs/auth.md" in view
    assert "  - Assigned to: test-writer" in view and "  - Started: " in view
    assert f"  - Waiting for: Write authentication tests ({tests})" in view

    cli.ok("done", tests, "--result", "-", input=json.dumps({"status": "success", "outcome": "24 tests pass",
                                                              "files_created": ["tests/test_auth.py"],
                                                              "billable_minutes": 45}))  # fmt: skip

    async def reviewer(client: Client) -> None:
        await ok(client, "task_update", taskId=review, status="in_progress", owner="security-reviewer")
        await ok(client, "task_update", taskId=review, status="completed", outcome="no findings", minutes=15,
                 metadata={"category": "security review"})  # fmt: skip

    session(root, reviewer)
    parent = cli.task(epic)
    assert parent["status"] == "completed" and parent["context"]["subtasks_completed"] == 4  # with its last subtask
    assert "blockers_encountered" not in cli.task(build)["context"]
    blockers = cli.task(tests)["context"]["blockers_encountered"]
    assert [b["reason"] for b in blockers] == ["CI runner offline"] and blockers[0]["resolved"]

    view = cli.ok("checklist", epic, "--detailed")
    assert "Overall Status: Completed (4 of 4 complete)" in view and "### Pending" not in view

    invoice = cli.json("report", "--items")
    lines = {i["linked_task_id"]: i for i in invoice["items"]}
    assert set(lines) == {design, build, tests, review}
    assert {k: lines[k]["billable_minutes"] for k in lines} == {design: 30, build: 60, tests: 45, review: 15}
    assert lines[review]["category"] == "security review" and lines[design]["category"] == "research"
    assert lines[build]["solution"] == "middleware in src/auth/jwt.py" and lines[build]["client"] == "Dataforth"
    report = cli.json("report", "--client", "Dataforth")
    assert report["totals"]["billable_minutes"] == invoice["totals"]["billable_minutes"] == 150
    table = cli.ok("report", "--items")
    assert "Dataforth" in table and "2.50" in table  # 150 minutes, two decimals

    history: list[dict[str, Any]] = cli.json("log", epic)
    assert history[0]["action"] == "complete" and history[0]["changes"]["status"]["to"] == "completed"

    insights = cli.json("stats", "--client", "Dataforth")
    assert insights["reviews"] == {"completed": 1, "passed": 1, "failed": [], "pass_rate": 1.0}
    by_agent = {row["agent"]: row["tasks"] for row in insights["throughput"]["agents"]}
    assert {"architect", "coder", "test-writer", "security-reviewer"} <= set(by_agent)
    assert {row["type"] for row in insights["cycle_time"]["by_type"]} >= {"research", "testing", "review"}
    necks = insights["bottlenecks"]
    assert {row["id"] for row in necks["top"]} == {design, build, tests}  # each held the next one up
    assert necks["blocked_tasks"] == 1  # the test writer's wait for the CI runner
    assert "reviews: 1 completed, 1 passed" in cli.ok("stats")
