"""The pure model: ids, the state machine table, cycles, canonical documents."""

from __future__ import annotations

import random

import pytest

from gittasks import document, ids, model, rules
from gittasks.errors import AmbiguousId, GittasksError, UnknownId


def test_ids_unique_over_100k_generated() -> None:
    length = ids.id_length(100_000)
    generated = set()
    for _ in range(100_000):
        generated.add(_independent_id(length))
    assert len(generated) == 100_000


_SYSTEM_RANDOM = random.SystemRandom()


def _independent_id(length: int) -> str:
    # Each id drawn as a machine would draw it with no knowledge of the others: the collision odds must be tiny.
    return "".join(_SYSTEM_RANDOM.choices(ids.ID_ALPHABET, k=length))


def test_new_id_grows_with_list_and_avoids_existing() -> None:
    assert ids.id_length(1) == 6
    assert ids.id_length(100_000) > ids.id_length(100)
    existing = {ids.new_id(()) for _ in range(50)}
    fresh = ids.new_id(existing)
    assert fresh not in existing
    assert set(fresh) <= set(ids.ID_ALPHABET)


def test_resolve_id() -> None:
    known = ["abc1", "abc2", "7", "70"]
    assert ids.resolve_id(known, "7") == "7"
    assert ids.resolve_id(known, "abc1") == "abc1"
    with pytest.raises(AmbiguousId, match="ambiguous"):
        ids.resolve_id(known, "abc")
    with pytest.raises(UnknownId, match="no task"):
        ids.resolve_id(known, "zz")
    assert issubclass(AmbiguousId, GittasksError) and issubclass(UnknownId, GittasksError)


@pytest.mark.parametrize("old", rules.STATUSES)
@pytest.mark.parametrize("new", rules.STATUSES)
def test_transition_table_matches_the_spec(old: str, new: str) -> None:
    legal = {
        ("pending", "in_progress"), ("pending", "cancelled"), ("pending", "blocked"),
        ("in_progress", "completed"), ("in_progress", "blocked"), ("in_progress", "cancelled"),
        ("blocked", "in_progress"), ("blocked", "cancelled"),
    }  # fmt: skip
    assert rules.is_legal_transition(old, new) == ((old, new) in legal)
    reopen_legal = old in rules.TERMINAL and new in ("pending", "in_progress")
    if old in rules.TERMINAL:
        assert rules.is_legal_transition(old, new, reopen=True) == reopen_legal


def test_find_cycle() -> None:
    tasks = [{"id": "a", "blockedBy": ["c"]}, {"id": "b", "blockedBy": ["a"]}, {"id": "c", "blockedBy": ["b"]}]
    cycle = model.find_cycle(tasks)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert model.find_cycle([{"id": "a", "blockedBy": ["b"]}, {"id": "b"}]) is None


def test_canonical_bytes_are_stable() -> None:
    a = {
        "tasks": [{"id": "2", "subject": "b", "blocks": ["z", "a"]}, {"id": "10", "subject": "c"}],
        "last_updated": "1",
    }
    b = {
        "last_updated": "1",
        "tasks": [{"subject": "c", "id": "10"}, {"blocks": ["a", "z"], "subject": "b", "id": "2"}],
    }
    assert document.dumps(a) == document.dumps(b)
    assert document.dumps(a).endswith(b"\n")
    assert [t["id"] for t in document.canonical(a)["tasks"]] == ["2", "10"]


def test_bom_and_crlf_read_as_absent() -> None:
    raw = b'\xef\xbb\xbf{\r\n  "tasks": [{"id": "a", "subject": "x"}]\r\n}\r\n'
    assert document.load_document(raw, "f")["tasks"][0]["id"] == "a"


def test_next_stamp_always_later() -> None:
    now = rules.utc_now()
    later = rules.next_stamp(rules.format_stamp(now), now)
    assert later > rules.format_stamp(now)
