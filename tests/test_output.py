"""What gittasks prints: no escape sequence from a file or a commit reaches the terminal, plain help, messages that
say what happened (a cut log, an unknown id, empty values, nothing listed or ready, counts), a closed stdout, and
the machine an incoming change came from. Both layouts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Cli, git, init_repo

LAYOUTS = pytest.mark.parametrize("inline", [False, True], ids=["own-branch", "inline"])
EVIL = "\x1b[31mRED\x1b]0;pwned\x07\x9b"
RAW = re.compile(r"[\x07\x1b\x80-\x9f]")  # BEL, ESC and the C1 controls (CSI, OSC, ...)


def test_help_is_plain_text_piped_and_in_a_terminal(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    from gittasks.cli.app import GROUPS

    for names in GROUPS.values():
        for name in names:
            if name != "merge-driver":  # git's entry point, dispatched before the CLI: no help of its own
                assert "\\" not in cli.ok(name, "--help"), name
    assert "SUBJECT  [required]" in cli.ok("create", "--help")
    assert "[default: month]" in cli.ok("report", "--help")
    assert "[x>=1]" in cli.ok("log", "--help")
    assert "\\" not in cli.ok("--help") + cli.ok("hook", "--help")
    if sys.platform == "win32":
        return
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([sys.executable, "-m", "gittasks", "create", "--help"], cwd=tmp_path, stdout=follower,
                          stderr=subprocess.PIPE, env=env, timeout=60)  # fmt: skip
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    text = out.decode()
    assert "SUBJECT  [required]" in text and "\\[" not in text, text


@LAYOUTS
def test_sync_names_the_machine_an_incoming_change_came_from(
    make_repo, bare_remote: Path, tmp_path: Path, inline: bool
) -> None:  # type: ignore[no-untyped-def]
    a = init_repo(make_repo("a"), "WS-A", inline=inline)
    a.ok("init", "--remote", str(bare_remote))
    tid = a.create("Shared")
    a.ok("sync")
    git(tmp_path, "clone", "-q", str(bare_remote), str(tmp_path / "b"))
    b = Cli(tmp_path / "b", "WS-B")
    b.ok("list")
    a.ok("update", tid, "--owner", "alice")
    a.ok("sync")
    b.ok("update", tid, "-d", "edited on B, later")  # B's edit is the later one: the merged task names WS-B
    out = b.ok("sync")
    assert re.search(rf"^in +changed +{tid} +Shared \(from WS-A\)$", out, re.M), out
    assert b.task(tid)["owner"] == "alice" and b.task(tid)["description"] == "edited on B, later"
    c = a.json("sync")
    assert [(i["id"], i["change"], i["machine"]) for i in c["incoming"]] == [(tid, "changed", "WS-B")]
