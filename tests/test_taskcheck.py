"""The write path's check (`taskcheck`, no pydantic) says what the schema (`schema`, pydantic) says: the same tasks
and documents accepted, the same refused, the same field named first."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gittasks import rules, schema, taskcheck
from gittasks.document import DocumentError

VALUES = [None, "", "x", "Coding Agent", 0, 1, 2.5, True, [], ["a"], ["a", 1], [None], {}, {"k": 1},
          "2026-01-01T00:00:00Z", "2026-01-01", "0001-01-01T00:00:00+01:00", "yesterday", *rules.STATUSES, "done",
          "deferred"]  # fmt: skip
FIELDS = [name for name, _kind in taskcheck.TASK_FIELDS]


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


def pydantic_says(task: dict[str, Any]) -> str | None:
    try:
        schema.TaskModel.model_validate(task)
    except ValidationError as exc:
        return ".".join(str(p) for p in exc.errors()[0]["loc"])
    return None


@settings(max_examples=600, deadline=None)
@given(tasks())
def test_a_task_is_refused_by_both_or_by_neither_and_for_the_same_field(task: dict[str, Any]) -> None:
    found = taskcheck.task_problem(task)
    assert (found[0] if found else None) == pydantic_says(task), (task, found)


@pytest.mark.parametrize(
    "doc",
    [
        {"tasks": [{"id": "a", "subject": "A", "status": "done"}]},
        {"tasks": [{"id": "a", "subject": "A", "owner": {"name": "x"}}]},
        {"tasks": [{"id": "a", "subject": "A", "blocks": "b"}]},
        {"last_updated": "soon", "tasks": []},
        {"tasks": [], "conflicts": ["x"]},
        {"tasks": [{"id": "a", "subject": "A", "blockedBy": ["a"], "blocks": ["a"]}]},
        {"tasks": [{"id": "a", "subject": "A", "parent": "b"}, {"id": "b", "subject": "B", "parent": "a"}]},
        {"tasks": [{"id": "a", "subject": "A", "created_at": "2026-01-01T00:00:00Z"}], "last_updated": None},
    ],
)
def test_a_document_is_refused_by_both_or_by_neither(doc: dict[str, Any]) -> None:
    def outcome(check: Any) -> str | None:
        try:
            check(doc, "file")
        except DocumentError as exc:
            return str(exc).split(": field ")[0] + (": " + str(exc).split("'")[1] if ": field '" in str(exc) else "")
        return None

    assert outcome(taskcheck.check_document) == outcome(schema.validate_full)
