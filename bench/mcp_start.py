"""Start-up of the MCP server, `gittasks mcp`: the time until it answers `initialize`, against `python -c pass`.

    .venv/bin/python bench/mcp_start.py [--runs 15] [--warmups 2] [--tasks 1000] [--keep] [--summary FILE]

Builds a temporary code repository in the own-branch layout (the default) holding 1,000 realistic tasks on the task
branch `gittasks` (the data set and set-up of dataset.py). Every run starts a new `gittasks mcp` process in it, with
pipes for stdin and stdout, as Claude Code starts it, and speaks the protocol the server reads (JSON-RPC 2.0, one
message a line): it writes the `initialize` request

    {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},
     "clientInfo":{"name":"bench","version":"0"}}}

and a newline, and times until the response line arrives (the figure: from the process's start to its answer); then
writes the `notifications/initialized` notification and a `tools/list` request (id 2) and times until that answer
arrives; then closes stdin and times until the process has ended. The answers are checked (ids, the server's name,
at least one tool). Interleaved with these runs, as medians: `python -c pass` on gittasks' interpreter.

"Cold" here means a fresh process every run, with the page cache warm (nothing is dropped); the first run right after
the set-up is printed too. The target: `initialize` answered in under 0.5 s (PASS/OVER); `--summary FILE` appends it
to FILE as a JSON line (for bench/all.py). It is a measurement, not a test: it exits 0 whatever the times are, and
non-zero only when a command fails or answers wrongly. Git reads no config of yours (HOME and the global git config
are temporary).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

try:
    from bench import _common as common
    from bench import dataset
except ImportError:  # run as a script: bench/ itself is on sys.path
    import _common as common  # type: ignore[no-redef,unused-ignore]
    import dataset  # type: ignore[no-redef,unused-ignore]

INITIALIZE_TARGET_MS = 500.0  # from the start of `gittasks mcp` to its answer to `initialize`
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
TIMEOUT_S = 60.0  # a session that takes longer is killed, and the bench fails
STEPS = ["initialize (answer line)", "tools/list (after it)", "stdin closed, until exit"]


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def answer(stdout: IO[bytes], ident: int, err: IO[bytes]) -> dict[str, Any]:
    """The next line the server writes, checked to be the result of request `ident`."""
    raw = stdout.readline()
    if not raw:
        err.seek(0)
        said = err.read().decode("utf-8", "replace").strip().splitlines()[:5]
        raise common.CommandFailed(f"gittasks mcp closed stdout without answering request {ident}: {said}")
    message = json.loads(raw)
    if message.get("id") != ident or "result" not in message:
        raise common.CommandFailed(f"gittasks mcp answered request {ident} with {raw[:200]!r}")
    result: dict[str, Any] = message["result"]
    return result


@dataclass
class McpStart(common.Bench):
    """One session of `gittasks mcp`: the wall time is until the `initialize` answer; the steps are that, the
    `tools/list` round trip after it and the time from closing stdin to the end of the process. The CPU time is the
    whole process's."""

    tools: int = 0

    def _timed(self) -> tuple[float, float, list[float]]:
        cpu = common.children_cpu()
        with tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                list(self.cmd),
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
            assert proc.stdin is not None and proc.stdout is not None
            watchdog = threading.Timer(TIMEOUT_S, proc.kill)  # a server that never answers: the read ends, and fails
            watchdog.start()
            try:
                proc.stdin.write(line(INITIALIZE))
                proc.stdin.flush()
                info = answer(proc.stdout, 1, err)
                initialized = time.perf_counter()
                proc.stdin.write(line(INITIALIZED) + line(TOOLS_LIST))
                proc.stdin.flush()
                listed = answer(proc.stdout, 2, err)
                after_list = time.perf_counter()
                proc.stdin.close()
                rest = proc.stdout.read()
                code = proc.wait()
                ended = time.perf_counter()
            finally:
                watchdog.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if code != 0 or rest.strip():
                raise common.CommandFailed(f"gittasks mcp exited with {code} after stdin closed ({rest[:200]!r})")
        if info.get("serverInfo", {}).get("name") != "gittasks":
            raise common.CommandFailed(f"gittasks mcp's initialize answer names no gittasks server: {info}")
        self.tools = len(listed.get("tools", []))
        if self.tools == 0:
            raise common.CommandFailed("gittasks mcp listed no tools")
        steps = [initialized - start, after_list - initialized, ended - after_list]
        return steps[0], common.children_cpu() - cpu, steps


def main(argv: list[str] | None = None) -> int:
    found = common.bench_args("mcp_start", __doc__, 1000, argv, common.default_gittasks(), "timed runs per command")
    if found is None:
        return 2
    args, gittasks = found
    python, began, load_before, busy = common.start(gittasks)
    try:
        with common.temp_folder("gittasks-bench-mcp-", keep=args.keep) as tmp:
            env = common.isolated_env(tmp)
            repo, _ = dataset.setup_repo(tmp, env, gittasks, args.tasks)
            layout = common.check_own_branch(repo, env, args.tasks)
            server = McpStart("gittasks mcp: initialize", [gittasks, "mcp"], repo, env)
            floor = common.Bench("python -c pass", [python, "-c", "pass"], repo, env)
            setup_s = time.perf_counter() - began
            first_ms = server.once()[0] * 1000.0
            common.measure([server, floor], args.runs, args.warmups)
            common.check_own_branch(repo, env, args.tasks)  # the server changed nothing
    except common.CommandFailed as exc:
        print(f"mcp_start: {exc}", file=sys.stderr)
        return 1

    print(
        f"gittasks mcp start-up: a fresh `gittasks mcp` process every run (page cache warm), median of {args.runs} "
        f"runs interleaved with python -c pass after {args.warmups} warm-ups "
        f"(set-up {setup_s:.1f} s, total {time.perf_counter() - began:.1f} s)"
    )
    print(f"data set: {layout.describe()}")
    print(f"python: {python}; {load_before} before, {common.load_average()} after")
    print("protocol: JSON-RPC 2.0, one message a line on stdin and stdout; the answers were checked")
    print()
    common.print_table([server, floor], {server.name: STEPS})
    print(f"(first run, right after the set-up: initialize answered after {first_ms:.1f} ms; {server.tools} tools)")
    print()
    common.print_ratios([("initialize / python -c pass", [server], [floor], None, "information")])
    print()
    common.print_targets(
        [(f"mcp initialize, fresh process ({args.tasks:,} tasks)", server.median_ms, "ms", INITIALIZE_TARGET_MS, "")],
        args.summary,
    )
    if busy or common.busy():
        print("\n" + common.busy_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
