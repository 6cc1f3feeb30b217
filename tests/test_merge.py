"""The field-level three-way merge (docs/task-format.md, "Merge" and "Conflicts"): one named example per rule.

Every merge here runs both ways (ours/theirs swapped) and must give the same canonical bytes.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from factories import DELETE, T0, add, doc, edit, remove, task

from gittasks import document, merge
from gittasks.document import DocumentError

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def both_ways(base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any]) -> merge.MergeResult:
    """Merge both ways, assert the same canonical bytes and a valid result, and leave the inputs untouched."""
    before = [orjson.dumps(x) for x in (base, ours, theirs)]
    one = merge.merge_documents(base, ours, theirs, now=NOW)
    two = merge.merge_documents(base, theirs, ours, now=NOW)
    assert [orjson.dumps(x) for x in (base, ours, theirs)] == before, "the merge changed one of its inputs"
    a, b = document.dumps(one.document), document.dumps(two.document)
    assert a == b, f"merge depends on the side:\n{a.decode()}\n---\n{b.decode()}"
    assert sorted(map(document.conflict_key, one.conflicts)) == sorted(map(document.conflict_key, two.conflicts))
    assert sorted(one.renamed) == sorted(two.renamed)
    document.load_document(a, "merged")
    return merge.MergeResult(orjson.loads(a), one.conflicts, one.renamed)


def tasks_of(result: merge.MergeResult) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in result.document["tasks"]}


# ---- matching by id, one side / both sides ---------------------------------------------------------------------------


def test_field_changed_on_one_side_takes_that_side() -> None:
    base = doc(task("1"), task("2"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="Alice")
    theirs = edit(base, "2", "pc-b", "2026-01-21T11:00:00Z", subject="Renamed two")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)
    assert got["1"]["owner"] == "Alice"
    assert got["2"]["subject"] == "Renamed two"
    assert result.conflicts == []
    assert "conflicts" not in result.document


def test_both_sides_same_change_is_no_conflict() -> None:
    base = doc(task("1"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="Alice")
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", owner="Alice")
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["owner"] == "Alice"
    assert result.conflicts == []


def test_field_deleted_on_one_side_and_unchanged_on_the_other_is_deleted() -> None:
    base = doc(task("1", type="research"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", type=DELETE)
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", owner="Bob")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)["1"]
    assert "type" not in got
    assert got["owner"] == "Bob"


def test_absent_and_null_are_different_values() -> None:
    base = doc(task("1"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", parent=None)  # added as null
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", owner="Bob")
    got = tasks_of(both_ways(base, ours, theirs))["1"]
    assert "parent" in got and got["parent"] is None
    assert got["owner"] == "Bob"


def test_field_deleted_on_one_side_and_changed_on_the_other_is_a_conflict() -> None:
    base = doc(task("1", type="research"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", type=DELETE)
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", type="bugfix")
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["type"] == "bugfix"  # theirs is later
    [record] = result.conflicts
    assert record["field"] == "type" and record["kept"] == "bugfix" and record["base"] == "research"
    assert {v["value"] for v in record["values"]} == {None, "bugfix"}


def test_json_types_are_not_confused() -> None:
    base = doc(task("1", metadata={"n": 1}))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", metadata={"n": True})
    result = both_ways(base, ours, base)
    assert tasks_of(result)["1"]["metadata"]["n"] is True


# ---- dependencies ----------------------------------------------------------------------------------------------------


def test_dependency_lists_merge_as_sets_sorted() -> None:
    base = doc(task("1", blocks=["2", "3"]), task("2", blockedBy=["1"]), task("3", blockedBy=["1"]), task("10"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", blocks=["3", "10"])  # removes 2, adds 10
    ours = edit(ours, "2", "pc-a", "2026-01-21T10:00:00Z", blockedBy=[])
    ours = edit(ours, "10", "pc-a", "2026-01-21T10:00:00Z", blockedBy=["1"])
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", blocks=["2", "3", "4"])  # adds 4 (not a task)
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)
    assert got["1"]["blocks"] == ["3", "4", "10"], "additions of both sides apply, the removal of 2 too, sorted"
    assert got["2"]["blockedBy"] == []
    assert got["10"]["blockedBy"] == ["1"]
    assert result.conflicts == []


def test_symmetry_is_restored_after_the_merge() -> None:
    base = doc(task("1", blocks=["2"]), task("2", blockedBy=["1"]))
    ours = remove(edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", blocks=[]), "2")  # deletes 2 and the edge
    theirs = edit(base, "2", "pc-b", "2026-01-21T11:00:00Z", owner="Bob")  # edits 2: kept (delete-edit)
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)
    assert got["2"]["blockedBy"] == ["1"]
    assert got["1"]["blocks"] == ["2"], "2 is still blockedBy 1, so 1 blocks 2 again"


def test_symmetry_adds_the_missing_direction_and_leaves_dangling_references_alone() -> None:
    base = doc(task("1"), task("2"), task("3"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", blocks=["2", "ghost"])  # a hand edit: one direction only
    theirs = edit(base, "3", "pc-b", "2026-01-21T11:00:00Z", blockedBy=["2"])
    got = tasks_of(both_ways(base, ours, theirs))
    assert got["2"]["blockedBy"] == ["1"]
    assert got["2"]["blocks"] == ["3"]
    assert got["1"]["blocks"] == ["2", "ghost"]
    assert "ghost" not in got


def test_dependencies_that_close_a_cycle_across_the_sides_are_dropped_and_recorded() -> None:
    base = doc(task("1"), task("2"), task("3"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", blockedBy=["2"])  # 2 blocks 1
    ours = edit(ours, "2", "pc-a", "2026-01-21T10:00:00Z", blocks=["1"])
    theirs = edit(base, "2", "pc-b", "2026-01-21T11:00:00Z", blockedBy=["1"])  # 1 blocks 2, later
    theirs = edit(theirs, "1", "pc-b", "2026-01-21T11:00:00Z", blocks=["2"])
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)
    assert (got["1"]["blockedBy"], got["2"]["blocks"]) == (["2"], ["1"]), "the older dependency stays"
    assert (got["2"]["blockedBy"], got["1"]["blocks"]) == ([], []), "the later one would close the cycle"
    assert result.conflicts == [
        {
            "task": "2",
            "field": "blockedBy",
            "kind": "cycle",
            "base": None,
            "values": [{"value": "1", "machine": "pc-b", "updated_at": "2026-01-21T11:00:00Z"}],
            "kept": None,
        }
    ]


def test_a_cycle_one_side_already_had_is_left_alone() -> None:
    cyclic = doc(task("1", blockedBy=["2"], blocks=["2"]), task("2", blockedBy=["1"], blocks=["1"]))
    base = doc(task("1"), task("2"))
    result = both_ways(base, cyclic, base)
    assert result.conflicts == []
    assert tasks_of(result)["1"]["blockedBy"] == ["2"]
    looped = doc(task("1", parent="2"), task("2", parent="1"))
    result = both_ways(base, looped, base)
    assert result.conflicts == [] and tasks_of(result)["2"]["parent"] == "1"


def test_parents_that_close_a_loop_across_the_sides_are_undone_and_recorded() -> None:
    base = doc(task("1"), task("2"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", parent="2")
    theirs = edit(base, "2", "pc-b", "2026-01-21T11:00:00Z", parent="1")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)
    assert got["1"]["parent"] == "2"
    assert got["2"]["parent"] is None, "the later parent change would close the loop"
    [record] = result.conflicts
    assert (record["task"], record["field"], record["kind"], record["kept"]) == ("2", "parent", "cycle", None)
    assert record["values"] == [{"value": "1", "machine": "pc-b", "updated_at": "2026-01-21T11:00:00Z"}]


# ---- objects, text ---------------------------------------------------------------------------------------------------


def test_metadata_merges_key_by_key_and_conflicts_name_the_path() -> None:
    base = doc(task("1", metadata={"client": "Dataforth", "project": "X", "deep": {"a": 1, "b": 2}}))
    ours = edit(
        base, "1", "pc-a", "2026-01-21T10:00:00Z", metadata={"client": "Acme", "project": "X", "deep": {"a": 5, "b": 2}}
    )
    theirs = edit(
        base,
        "1",
        "pc-b",
        "2026-01-21T11:00:00Z",
        metadata={"client": "Globex", "project": "Y", "deep": {"a": 1, "b": 2, "c": 3}, "new": True},
    )
    result = both_ways(base, ours, theirs)
    meta = tasks_of(result)["1"]["metadata"]
    assert meta == {"client": "Globex", "project": "Y", "deep": {"a": 5, "b": 2, "c": 3}, "new": True}
    [record] = result.conflicts
    assert record["field"] == "metadata.client"
    assert record["kind"] == "field"
    assert record["base"] == "Dataforth"
    assert record["kept"] == "Globex"


def test_context_and_unknown_objects_merge_recursively() -> None:
    base = doc(task("1", context={"outcome": None, "env": {"os": "linux"}}, extra={"x": 1}))
    ours = edit(
        base, "1", "pc-a", "2026-01-21T10:00:00Z", context={"outcome": "done", "env": {"os": "linux"}}, extra={"x": 2}
    )
    theirs = edit(
        base,
        "1",
        "pc-b",
        "2026-01-21T11:00:00Z",
        context={"outcome": None, "env": {"os": "linux", "py": "3.11"}},
        extra={"x": 1, "y": 1},
    )
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)["1"]
    assert got["context"] == {"outcome": "done", "env": {"os": "linux", "py": "3.11"}}
    assert got["extra"] == {"x": 2, "y": 1}
    assert result.conflicts == []


PARAS = "First paragraph.\n\nSecond paragraph.\n\nThird paragraph.\n"


def test_description_edits_in_different_paragraphs_merge_cleanly() -> None:
    base = doc(task("1", description=PARAS))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", description=PARAS.replace("First", "1st"))
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", description=PARAS.replace("Third", "3rd"))
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["description"] == "1st paragraph.\n\nSecond paragraph.\n\n3rd paragraph.\n"
    assert result.conflicts == []


def test_description_overlapping_edits_are_a_text_conflict() -> None:
    base = doc(task("1", description=PARAS))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", description=PARAS.replace("Second", "2nd"))
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", description=PARAS.replace("Second", "Other"))
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["description"] == PARAS.replace("Second", "Other")  # the later edit
    [record] = result.conflicts
    assert record["kind"] == "text" and record["field"] == "description" and record["base"] == PARAS


def test_single_line_description_both_changed_is_a_conflict() -> None:
    base = doc(task("1", description="one line"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", description="ours")
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", description="theirs")
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["description"] == "theirs"
    assert [r["kind"] for r in result.conflicts] == ["text"]


def test_any_multiline_string_gets_a_text_merge() -> None:
    base = doc(task("1", context={"user_request": "a\nb\nc\n"}, notes="x\ny\nz\n"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", context={"user_request": "A\nb\nc\n"}, notes="X\ny\nz\n")
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", context={"user_request": "a\nb\nC\n"}, notes="x\ny\nZ\n")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)["1"]
    assert got["context"]["user_request"] == "A\nb\nC\n"
    assert got["notes"] == "X\ny\nZ\n"
    assert result.conflicts == []


def test_single_line_strings_other_than_description_do_not_text_merge() -> None:
    base = doc(task("1", activeForm="Doing it"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", activeForm="Doing it now")
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", activeForm="Doing it later")
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["activeForm"] == "Doing it later"
    assert [r["kind"] for r in result.conflicts] == ["field"]


# ---- status ----------------------------------------------------------------------------------------------------------


def test_status_join_completed_beats_in_progress_and_timestamps_follow() -> None:
    base = doc(task("1", status="in_progress", started_at="2026-01-20T11:00:00Z"))
    ours = edit(
        base,
        "1",
        "pc-a",
        "2026-01-22T10:00:00Z",
        status="completed",
        completed_at="2026-01-22T10:00:00Z",
    )
    theirs = edit(base, "1", "pc-b", "2026-01-23T10:00:00Z", status="blocked", blocked_reason="waiting for keys")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)["1"]
    assert got["status"] == "completed", "completed outranks blocked even though blocked is the later edit"
    assert got["completed_at"] == "2026-01-22T10:00:00Z"
    assert "blocked_reason" not in got, "blocked_reason follows the side whose status was kept"
    assert got["updated_at"] == "2026-01-23T10:00:00Z" and got["updated_by"] == "pc-b"
    [record] = result.conflicts
    assert record["kind"] == "status" and record["field"] == "status"
    assert record["base"] == "in_progress" and record["kept"] == "completed"
    assert sorted(v["value"] for v in record["values"]) == ["blocked", "completed"]


def test_status_explicit_reopen_beats_the_other_sides_terminal_status() -> None:
    base = doc(task("1", status="completed", started_at=T0, completed_at="2026-01-20T12:00:00Z"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", status="in_progress", completed_at=None)
    theirs = edit(base, "1", "pc-b", "2026-01-22T10:00:00Z", status="cancelled", completed_at="2026-01-22T10:00:00Z")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)["1"]
    assert got["status"] == "in_progress"
    assert got["completed_at"] is None, "completed_at is null for an open status"
    assert result.conflicts[0]["kind"] == "status"


def test_status_reopen_with_stale_completed_at_is_cleared() -> None:
    base = doc(task("1", status="completed", completed_at="2026-01-20T12:00:00Z"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", status="pending")  # forgot to clear completed_at
    theirs = edit(base, "1", "pc-b", "2026-01-22T10:00:00Z", status="cancelled")
    got = tasks_of(both_ways(base, ours, theirs))["1"]
    assert got["status"] == "pending" and got["completed_at"] is None


def test_status_tie_at_the_same_rank_uses_the_generic_rule() -> None:
    base = doc(task("1", status="in_progress"))
    ours = edit(base, "1", "pc-a", "2026-01-22T10:00:00Z", status="completed", completed_at="2026-01-22T10:00:00Z")
    theirs = edit(base, "1", "pc-b", "2026-01-21T10:00:00Z", status="cancelled", completed_at="2026-01-21T10:00:00Z")
    got = tasks_of(both_ways(base, ours, theirs))["1"]
    assert got["status"] == "completed", "same rank: the later updated_at wins"
    assert got["completed_at"] == "2026-01-22T10:00:00Z"


def test_the_stamps_of_one_transition_made_on_both_sides_keep_the_earlier_moment_without_a_record() -> None:
    base = doc(task("1"), task("2", status="completed", started_at=T0, completed_at="2026-01-20T12:00:00Z"))
    ours = edit(base, "1", "pc-a", "2026-01-22T10:00:05Z", status="completed",
                started_at="2026-01-22T10:00:00Z", completed_at="2026-01-22T10:00:05Z")  # fmt: skip
    ours = edit(ours, "2", "pc-a", "2026-01-22T09:00:00Z", status="in_progress",
                started_at="2026-01-22T09:00:00Z", completed_at=None)  # reopened --start  # fmt: skip
    theirs = edit(base, "1", "pc-b", "2026-01-21T10:00:00.000Z", status="completed",
                  started_at="2026-01-21T09:00:00Z", completed_at="2026-01-21T10:00:00.000Z")  # fmt: skip
    theirs = edit(theirs, "2", "pc-b", "2026-01-22T11:00:00Z", status="in_progress",
                  started_at="2026-01-22T11:00:00Z", completed_at=None)  # fmt: skip
    result = both_ways(base, ours, theirs)
    assert result.conflicts == [], "the same transition on two machines is nothing for a user to settle"
    one, two = tasks_of(result)["1"], tasks_of(result)["2"]
    assert (one["started_at"], one["completed_at"]) == ("2026-01-21T09:00:00Z", "2026-01-21T10:00:00.000Z")
    assert (one["updated_at"], one["updated_by"]) == ("2026-01-22T10:00:05Z", "pc-a"), "bookkeeping: the later"
    assert (two["status"], two["started_at"], two["completed_at"]) == ("in_progress", "2026-01-22T09:00:00Z", None)


def test_transition_stamps_of_two_different_statuses_or_that_are_no_stamps_are_still_conflicts() -> None:
    base = doc(task("1", status="in_progress", started_at=T0), task("2"))
    ours = edit(base, "1", "pc-a", "2026-01-22T10:00:00Z", status="completed", completed_at="2026-01-22T10:00:00Z")
    theirs = edit(base, "1", "pc-b", "2026-01-23T10:00:00Z", status="cancelled", completed_at="2026-01-23T10:00:00Z")
    ours = edit(ours, "2", "pc-a", "2026-01-22T10:00:00Z", status="completed", completed_at="soon")
    theirs = edit(theirs, "2", "pc-b", "2026-01-23T10:00:00Z", status="completed", completed_at="2026-01-23T10:00:00Z")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)
    assert (got["1"]["status"], got["1"]["completed_at"]) == ("cancelled", "2026-01-23T10:00:00Z"), "followers"
    assert sorted((r["task"], r["field"]) for r in result.conflicts) == [("1", "status"), ("2", "completed_at")]


def test_status_changed_on_one_side_only_is_no_conflict() -> None:
    base = doc(task("1"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", status="in_progress", started_at="2026-01-21T10:00:00Z")
    theirs = edit(base, "1", "pc-b", "2026-01-22T10:00:00Z", owner="Bob")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)["1"]
    assert (got["status"], got["started_at"], got["owner"]) == ("in_progress", "2026-01-21T10:00:00Z", "Bob")
    assert result.conflicts == []


# ---- bookkeeping and the generic rule --------------------------------------------------------------------------------


def test_bookkeeping_takes_the_later_stamp_without_conflict() -> None:
    base = doc(task("1"))
    ours = edit(base, "1", "pc-a", "2026-01-23T10:00:00Z", owner="A")
    ours["last_updated"] = "2026-01-23T10:00:00Z"
    theirs = edit(base, "1", "pc-b", "2026-01-22T10:00:00Z", subject="S")
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)["1"]
    assert (got["updated_at"], got["updated_by"]) == ("2026-01-23T10:00:00Z", "pc-a")
    assert result.document["last_updated"] == "2026-01-23T10:00:00Z"
    assert result.conflicts == []


def test_generic_conflict_later_updated_at_wins_and_is_recorded() -> None:
    base = doc(task("1", owner="Zed"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="Alice")
    theirs = edit(base, "1", "pc-b", "2026-01-21T09:00:00Z", owner="Bob")
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["owner"] == "Alice"
    assert result.conflicts == [
        {
            "task": "1",
            "field": "owner",
            "kind": "field",
            "base": "Zed",
            "values": [
                {"value": "Alice", "machine": "pc-a", "updated_at": "2026-01-21T10:00:00Z"},
                {"value": "Bob", "machine": "pc-b", "updated_at": "2026-01-21T09:00:00Z"},
            ],
            "kept": "Alice",
        }
    ]
    assert result.document["conflicts"] == result.conflicts


def test_generic_conflict_same_stamp_larger_machine_then_larger_value() -> None:
    base = doc(task("1"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="Zoe")
    theirs = edit(base, "1", "pc-b", "2026-01-21T10:00:00Z", owner="Adam")
    assert tasks_of(both_ways(base, ours, theirs))["1"]["owner"] == "Adam", "same stamp: larger machine name"
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="Zoe")
    theirs = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="Adam")
    assert tasks_of(both_ways(base, ours, theirs))["1"]["owner"] == "Zoe", "same machine: larger value bytes"


def test_far_future_stamp_is_clamped_for_ordering() -> None:
    base = doc(task("1"))
    far = (NOW + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    farther = (NOW + timedelta(days=800)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ours = edit(base, "1", "pc-z", far, owner="Zoe")
    theirs = edit(base, "1", "pc-a", farther, owner="Adam")
    got = tasks_of(both_ways(base, ours, theirs))["1"]
    assert got["owner"] == "Zoe", "both stamps clamp to now + slack, so the machine name decides"


def test_top_level_unknown_keys_merge_and_pass_through() -> None:
    base = doc(task("1"), settings={"a": 1, "b": 1}, version=1)
    ours = copy.deepcopy(base)
    ours["settings"]["a"] = 2
    ours["ours_only"] = "x"
    theirs = copy.deepcopy(base)
    theirs["settings"]["b"] = 3
    theirs["version"] = 2
    result = both_ways(base, ours, theirs)
    assert result.document["settings"] == {"a": 2, "b": 3}
    assert result.document["version"] == 2
    assert result.document["ours_only"] == "x"


def test_unknown_task_fields_pass_through() -> None:
    base = doc(task("1", native=[{"machine": "m", "session": "s", "id": "3"}], weird=[1, {"x": None}]))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="A")
    got = tasks_of(both_ways(base, ours, base))["1"]
    assert got["native"] == [{"machine": "m", "session": "s", "id": "3"}]
    assert got["weird"] == [1, {"x": None}]


# ---- conflict records as a set ---------------------------------------------------------------------------------------


def record(task_id: str, kept: str) -> dict[str, Any]:
    return {"task": task_id, "field": "owner", "kind": "field", "base": None, "values": [], "kept": kept}


def test_conflict_records_merge_as_a_three_way_set() -> None:
    old, kept, new_ours, new_theirs = record("1", "A"), record("2", "B"), record("3", "C"), record("4", "D")
    base = doc(task("1"), conflicts=[old, kept])
    ours = doc(task("1"), conflicts=[kept, new_ours])  # resolved `old`
    theirs = doc(task("1"), conflicts=[old, kept, new_theirs])
    result = both_ways(base, ours, theirs)
    assert sorted(r["task"] for r in result.document["conflicts"]) == ["2", "3", "4"]


def test_resolving_every_conflict_removes_the_list() -> None:
    base = doc(task("1"), conflicts=[record("1", "A")])
    ours = doc(task("1"))
    result = both_ways(base, ours, base)
    assert "conflicts" not in result.document


# ---- deletes ---------------------------------------------------------------------------------------------------------


def test_deleted_on_one_side_and_unchanged_on_the_other_is_deleted() -> None:
    base = doc(task("1"), task("2"))
    result = both_ways(base, remove(base, "1"), edit(base, "2", "pc-b", "2026-01-21T10:00:00Z", owner="B"))
    assert sorted(tasks_of(result)) == ["2"]
    assert result.conflicts == []


def test_deleted_on_one_side_and_edited_on_the_other_is_kept_and_recorded() -> None:
    base = doc(task("1"), task("2"))
    ours = remove(base, "1")
    theirs = edit(base, "1", "pc-b", "2026-01-21T10:00:00Z", owner="B")
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"] == next(t for t in theirs["tasks"] if t["id"] == "1")
    [record] = result.conflicts
    assert record == {
        "task": "1",
        "field": "task",  # a word: `gittasks resolve 1 task` needs no quoting (records made before said "*")
        "kind": "delete-edit",
        "base": None,
        "values": [
            {"value": "edited", "machine": "pc-b", "updated_at": "2026-01-21T10:00:00Z"},
            {"value": "deleted", "machine": None, "updated_at": None},
        ],
        "kept": "edited",
    }


def test_a_delete_edit_record_names_the_machine_that_deleted_whichever_side_it_is() -> None:
    base = doc(task("1"))
    ours, theirs = remove(base, "1"), edit(base, "1", "pc-b", "2026-01-21T10:00:00Z", owner="B")
    who = {"1": ("pc-a", "2026-01-21T09:00:00.000Z")}
    one = merge.merge_documents(base, ours, theirs, now=NOW, deleted_by=(who.get, None))
    two = merge.merge_documents(base, theirs, ours, now=NOW, deleted_by=(None, who.get))
    assert document.dumps(one.document) == document.dumps(two.document)
    [record] = one.conflicts
    assert {"value": "deleted", "machine": "pc-a", "updated_at": "2026-01-21T09:00:00.000Z"} in record["values"]


def test_deleted_on_both_sides_is_deleted() -> None:
    base = doc(task("1"), task("2"))
    result = both_ways(base, remove(base, "1"), remove(base, "1"))
    assert sorted(tasks_of(result)) == ["2"]


# ---- ids added on both sides -----------------------------------------------------------------------------------------


def test_same_task_added_on_both_sides_merges_field_by_field() -> None:
    base = doc()
    created = "2026-01-21T10:00:00Z"
    ours = add(base, task("9", created_at=created, owner="A", blocks=["1"], updated_at=created, updated_by="pc-a"))
    theirs = add(base, task("9", created_at=created, owner="B", blocks=["2"], updated_at=created, updated_by="pc-b"))
    result = both_ways(base, ours, theirs)
    got = tasks_of(result)
    assert list(got) == ["9"] and result.renamed == []
    assert got["9"]["blocks"] == ["1", "2"], "lists union"
    assert got["9"]["owner"] == "B", "same stamp: the larger machine name"
    assert [(r["field"], r["base"]) for r in result.conflicts] == [("owner", None)]


def test_different_tasks_added_under_one_id_are_both_kept_and_one_renamed() -> None:
    base = doc(task("5"))
    early = task("7", subject="Early", created_at="2026-01-21T10:00:00Z", updated_by="pc-a", parent="5")
    late = task("7", subject="Late", created_at="2026-01-21T11:00:00Z", updated_by="pc-b", blockedBy=["5"])
    ours = add(base, early)
    theirs = edit(add(base, late), "5", "pc-b", "2026-01-21T11:00:00Z", blocks=["7"])
    result = both_ways(base, ours, theirs)
    new_id = (
        "7-" + hashlib.sha256(orjson.dumps(document.canonical_task(late), option=orjson.OPT_SORT_KEYS)).hexdigest()[:6]
    )
    assert result.renamed == [("7", new_id)]
    got = tasks_of(result)
    assert got["7"]["subject"] == "Early" and got["7"]["parent"] == "5"
    assert got[new_id]["subject"] == "Late"
    assert got[new_id]["blockedBy"] == ["5"]
    assert got["5"]["blocks"] == [new_id], "the references on the renamed task's side follow it"
    [record] = [r for r in result.conflicts if r["kind"] == "rename"]
    assert record == {
        "task": new_id,
        "field": "id",
        "kind": "rename",
        "base": None,
        "values": [{"value": "7", "machine": "pc-b", "updated_at": T0}],
        "kept": new_id,
    }


def test_no_common_ancestor_merges_with_everything_added_on_both_sides() -> None:
    ours = doc(task("1", owner="A", updated_at="2026-01-21T10:00:00Z"), task("2"), extra="x")
    theirs = doc(task("1", owner="B", updated_at="2026-01-22T10:00:00Z"), task("3"), extra="y")
    theirs["last_updated"] = "2026-01-22T10:00:00Z"
    result = both_ways(None, ours, theirs)
    got = tasks_of(result)
    assert sorted(got) == ["1", "2", "3"]
    assert got["1"]["owner"] == "B"
    assert result.document["extra"] == "y", "top-level keys count as added on both sides: a conflict, later wins"
    assert result.document["last_updated"] == "2026-01-22T10:00:00Z"
    assert {(r["task"], r["field"]) for r in result.conflicts} == {("1", "owner"), (None, "extra")}


def test_identical_sides_give_that_side() -> None:
    base = doc(task("1"), task("2"))
    side = edit(remove(base, "2"), "1", "pc-a", "2026-01-21T10:00:00Z", owner="A", status="in_progress")
    result = both_ways(base, side, side)
    assert document.dumps(result.document) == document.dumps(side)
    assert result.conflicts == []


# ---- merge_task_lists and merge_bytes --------------------------------------------------------------------------------


def test_merge_task_lists_returns_tasks_conflicts_and_renames() -> None:
    base = [task("1")]
    ours = [task("1", owner="A", updated_at="2026-01-21T10:00:00Z")]
    theirs = [task("1", owner="B", updated_at="2026-01-21T09:00:00Z"), task("2")]
    tasks, conflicts, renamed = merge.merge_task_lists(base, ours, theirs, now=NOW)
    assert sorted(t["id"] for t in tasks) == ["1", "2"]
    assert [c["field"] for c in conflicts] == ["owner"]
    assert renamed == []


def lines(*tasks: dict[str, Any]) -> bytes:
    return b"".join(document.dump_line(t) for t in tasks)


ARCHIVE = ".claude/tasks/archive/2026-01.jsonl"


def test_merge_bytes_archive_lines_sorted_by_id() -> None:
    base = lines(task("2", status="completed"))
    ours = lines(task("2", status="completed"), task("10", status="completed"))
    theirs = lines(task("3", status="cancelled"), task("2", status="completed", owner="B"))
    one = merge.merge_bytes(base, ours, theirs, ARCHIVE, now=NOW)
    two = merge.merge_bytes(base, theirs, ours, ARCHIVE, now=NOW)
    assert one == two
    got = [orjson.loads(line) for line in one.splitlines()]
    assert [t["id"] for t in got] == ["2", "3", "10"]
    assert got[0]["owner"] == "B"
    assert one.endswith(b"\n") and b"\n\n" not in one


def test_merge_bytes_archive_without_base_and_with_crlf() -> None:
    ours = lines(task("1")).replace(b"\n", b"\r\n")
    theirs = b"\xef\xbb\xbf" + lines(task("2"))
    merged = merge.merge_bytes(None, ours, theirs, ARCHIVE, now=NOW)
    assert [orjson.loads(line)["id"] for line in merged.splitlines()] == ["1", "2"]


WORK_ITEMS = ".claude/tasks/work-items/2026-01.jsonl"


def test_merge_bytes_work_items_with_one_id_completed_on_two_machines_keep_the_earlier() -> None:
    def item(machine: str, time: str) -> dict[str, Any]:
        return {"id": "wi-7", "task": "7", "billable_minutes": 30, "client": "Acme", "machine": machine, "time": time}

    other = {"id": "wi-3", "task": "3", "billable_minutes": 10, "client": "Acme", "machine": "x", "time": T0}
    base = lines(other)
    ours = lines(other, item("pc-a", "2026-01-21T11:00:00Z"))
    theirs = lines(item("pc-b", "2026-01-21T10:00:00Z"), other)
    merged = merge.merge_bytes(base, ours, theirs, WORK_ITEMS, now=NOW)
    assert merged == merge.merge_bytes(base, theirs, ours, WORK_ITEMS, now=NOW)
    got = [orjson.loads(line) for line in merged.splitlines()]
    assert [(r["id"], r["machine"]) for r in got] == [("wi-3", "x"), ("wi-7", "pc-b")]
    assert merged == b"".join(sorted(document.dump_line(r) for r in got)), "lines sorted by their bytes"


def test_merge_bytes_work_items_changed_or_removed_on_one_side() -> None:
    a = {"id": "wi-1", "billable_minutes": 30}
    b = {"id": "wi-2", "billable_minutes": 10}
    base = lines(a, b)
    ours = lines({**a, "billable_minutes": 45}, b)  # changed
    theirs = lines(a)  # removed b
    merged = merge.merge_bytes(base, ours, theirs, WORK_ITEMS, now=NOW)
    assert [orjson.loads(line) for line in merged.splitlines()] == [{"id": "wi-1", "billable_minutes": 45}]


def test_merge_bytes_work_items_merge_as_a_record_set() -> None:
    name = WORK_ITEMS
    a, b, c, d = ({"task": str(i), "minutes": i} for i in range(4))  # no ids: keyed by their bytes
    base = lines(a, b)
    ours = lines(a, b, c)
    theirs = lines(b, d)  # removed a
    merged = merge.merge_bytes(base, ours, theirs, name)
    assert merged == merge.merge_bytes(base, theirs, ours, name)
    assert sorted(orjson.loads(line)["task"] for line in merged.splitlines()) == ["1", "2", "3"]


def test_merge_bytes_active_file_is_canonical() -> None:
    base = doc(task("1"))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", owner="A")
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", subject="S")
    name = ".claude/active-tasks.json"
    merged = merge.merge_bytes(document.dumps(base), document.dumps(ours), document.dumps(theirs), name, now=NOW)
    assert merged == document.dumps(orjson.loads(merged))
    assert merged == merge.merge_bytes(
        document.dumps(base), document.dumps(theirs), document.dumps(ours), name, now=NOW
    )
    got = {t["id"]: t for t in orjson.loads(merged)["tasks"]}
    assert (got["1"]["owner"], got["1"]["subject"]) == ("A", "S")


@pytest.mark.parametrize(
    ("ours", "theirs", "message"),
    [
        (b"{not json", b'{"tasks": []}', "(ours):1:2: not valid JSON"),
        (b'{"tasks": []}', b'{"tasks": {}}', "(theirs): no 'tasks' list"),
        (b'{"tasks": []}', b"", "(theirs): the file is empty"),
        (b'{"tasks": [{"id": "1", "subject": "a"}, {"id": "1", "subject": "b"}]}', b'{"tasks": []}', "duplicate id"),
        (b'{"tasks": []}', b'<<<<<<< ours\n{"tasks": []}\n=======\n', "conflict markers"),
    ],
)
def test_merge_bytes_refuses_invalid_input(ours: bytes, theirs: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        merge.merge_bytes(None, ours, theirs, ".claude/active-tasks.json")
    assert "\n" not in str(info.value)


def test_merge_bytes_refuses_invalid_archive_lines() -> None:
    with pytest.raises(DocumentError, match=r"\(ours\):2: not valid JSON"):
        merge.merge_bytes(None, lines(task("1")) + b"{oops\n", lines(task("2")), ARCHIVE)
    with pytest.raises(DocumentError, match="duplicate id"):
        merge.merge_bytes(None, lines(task("1"), task("1")), lines(task("2")), ARCHIVE)
    with pytest.raises(DocumentError, match="subject"):
        merge.merge_bytes(None, b'{"id": "1"}\n', lines(task("2")), ARCHIVE)


def test_merge_bytes_invalid_base_is_refused_unless_lenient() -> None:
    good = document.dumps(doc(task("1")))
    bad_base = b'<<<<<<< Temporary merge branch 1\n{"tasks": []}\n=======\n{"tasks": []}\n>>>>>>> b\n'
    with pytest.raises(DocumentError, match=r"\(base\)"):
        merge.merge_bytes(bad_base, good, good, ".claude/active-tasks.json")
    assert merge.merge_bytes(bad_base, good, good, ".claude/active-tasks.json", lenient_base=True) == good


# ---- lists inside metadata and context ------------------------------------------------------------------------------


def test_lists_inside_context_merge_as_ordered_sets() -> None:
    base = doc(task("1", context={"files_modified": ["a.py", "b.py"], "dependencies_added": ["x"]}))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z",
                context={"files_modified": ["a.py", "b.py", "z.py"], "dependencies_added": []})  # fmt: skip
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z",
                  context={"files_modified": ["b.py", "c.py", "a.py"], "dependencies_added": ["x", "y"]})  # fmt: skip
    result = both_ways(base, ours, theirs)
    context = tasks_of(result)["1"]["context"]
    assert context["files_modified"] == ["a.py", "b.py", "c.py", "z.py"]  # base order, then the additions
    assert context["dependencies_added"] == ["y"]  # ours removed x, theirs added y: both kept
    assert result.conflicts == []


def test_agent_entries_are_told_apart_by_agent_and_start() -> None:
    started = {"agent": "Coding Agent", "started": "2026-01-21T09:00:00Z"}
    base = doc(task("1", context={"assigned_agents": [started]}))
    finished = {**started, "completed": "2026-01-21T10:00:00Z", "status": "done"}
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", context={"assigned_agents": [finished]})
    review = {"agent": "Review Agent", "started": "2026-01-21T10:30:00Z"}
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", context={"assigned_agents": [started, review]})
    agents = tasks_of(both_ways(base, ours, theirs))["1"]["context"]["assigned_agents"]
    assert agents == [finished, review]


def test_a_list_whose_objects_have_no_key_is_one_value() -> None:
    base = doc(task("1", metadata={"notes": [{"text": "a"}]}))
    ours = edit(base, "1", "pc-a", "2026-01-21T10:00:00Z", metadata={"notes": [{"text": "a"}, {"text": "b"}]})
    theirs = edit(base, "1", "pc-b", "2026-01-21T11:00:00Z", metadata={"notes": [{"text": "c"}]})
    result = both_ways(base, ours, theirs)
    assert tasks_of(result)["1"]["metadata"]["notes"] == [{"text": "c"}]  # the later change, the other recorded
    assert [(c["field"], c["kind"]) for c in result.conflicts] == [("metadata.notes", "field")]


def test_the_sides_share_the_tasks_whose_text_is_unchanged_and_a_broken_side_is_named_as_when_parsed_whole() -> None:
    ours_doc = doc(task("a1", subject="One"), task("b2", subject="Two", blockedBy=["a1"]), task("c3", subject="3"))
    theirs_doc = copy.deepcopy(ours_doc)
    theirs_doc["tasks"][1]["owner"] = "changed"
    ours, theirs = document.dumps(ours_doc), document.dumps(theirs_doc)
    cut = document.task_texts(ours)
    assert cut is not None and len(cut[1]) == 3
    assert orjson.loads(b"{" + cut[1][1] + b"}")["id"] == "b2"
    versions = document.Versions(ours, "ours")
    mine = versions.first[0]["tasks"]
    read = versions.load(theirs, "theirs")[0]["tasks"]
    assert read[0] is mine[0] and read[2] is mine[2]  # the same objects: not parsed again
    assert read[1] is not mine[1] and read[1]["owner"] == "changed"
    for other in (ours.replace(b"\n", b"\r\n"), orjson.dumps(ours_doc), document.dumps(doc())):
        assert document.task_texts(other) is None
    broken = theirs.replace(b'"owner": "changed"', b'"owner": changed')
    with pytest.raises(DocumentError) as whole:
        document.load_document(broken, "theirs")
    with pytest.raises(DocumentError) as shared:
        versions.load(broken, "theirs")
    assert str(shared.value) == str(whole.value) and ":" in str(whole.value)
    twice = theirs.replace(b'"id": "c3"', b'"id": "a1"')
    with pytest.raises(DocumentError, match="duplicate id 'a1'"):
        versions.load(twice, "theirs")


def test_a_fast_forward_of_canonical_lists_is_read_by_the_changed_tasks_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from gittasks import rules
    from gittasks.merge import files

    old = doc(task("a1", subject="One"), task("b2", subject="Two"), task("c3", subject="Three"))
    new = copy.deepcopy(old)
    new["tasks"][1]["owner"] = "bob"
    new["tasks"][1]["updated_by"] = "WS-B"
    del new["tasks"][2]
    new["tasks"].append(task("d4", subject="Four", updated_by="WS-B"))
    before, after = {rules.ACTIVE_PATH: document.dumps(old)}, {rules.ACTIVE_PATH: document.dumps(new)}
    expected = merge.merge_task_files(before, before, after).incoming

    def whole(*args: object, **kwargs: object) -> object:
        raise AssertionError("the whole lists were merged")

    monkeypatch.setattr(files, "merge_task_files", whole)
    assert merge.incoming(before, after) == expected
    assert [(i["id"], i["change"], i["machine"]) for i in expected] == [
        ("b2", "changed", "WS-B"), ("c3", "removed", None), ("d4", "added", "WS-B")
    ]  # fmt: skip
