"""A field both sides set keeps the later edit of that field, where history can tell (`field_time`), not the later
edit of the task: the rule on its own with stand-in histories, then sync between two clones of a bare remote (whose
histories tell), and the merge driver (whose do not).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import doc, edit, task
from helpers import ACTIVE, Cli, MakeRepo, git, init_repo

from gittasks import document, driver, history, merge
from gittasks.git import Repo, find_repo

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
BASE = doc(task("1", owner=None, metadata={"client": "Acme"}))
# The example: the laptop sets the owner at 10:00 and edits the description at 10:30 (so its task is the
# later one); the desktop sets the owner at 10:15.
LAPTOP = edit(
    edit(BASE, "1", "laptop", "2026-01-21T10:00:00.000Z", owner="alice"),
    "1",
    "laptop",
    "2026-01-21T10:30:00.000Z",
    description="Written on the laptop",
)
DESKTOP = edit(BASE, "1", "desktop", "2026-01-21T10:15:00.000Z", owner="bob")

Asked = list[tuple[str, str, str]]


def history_of(side: str, stamps: Mapping[str, str | None], asked: Asked) -> Callable[[str, str], str | None]:
    """A stand-in for a side's history: the stamp of each field's last change, every question noted."""

    def changed_at(task_id: str, path: str) -> str | None:
        asked.append((side, task_id, path))
        return stamps.get(path)

    return changed_at


def both_ways(
    ours: dict[str, Any],
    theirs: dict[str, Any],
    ours_times: Mapping[str, str | None] | None,
    theirs_times: Mapping[str, str | None] | None,
    asked: Asked | None = None,
) -> merge.MergeResult:
    """Merge with ours and theirs swapped (their histories with them); both must give the same bytes and records."""
    asked = [] if asked is None else asked
    results = []
    for (o, o_times, o_name), (t, t_times, t_name) in (
        ((ours, ours_times, "ours"), (theirs, theirs_times, "theirs")),
        ((theirs, theirs_times, "theirs"), (ours, ours_times, "ours")),
    ):
        times = (
            history_of(o_name, o_times, asked) if o_times is not None else None,
            history_of(t_name, t_times, asked) if t_times is not None else None,
        )
        results.append(merge.merge_documents(BASE, o, t, now=NOW, field_time=times))
    one, two = results
    assert document.dumps(one.document) == document.dumps(two.document)
    assert sorted(map(document.conflict_key, one.conflicts)) == sorted(map(document.conflict_key, two.conflicts))
    return one


def the_task(result: merge.MergeResult) -> dict[str, Any]:
    [only] = result.document["tasks"]
    return dict(only)


# ---- the rule, with stand-in histories ------------------------------------------------------------------------------


def test_the_later_edit_of_the_field_wins_over_the_later_edit_of_the_task() -> None:
    asked: Asked = []
    result = both_ways(
        LAPTOP, DESKTOP, {"owner": "2026-01-21T10:00:00.000Z"}, {"owner": "2026-01-21T10:15:00.000Z"}, asked
    )
    got = the_task(result)
    assert got["owner"] == "bob"
    assert got["description"] == "Written on the laptop"
    assert got["updated_at"] == "2026-01-21T10:30:00.000Z", "the bookkeeping still takes the later task"
    [record] = result.conflicts
    assert record["field"] == "owner" and record["kept"] == "bob" and record["base"] is None
    assert {(v["value"], v["machine"]) for v in record["values"]} == {("alice", "laptop"), ("bob", "desktop")}
    assert {path for _, _, path in asked} == {"owner"}, "only the conflicting field is asked about"


def test_without_history_or_when_it_cannot_tell_the_later_task_wins() -> None:
    later_task = "alice"  # the laptop's task is the later one
    assert the_task(both_ways(LAPTOP, DESKTOP, None, None))["owner"] == later_task
    unknown_one_side = both_ways(LAPTOP, DESKTOP, {"owner": "2026-01-21T10:00:00.000Z"}, {"owner": None})
    assert the_task(unknown_one_side)["owner"] == later_task
    only_one_side = both_ways(LAPTOP, DESKTOP, {"owner": "2026-01-21T10:00:00.000Z"}, None)
    assert the_task(only_one_side)["owner"] == later_task
    same_moment = both_ways(LAPTOP, DESKTOP, {"owner": "2026-01-21T10:15:00Z"}, {"owner": "2026-01-21T10:15:00.000Z"})
    assert the_task(same_moment)["owner"] == later_task
    wrong_clock = both_ways(LAPTOP, DESKTOP, {"owner": "2026-01-21T10:00:00Z"}, {"owner": "2099-01-01T00:00:00Z"})
    assert the_task(wrong_clock)["owner"] == later_task, "a stamp far in the future is not known, as updated_at"


def test_a_metadata_key_is_asked_about_by_its_dotted_path() -> None:
    laptop = edit(
        edit(BASE, "1", "laptop", "2026-01-21T10:00:00.000Z", metadata={"client": "Laptop Co"}),
        "1",
        "laptop",
        "2026-01-21T10:30:00.000Z",
        metadata={"client": "Laptop Co", "project": "Later"},
    )
    desktop = edit(BASE, "1", "desktop", "2026-01-21T10:15:00.000Z", metadata={"client": "Desktop Co"})
    asked: Asked = []
    laptop_times = {"metadata.client": "2026-01-21T10:00:00.000Z", "metadata": "2026-01-21T10:30:00.000Z"}
    result = both_ways(laptop, desktop, laptop_times, {"metadata.client": "2026-01-21T10:15:00.000Z"}, asked)
    assert the_task(result)["metadata"] == {"client": "Desktop Co", "project": "Later"}
    [record] = result.conflicts
    assert record["field"] == "metadata.client" and record["kept"] == "Desktop Co"
    assert {path for _, _, path in asked} == {"metadata.client"}


def test_no_conflict_asks_nothing_and_the_status_keeps_its_own_rule() -> None:
    asked: Asked = []
    laptop = edit(BASE, "1", "laptop", "2026-01-21T10:30:00.000Z", owner="alice")
    desktop = edit(BASE, "1", "desktop", "2026-01-21T10:15:00.000Z", subject="Renamed")
    both_ways(laptop, desktop, {}, {}, asked)
    assert asked == [], "a merge without conflicts never asks the history"
    # both sides set the status (at the same rank): the status join decides by the tasks, whatever the field times
    laptop = edit(BASE, "1", "laptop", "2026-01-21T10:30:00.000Z", status="completed")
    desktop = edit(BASE, "1", "desktop", "2026-01-21T10:15:00.000Z", status="cancelled")
    result = both_ways(laptop, desktop, {"status": "2026-01-21T10:00:00Z"}, {"status": "2026-01-21T10:15:00Z"}, asked)
    assert the_task(result)["status"] == "completed"
    assert all(path != "status" for _, _, path in asked)


# ---- sync between two clones -----------------------------------------------------------------------------------------


def tick() -> None:
    """Stamps are to the millisecond and gittasks reads no clock but the system's: changes made in order, apart."""
    time.sleep(0.02)


