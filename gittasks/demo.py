"""`gittasks demo`: placeholder single-machine flow (replaced by the two-workstation demo with sync)."""

from __future__ import annotations

from collections.abc import Callable


def run(*, keep: bool, echo: Callable[[str], None]) -> None:
    echo("demo: coming with sync")
