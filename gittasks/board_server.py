"""`gittasks board`: the page's data read from the task history (the task branch, or HEAD inline) and the code
commits naming its tasks, written to a file, or served on 127.0.0.1 with a page that reloads itself when the task
branch or a code branch moves. Read-only: nothing here commits, writes task files or touches the network beyond the
loopback socket it listens on."""

from __future__ import annotations

import errno
import gc
import http.server
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, cast

from gittasks import autosync, board, gitfiles, render, rules, status_log, store, task_commits, taskbranch, taskset
from gittasks.errors import GittasksError
from gittasks.workspace import Workspace

HOST = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # the names a browser on this machine reaches the server by


def host_allowed(header: str | None, port: int) -> bool:
    """Is `header` (a request's Host) one of the loopback names, on the port served? DNS rebinding lets a web page
    point a name of its own at 127.0.0.1 and read what the server answers; its requests carry that name as Host, so
    any other name is refused. A browser leaves the port out only when it is 80."""
    if not header:
        return False
    text = header.strip().lower()
    name, given = (text, "") if text.endswith("]") or ":" not in text else text.rsplit(":", 1)
    if name not in LOOPBACK_NAMES:
        return False
    if not given:
        return port == 80
    return given.isdigit() and int(given) == port


def version(ws: Workspace) -> str:
    """The commit the board shows: the task branch's tip (HEAD inline), read from `.git`'s files; "" before any."""
    if ws.inline:
        return ws.repo.head_from_files() or ws.repo.head() or ""
    return ws.task_branch_tip() or ""


def served_version(ws: Workspace) -> str:
    """What the served page is current with: the task branch's tip (`version`) and when a code branch was last
    written (the code commits in the panels: `task_commits`), from `.git`'s files; the tip alone when they cannot
    say. The page's poll reloads it when this changes."""
    written = gitfiles.branches_last_written(ws.repo.git_dir, ws.repo.common_dir, ws.branch)
    tip = version(ws)
    return tip if written is None else f"{tip}.{written}"


class Read(NamedTuple):
    """What the board shows, as read from the task history: its tip, the tasks, the conflict records, the log, and
    the code commits naming each task ({id: [commit]}, `task_commits.commits_for`)."""

    tip: str
    active: list[dict[str, Any]]
    archived: list[dict[str, Any]]
    records: list[Any]
    entries: list[dict[str, Any]]
    commits: dict[str, list[dict[str, str]]]


def read(ws: Workspace) -> Read:
    """The task history's tip (`version`), its active and archived tasks and conflict records, the status log of
    its whole history (`status_log.status_log`, two git processes), which gives the timelines and each task's own
    history in its panel (every commit naming the task: `touched`), and the code commits naming the tasks shown
    (one `git log` for all, none while no code branch moved since the tasks were made)."""
    tip = version(ws)
    rev = tip or None
    folded = taskset.fold(taskbranch.files_at(ws.repo, rev)).doc if rev else {"tasks": []}
    active = [t for t in folded["tasks"] if t.get(taskset.LOCATION) != taskset.ARCHIVED]
    archived = [
        {k: v for k, v in t.items() if k != taskset.LOCATION}
        for t in folded["tasks"]
        if t.get(taskset.LOCATION) == taskset.ARCHIVED
    ]
    entries = status_log.status_log(ws.repo, rev, touched=True) if rev else []
    shown = [*active, *archived]
    found = task_commits.commits_for(ws, [str(t["id"]) for t in shown], shown)
    commits = {task_id: [_commit_shown(c) for c in listed] for task_id, listed in found.items() if listed}
    return Read(tip, active, archived, list(folded.get("conflicts") or []), entries, commits)


def _commit_shown(commit: dict[str, Any]) -> dict[str, str]:
    """A code commit as a card's panel shows it: its hash, branch, time (UTC; the page shows it in local time),
    author and subject, each made safe (`render.safe`: control characters shown as escapes)."""
    return {key: render.safe(commit.get(key) or "") for key in ("commit", "branch", "when", "author", "subject")}


