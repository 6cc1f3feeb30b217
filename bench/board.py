"""Time of `gittasks board` on 1,000 and 5,000 tasks of the benches' data set (dataset.py): the command, the page's
render in Python, and the page in headless Chromium (first paint, a filter), each against its floor, same run.

    .venv/bin/python bench/board.py [--runs 5] [--warmups 1] [--tasks 1000] [--keep] [--summary FILE]

For each size (the given one, then 5,000): a temporary repository in the own-branch layout holding the tasks
(`dataset.setup_repo`: every status, parents, dependency links, clients and projects), then

1. the command: the medians, interleaved, of `gittasks board --out FILE` (the task branch read, the status log, the
   graph laid out, the page rendered and written) and of `gittasks list --json`, its floor (the same list read and
   printed). Target: the board of 1,000 tasks in under 2 s.
2. the render in Python, in one process of gittasks' interpreter: `board_server.read` (the git part) and
   `board.build` + `board.html` (the page), medians of --runs after one untimed run; the floor is the render of an
   empty board in the same process.
3. the page in headless Chromium (skipped, said so, when there is none), driven over the DevTools protocol through
   a pipe (bench/chromium.py), with times read back from the page's own Performance Timeline (milliseconds since
   the navigation started; real time, no virtual time budget), medians of --runs loads of the page from
   about:blank: the first contentful paint (the header, often before the script has run), "board drawn" (the
   page's script has drawn the columns: its `board-drawn` mark) and "first card painted" (the frame that showed the
   first card: Element Timing's renderTime of the card the page marks `elementtiming`). Then a filter: the owner
   select set to each owner in turn (a `change` event, as a user's pick) and the time to the next frame
   (requestAnimationFrame, then a task), median of 10 picks. The floor, in the same browser: the empty board's page
   (0 tasks): its first contentful paint, and the same filter pass (the archive toggle: the one pass over the tasks
   and the columns redrawn, with nothing in them). Targets at 5,000 tasks: the first card painted < 1,000 ms, the
   filter < 100 ms.

The page's cards, graph nodes and edges are counted, so that a page that dropped tasks fails. A measurement, not a
test: it exits 0 whatever the time, non-zero only when a command fails or the page misses a task.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

try:
    from bench import _common as common
    from bench import chromium, dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import chromium  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

TARGET_MS = 2000.0  # the command, 1,000 tasks
PAINT_TARGET_MS = 1000.0  # the first card painted, 5,000 tasks
FILTER_TARGET_MS = 100.0  # a filter applied and painted, 5,000 tasks
FILTER_PICKS = 10

# Run by gittasks' interpreter: the read and the render timed apart, in-process; the page and an empty board's page
# written for the browser.
RENDER = """import json, statistics, sys, time
from pathlib import Path
from gittasks import board, board_server, rules
from gittasks.workspace import Workspace
repo, runs, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
ws = Workspace.open(repo)
reads, renders, floors = [], [], []
for _ in range(runs + 1):
    t0 = time.perf_counter()
    found = board_server.read(ws)
    t1 = time.perf_counter()
    text = board.html(board.build(found.active, found.archived, found.records, found.entries, rules.utc_now()))
    t2 = time.perf_counter()
    empty = board.html(board.build([], [], [], [], rules.utc_now()))
    t3 = time.perf_counter()
    reads.append(t1 - t0); renders.append(t2 - t1); floors.append(t3 - t2)
