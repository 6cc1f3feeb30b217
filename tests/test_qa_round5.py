"""QA round 5: what a new user ran into with three workstations, a silent remote, the turn hooks, hostile text and
the reports a spreadsheet opens. Each test failed before its fix."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

import pytest
from helpers import ACTIVE, Cli, run_gittasks

# ---- report --csv: a cell a spreadsheet would run as a formula is neutralised -------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1)", "-2+3", "@SUM(A1)", "\tx", "\r=1"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_report_csv_neutralises_formulas_in_text_cells(cli: Cli, formula: str) -> None:
    tid = cli.create(f"--client={formula}", f"--project={formula}", "--minutes", "30", "--", formula)
    cli.ok("done", tid)
    for args, columns in ((("report", "--csv"), ("client", "project")),
                          (("report", "--items", "--csv"), ("client", "project", "problem"))):  # fmt: skip
        rows = list(csv.DictReader(io.StringIO(cli.ok(*args))))
        assert len(rows) == 1, rows
        for cell in rows[0].values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (args, cell)
        for column in columns:  # the text kept after the quote ("\r" shown as an escape on the way out)
            cell = rows[0][column]
            assert cell.startswith("'") and cell.endswith(formula.lstrip("\t\r")), (args, column, cell)
    # numbers stay numbers: the minutes and hours columns are not quoted away
    rows = list(csv.DictReader(io.StringIO(cli.ok("report", "--items", "--csv"))))
    assert rows[0]["billable_minutes"] == "30" and rows[0]["hours"] == "0.50"


# ---- a direct write (an editor, no hook): minutes that are no number are said by the command that takes it in ------


def test_an_editors_write_of_minutes_that_are_no_number_is_said_in_one_line(cli: Cli) -> None:
    tid = cli.create("Fix the printer", "--client", "Dataforth")
    other = cli.create("Untouched")
    doc = cli.doc()
    for task in doc["tasks"]:
        if task["id"] == tid:
            task["status"] = "completed"
            task["metadata"]["billable_minutes"] = "soon"
    (cli.root / ACTIVE).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    proc = cli.run("list")
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "not a number" in line]
    assert said == [
        f"gittasks: task {tid}: metadata.billable_minutes 'soon' is not a number of minutes (zero or more); it counts "
        "as none until it is a number"
    ], proc.stderr
    assert cli.task(tid)["metadata"]["billable_minutes"] == "soon" and cli.task(tid)["status"] == "completed"
    # said once, when it is taken in; a later change of another task does not say it again
    proc = cli.run("update", other, "--subject", "Still untouched")
    assert "not a number" not in proc.stderr, proc.stderr


# ---- edit: what the user typed survives a refusal ------------------------------------------------------------------

RACING_EDITOR = """
import json, os, subprocess, sys
path = sys.argv[-1]
task = json.load(open(path, encoding="utf-8"))
if os.environ.get("EDIT_MODE") == "race":  # meanwhile, another command (a sync) changes the same field
    subprocess.run([sys.executable, "-m", "gittasks", "update", task["id"], "-d", "meanwhile"], check=True)
    task["description"] = "an hour of careful writing"
    json.dump(task, open(path, "w", encoding="utf-8"))
else:  # a typo: a trailing comma
    open(path, "w", encoding="utf-8").write('{"id": "%s", "description": "an hour of careful writing",}' % task["id"])
"""


@pytest.mark.parametrize("mode", ["race", "typo"])
def test_a_refused_edit_keeps_what_was_typed_and_says_where(cli: Cli, tmp_path: Path, mode: str) -> None:
    script = tmp_path / "editor.py"
    script.write_text(RACING_EDITOR, encoding="utf-8")
    tid = cli.create("Write the handover")
    env = {"VISUAL": f'"{sys.executable}" "{script}"', "EDITOR": "", "EDIT_MODE": mode}
    before = cli.doc() if mode == "typo" else None
    stderr = cli.fail("edit", tid, env=env)
    assert len(stderr.strip().splitlines()) == 1 and "nothing was changed" in stderr, stderr
    found = re.search(r"your edit is kept in (\S+)$", stderr.strip())
    assert found, stderr
    assert "an hour of careful writing" in Path(found.group(1)).read_text(encoding="utf-8")
    if before is not None:
        assert cli.doc() == before


# ---- a direct write closing a cycle: the refusal says the same every time ------------------------------------------


def test_a_cycle_written_by_hand_is_named_the_same_way_every_run(cli: Cli) -> None:
    ids = [cli.create(name) for name in ("a", "b", "c", "d")]
    doc = cli.doc()
    by_id = {t["id"]: t for t in doc["tasks"]}
    for n in range(3):  # a cycle of three; the fourth waits on it
        by_id[ids[n]]["blockedBy"], by_id[ids[n]]["blocks"] = [ids[n - 1]], [ids[(n + 1) % 3]]
    by_id[ids[0]]["blocks"].append(ids[3])
    by_id[ids[3]]["blockedBy"] = [ids[0]]
    (cli.root / ACTIVE).write_text(json.dumps(doc), encoding="utf-8")
    said = set()
    for seed in range(6):  # the order of a set of ids changes with the hash seed of each process
        proc = run_gittasks(cli.root, "list", env={"PYTHONHASHSEED": str(seed)})
        assert proc.returncode == 1 and "dependency cycle" in proc.stderr, proc.stderr
        said.add(proc.stderr)
    assert len(said) == 1, said
