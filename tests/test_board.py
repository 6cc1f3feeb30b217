"""`gittasks board`: the page written from the task history, its data (cards, panels, each task's history), its
escaping, graph, conflicts and timelines, the bad input it refuses, its speed on the benches' data set, `--serve`
following a sync, and the page in a real browser: a small board, and 5,000 tasks driven by keyboard and mouse."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, MakeRepo, git, init_repo
from hypothesis import given
from hypothesis import strategies as st

from gittasks import board, board_server
from gittasks.board import graph
from gittasks.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import chromium  # noqa: E402
import dataset  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"
CHROMIUM = chromium.find()
NO_BROWSER = "Chromium is not installed (apt-get install chromium): no browser test"


def clone(remote: Path, path: Path, machine: str) -> Cli:
    git(path.parent, "clone", "-q", str(remote), str(path))
    return Cli(path, machine)


def two_clones(make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool) -> tuple[Cli, Cli]:
    a = init_repo(make_repo("a"), "WS-A", inline=inline)
    a.ok("init", *(["--inline"] if inline else []), "--remote", str(bare_remote))
    a.ok("sync")
    b = clone(bare_remote, tmp_path / "b", "WS-B")
    return a, b


def page(cli: Cli, *args: str) -> str:
    out = cli.root.parent / f"{cli.root.name}-board.html"
    assert cli.ok("board", "--out", str(out), *args).startswith("wrote ")
    return out.read_text(encoding="utf-8")


def data(text: str) -> dict[str, Any]:
    """The page's data: the JSON document its script draws the cards, panels and graph from."""
    [found] = re.findall(r'<script type="application/json" id="board-data">(.*?)</script>', text, re.S)
    return dict(json.loads(found))


def tasks_of(text: str) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in data(text)["tasks"]}


def sample(cli: Cli) -> dict[str, str]:
    """A parent with three subtasks (one completed), a chain of blockers, a hostile subject, one archived task."""
    ids = {"parent": cli.create("Ship the API", "--owner", "Orchestrator", "--client", "acme", "--project", "web")}
    ids["design"] = cli.create("Design schema", "--parent", ids["parent"], "--type", "research")
    ids["code"] = cli.create("Write code", "--parent", ids["parent"], "--blocked-by", ids["design"])
    ids["tests"] = cli.create(HOSTILE, "--parent", ids["parent"], "--blocked-by", ids["code"], "--owner", "alice")
    ids["old"] = cli.create("Old chore")
    cli.ok("done", ids["old"])
    cli.ok("archive")
    cli.ok("start", ids["design"], "--owner", "Coding Agent")
    cli.ok("done", ids["design"])
    return ids


def test_board_writes_one_self_contained_page_of_every_task(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    ids = sample(cli)
    before = git(cli.root, "rev-list", "--all", "--count")
    text = page(cli)
    found = data(text)
    assert sorted(t["id"] for t in found["tasks"]) == sorted(ids.values())  # every task once, the archived one too
    tasks = tasks_of(text)
    assert [i for i, t in tasks.items() if t["archived"]] == [ids["old"]]  # behind the toggle
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text) and "@import" not in text  # nothing to fetch
    assert "fetch(" not in text  # (only a served page asks its server for the version)
    assert [c[0] for c in found["columns"]] == ["pending", "in_progress", "blocked", "completed", "cancelled"]
    assert found["collapsed"] == ["completed", "cancelled"]  # ended work: the column's head until opened
    assert tasks[ids["parent"]]["progress"] == [1, 3]  # the parent's progress
    assert git(cli.root, "rev-list", "--all", "--count") == before and git(cli.root, "status", "--porcelain") == ""
    default = cli.ok("board").strip().removeprefix("wrote ")
    assert Path(default).is_file() and Path(default).parent.name == ".git"  # never in the work tree