@pytest.fixture
def machines(make_repo: MakeRepo, bare_remote: Path) -> tuple[Cli, Cli, str]:
    """A laptop and a desktop sharing one task (own-branch layout) through a bare remote."""
    laptop = init_repo(make_repo("laptop"), "laptop", inline=False)
    git(laptop.root, "remote", "add", "origin", str(bare_remote))
    tid = laptop.create("Shared", "--meta", "client=Acme")
    laptop.ok("sync")
    desktop_root = make_repo("desktop")
    git(desktop_root, "remote", "add", "origin", str(bare_remote))
    desktop = Cli(desktop_root, "desktop")
    desktop.ok("sync")
    assert desktop.task(tid)["subject"] == "Shared"
    return laptop, desktop, tid


def sync_both(first: Cli, second: Cli) -> None:
    """`first` pushes, `second` merges and pushes, `first` takes the merge: both then hold the same bytes."""
    first.ok("sync")
    second.ok("sync")
    first.ok("sync")
    assert (first.root / ACTIVE).read_bytes() == (second.root / ACTIVE).read_bytes()


def conflict_on(cli: Cli, tid: str, field: str) -> dict[str, Any]:
    [record] = [r for r in cli.doc().get("conflicts", []) if r["task"] == tid and r["field"] == field]
    return dict(record)


