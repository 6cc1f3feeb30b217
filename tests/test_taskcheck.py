"""The write path's check (`taskcheck`, reading the table generated from the pydantic models) gives pydantic's verdict
(`schema`): the same tasks and documents refused, the same field named first, in the same words. The table is held
equal to the models by `tests/test_schema.py`; these tests hold the code that reads it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gittasks import document, rules, schema, schema_table, taskcheck
from gittasks.document import DocumentError

VALUES = [None, "", "x", "Coding Agent", 0, 1, 2.5, True, [], ["a"], ["a", 1], [None], {}, {"k": 1},
          "2026-01-01T00:00:00Z", "2026-01-01", "0001-01-01T00:00:00+01:00", "yesterday", *rules.STATUSES, "done",
          "deferred"]  # fmt: skip
FIELDS = list(schema_table.TASK)


@st.composite
def tasks(draw: st.DrawFn) -> dict[str, Any]:
    task: dict[str, Any] = {"id": draw(st.sampled_from(["t1", "", 7, None])) if draw(st.booleans()) else "t1",
                            "subject": "Do it"}  # fmt: skip
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        value = draw(st.sampled_from(VALUES))
        if value is None and draw(st.booleans()):
            task.pop(name, None)
        else:
            task[name] = value
    if draw(st.booleans()):
        task["unknown_field"] = draw(st.sampled_from(VALUES))  # kept, never refused
    return task


def pydantic_says(task: dict[str, Any]) -> taskcheck.Problem | None:
    found = schema.task_problems(task)
    return found[0] if found else None


@settings(max_examples=600, deadline=None)
@given(tasks())
def test_a_task_is_refused_by_both_or_by_neither_for_the_same_field_in_the_same_words(task: dict[str, Any]) -> None:
    assert taskcheck.task_problem(task) == pydantic_says(task), task


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["last_updated", "conflicts", "other"]), st.sampled_from([*VALUES, [{}], [{}, 3]]))
def test_the_list_s_own_fields_are_refused_by_both_or_by_neither(name: str, value: Any) -> None:
    doc: dict[str, Any] = {"tasks": [], name: value}
    assert taskcheck.head_problem(doc) == schema.first_head_problem(doc), doc


@pytest.mark.parametrize(
    "doc",
    [
        {"tasks": [{"id": "a", "subject": "A", "status": "done"}]},
        {"tasks": [{"id": "a", "subject": "A", "owner": {"name": "x"}}]},
        {"tasks": [{"id": "a", "subject": "A", "blocks": "b"}]},
        {"tasks": [{"id": "a", "subject": ""}]},
        {"tasks": [{"id": "a", "subject": "A", "blockedBy": ["b", 3]}]},
        {"tasks": [{"id": "a", "subject": "A", "created_at": "soon", "status": "later"}]},
        {"last_updated": "soon", "tasks": []},
        {"tasks": [], "conflicts": ["x"]},
        {"tasks": [{"id": "a", "subject": "A", "blockedBy": ["a"], "blocks": ["a"]}]},
        {"tasks": [{"id": "a", "subject": "A", "parent": "b"}, {"id": "b", "subject": "B", "parent": "a"}]},
        {"tasks": [{"id": "a", "subject": "A", "created_at": "2026-01-01T00:00:00Z"}], "last_updated": None},
        {"$schema": "./active-tasks.schema.json", "tasks": [{"id": "a", "subject": "A", "x-new": 1}]},
    ],
)
def test_a_document_is_refused_by_both_or_by_neither_with_the_same_line(doc: dict[str, Any]) -> None:
    def outcome(check: Any) -> str | None:
        try:
            check(doc, "file")
        except DocumentError as exc:
            return str(exc)
        return None

    assert outcome(taskcheck.check_document) == outcome(schema.validate_full)


def test_the_messages_name_the_field_what_it_must_hold_and_what_it_holds() -> None:
    def refused(task: dict[str, Any]) -> str:
        found = taskcheck.task_problem({"id": "a", "subject": "A", **task})
        assert found is not None
        return document.field_message(*found)

    assert refused({"status": "done"}) == (
        "field 'status' must be one of 'pending', 'in_progress', 'blocked', 'completed', 'cancelled', not 'done'"
    )
    assert refused({"created_at": 5}) == "field 'created_at' must be an ISO 8601 timestamp or null, not a number"
    assert refused({"blocks": ["b", None]}) == "field 'blocks.1' must be a string, not null"
    assert document.field_message("subject", "a non-empty string", document.MISSING) == (
        "field 'subject' is required: a non-empty string"
    )
    long = taskcheck.task_problem({"id": "a", "subject": "A", "status": "s" * 100})
    assert long is not None and document.field_message(*long).endswith("'" + "s" * 40 + "...'")


def test_the_structural_check_of_a_read_states_its_fields_with_the_schema_s_types() -> None:
    """A read needs the id, the subject and the dependency lists; it takes what only a write refuses as it is."""
    document.check_task({"id": "a", "subject": "", "status": "deferred", "blocks": None, "owner": 3}, "file")
    for task, message in [
        ({"subject": "A"}, "field 'id' is required: a non-empty string"),
        ({"id": "", "subject": "A"}, "field 'id' must be a non-empty string, not ''"),
        ({"id": "a"}, "(id 'a'): field 'subject' is required: a non-empty string"),
        ({"id": "a", "subject": "A", "blockedBy": 5}, "field 'blockedBy' must be a list of task ids, not a number"),
        ({"id": "a", "subject": "A", "blocks": ["b", 2]}, "field 'blocks.1' must be a string, not a number"),
    ]:
        with pytest.raises(DocumentError, match=re.escape(message)):
            document.check_task(task, "file")
