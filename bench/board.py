"""Time of `gittasks board` on 1,000 and 5,000 tasks of the benches' data set (dataset.py), against `gittasks list
--json` of the same repository, same run.

    .venv/bin/python bench/board.py [--runs 5] [--warmups 1] [--tasks 1000] [--keep]

For each size (the given one, then 5,000): a temporary repository in the own-branch layout holding the tasks
(`dataset.setup_repo`: every status, parents, dependency links, clients and projects), then, interleaved, the medians
of `gittasks board --out FILE` (the whole command: the task branch read, the status log, the graph laid out, the page
rendered and written) and `gittasks list --json`. The target: the board of 1,000 tasks in under 2 s. It also counts
the page's cards, graph nodes and edges, so that a page that dropped tasks fails. A measurement, not a test: it exits
0 whatever the time, non-zero only when a command fails or the page misses a task.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

TARGET_MS = 2000.0  # 1,000 tasks


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args(
        "board", __doc__, 1000, argv, str(Path(sys.executable).with_name("gittasks")), "timed runs per command"
    )
    if found is None:
        return 2
    args, gittasks = found
    for count in dict.fromkeys((args.tasks, 5000)):
        with common.temp_folder(keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, _ = dataset.setup_repo(tmp, env, gittasks, count)
            out = tmp / "board.html"
            board_ms = common.median_ms([gittasks, "board", "--out", str(out)], repo, env, args.runs, args.warmups)
            list_ms = common.median_ms([gittasks, "list", "--json"], repo, env, args.runs, args.warmups)
            text = out.read_text(encoding="utf-8")
            shown = len(re.findall(r'<article class="card', text))
            nodes, edges = text.count('<g class="node'), text.count('<polyline class="edge')
            if shown != count:
                print(f"board: the page shows {shown} tasks of {count}", file=sys.stderr)
                return 1
            verdict = (
                f" (target < {TARGET_MS:.0f} ms: {'met' if board_ms < TARGET_MS else 'MISSED'})"
                if count == 1000
                else ""
            )
            print(
                f"{count:>6} tasks: board {board_ms:8.0f} ms{verdict}, list --json {list_ms:6.0f} ms, "
                f"ratio {board_ms / list_ms:5.1f}x; page {len(text) / 1e6:.1f} MB, {nodes} graph nodes, {edges} edges"
            )
    print(common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
