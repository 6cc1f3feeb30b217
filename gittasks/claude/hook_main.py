"""What Claude Code's hook commands run: `gittasks hook capture`, `hook session-start` and `hook session-end`.

`main.py` dispatches here before the CLI framework loads (a PostToolUse hook holds the session up until it returns);
`gittasks --repo DIR hook ...` comes through the CLI to the same function. The payload is JSON on stdin. Parsing and
printing only: the work is `claude.hooks`. A hook never breaks the session: any refusal or failure is one line on
stderr (`errors.explain`'s) and exit 0, except a direct write of an invalid task file (exit 2: Claude Code then shows
the model the reason); those two are the codes Claude Code's hooks know.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from gittasks import errors
from gittasks.render import safe
from gittasks.streams import stdout_closed, utf8_streams

HOOKS = ("capture", "session-start", "session-end")


def _payload() -> dict[str, Any]:
    raw = sys.stdin.read() if not sys.stdin.isatty() else ""
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)  # (never recurses: a payload nested 100,000 deep is one refusal)
    except ValueError as exc:
        raise errors.GittasksError(str(exc)) from None  # orjson's message says where; a bad payload is no bug
    if not isinstance(value, dict):
        raise errors.GittasksError("the hook payload is not a JSON object")
    return value


def _say(text: str) -> None:
    print(safe(text[:500]), file=sys.stderr)


def main(name: str, repo: Path | None = None) -> int:
    """Run the hook `name` (one of HOOKS) on the payload on stdin; the exit code for Claude Code."""
    from gittasks import autosync
    from gittasks.claude import hooks  # here, so that a bad payload costs no import

    utf8_streams()
    try:
        payload = _payload()
        ws = hooks.workspace_for(payload, repo)
        notes: list[str] = []
        text = None
        if name == "capture":
            captured = hooks.capture(ws, payload)
            notes = captured.notes  # e.g. a task started while its blocker is open: a warning
            text = hooks.hook_output(captured)  # JSON for the model: a task it started is held elsewhere
        elif name == "session-end":
            hooks.session_end(ws, str(payload.get("session_id") or ""))
        else:
            text = hooks.session_start(ws)
        autosync.after(ws)  # what this hook committed goes out in the background
        for line in [*ws.messages, *notes]:
            _say(f"gittasks: {line}")
        if text is not None:
            print(safe(text, multiline=True), flush=True)
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        stdout_closed()
    except hooks.RefusedWrite as exc:
        _say(f"gittasks: {errors.explain(exc)[0]}")
        return 2
    except Exception as exc:  # the session must go on whatever happens here
        if errors.traceback_wanted(exc):
            raise
        _say(f"gittasks hook {name}: {errors.explain(exc)[0]}")
    return 0