out.write_text(text, encoding="utf-8")
out.with_name("empty.html").write_text(empty, encoding="utf-8")
median = lambda xs: statistics.median(xs[1:]) * 1000
print(json.dumps({"read": median(reads), "render": median(renders), "floor": median(floors)}))
"""

# The page's paint times, read once they are there (the paint entries are queued a little after the frame they
# time; an empty board has no card): at most 3 s after the load.
MARKS = """new Promise(function (done) {
  var card = null, start = performance.now(), carded = !!document.querySelector("[elementtiming=first-card]");
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { if (e.identifier === "first-card") card = e.renderTime || e.loadTime; });
  }).observe({type: "element", buffered: true});
  (function wait() {
    var fcp = performance.getEntriesByName("first-contentful-paint")[0];
    if ((!fcp || (carded && card === null)) && performance.now() - start < 3000) return setTimeout(wait, 5);
    done({fcp: fcp ? fcp.startTime : null, drawn: performance.getEntriesByName("board-drawn")[0].startTime,
          card: card});
  })();
})"""

FILTER = """(async function () {
  function frame() { return new Promise(function (r) { requestAnimationFrame(function () { setTimeout(r, 0); }); }); }
  var owner = document.getElementById("f-owner"), archived = document.getElementById("show-archived");
  var values = Array.from(owner.options).map(function (o) { return o.value; }).filter(Boolean), times = [];
  for (var k = 0; k < %d; k++) {
    await frame();
    var start = performance.now();
    if (values.length) { owner.value = values[k %% values.length]; owner.dispatchEvent(new Event("change")); }
    else { archived.checked = !archived.checked; archived.dispatchEvent(new Event("change")); }
    await frame();
    times.push(performance.now() - start);
    if (values.length) { owner.value = ""; owner.dispatchEvent(new Event("change")); }
  }
  return times;
})()"""


def in_browser(browser: chromium.Browser, page: Path, runs: int, warmups: int) -> dict[str, float | None]:
    """Medians (ms) over `runs` loads of the first contentful paint, the board drawn and its first card painted, and
    the median of a filter to the next frame."""
    samples: dict[str, list[float]] = {"fcp": [], "drawn": [], "card": []}
    for index in range(warmups + runs):
        browser.load("about:blank")
        browser.load(page.as_uri())
        marks = browser.run(MARKS)
        if index >= warmups:
            for key in samples:
                if marks[key] is not None:
                    samples[key].append(float(marks[key]))
    picks = browser.run(FILTER % FILTER_PICKS)
    figures: dict[str, float | None] = {k: statistics.median(v) if v else None for k, v in samples.items()}
    figures["filter"] = statistics.median(picks)
    return figures


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args(
        "board", __doc__, 1000, argv, str(Path(sys.executable).with_name("gittasks")), "timed runs per figure",
        runs=5, warmups=1,
    )  # fmt: skip
    if found is None:
        return 2
    args, gittasks = found
    begun = common.start(gittasks)
    browser_path = chromium.find()
    print(f"board: {args.runs} timed runs after {args.warmups} untimed; {common.load_average()}")
    print("browser: " + (browser_path or "none found (chromium, google-chrome): the browser figures are skipped"))
    rows: list[common.Target] = []
    for count in dict.fromkeys((args.tasks, 5000)):
        with common.temp_folder(keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, _ = dataset.setup_repo(tmp, env, gittasks, count, external_edit=False)
            out = tmp / "board.html"
            board_ms = common.median_ms([gittasks, "board", "--out", str(out)], repo, env, args.runs, args.warmups)
            list_ms = common.median_ms([gittasks, "list", "--json"], repo, env, args.runs, args.warmups)
            text = out.read_text(encoding="utf-8")
            page = json.loads(re.search(r'id="board-data">(.*?)</script>', text, re.S)[1])  # type: ignore[index]
            shown, nodes, edges = len(page["tasks"]), len(page["graph"]["nodes"]), len(page["graph"]["edges"])
            if shown != count:
                print(f"board: the page shows {shown} tasks of {count}", file=sys.stderr)
                return 1
            print(f"\n{count} tasks: page {len(text) / 1e6:.1f} MB, {nodes} graph nodes, {edges} edges")
            print(f"  command: board --out {board_ms:7.0f} ms; floor list --json {list_ms:6.0f} ms "
                  f"(ratio {board_ms / list_ms:4.1f}x)")  # fmt: skip
            python = common.interpreter_of(Path(gittasks))
            said = common.run([python, "-c", RENDER, str(repo), str(args.runs), str(tmp / "page.html")], repo, env)
            render: dict[str, float] = json.loads(said.stdout)
            print(f"  in Python: read (git) {render['read']:6.0f} ms, build + html {render['render']:6.0f} ms; "
                  f"floor (an empty board's build + html) {render['floor']:5.1f} ms")  # fmt: skip
            rows.append((f"board --out, {count} tasks", board_ms, "ms", TARGET_MS if count == 1000 else None, ""))
            rows.append((f"build + html in Python, {count} tasks", render["render"], "ms", None, ""))
            if browser_path is None:
                continue
            with chromium.Browser(browser_path, 1400, 900) as browser:
                full = in_browser(browser, tmp / "page.html", args.runs, args.warmups)
                floor = in_browser(browser, tmp / "empty.html", args.runs, args.warmups)
            print(
                f"  Chromium: first contentful paint {show(full['fcp'])}, board drawn {show(full['drawn'])}, "
                f"first card painted {show(full['card'])}; a filter to the next frame {show(full['filter'])}"
            )
            print(f"  floor (the empty board): first contentful paint {show(floor['fcp'])}, drawn "
                  f"{show(floor['drawn'])}; the same filter pass {show(floor['filter'])}")  # fmt: skip
            big = count == 5000
            rows.append((f"first card painted in Chromium, {count} tasks", full["card"], "ms",
                         PAINT_TARGET_MS if big else None, ""))  # fmt: skip
            rows.append((f"filter to next frame, {count} tasks", full["filter"], "ms",
                         FILTER_TARGET_MS if big else None, ""))  # fmt: skip
            if big:
                rows.append(("first contentful paint, empty board (floor)", floor["fcp"], "ms", None, ""))
                rows.append(("filter pass, empty board (floor)", floor["filter"], "ms", None, ""))
    print()
    common.print_targets(rows, args.summary)
    print(f"{common.load_average()} after {time.perf_counter() - begun.began:.0f} s")
    if begun.busy or common.busy():
        print(common.busy_note())
    return 0


def show(value: Any) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


if __name__ == "__main__":
    sys.exit(main())
