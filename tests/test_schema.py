"""The schema's one statement (the pydantic models of `schema.py`) and what is made of it: the table the write path
reads (`schema_table.py`, generated and committed), the JSON Schema editors use (`gittasks schema`), and `validate`'s
full list of problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, MakeRepo, init_repo

from gittasks import schema, schema_table
from gittasks.cli import setup_commands

SPEC_EXAMPLE = {
    "last_updated": "2026-01-23T10:30:00Z",
    "tasks": [
        {"id": "7", "subject": "Implement API authentication", "description": "Complete JWT-based authentication...",
         "activeForm": "Implementing API authentication", "status": "in_progress", "owner": "Coding Agent",
         "created_at": "2026-01-23T10:00:00Z", "started_at": "2026-01-23T10:05:00Z", "completed_at": None,
         "blocks": [], "blockedBy": [],
         "metadata": {"client": "Dataforth", "project": "ClaudeTools", "complexity": "moderate"}},
    ],
}  # fmt: skip


def test_the_generated_table_is_the_models_table() -> None:
    committed = Path(schema_table.__file__).read_text(encoding="utf-8")
    assert schema.table_source() == committed, (
        "gittasks/schema_table.py differs from the models in schema.py: regenerate it with `python -m gittasks.schema`"
    )


def test_the_table_names_every_field_of_the_models_in_their_order() -> None:
    assert list(schema_table.TASK) == list(schema.TaskModel.model_fields)
    assert list(schema_table.DOCUMENT) == list(schema.TaskFileModel.model_fields)
    assert schema_table.TASK["status"].enum == schema.rules.STATUSES  # the statuses are stated in rules.py once


def test_the_json_schema_says_what_it_is_and_allows_fields_it_does_not_know() -> None:
    stated = schema.json_schema()
    assert stated["$id"] == schema.SCHEMA_ID and stated["$schema"].startswith("https://json-schema.org/")
    assert stated["title"] and stated["description"]
    assert stated["additionalProperties"] is True  # unknown fields are kept, so never flagged
    assert stated["$defs"]["TaskModel"]["additionalProperties"] is True
    assert stated["required"] == ["tasks"] and stated["$defs"]["TaskModel"]["required"] == ["id", "subject"]


def test_an_editor_s_validator_takes_the_spec_s_example_and_flags_a_bad_status() -> None:
    jsonschema = pytest.importorskip("jsonschema")  # (comes with the MCP SDK the tests use)
    checker = jsonschema.Draft202012Validator(schema.json_schema())
    assert list(checker.iter_errors(SPEC_EXAMPLE)) == []
    assert list(checker.iter_errors({"$schema": "./gittasks.schema.json", **SPEC_EXAMPLE})) == []
    bad = json.loads(json.dumps(SPEC_EXAMPLE))
    bad["tasks"][0]["status"] = "done"
    bad["tasks"][0]["blocks"] = "8"
    assert sorted(e.path[-1] for e in checker.iter_errors(bad)) == ["blocks", "status"]


def test_the_schema_command_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    setup_commands.schema_command()
    assert json.loads(capsys.readouterr().out) == schema.json_schema()


def test_validate_names_every_problem_of_a_task() -> None:
    """(The write path names the first; a structural problem, which no read gets past, is the file's one line.)"""
    doc: dict[str, Any] = {"last_updated": "soon", "tasks": [
        {"id": "a", "subject": "", "status": "done", "metadata": ["b"]},
        {"id": "b", "subject": "Fine", "blockedBy": []},
    ]}  # fmt: skip
    found = schema.problems(json.dumps(doc).encode(), "f.json")
    assert [line.split(": field ")[1].split(" ")[0] for line in found] == [
        "'last_updated'", "'subject'", "'status'", "'metadata'"
    ]  # fmt: skip
    assert "f.json: tasks[0] (id 'a'): field 'status' must be one of 'pending'," in found[2]
    assert schema.problems(json.dumps(SPEC_EXAMPLE).encode(), "f.json") == []


def test_a_schema_key_in_the_file_is_kept_through_a_change(make_repo: MakeRepo) -> None:
    cli: Cli = init_repo(make_repo(), inline=True)
    path = cli.root / ".claude" / "active-tasks.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({"$schema": "../.vscode/gittasks.schema.json", **doc}), encoding="utf-8")
    cli.create("After the key")
    kept = cli.doc()
    assert kept["$schema"] == "../.vscode/gittasks.schema.json" and [t["subject"] for t in kept["tasks"]] == [
        "After the key"
    ]
    assert cli.ok("validate") == ""