def test_a_card_opens_to_its_description_relations_and_history(make_repo: MakeRepo, inline: bool) -> None:
    """The panel's data: description, context, metadata, parent and subtasks, blockers both ways, and the task's own
    history from the task branch's log: every commit that names it (an edit of its description too), newest first;
    a `commits` list for the code commits, empty."""
    cli = init_repo(make_repo(), inline=inline)
    ids = sample(cli)
    cli.ok("update", ids["code"], "-d", "Line one\nline two", "--context", "files=src/api.py")
    cli.ok("start", ids["code"])
    tasks = tasks_of(page(cli))
    code = tasks[ids["code"]]
    assert code["description"] == "Line one\nline two" and code["context"] == [["files", "src/api.py"]]
    assert code["parent"] == ids["parent"] and code["blockedBy"] == [ids["design"]] and code["blocks"] == [ids["tests"]]
    assert sorted(tasks[ids["parent"]]["subtasks"]) == sorted([ids["design"], ids["code"], ids["tests"]])
    assert [(h["action"], h["what"]) for h in code["history"]] == [
        ("start", "status pending → in_progress"),
        ("update", ""),  # its description: no tracked field, still its history
        ("create", "linked to a new task"),  # the tests task, blocked by it
        ("create", "added"),
    ]
    assert code["history"][3]["machine"] == "test-machine"
    assert re.fullmatch(r"[0-9a-f]{10}", code["history"][0]["commit"])  # the commit, as `git log` shortens it
    assert code["created"].endswith("Z") and code["started"].endswith("Z") and code["updated"].endswith("Z")
    assert all(h["when"].endswith("Z") for h in code["history"])  # (a commit's date, with its offset, as UTC)
    assert tasks[ids["parent"]]["metadata"] == [["client", "acme"], ["project", "web"]]
    assert all(t["commits"] == [] for t in tasks.values())


def test_a_cards_panel_lists_the_code_commits_that_name_its_task(make_repo: MakeRepo, inline: bool) -> None:
    """The code commits naming a task (a `Task: ID` trailer, by id or prefix, on any code branch) reach its panel's
    data: hash, branch, time (UTC), author and subject, made safe; an archived task's too; gittasks' own commits
    (inline: on the same branch) are no code commits. `--serve`'s version follows a code branch that moves."""
    cli = init_repo(make_repo(), inline=inline)
    tid = cli.create("Speed up the limiter")
    old = cli.create("Old chore")
    other = cli.create("Named by no commit")
    who = {"GIT_AUTHOR_NAME": "Ann Example", "GIT_AUTHOR_EMAIL": "ann@example.com"}
    git(cli.root, "commit", "-q", "--allow-empty", "-m", "Tune the \x1b[31mlimiter", "--trailer", f"Task: {tid}",
        env=who)  # fmt: skip
    tuned = git(cli.root, "rev-parse", "HEAD")
    empty = git(cli.root, "hash-object", "-t", "tree", "-w", os.devnull)
    made = git(cli.root, "commit-tree", empty, "-m", f"Clean up\n\nTask: {old[:4].upper()}",
               env={**who, "GIT_AUTHOR_NAME": "Bo"})  # fmt: skip
    git(cli.root, "update-ref", "refs/heads/feature", made)  # a code branch never checked out here
    cli.ok("done", old)
    cli.ok("archive")
    ws = Workspace.open(cli.root)
    served = board_server.served_version(ws)
    text = page(cli)
    tasks = tasks_of(text)
    [shown] = tasks[tid]["commits"]
    assert shown == {"commit": tuned, "branch": "main", "when": shown["when"], "author": "Ann Example",
                     "subject": "Tune the \\x1b[31mlimiter"}  # fmt: skip
    stamp = datetime.fromisoformat(shown["when"].replace("Z", "+00:00"))
    assert shown["when"].endswith("Z") and abs((datetime.now(UTC) - stamp).total_seconds()) < 120
    assert tasks[old]["archived"] and [(c["commit"], c["branch"], c["author"]) for c in tasks[old]["commits"]] == [
        (made, "feature", "Bo")
    ]
    assert tasks[other]["commits"] == []
    # and in the timeline's code commits lane (both made in the same second: in either order)
    [lane] = re.findall(r"<div class=\"lane\" data-code-lane>.*?</div>", text, re.S)
    found = re.findall(r"<code>([0-9a-f]{10})</code> on (\w+) by ([\w ]+):", lane)
    assert sorted(found) == sorted([(tuned[:10], "main", "Ann Example"), (made[:10], "feature", "Bo")])
    later = git(cli.root, "commit-tree", empty, "-p", made, "-m", f"More\n\nTask: {other}")
    time.sleep(0.01)
    git(cli.root, "update-ref", "refs/heads/feature", later)
    assert board_server.served_version(ws) != served and board_server.served_version(ws).startswith(served[:40])
    _, text = board_server.page(ws, live=True)
    assert [c["commit"] for c in tasks_of(text)[other]["commits"]] == [later]


