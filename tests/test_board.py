"""`gittasks board`: the page written from the task history, its escaping, graph, conflicts and timelines, the bad
input it refuses, its speed on the benches' data set, `--serve` following a sync, and the page in a real browser."""

from __future__ import annotations

import html
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import Cli, MakeRepo, git, init_repo

from gittasks import board

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import dataset  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"


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


def cards(text: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" data-id="([^"]+)"', text)


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
    assert sorted(cards(text)) == sorted(ids.values())  # every task once, the archived one too
    assert re.search(rf'data-id="{ids["old"]}"[^>]*data-archived="1"', text)  # behind the toggle
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text) and "@import" not in text  # nothing to fetch
    for status in ("pending", "in_progress", "blocked", "completed", "cancelled", "archived"):
        assert f'data-column="{status}"' in text
    assert "subtasks 1/3" in text  # the parent's progress
    assert git(cli.root, "rev-list", "--all", "--count") == before and git(cli.root, "status", "--porcelain") == ""
    default = cli.ok("board").strip().removeprefix("wrote ")
    assert Path(default).is_file() and Path(default).parent.name == ".git"  # never in the work tree


def test_a_hostile_subject_is_text_on_the_page(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    cli.create(HOSTILE, "--owner", '"><script>alert(2)</script>')
    text = page(cli)
    assert "<img src=x" not in text and "<script>alert(2)" not in text
    assert html.escape(HOSTILE) in text


def test_the_graph_has_an_edge_per_dependency_and_the_longest_open_chain(make_repo: MakeRepo, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    ids = sample(cli)
    other = cli.create("Side task", "--blocked-by", ids["design"])
    text = page(cli)
    edges = re.findall(r'<polyline class="edge( chain)?" data-from="([^"]+)" data-to="([^"]+)"', text)
    assert sorted((f, t) for _, f, t in edges) == sorted(
        [(ids["design"], ids["code"]), (ids["code"], ids["tests"]), (ids["design"], other)]
    )
    assert [(f, t) for chain, f, t in edges if chain] == [(ids["code"], ids["tests"])]  # design is completed
    # blockers above what they block
    tops = {
        i: int(y)
        for i, y in re.findall(r'<g class="node[^"]*" data-id="([^"]+)".*?translate\(-?\d+,(-?\d+)\)', text, re.S)
    }
    assert tops[ids["design"]] < tops[ids["code"]] < tops[ids["tests"]]


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
    assert "⚠ 1 conflict" in text
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


def test_a_thousand_tasks_render_in_under_two_seconds() -> None:
    """The benches' data set (bench/dataset.py): 1,000 tasks of every status, parents, dependencies, clients."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    tasks = dataset.make_tasks(1000, random.Random(1), now)
    entries = [
        {"when": t["updated_at"], "machine": t["updated_by"] or "m", "action": "update", "task": t["id"],
         "kind": "changed", "changes": {"status": {"from": "pending", "to": t["status"]}}}
        for t in tasks
    ]  # fmt: skip
    start = time.perf_counter()
    text = board.html(board.build(tasks, [], [], entries, now))
    took = time.perf_counter() - start
    assert len(cards(text)) == 1000
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


CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _browser(url: str, *args: str) -> str:
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--window-size=1400,1600",
         "--virtual-time-budget=3000", *args, url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium): no browser test")
def test_the_page_in_a_real_browser(make_repo: MakeRepo, tmp_path: Path, inline: bool) -> None:
    cli = init_repo(make_repo(), inline=inline)
    ids = sample(cli)
    out = tmp_path / "board.html"
    cli.ok("board", "--out", str(out))
    shot = tmp_path / "board.png"
    _browser(out.as_uri(), f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
    dom = _browser(out.as_uri(), "--dump-dom")
    assert sorted(cards(dom)) == sorted(ids.values())  # every task present once
    assert "<img src=x" not in dom and html.escape(HOSTILE) in dom  # the browser sees text, never an element
    assert len(re.findall(r"<polyline class=\"edge", dom)) == 2  # an edge per dependency
    assert "5 of 5 tasks shown" not in dom and "4 of 4 tasks shown" in dom  # the archived one is behind the toggle
    # the filters, as a link carries them: owner alice leaves one card; a search; the archive toggle
    filtered = _browser(out.as_uri() + "#owner=alice", "--dump-dom")
    visible = re.findall(r'<article class="card[^"]*" data-id="([^"]+)"(?![^>]*hidden)[^>]*>', filtered)
    assert visible == [ids["tests"]] and "1 of 4 tasks shown" in filtered
    searched = _browser(out.as_uri() + "#q=schema&archived=1", "--dump-dom")
    assert "1 of 5 tasks shown" in searched and 'class="columns with-archive"' in searched
