"""Named crash points for tests: `GITTASKS_FAILPOINT=name` ends the process abruptly when that point is reached."""

from __future__ import annotations

import os

EXIT_CODE = 77


def hit(name: str) -> None:
    if os.environ.get("GITTASKS_FAILPOINT") == name:
        os._exit(EXIT_CODE)
