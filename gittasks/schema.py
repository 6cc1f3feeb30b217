"""The task schema (pydantic v2), its one statement: `validate` and `doctor` run it and report every problem, `gittasks
schema` prints it as a JSON Schema for editors, and `schema_table.py` is generated from it for the write path.

Only `doctor`, `validate` and `gittasks schema` import this module: pydantic costs a start-up (see docs/internals.md,
"Import rules"), so a change checks its tasks with `taskcheck`, which reads the generated table. Regenerate the
table after changing a model here with `python -m gittasks.schema`; `tests/test_schema.py` fails until it matches.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

# pydantic scans every installed package for plugins when a model is first built; gittasks uses none
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from gittasks import document, model, rules, schema_table, taskcheck
from gittasks.document import MISSING, Document, DocumentError
from gittasks.schema_table import Rule

SCHEMA_ID = "urn:gittasks:active-tasks"

if TYPE_CHECKING:
    Status = str
else:
    Status = Literal[rules.STATUSES]  # the statuses are named once, in rules.py


def _check_stamp(value: str) -> str:
    if rules.parse_stamp(value) is None:
        raise ValueError("not an ISO 8601 timestamp")
    return value


# A timestamp is what `rules.parse_stamp` reads (a date alone, an offset, a space for the T): wider than JSON Schema's
# "date-time" format, which an editor would hold against files gittasks accepts, so the schema says it in words.
Stamp = Annotated[str, AfterValidator(_check_stamp)]


def _stamp(meaning: str) -> Any:
    return Field(None, description=f"{meaning}: an ISO 8601 timestamp, e.g. 2026-01-23T10:30:00Z, or null")


class TaskModel(BaseModel):
    """One task. Fields this version does not know are allowed and kept as they are."""

    model_config = ConfigDict(extra="allow", strict=True, title="Task")

    id: str = Field(min_length=1, description="Stable id; any non-empty string (new ones are short and random).")
    subject: str = Field(min_length=1, description="Imperative title: 'Design authentication schema'.")
    description: str | None = Field(None, description="The detail.")
    activeForm: str | None = Field(None, description="Present-continuous label shown while in progress.")
    status: Status = Field("pending", description="Where the task is in its state machine.")
    owner: str | None = Field(None, description="Which agent or person works on it.")
    created_at: Stamp | None = _stamp("When the task was created")
    started_at: Stamp | None = _stamp("When work on it started")
    completed_at: Stamp | None = _stamp("When it was completed or cancelled")
    updated_at: Stamp | None = _stamp("Its last change, later than the one before")
    updated_by: str | None = Field(None, description="The machine that made the last change.")
    blocks: list[str] = Field(default_factory=list, description="Ids of the tasks this one blocks.")
    blockedBy: list[str] = Field(default_factory=list, description="Ids of the tasks this one waits for.")
    blocked_reason: str | None = Field(None, description="Why it is blocked.")
    parent: str | None = Field(None, description="The id of its parent task.")
    type: str | None = Field(None, description="implementation, research, review, testing, bugfix, ...")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form; client, project, complexity.")
    context: dict[str, Any] = Field(default_factory=dict, description="The rich context: outcome, files, ...")


class TaskFileModel(BaseModel):
    """The task list in use, `.claude/active-tasks.json`. Fields this version does not know are allowed and kept
    (a `$schema` key naming this schema, say)."""

    model_config = ConfigDict(extra="allow", strict=True, title="gittasks task list")

    last_updated: Stamp | None = _stamp("The list's last change")
    tasks: list[TaskModel] = Field(description="Every task that is not archived.")
    conflicts: list[dict[str, Any]] | None = Field(
        None, description="Conflicts a merge recorded (`gittasks conflicts`)."
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `.claude/active-tasks.json`, for editors (`gittasks schema`)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **TaskFileModel.model_json_schema(),
    }


# -- the table the write path reads (schema_table.py) ----------------------------------------------------------------


def _expected(name: str, types: tuple[str, ...], main: dict[str, Any], stamp: bool) -> str:
    """What a field must hold, in words (the one wording of every schema message)."""
    kind = types[0]
    if main.get("enum"):
        text = "one of " + ", ".join(repr(v) for v in main["enum"])
    elif stamp:
        text = "an ISO 8601 timestamp"
    elif kind == "string":
        text = "a non-empty string" if main.get("minLength") else "a string"
    elif kind == "array":
        text = "a list of task ids" if name in rules.ID_LIST_FIELDS else f"a list of {_item_type(main)}s"
    else:
        text = "an object"
    return text + (" or null" if "null" in types else "")


def _item_type(main: dict[str, Any]) -> str:
    items = main.get("items")
    return "" if items is None else items.get("type", "object")  # a $ref is a model: an object


def _rules(schema: dict[str, Any], model_class: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """Each field's `schema_table.Rule`, as keywords (not the class: the table may be the stale one)."""
    table: dict[str, dict[str, Any]] = {}
    for name, prop in schema["properties"].items():
        variants = prop.get("anyOf", [prop])
        types = tuple(v.get("type", "object") for v in variants)
        main = next(v for v in variants if v.get("type") != "null")
        annotation = model_class.model_fields[name].annotation
        stamp = Stamp in (annotation, *get_args(annotation))
        item = _item_type(main)
        table[name] = {
            "types": types,
            "required": name in schema.get("required", ()),
            "min_length": main.get("minLength", 0),
            "enum": tuple(main.get("enum", ())),
            "items": item,
            "stamp": stamp,
            "expected": _expected(name, types, main, stamp),
            "item_expected": {"": "", "string": "a string", "object": "an object"}[item],
        }
    return table