def test_a_hostile_subject_is_text_on_the_page(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    ending = "</script><script>alert(3)</script><!--"
    tid = cli.create(HOSTILE, "--owner", '"><script>alert(2)</script>', "-d", ending)
    text = page(cli)
    assert "<img src=x" not in text and "<script>alert(2)" not in text and "alert(3)</script>" not in text
    assert text.count("<script") == 2 and text.count("</script>") == 2  # the data's and the code's: nothing closes one
    task = tasks_of(text)[tid]  # the data reads back to the very text
    assert task["subject"] == HOSTILE and task["description"] == ending
    assert "<option>&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;</option>" in text  # the owner filter: escaped


@given(st.text())
def test_the_data_can_never_close_its_script_element(value: str) -> None:
    encoded = board.script_json({"subject": value, "lines": [value, value[::-1]]})
    assert not {"<", ">", "&"} & set(encoded)
    assert json.loads(encoded) == {"subject": value, "lines": [value, value[::-1]]}


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_a_graph_label_wraps_in_two_lines_and_ends_in_an_ellipsis_only_when_cut(subject: str) -> None:
    lines = graph.wrap_label(subject)
    assert 1 <= len(lines) <= graph.LABEL_LINES and all(len(line) <= graph.LABEL_CHARS for line in lines)
    whole, got = "".join(subject.split()), "".join(" ".join(lines).split())  # (spaces aside)
    assert got == whole or (got.endswith("…") and whole.startswith(got[:-1]) and len(got) - 1 < len(whole))
    if len(subject) <= graph.LABEL_CHARS:
        assert got == whole  # what fits one line is never cut


def test_a_long_subject_is_not_cut_at_28_characters_in_the_graph() -> None:
    subject = "Rewrite the session token refresh for mobile"  # 45 characters: two lines, whole
    assert graph.wrap_label(subject) == ["Rewrite the session token", "refresh for mobile"]


def test_the_graph_has_an_edge_per_dependency_and_the_longest_open_chain(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    ids = sample(cli)
    other = cli.create("Side task", "--blocked-by", ids["design"])
    drawn = data(page(cli))["graph"]
    edges = [(e["from"], e["to"], e["chain"]) for e in drawn["edges"]]
    assert sorted((f, t) for f, t, _ in edges) == sorted(
        [(ids["design"], ids["code"]), (ids["code"], ids["tests"]), (ids["design"], other)]
    )
    assert [(f, t) for f, t, chain in edges if chain] == [(ids["code"], ids["tests"])]  # design is completed
    assert drawn["chain"] == [ids["code"], ids["tests"]]
    tops = {n["id"]: n["y"] for n in drawn["nodes"]}  # blockers above what they block
    assert tops[ids["design"]] < tops[ids["code"]] < tops[ids["tests"]]
    assert {n["id"]: n["lines"] for n in drawn["nodes"]}[ids["tests"]] == [HOSTILE]


def test_conflicts_show_both_values_machines_and_the_resolve_command(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool
) -> None:
    a, b = two_clones(make_repo, bare_remote, tmp_path, inline)
    tid = a.create("Owned")
    a.ok("sync")
    b.ok("sync")
    a.ok("update", tid, "--owner", "alice")
    b.ok("update", tid, "--owner", "bob")
    a.ok("sync")
    b.ok("sync")
    text = page(b)
    [row] = re.findall(r'<tr class="conflict".*?</tr>', text, re.S)
    assert "alice" in row and "bob" in row and "(WS-A)" in row and "(WS-B)" in row
    assert f"gittasks resolve {tid} owner --keep" in row
    assert f'data-open="{tid}"' in row  # the task's id opens its panel
    assert tasks_of(text)[tid]["conflicts"] == 1 and "Conflicts (1)" in text
    # the timeline has both machines
    assert 'data-machine-lane="WS-A"' in text and 'data-machine-lane="WS-B"' in text


def test_timelines_per_machine_and_agent_newest_first() -> None:
    entries = [
        {"when": "2026-01-01T10:00:00.000Z", "machine": "m1", "action": "create", "task": "1", "kind": "added",
         "changes": {"status": {"from": None, "to": "pending"}}},
        {"when": "2026-01-01T11:00:00.000Z", "machine": "m2", "action": "start", "task": "1", "kind": "changed",
         "changes": {"owner": {"from": None, "to": "agent-x"}, "status": {"from": "pending", "to": "in_progress"}}},
        {"when": "2026-01-01T12:00:00.000Z", "machine": "m1", "action": "complete", "task": "1", "kind": "changed",
         "changes": {"status": {"from": "in_progress", "to": "completed"}}},
    ]  # fmt: skip
    machines, agents = board.timelines(entries, {"1": "Task one"})
    assert [(lane.name, [e["action"] for e in lane.entries]) for lane in machines] == [
        ("m1", ["complete", "create"]),
        ("m2", ["start"]),
    ]
    assert [(lane.name, [e["action"] for e in lane.entries]) for lane in agents] == [("agent-x", ["complete", "start"])]
    [(items, more)] = board.histories(entries).values()
    assert [i["action"] for i in items] == ["complete", "start", "create"] and more == 0


def test_code_commits_join_the_timelines_under_the_tasks_owner_then_and_in_a_lane_of_their_own() -> None:
    """A code commit naming a task has no machine: it goes in the lane of the task's owner at the commit's time
    (among the changes by time), and in the code commits' lane after the machines', once per task it names, the
    newest first and as many as a lane shows; the page shows its time in local time, the UTC stamp on hover."""
    entries = [
        {"when": "2026-01-01T10:00:00.000Z", "machine": "m1", "action": "create", "task": "1", "kind": "added",
         "changes": {"status": {"from": None, "to": "pending"}}},
        {"when": "2026-01-01T10:30:00.000Z", "machine": "m1", "action": "create", "task": "2", "kind": "added",
         "changes": {"status": {"from": None, "to": "pending"}}},
        {"when": "2026-01-01T11:00:00.000Z", "machine": "m2", "action": "start", "task": "1", "kind": "changed",
         "changes": {"owner": {"from": None, "to": "agent-x"}, "status": {"from": "pending", "to": "in_progress"}}},
        {"when": "2026-01-01T13:00:00.000Z", "machine": "m1", "action": "update", "task": "1", "kind": "changed",
         "changes": {"owner": {"from": "agent-x", "to": "agent-y"}}},
    ]  # fmt: skip
    # at 12:30 UTC agent-x has task 1; at 10:15 it has no owner yet
    both = {"commit": "b" * 40, "branch": "main", "when": "2026-01-01T13:30:00+01:00", "author": "Ann",
            "subject": "Tune the limiter"}  # fmt: skip
    early = {"commit": "a" * 40, "branch": "feature", "when": "2026-01-01T10:15:00Z", "author": "Bo",
             "subject": "Spike"}  # fmt: skip
    started = {**early, "commit": "c" * 40, "when": "2026-01-01T11:00:00Z"}  # (to the second: after the start)
    commits = {"1": [both, started, early], "2": [both]}
    machines, agents = board.timelines(entries, {"1": "Task one", "2": "Task two"}, commits=commits)
    assert [(lane.name, lane.code) for lane in machines] == [("m1", False), ("m2", False), (board.CODE_LANE, True)]
    assert all(e["action"] != "code-commit" for lane in machines[:2] for e in lane.entries)
    code = machines[-1]
    assert [(e["when"], e["task"], e["commit"]) for e in code.entries] == [
        ("2026-01-01T12:30:00.000Z", "2", "b" * 10),
        ("2026-01-01T12:30:00.000Z", "1", "b" * 10),
        ("2026-01-01T11:00:00Z", "1", "c" * 10),
        ("2026-01-01T10:15:00Z", "1", "a" * 10),
    ]  # newest first, the time as UTC; one entry per task the commit names
    assert code.entries[0] == {"when": "2026-01-01T12:30:00.000Z", "action": "code-commit", "task": "2",
                               "subject": "Task two", "what": "Tune the limiter", "machine": "", "commit": "b" * 10,
                               "branch": "main", "author": "Ann"}  # fmt: skip
    assert [(lane.name, [(e["action"], e["when"][11:16]) for e in lane.entries]) for lane in agents] == [
        ("agent-x", [("code-commit", "12:30"), ("code-commit", "11:00"), ("start", "11:00")]),
        ("agent-y", [("update", "13:00")]),
    ]  # task 2 never had an owner: its commit is in the code lane only
    assert board.timelines(entries, {}, commits={})[0] == board.timelines(entries, {})[0]  # no commit, no lane

    many = {"1": [{**early, "commit": f"{n:040x}", "when": f"2026-01-02T{n // 60:02d}:{n % 60:02d}:00Z"}
                  for n in range(65)]}  # fmt: skip
    [*_, lane] = board.timelines(entries, {}, commits=many)[0]
    assert lane.code and len(lane.entries) == board.TIMELINE_LIMIT and lane.more == 65 - board.TIMELINE_LIMIT
    assert [e["commit"] for e in lane.entries] == [f"{n:040x}"[:10] for n in range(64, 4, -1)]  # the newest 60

    tasks = [{"id": "1", "subject": "Task one", "status": "in_progress", "owner": "agent-y"},
             {"id": "2", "subject": "Task two", "status": "pending"}]  # fmt: skip
    hostile = {"2": [{**both, "subject": HOSTILE, "author": HOSTILE}]}
    text = board.html(board.build(tasks, [], [], entries, NOW, commits=hostile))
    [lane_html] = re.findall(r"<div class=\"lane\" data-code-lane>.*?</div>", text, re.S)
    stamp = "2026-01-01T12:30:00.000Z"
    assert f'<time class="local" datetime="{stamp}" title="{stamp} (UTC)">' in lane_html
    assert "<img" not in lane_html and "&lt;img src=x" in lane_html and 'data-open="2"' in lane_html


def test_bad_board_options_are_one_line_errors_that_change_nothing(
    make_repo: MakeRepo, tmp_path: Path, inline: bool
) -> None:
    cli = init_repo(make_repo(), inline=inline)
    cli.create("One")
    before = git(cli.root, "rev-list", "--all", "--count")
    for args, words in (
        (["--out", str(tmp_path / "missing" / "b.html")], "does not exist"),
        (["--out", str(tmp_path)], "is a folder"),
        (["--serve", "--out", str(tmp_path / "b.html")], "give one of them"),
    ):
        err = cli.fail("board", *args)
        assert words in err and len(err.strip().splitlines()) == 1, err
    assert "65535" in cli.fail("board", "--serve", "--port", "70000", code=2)
    assert not (tmp_path / "b.html").exists()
    assert git(cli.root, "rev-list", "--all", "--count") == before


NOW = datetime(2026, 3, 1, tzinfo=UTC)


def history_of(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A status log as `status_log.status_log` gives it for the data set's tasks: each created, started (taking an
    owner) and ended on its machine, oldest first."""
    entries: list[dict[str, Any]] = []
    for t in tasks:
        machine = t["updated_by"] or "m"
        entries.append({"when": t["created_at"], "machine": machine, "action": "create", "task": t["id"],
                        "kind": "added", "commit": f"{len(entries):040x}",
                        "changes": {"status": {"from": None, "to": "pending"}}})  # fmt: skip
        if t["started_at"]:
            entries.append({"when": t["started_at"], "machine": machine, "action": "start", "task": t["id"],
                            "kind": "changed", "commit": f"{len(entries):040x}",
                            "changes": {"owner": {"from": None, "to": t["owner"]},
                                        "status": {"from": "pending", "to": "in_progress"}}})  # fmt: skip
        if t["completed_at"]:
            entries.append({"when": t["completed_at"], "machine": machine, "action": "complete", "task": t["id"],
                            "kind": "changed", "commit": f"{len(entries):040x}",
                            "changes": {"status": {"from": "in_progress", "to": t["status"]}}})  # fmt: skip
    return sorted(entries, key=lambda e: e["when"])


def test_a_thousand_tasks_render_in_under_two_seconds() -> None:
    """The benches' data set (bench/dataset.py): 1,000 tasks of every status, parents, dependencies, clients."""
    tasks = dataset.make_tasks(1000, random.Random(1), NOW)
    entries = history_of(tasks)
    start = time.perf_counter()
    text = board.html(board.build(tasks, [], [], entries, NOW))
    took = time.perf_counter() - start
    assert len(data(text)["tasks"]) == 1000
    assert took < 2.0, f"1,000 tasks took {took:.2f} s"


def _serve(cli: Cli) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gittasks", "board", "--serve", "--port", "0"],
        cwd=cli.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert found, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
    return proc, found.group()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def test_serve_shows_a_change_synced_from_another_clone(
    make_repo: MakeRepo, bare_remote: Path, tmp_path: Path, inline: bool
) -> None:
    a, b = two_clones(make_repo, bare_remote, tmp_path, inline)
    a.create("First task")
    a.ok("sync")
    b.ok("sync")
    proc, url = _serve(a)
    try:
        first, version = _get(url), _get(url + "version")
        assert "First task" in first and f'var version = "{version}"' in first and 'fetch("version"' in first
        request = urllib.request.Request(url, method="POST", data=b"x")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 405  # read-only
        b.create("Made on WS-B")
        b.ok("sync")
        a.ok("sync")
        deadline = time.monotonic() + 5
        while _get(url + "version") == version and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _get(url + "version") != version  # the page's poll sees this and reloads
        assert "Made on WS-B" in _get(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_port_in_use(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    proc, url = _serve(cli)
    try:
        port = url.rsplit(":", 1)[1].strip("/")
        err = cli.fail("board", "--serve", "--port", port)
        assert f"port {port} on 127.0.0.1 is in use" in err and len(err.strip().splitlines()) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- in a real browser ----------------------------------------------------------------------------------------------


def shot(browser: chromium.Browser, path: Path) -> None:
    """A screenshot kept in the test's folder, its path printed (pytest -rP shows it)."""
    browser.screenshot(path)
    assert path.stat().st_size > 10_000
    print(f"screenshot: {path}")


def text_of(browser: chromium.Browser, selector: str) -> str:
    return str(browser.run(f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''"))


def panel_open(browser: chromium.Browser) -> bool:
    return not browser.run("document.getElementById('panel').hidden")


@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
def test_the_page_in_a_real_browser(make_repo: MakeRepo, tmp_path: Path) -> None:
    """The page `gittasks board` writes: hostile text stays text, filters come from a link, a malformed or unknown
    address does not stop the script, times are shown in the browser's zone with the UTC stamp on hover, a code
    commit naming a task is drawn in the timelines."""
    assert CHROMIUM is not None
    cli = init_repo(make_repo(), inline=False)
    ids = sample(cli)
    git(cli.root, "commit", "-q", "--allow-empty", "-m", "Draft the schema", "--trailer", f"Task: {ids['design']}")
    out = tmp_path / "board.html"
    cli.ok("board", "--out", str(out))
    tasks = tasks_of(out.read_text(encoding="utf-8"))
    with chromium.Browser(CHROMIUM, 1280, 800) as browser:
        browser.send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Kolkata"})  # UTC+05:30, no summer time
        browser.load(out.as_uri())
        shot(browser, tmp_path / "small.png")
        assert text_of(browser, "#shown") == "4 of 4 tasks shown"  # the archived one is behind the toggle
        assert browser.run("[document.images.length, document.scripts.length]") == [0, 2]  # no element from text
        card = json.dumps(f".card[data-id='{ids['tests']}']")
        assert browser.run(f"document.querySelector({card} + ' .subject').textContent") == HOSTILE
        stamp = tasks[ids["tests"]]["updated"]
        when = browser.run(
            f"(function (t) {{ return [t.textContent, t.title]; }})(document.querySelector({card} + ' time'))"
        )
        local = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(hours=5, minutes=30)
        assert when == [local.strftime("%Y-%m-%d %H:%M"), f"{stamp} (UTC)"]
        assert "UTC+05:30)" in text_of(browser, "#help")  # the zone the page shows times in
        # the timeline: the code commit in its own lane and in the lane of the task's owner, at local time
        browser.click(".tab[data-view=timeline]")
        [committed] = tasks[ids["design"]]["commits"]
        local = datetime.fromisoformat(committed["when"].replace("Z", "+00:00")) + timedelta(hours=5, minutes=30)
        lanes = "[data-code-lane] li.code, [data-agent-lane='Coding Agent'] li.code"
        drawn = browser.run(
            f"Array.from(document.querySelectorAll({json.dumps(lanes)}))"
            ".map(li => [li.querySelector('time').textContent, li.querySelector('time').title, li.textContent])"
        )
        assert [d[:2] for d in drawn] == [[local.strftime("%Y-%m-%d %H:%M"), f"{committed['when']} (UTC)"]] * 2
        assert all("Draft the schema" in d[2] and "Design schema" in d[2] for d in drawn)
        shot(browser, tmp_path / "small-timeline.png")
        browser.load("about:blank")
        # the filters, as a link carries them: owner alice leaves one card; a search; the archive toggle
        browser.load(out.as_uri() + "#owner=alice")
        assert text_of(browser, "#shown") == "1 of 4 tasks shown"
        assert browser.run("Array.from(document.querySelectorAll('.card')).map(c => c.dataset.id)") == [ids["tests"]]
        browser.load("about:blank")
        browser.load(out.as_uri() + "#q=schema&archived=1")
        assert text_of(browser, "#shown") == "1 of 5 tasks shown"
        assert not browser.run("document.querySelector('[data-column=archived]').hidden")
        browser.load("about:blank")
        browser.load(out.as_uri() + "#q=100%&task=%E9nope")  # malformed escapes, an unknown task
        assert text_of(browser, "#panel h2") == "No task %E9nope on this board" and text_of(browser, "#shown")


def big_board(tmp_path: Path, count: int) -> tuple[Path, list[dict[str, Any]], str]:
    """The page of `count` tasks of the benches' data set with their status history, one of them with a code
    commit; the page, the tasks, and that task's id (one on the longest open chain)."""
    tasks = dataset.make_tasks(count, random.Random(7), NOW)
    chain = graph.longest_open_chain(tasks)
    commit = {"commit": "0123456789abcdef0123", "subject": "Speed up the limiter", "when": dataset.stamp(NOW)}
    commits = {chain[1]: [{**commit, "author": "alice"}]}
    built = board.build(tasks, [], [], history_of(tasks), NOW, "gittasks board · big", commits=commits)
    out = tmp_path / "big.html"
    out.write_text(board.html(built), encoding="utf-8")
    return out, tasks, chain[1]


@pytest.mark.skipif(CHROMIUM is None, reason=NO_BROWSER)
def test_a_board_of_5000_tasks_in_a_real_browser(tmp_path: Path) -> None:
    """5,000 tasks: one screen tall, each column drawing its first cards; the counts follow the filters; j/k and h/l
    move the selection; Enter, a click and `#task=ID` open the panel, Esc and Back close it, Forward opens it
    again; the graph view focuses on the task's chain. Screenshots of each step in the test's folder."""
    assert CHROMIUM is not None
    out, tasks, chained = big_board(tmp_path, 5000)
    shown = data(out.read_text(encoding="utf-8"))
    order = {
        s: [t["id"] for t in shown["tasks"] if t["status"] == s and not t["archived"]]
        for s in ("pending", "in_progress")
    }
    with chromium.Browser(CHROMIUM, 1400, 900) as browser:
        browser.load(out.as_uri())
        browser.settle()
        shot(browser, tmp_path / "5000-board.png")
        assert text_of(browser, "#shown") == "5000 of 5000 tasks shown"
        height, screen = browser.run("[document.documentElement.scrollHeight, innerHeight]")
        assert height < 3 * screen, (height, screen)  # bounded whatever the list's length
        drawn = browser.run("document.querySelectorAll('.card').length")
        assert 0 < drawn <= 3 * board.PAGE  # three open columns; completed and cancelled collapsed
        pending = sum(1 for t in tasks if t["status"] == "pending")
        assert text_of(browser, "[data-column=pending] .n") == str(pending)
        assert text_of(browser, "[data-column=completed] .n") == str(sum(t["status"] == "completed" for t in tasks))
        assert browser.run("document.querySelectorAll('[data-column=completed] .card').length") == 0
        browser.click("[data-more=pending]")
        assert browser.run("document.querySelectorAll('[data-column=pending] .card').length") == 2 * board.PAGE

        # a filter: the counts follow it, in the columns and in all
        browser.run("var s = document.getElementById('f-owner'); s.value = 'alice';"
                    " s.dispatchEvent(new Event('change', {bubbles: true}))")  # fmt: skip
        alice = [t for t in tasks if t["owner"] == "alice"]
        alice_pending = sum(1 for t in alice if t["status"] == "pending")
        assert text_of(browser, "#shown") == f"{len(alice)} of 5000 tasks shown"
        assert text_of(browser, "[data-column=pending] .n") == f"{alice_pending} of {pending}"
        assert browser.run("location.hash") == "#owner=alice"
        browser.key("/")  # the search, by keyboard
        assert browser.run("document.activeElement.id") == "q"
        browser.type_text("rate limiter")
        browser.run("new Promise(function (r) { setTimeout(r, 300); })")  # (the search waits for typing to pause)
        both = [t for t in alice if "rate limiter" in f"{t['subject']} {t['description']}".lower()]
        assert text_of(browser, "#shown") == f"{len(both)} of 5000 tasks shown"
        shot(browser, tmp_path / "5000-filtered.png")
        browser.key("Escape")  # leaves the search box
        browser.run("document.getElementById('q').value = ''; var s = document.getElementById('f-owner');"
                    " s.value = ''; s.dispatchEvent(new Event('change', {bubbles: true}))")  # fmt: skip
        assert text_of(browser, "#shown") == "5000 of 5000 tasks shown"

        # keyboard: down the first column, across, up; Enter opens, Esc closes
        selected = "(document.querySelector('.card.selected') || {dataset: {}}).dataset.id"
        browser.key("j")
        assert browser.run(selected) == order["pending"][0]
        browser.key("j")
        browser.key("ArrowDown")
        assert browser.run(selected) == order["pending"][2]
        browser.key("l")
        assert browser.run(selected) == order["in_progress"][2]
        browser.key("k")
        assert browser.run(selected) == order["in_progress"][1]
        browser.key("Enter")
        assert panel_open(browser) and browser.run("location.hash") == f"#task={order['in_progress'][1]}"
        browser.key("j")  # the open panel follows the selection
        assert browser.run("location.hash") == f"#task={order['in_progress'][2]}"
        browser.key("Escape")
        assert not panel_open(browser) and browser.run("location.hash") == ""

        # a click opens the panel; Back closes it, Forward opens it again
        target = order["pending"][5]
        browser.click(f'.card[data-id="{target}"]')
        subject = next(t["subject"] for t in tasks if t["id"] == target)
        assert panel_open(browser) and text_of(browser, "#panel h2") == subject
        assert browser.run("location.hash") == f"#task={target}"
        browser.run("history.back()")
        browser.settle()
        assert not panel_open(browser) and browser.run("location.hash") == ""
        browser.run("history.forward()")
        browser.settle()
        assert panel_open(browser) and text_of(browser, "#panel h2") == subject

        # the address opens a task: its panel holds who and when, its history, its blockers and its code commits
        browser.load("about:blank")
        browser.load(out.as_uri() + f"#task={chained}")
        browser.settle()
        task = next(t for t in tasks if t["id"] == chained)
        assert panel_open(browser) and text_of(browser, "#panel h2") == task["subject"]
        body = text_of(browser, "#panel")
        assert task["description"] in body and "Blocked by" in body and "Blocks" in body and "Dependency chain" in body
        assert "Code commits" in body and "Speed up the limiter" in body
        stamps = browser.run("Array.from(document.querySelectorAll('#panel time')).map(t => t.title)")
        assert f"{task['created_at']} (UTC)" in stamps and all(s.endswith("Z (UTC)") for s in stamps)
        history = browser.run("document.querySelectorAll('#panel ol.events li').length")
        assert history == 1 + bool(task["started_at"]) + bool(task["completed_at"]) + 1  # (+ the code commit)
        shot(browser, tmp_path / "5000-panel.png")

        # the graph view, focused on the task's chain; a node's title holds its whole subject
        browser.click("[data-graph]")
        assert browser.run("document.getElementById('view-graph').hidden") is False
        focus = browser.run("(function () { var g = document.querySelector('#graph-box .node.focus');"
                            " return g && [g.dataset.id, g.querySelector('title').textContent]; })()")  # fmt: skip
        assert focus == [chained, f"{chained} {task['subject']} ({task['status']})"]
        dimmed = browser.run("document.querySelectorAll('#graph-box .node.dim').length")
        assert 0 < dimmed < browser.run("document.querySelectorAll('#graph-box .node').length")
        shot(browser, tmp_path / "5000-graph.png")