def page(ws: Workspace, *, live: bool = False) -> tuple[str, str]:
    """(version, HTML) of the board of the task history's tip (`read`); a served page's version is
    `served_version`, read before the page so that a change made meanwhile reloads it."""
    shown = served_version(ws) if live else version(ws)
    found = read(ws)
    title = f"gittasks board · {ws.repo.root.name}"
    standing = render.sync_standing(autosync.standing(ws)) or ""
    data = board.build(found.active, found.archived, found.records, found.entries, rules.utc_now(), title, standing,
                       commits=found.commits)  # fmt: skip
    return shown, board.html(data, live=live, version=shown)


def write(ws: Workspace, out: Path) -> Path:
    """Write the page to `out` (atomically) and return its absolute path."""
    if out.is_dir():
        raise GittasksError(f"{out} is a folder; give --out a file name such as {out / 'board.html'}")
    if not out.parent.is_dir():
        raise GittasksError(f"the folder {out.parent} does not exist; create it or choose another --out")
    _, text = page(ws)
    store.write_atomic(out, text.encode("utf-8"))  # (in .git by default: there it takes git's shared mode)
    return out.resolve()


class _Pages:
    """The served page, rendered again only when the task branch or a code branch has moved since."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lock = threading.Lock()
        self.cached: tuple[str, bytes] | None = None

    def current(self) -> bytes:
        with self.lock:
            tip = served_version(self.ws)
            if self.cached is None or self.cached[0] != tip:
                shown, text = page(self.ws, live=True)
                self.cached = (shown, text.encode("utf-8"))
            return self.cached[1]


def _handler(pages: _Pages) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "gittasks-board"

        def _send(self, code: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
                             "script-src 'unsafe-inline'; connect-src 'self'; img-src data:")  # fmt: skip
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _misdirected(self) -> bool:
            """Refuse (421) a request whose Host is not this server's loopback address: see `host_allowed`."""
            port = cast(http.server.HTTPServer, self.server).server_port
            hosts = self.headers.get_all("Host") or []
            if len(hosts) == 1 and host_allowed(hosts[0], port):
                return False
            self._send(421, f"the board answers only at http://{HOST}:{port}/ "
                       f"(or localhost); this request named another host\n".encode())  # fmt: skip
            return True

        def do_GET(self) -> None:
            if self._misdirected():
                return
            path = self.path.split("?", 1)[0]
            try:
                if path in ("/", "/index.html"):
                    self._send(200, pages.current(), "text/html; charset=utf-8")
                elif path == "/version":
                    self._send(200, served_version(pages.ws).encode())
                else:
                    self._send(404, b"not found: the board is at /\n")
            except GittasksError as exc:
                self._send(500, f"gittasks: {exc}\n".encode())

        do_HEAD = do_GET

        def _read_only(self) -> None:
            if not self._misdirected():  # (nothing but GET and HEAD is answered: no Origin to weigh)
                self._send(405, b"the board is read-only\n")

        do_POST = do_PUT = do_DELETE = do_PATCH = _read_only

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the command prints its address once

    return Handler


def server(ws: Workspace, port: int) -> http.server.ThreadingHTTPServer:
    """A server for the board on 127.0.0.1:`port` (0: a free port), not yet serving."""
    pages = _Pages(ws)
    pages.current()  # a broken task history is reported before the address is printed
    try:
        httpd = http.server.ThreadingHTTPServer((HOST, port), _handler(pages))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise GittasksError(f"port {port} on {HOST} is in use; choose another with --port N") from None
        raise GittasksError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    httpd.daemon_threads = True
    return httpd


def serve(ws: Workspace, port: int, announce: Callable[[str], None]) -> None:
    """Serve the board until interrupted; `announce` gets the address once the socket listens."""
    gc.enable()  # (the command line turns the cycle collector off for its short runs; a server runs for hours)
    httpd = server(ws, port)
    announce(f"http://{HOST}:{httpd.server_address[1]}/")
    try:
        httpd.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