@pytest.mark.parametrize("merging", ["desktop", "laptop"])
def test_sync_keeps_the_later_edit_of_the_field_on_both_machines(machines: tuple[Cli, Cli, str], merging: str) -> None:
    laptop, desktop, tid = machines
    laptop.ok("update", tid, "--owner", "alice")
    tick()
    desktop.ok("update", tid, "--owner", "bob")
    tick()
    laptop.ok("update", tid, "--description", "Written on the laptop")
    assert laptop.task(tid)["updated_at"] > desktop.task(tid)["updated_at"]  # the laptop's task is the later one

    first, second = (laptop, desktop) if merging == "desktop" else (desktop, laptop)
    sync_both(first, second)
    for cli in (laptop, desktop):
        got = cli.task(tid)
        assert got["owner"] == "bob", f"{cli.machine} kept {got['owner']}"
        assert got["description"] == "Written on the laptop"
        record = conflict_on(cli, tid, "owner")
        assert record["kept"] == "bob"
        assert {(v["value"], v["machine"]) for v in record["values"]} == {("alice", "laptop"), ("bob", "desktop")}


def test_sync_a_field_changed_later_on_the_side_whose_task_is_older_wins(machines: tuple[Cli, Cli, str]) -> None:
    laptop, desktop, tid = machines
    desktop.ok("update", tid, "--owner", "bob")
    tick()
    laptop.ok("update", tid, "--owner", "alice")
    tick()
    desktop.ok("update", tid, "--subject", "Renamed on the desktop")
    assert desktop.task(tid)["updated_at"] > laptop.task(tid)["updated_at"]

    sync_both(desktop, laptop)
    for cli in (laptop, desktop):
        got = cli.task(tid)
        assert (got["owner"], got["subject"]) == ("alice", "Renamed on the desktop")
        assert conflict_on(cli, tid, "owner")["kept"] == "alice"


def test_sync_a_metadata_key_follows_the_later_edit_of_that_key(machines: tuple[Cli, Cli, str]) -> None:
    laptop, desktop, tid = machines
    laptop.ok("update", tid, "--meta", "client=Laptop Co")
    tick()
    desktop.ok("update", tid, "--meta", "client=Desktop Co")
    tick()
    laptop.ok("update", tid, "--meta", "project=Later")  # the laptop's metadata (and task) changed last

    sync_both(laptop, desktop)
    for cli in (laptop, desktop):
        assert cli.task(tid)["metadata"] == {"client": "Desktop Co", "project": "Later"}
        record = conflict_on(cli, tid, "metadata.client")
        assert record["kept"] == "Desktop Co"
        assert {v["value"] for v in record["values"]} == {"Laptop Co", "Desktop Co"}


def test_the_merge_driver_has_no_history_and_keeps_the_later_task(
    machines: tuple[Cli, Cli, str], tmp_path: Path
) -> None:
    laptop, desktop, tid = machines
    laptop.ok("update", tid, "--owner", "alice")
    tick()
    desktop.ok("update", tid, "--owner", "bob")
    tick()
    laptop.ok("update", tid, "--description", "Written on the laptop")
    laptop.ok("sync")
    git(desktop.root, "fetch", "-q", "origin")
    # the three versions git would hand the driver, from the desktop's side of the same histories
    base = git(desktop.root, "merge-base", "gittasks", "origin/gittasks")
    folder = tmp_path / "driver"
    folder.mkdir()
    paths = []
    for name, rev in (("base", base), ("ours", "gittasks"), ("theirs", "origin/gittasks")):
        path = folder / name
        path.write_text(git(desktop.root, "show", f"{rev}:{ACTIVE}") + "\n", encoding="utf-8")
        paths.append(str(path))
    assert driver.main([*paths, ACTIVE]) == 0
    merged = orjson.loads(Path(paths[1]).read_bytes())
    [got] = [t for t in merged["tasks"] if t["id"] == tid]
    assert got["owner"] == "alice", "without history the later task wins, as before"
    [record] = [r for r in merged["conflicts"] if r["field"] == "owner"]
    assert record["kept"] == "alice" and {v["value"] for v in record["values"]} == {"alice", "bob"}
    desktop.ok("sync")  # the same versions, merged by sync with their histories
    assert desktop.task(tid)["owner"] == "bob"