def table_source() -> str:
    """The text of `schema_table.py`, generated from the models."""
    whole = TaskFileModel.model_json_schema()
    task, head = _rules(whole["$defs"]["TaskModel"], TaskModel), _rules(whole, TaskFileModel)
    return _TABLE_HEAD + _dict("TASK", task) + "\n" + _dict("DOCUMENT", head)


def _dict(name: str, table: dict[str, dict[str, Any]]) -> str:
    lines = [f"{name}: dict[str, Rule] = {{"]
    for field, rule in table.items():
        lines.append(f"    {_literal(field)}: Rule(")
        lines += [f"        {key}={_literal(value)}," for key, value in rule.items()]
        lines.append("    ),")
    return "\n".join([*lines, "}", ""])


def _literal(value: Any) -> str:
    """Python source of a table value, in the quotes `ruff format` keeps."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


_TABLE_HEAD = '''"""The task schema as a table for the write path's check (`taskcheck`), which must not import pydantic.

Generated from the pydantic models in `schema.py` by `python -m gittasks.schema`; do not edit by hand:
`tests/test_schema.py` fails when this file and the models differ.
"""

from __future__ import annotations

from typing import NamedTuple


class Rule(NamedTuple):
    """One field: its JSON types ("null" when it may be null), whether it must be there, the least length of a
    string, the values allowed (none: any), the JSON type of a list's items, whether it is a timestamp, and what it
    must hold in words (for the field, for an item)."""

    types: tuple[str, ...]
    required: bool
    min_length: int
    enum: tuple[str, ...]
    items: str
    stamp: bool
    expected: str
    item_expected: str


# the fields in the models' order: the first problem named is the one pydantic names first
'''


# -- full validation: every problem --------------------------------------------------------------------------------


def _problems(exc: ValidationError, table: dict[str, Rule]) -> list[taskcheck.Problem]:
    """pydantic's errors as (field path, expected, value found), worded from the table as the write path words them."""
    found: list[taskcheck.Problem] = []
    for err in exc.errors():
        loc = err["loc"]
        rule = table[str(loc[0])]
        expected = rule.item_expected if len(loc) > 1 and rule.item_expected else rule.expected
        value = MISSING if err["type"] == "missing" else err["input"]
        found.append((".".join(str(p) for p in loc), expected, value))
    return found


def task_problems(task: Any) -> list[taskcheck.Problem]:
    """Every problem the schema finds in one task (empty when it accepts it)."""
    if not isinstance(task, dict):
        return [("", "an object", task)]
    try:
        TaskModel.model_validate(task)
    except ValidationError as exc:
        return _problems(exc, schema_table.TASK)
    return []


def first_task_problem(task: Any) -> taskcheck.Problem | None:
    return next(iter(task_problems(task)), None)


def first_head_problem(doc: Document) -> taskcheck.Problem | None:
    try:
        TaskFileModel.model_validate({**doc, "tasks": []})
    except ValidationError as exc:
        return _problems(exc, schema_table.DOCUMENT)[0]
    return None


def validate_full(doc: Document, name: str, *, before: Document | None = None) -> None:
    """The write path's check (`taskcheck.check_document`) with pydantic judging the fields instead of the table:
    what the tests hold the quick check against."""
    taskcheck.check_document(doc, name, before=before, task_problem=first_task_problem, head_problem=first_head_problem)


def problems(raw: bytes, name: str, *, known_elsewhere: Collection[str] = ()) -> list[str]:
    """Every problem of a task file, one line each (for `validate`); empty when the file is good. Each field the
    schema refuses has its line (such a task is kept as it is, see `taskcheck.KEPT`); a task that is also in the
    archive (`known_elsewhere`) is named too."""
    try:
        if name.endswith(".jsonl"):
            return _jsonl_problems(raw, name)
        doc = document.load_document(raw, name)
    except DocumentError as exc:
        return [str(exc)]
    found: list[str] = []
    try:
        TaskFileModel.model_validate({**doc, "tasks": []})
    except ValidationError as exc:
        found += [str(taskcheck.refusal(name, problem)) for problem in _problems(exc, schema_table.DOCUMENT)]
    for index, task in enumerate(doc["tasks"]):
        where = f"{name}: tasks[{index}] (id {task['id']!r})"
        found += [str(taskcheck.kept_error(where, problem)) for problem in task_problems(task)]
    try:
        model.check_relations(doc, name)
    except DocumentError as exc:
        found.append(str(exc))
    found += model.link_problems(doc, name, known_elsewhere)
    for task in doc["tasks"]:
        if task["id"] in known_elsewhere:
            found.append(
                f"{name}: task {task['id']!r} is in the active list and in the archive too (a plain-git merge or a "
                "hand edit); the next gittasks command keeps the copy changed last"
            )
    return list(dict.fromkeys(found))


def _jsonl_problems(raw: bytes, name: str) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = document.parse_bytes(line, f"{name}:{number}")
        except DocumentError as exc:
            found.append(str(exc))
            continue
        if "/work-items/" in name.replace("\\", "/"):
            if not isinstance(value, dict):
                found.append(f"{name}:{number}: a work item must be a JSON object")
            continue
        try:
            document.check_task(value, f"{name}:{number}")
        except DocumentError as exc:
            found.append(str(exc))
            continue
        refused = task_problems(value)
        found += [f"{name}:{number}: {document.field_message(*problem)}" for problem in refused]
        if refused:
            continue
        if value["id"] in seen:
            found.append(f"{name}:{number}: duplicate id {value['id']!r}")
        seen.add(value["id"])
    return found


if __name__ == "__main__":
    # regenerate the write path's table: `python -m gittasks.schema`
    target = Path(__file__).with_name("schema_table.py")
    target.write_text(table_source(), encoding="utf-8")
    sys.stdout.write(f"wrote {target.name}\n")
