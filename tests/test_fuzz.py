"""Fuzzing the loader and the merge driver with hypothesis over arbitrary JSON and arbitrary bytes.

The loader either returns a document or raises DocumentError (one line). The driver either writes valid JSON into
%A and exits 0, or leaves %A untouched and exits non-zero; it never raises.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gittasks import document, driver
from gittasks.document import DocumentError

EXAMPLES = int(os.environ.get("GITTASKS_FUZZ_EXAMPLES", "300"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)  # fmt: skip
task_ids = st.sampled_from(["1", "2", "a", "b", "-x", "../y"])
loose_tasks = st.fixed_dictionaries(
    {"id": task_ids, "subject": st.text(max_size=10)},
    optional={
        "status": st.sampled_from(["pending", "in_progress", "completed", "blocked", "cancelled", "weird"]),
        "blocks": st.lists(task_ids, max_size=3),
        "blockedBy": st.lists(task_ids, max_size=3) | json_values,
        "metadata": json_values,
        "updated_at": st.sampled_from(["2026-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "garbage", None]),
        "description": st.text(max_size=30),
        "x": json_values,
    },
)
documents = st.one_of(
    json_values,
    st.fixed_dictionaries({"tasks": st.lists(loose_tasks, max_size=5)}, optional={"conflicts": json_values,
                                                                                    "last_updated": json_values}),
)  # fmt: skip


def as_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=300) | documents.map(as_bytes))
def test_loader_never_raises_anything_but_document_error(raw: bytes) -> None:
    try:
        doc = document.load_document(raw, "f.json")
    except DocumentError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(doc["tasks"], list)
    document.dumps(doc)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=documents | st.just(None), ours=documents, theirs=documents, garbage=st.binary(max_size=40))
def test_driver_writes_valid_json_or_leaves_ours_untouched(base: Any, ours: Any, theirs: Any, garbage: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = [folder / "base", folder / "ours", folder / "theirs"]
        paths[0].write_bytes(b"" if base is None else as_bytes(base))
        paths[1].write_bytes(as_bytes(ours))
        paths[2].write_bytes(as_bytes(theirs) if garbage[:1] != b"!" else garbage)
        before = paths[1].read_bytes()
        code = driver.main([str(p) for p in paths] + [".claude/active-tasks.json"])
        after = paths[1].read_bytes()
        if code == 0:
            merged = orjson.loads(after)
            document.check_document(merged, "merged")
        else:
            assert after == before, "a failed merge must leave %A untouched"
        assert sorted(p.name for p in folder.iterdir()) == ["base", "ours", "theirs"], "temp files left behind"


@settings(max_examples=max(EXAMPLES // 3, 30), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(documents.map(as_bytes) | st.binary(max_size=30), max_size=4))
def test_driver_on_archive_lines(lines: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours = folder / "ours"
        ours.write_bytes(b"\n".join(lines))
        theirs = folder / "theirs"
        theirs.write_bytes(b'{"id": "z", "subject": "s"}\n')
        base = folder / "base"
        base.write_bytes(b"")
        before = ours.read_bytes()
        code = driver.main([str(base), str(ours), str(theirs), ".claude/tasks/archive/2026-01.jsonl"])
        if code == 0:
            for line in ours.read_bytes().splitlines():
                document.check_task(orjson.loads(line), "line")
        else:
            assert ours.read_bytes() == before