# ---- the history: what it reads, and how often -----------------------------------------------------------------------


def counted(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The git commands `repo` runs from now on."""
    runs: list[tuple[str, ...]] = []
    real = Repo.run

    def run(self: Repo, *args: str, **kwargs: Any) -> Any:
        runs.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Repo, "run", run)
    return runs


def test_field_times_reads_a_side_once_per_task_and_stops_at_the_base(
    machines: tuple[Cli, Cli, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    laptop, _desktop, tid = machines
    other = laptop.create("Other")
    base = git(laptop.root, "rev-parse", "gittasks")
    fresh = laptop.create("Fresh")
    tick()
    laptop.ok("update", tid, "--owner", "alice")
    laptop.ok("update", other, "--owner", "carol")
    tick()
    laptop.ok("update", tid, "--meta", "project=Later")
    tick()
    stamps = {
        line.split(": ", 1)[1]
        for line in git(laptop.root, "log", "--format=%(trailers:key=Timestamp)", f"{base}..gittasks").splitlines()
        if line
    }
    repo = find_repo(laptop.root)
    runs = counted(repo, monkeypatch)
    changed_at = history.field_times(repo, "gittasks", base)
    owner_at = changed_at(tid, "owner")
    assert len(runs) == 2, runs  # one log of the commits since the base, one batch of the task's versions
    project_at = changed_at(tid, "metadata.project")
    assert changed_at(tid, "metadata.client") is None, "not changed since the base"
    assert changed_at(tid, "subject") is None
    assert len(runs) == 2, "the other fields of the task cost nothing more"
    assert owner_at in stamps and project_at in stamps and owner_at < project_at
    assert changed_at(other, "owner") in stamps
    assert len(runs) == 3, "another task: one more batch of its versions"
    # a task created since the base: every field is new (its version before, absent from the active list, is looked
    # for in the archive as well: two processes more)
    assert changed_at(fresh, "subject") in stamps
    assert history.field_times(repo, "gittasks", None)(tid, "owner") is None, "no base: no unbounded walk"


def commit_by_hand(root: Path, tmp_path: Path, tid: str, **fields: Any) -> None:
    """A commit on the task branch without gittasks trailers (another tool's), changing fields of one task."""
    data = orjson.loads(git(root, "show", f"gittasks:{ACTIVE}"))
    next(t for t in data["tasks"] if t["id"] == tid).update(fields)
    changed = tmp_path / "by-hand.json"
    changed.write_bytes(document.dumps(data))
    blob = git(root, "hash-object", "-w", str(changed))
    index = {"GIT_INDEX_FILE": str(tmp_path / "by-hand.index")}
    git(root, "read-tree", "gittasks", env=index)
    git(root, "update-index", "--cacheinfo", f"100644,{blob},{ACTIVE}", env=index)
    tree = git(root, "write-tree", env=index)
    git(root, "update-ref", "refs/heads/gittasks", git(root, "commit-tree", tree, "-p", "gittasks", "-m", "by hand"))


def test_field_times_cannot_tell_when_the_last_change_was_made_by_hand(
    machines: tuple[Cli, Cli, str], tmp_path: Path
) -> None:
    laptop, _desktop, tid = machines
    base = git(laptop.root, "rev-parse", "gittasks")
    laptop.ok("update", tid, "--owner", "alice", "--subject", "Renamed")
    commit_by_hand(laptop.root, tmp_path, tid, owner="carol")
    changed_at = history.field_times(find_repo(laptop.root), "gittasks", base)
    assert changed_at(tid, "owner") is None, "a hand edit has no stamp of its own: the task rule decides"
    assert changed_at(tid, "subject") is not None, "the hand edit did not change the subject: the earlier change tells"
