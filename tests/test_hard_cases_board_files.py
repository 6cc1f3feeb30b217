"""Hard cases of the board, the files gittasks writes and the terminal: a served board answers only its loopback
names (DNS rebinding), a malformed filter link does not stop the page's script, a group-shared repository keeps
git's modes, `doctor` in a folder whose name holds `$` words, command-line text that is not UTF-8, and a TodoWrite
that drops many items."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ACTIVE, Cli, MakeRepo, call_hook, git, init_repo

from gittasks import board_server, store

# -- 1. the served board and the Host header ------------------------------------------------------------------------


@pytest.fixture
def served(make_repo: MakeRepo) -> Iterator[tuple[Cli, int]]:
    cli = init_repo(make_repo(), inline=False)
    cli.create("Secret roadmap item")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gittasks", "board", "--serve", "--port", "0"],
        cwd=cli.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        yield cli, int(found.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def raw_request(port: int, head: str) -> tuple[int, bytes]:
    """Send `head` (request line and headers, CRLF added) as it is and return (status, body): a browser on a
    rebinding page sends its own name as Host, which urllib would not let a test send."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "head",
    [
        "GET / HTTP/1.1\nHost: attacker.example:{port}\nConnection: close",
        "GET /version HTTP/1.1\nHost: attacker.example:{port}\nConnection: close",
        "GET / HTTP/1.1\nHost: attacker.example\nConnection: close",
        "GET / HTTP/1.1\nHost: 127.0.0.1.attacker.example:{port}\nConnection: close",
        "GET / HTTP/1.1\nHost: localhost:{other}\nConnection: close",  # a page served on another port
        "GET / HTTP/1.0",  # no Host at all
        "GET / HTTP/1.1\nHost: 127.0.0.1:{port}\nHost: attacker.example\nConnection: close",
        "HEAD / HTTP/1.1\nHost: attacker.example:{port}\nConnection: close",
        "POST / HTTP/1.1\nHost: attacker.example:{port}\nContent-Length: 0\nConnection: close",
    ],
    ids=["page", "version", "no-port", "suffix", "other-port", "no-host", "two-hosts", "head", "post"],
)
def test_a_foreign_host_is_refused_and_never_sees_the_list(served: tuple[Cli, int], head: str) -> None:
    cli, port = served
    tip = git(cli.root, "rev-parse", "gittasks")
    code, body = raw_request(port, head.format(port=port, other=port + 1))
    assert code == 421, (code, body)
    assert b"Secret roadmap item" not in body and tip.encode() not in body
    assert len(body.decode().strip().splitlines()) <= 1


@pytest.mark.parametrize("name", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_the_loopback_names_are_served(served: tuple[Cli, int], name: str) -> None:
    _, port = served
    code, body = raw_request(port, f"GET / HTTP/1.1\nHost: {name.format(port=port)}\nConnection: close")
    assert code == 200 and b"Secret roadmap item" in body
    code, body = raw_request(port, f"POST / HTTP/1.1\nHost: {name.format(port=port)}\nContent-Length: 0")
    assert code == 405 and b"Secret" not in body  # read-only, whoever asks


def test_a_browser_leaves_the_port_out_only_for_port_80() -> None:
    assert board_server.host_allowed("localhost", 80) and board_server.host_allowed("127.0.0.1:80", 80)
    assert not board_server.host_allowed("localhost", 8421) and not board_server.host_allowed("[::1]", 8421)
    assert not board_server.host_allowed("localhost:8421x", 8421) and not board_server.host_allowed("", 8421)


# -- 2. the page's script and a malformed address -------------------------------------------------------------------

NODE = shutil.which("node")

# The page's script run under node with the few DOM objects it touches (each a stand-in that keeps what is set on
# it and does nothing else): what it set from the address, and that it ran to the end (apply() wrote the count)
# and saved the filters back without throwing.
HARNESS = r"""
const handlers = {}, els = {};
function node(id) {
  return {id: id, value: "", checked: false, textContent: "", dataset: {}, children: [], style: {},
    classList: {toggle: function () {}, add: function () {}, remove: function () {}},
    setAttribute: function () {}, getAttribute: function () { return null; }, appendChild: function (c) { return c; },
    querySelector: function () { return null; }, querySelectorAll: function () { return []; },
    focus: function () {}, scrollIntoView: function () {},
    addEventListener: function (kind, fn) { handlers[id + ":" + kind] = fn; }};
}
function el(id) { return els[id] || (els[id] = node(id)); }
const owner = el("f-owner"); owner.dataset.filter = "owner";
globalThis.document = {
  querySelectorAll: function (sel) { return sel.indexOf("select") >= 0 ? [owner] : []; },
  querySelector: function () { return node("found"); },
  getElementById: el,
  createElement: function () { return node(""); },
  createDocumentFragment: function () { return node(""); },
  createTextNode: function (text) { return {textContent: text}; },
  addEventListener: function (kind, fn) { handlers["document:" + kind] = fn; },
};
globalThis.window = globalThis;
globalThis.addEventListener = function (kind, fn) { handlers["window:" + kind] = fn; };
const saved = [];
globalThis.location = {hash: process.argv[2], pathname: "/board.html", search: ""};
globalThis.history = {replaceState: function (a, b, url) { saved.push(url); },
  pushState: function (a, b, url) { saved.push(url); }};
require(process.argv[3]);
const loaded = {q: el("q").value, owner: owner.value, archived: el("show-archived").checked,
  shown: el("shown").textContent};
el("q").value = "\ud800 lone";  // pasted text with a lone surrogate: saving the filters must not throw
handlers["show-archived:change"]();
console.log(JSON.stringify(Object.assign(loaded, {saved: saved})));
"""


def run_page_script(page: str, hash_: str, tmp_path: Path) -> dict[str, Any]:
    assert NODE is not None
    scripts = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) == 1
    (tmp_path / "page.js").write_text(scripts[0], encoding="utf-8")
    (tmp_path / "harness.js").write_text(HARNESS, encoding="utf-8")
    proc = subprocess.run(
        [NODE, str(tmp_path / "harness.js"), hash_, str(tmp_path / "page.js")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(json.loads(proc.stdout))


@pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs): the page's script not run")
def test_a_malformed_filter_link_does_not_stop_the_page(make_repo: MakeRepo, tmp_path: Path) -> None:
    cli = init_repo(make_repo(), inline=False)
    cli.create("A task", "--owner", "alice")
    out = tmp_path / "board.html"
    cli.ok("board", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    broken = run_page_script(page, "#q=100%&owner=al%E9ce&archived=1&%zz=1", tmp_path)
    assert broken["q"] == "100%" and broken["owner"] == "al%E9ce"  # what does not decode is taken as typed
    assert broken["archived"] is True and broken["shown"] == "0 of 0 tasks shown"  # the script ran on
    assert broken["saved"] == ["#owner=al%25E9ce&q=%EF%BF%BD%20lone&archived=1"]  # and saved the filters
    first = run_page_script(page, "#q=100%", tmp_path)
    assert first["q"] == "100%" and first["shown"] == "0 of 0 tasks shown"
    fine = run_page_script(page, "#owner=a%20b", tmp_path)
    assert fine["owner"] == "a b"  # a well-formed link still decodes


def test_the_page_reads_the_address_only_through_the_guarded_decoder() -> None:
    template = (Path(board_server.__file__).parent / "board.html.j2").read_text(encoding="utf-8")
    assert template.count("decodeURIComponent(") == 1  # inside `decoded`, in a try
    assert re.search(r"try \{ return decodeURIComponent\(text\); \} catch", template)
    assert template.count("encodeURIComponent(text)") == 1 and "encodeURIComponent(want" not in template


# -- 3. a group-shared repository ---------------------------------------------------------------------------------


@pytest.fixture
def umask_077() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


WRITTEN_IN_GIT_DIR = ("info/exclude", "gittasks.lock", "gittasks.lock.holder", "gittasks-worktree.json",
                      "gittasks-autosync.lock", "gittasks-board.html")  # fmt: skip


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize(
    ("shared", "wanted"), [("group", 0o660), ("all", 0o664), ("0640", 0o640)], ids=["group", "all", "0640"]
)
def test_a_shared_repository_keeps_gits_modes_under_umask_077(
    tmp_path: Path, bare_remote: Path, umask_077: None, shared: str, wanted: int
) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    git(root, "init", "-q", f"--shared={shared}", "-b", "main")
    assert mode(root / ".git" / "config") == wanted  # what git itself gives its files
    cli = Cli(root)
    cli.ok("init", "--remote", str(bare_remote))
    task = cli.create("Shared work")
    cli.ok("start", task)
    cli.ok("sync")
    cli.ok("board")
    gitdir = root / ".git"
    for name in WRITTEN_IN_GIT_DIR:
        assert mode(gitdir / name) == wanted, (name, oct(mode(gitdir / name)))
    # the work tree follows git's checkout: the umask (077) for a new file; a rewrite keeps the mode it has
    assert mode(root / ACTIVE) == 0o600
    (root / ACTIVE).chmod(0o640)
    cli.create("Second")
    assert mode(root / ACTIVE) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_file_rewritten_in_a_shared_git_dir_keeps_at_least_its_group_bits(
    make_repo: MakeRepo, umask_077: None
) -> None:
    root = make_repo()
    git(root, "config", "core.sharedRepository", "group")
    exclude = root / ".git" / "info" / "exclude"
    exclude.chmod(0o600)  # left so by an older gittasks: healed by the next rewrite
    init_repo(root, inline=False)
    assert mode(exclude) == 0o660
    plain = make_repo()
    (plain / ".git" / "info" / "exclude").chmod(0o644)
    init_repo(plain, inline=False)  # no shared setting: the mode the file had is kept, whatever the umask
    assert mode(plain / ".git" / "info" / "exclude") == 0o644
    assert mode(plain / ".git" / "gittasks-worktree.json") == 0o600


def test_core_shared_repository_is_read_as_git_reads_it() -> None:
    assert [store.shared_perm(v) for v in (None, "umask", "false", "0", "group", "true", "1", "all", "2")] == [
        0, 0, 0, 0, 0o660, 0o660, 0o660, 0o664, 0o664]  # fmt: skip
    assert store.shared_perm("0640") == -0o640 and store.shared_perm("0400") == 0  # (git refuses the latter)
    assert store.shared_mode(0o600, 0o660) == 0o660 and store.shared_mode(0o400, 0o664) == 0o444
    assert store.shared_mode(0o644, -0o640) == 0o640 and store.shared_mode(0o700, 0o660) == 0o770


# -- 4. doctor in a folder whose name holds `$` words ---------------------------------------------------------------


def test_doctor_in_a_folder_named_with_dollar_words(make_repo: MakeRepo) -> None:
    root = make_repo("$HOME/a$x")
    cli = init_repo(root, inline=False)
    cli.create("Task in a $ folder")
    proc = cli.run("doctor", env={"x": "expanded"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "" and "task history: 2 commits" in proc.stdout


# -- 5. command-line text that is not UTF-8 --------------------------------------------------------------------------

LATIN1 = b"caf\xe9"


def run_bytes(cli: Cli, *args: bytes) -> subprocess.CompletedProcess[bytes]:
    """The CLI with raw bytes in argv, as a Latin-1 terminal sends them to a program that expects UTF-8."""
    env = {**os.environ, "LC_ALL": "C.UTF-8", "GITTASKS_MACHINE": cli.machine}
    return subprocess.run([sys.executable.encode(), b"-m", b"gittasks", *args], cwd=cli.root, capture_output=True,
                          env=env)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((LATIN1,), "the subject"),
        ((b"Fine", b"--description", LATIN1), "--description"),
        ((b"Fine", b"--meta", b"k=" + LATIN1), "--meta"),
        ((b"Fine", b"--owner", LATIN1), "--owner"),
        ((b"Fine", b"--context", b"k=" + LATIN1), "--context"),
        ((b"Fine", b"--file", LATIN1), "--file"),
        ((b"--json", LATIN1), "the subject"),
    ],
    ids=["subject", "description", "meta", "owner", "context", "file", "quick-json"],
)
def test_create_refuses_text_that_is_not_utf8(
    make_repo: MakeRepo, args: tuple[bytes, ...], named: str, inline: bool
) -> None:
    cli = init_repo(make_repo(), inline=inline)
    ref = "gittasks" if not inline else "HEAD"
    before, count = (cli.root / ACTIVE).read_bytes(), git(cli.root, "rev-list", "--count", ref)
    proc = run_bytes(cli, b"create", *args)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err
    assert err.startswith(f"gittasks: {named} '") and "caf\\xe9" in err and "the terminal must send UTF-8" in err
    assert (cli.root / ACTIVE).read_bytes() == before and git(cli.root, "rev-list", "--count", ref) == count


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((b"update", b"{id}", b"--subject", LATIN1), "--subject"),
        ((b"update", b"{id}", b"--client", LATIN1), "--client"),
        ((b"update", b"{id}", b"--meta", b"k=" + LATIN1), "--meta"),
        ((b"update", b"{id}", b"--requirement", LATIN1), "--requirement"),
        ((b"block", b"{id}", b"--reason", LATIN1), "--reason"),
        ((b"done", b"{id}", b"--outcome", LATIN1), "--outcome"),
        ((b"start", b"{id}", b"--owner", LATIN1), "--owner"),
        ((b"show", LATIN1), "the id"),
        ((b"delete", LATIN1), "the id"),
    ],
    ids=["subject", "client", "meta", "requirement", "block", "done", "start", "show", "delete"],
)
def test_changes_refuse_text_that_is_not_utf8(make_repo: MakeRepo, args: tuple[bytes, ...], named: str) -> None:
    cli = init_repo(make_repo(), inline=False)
    task = cli.create("Fine")
    before, count = (cli.root / ACTIVE).read_bytes(), git(cli.root, "rev-list", "--count", "gittasks")
    proc = run_bytes(cli, *(a.replace(b"{id}", task.encode()) for a in args))
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2 and err.count("\n") == 1 and err.startswith(f"gittasks: {named} 'caf\\xe9'"), err
    assert (cli.root / ACTIVE).read_bytes() == before and git(cli.root, "rev-list", "--count", "gittasks") == count


def test_a_result_file_with_a_lone_surrogate_escape_is_refused(make_repo: MakeRepo, tmp_path: Path) -> None:
    cli = init_repo(make_repo(), inline=False)
    task = cli.create("Fine")
    result = tmp_path / "result.json"
    result.write_text('{"status": "success", "outcome": "caf\\udce9"}', encoding="utf-8")
    err = cli.fail("done", task, "--result", str(result))
    assert ("is not text" in err or "not JSON" in err) and len(err.strip().splitlines()) == 1, err
    assert cli.task(task)["status"] == "pending"


# -- 6. a TodoWrite that drops many items ---------------------------------------------------------------------------


def todo_payload(root: Path, items: list[str], old: list[str]) -> str:
    data: dict[str, Any] = json.loads(
        (Path(__file__).parent / "data" / "claude-code" / "posttooluse-todowrite.json").read_text(encoding="utf-8")
    )
    todos = [{"content": c, "status": "pending", "activeForm": c} for c in items]
    data.update(cwd=str(root), session_id="S-many")
    data["tool_input"] = {"todos": todos}
    data["tool_response"] = {"oldTodos": [{"content": c, "status": "pending", "activeForm": c} for c in old],
                             "newTodos": todos}  # fmt: skip
    return json.dumps(data)


def test_a_todowrite_that_drops_100_items_says_so_in_one_line(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    items = [f"Step {n:03d} of the plan" for n in range(100)]
    first = call_hook(cli.root, "capture", todo_payload(cli.root, [*items, "Keep me"], []))
    assert first.returncode == 0 and first.stderr == "", first.stderr
    dropped = call_hook(cli.root, "capture", todo_payload(cli.root, ["Keep me"], [*items, "Keep me"]))
    assert dropped.returncode == 0
    lines = dropped.stderr.splitlines()
    assert len(lines) == 1, dropped.stderr
    assert lines[0].startswith("gittasks: cancelled 100 tasks dropped from the session's todo list: ")
    assert "(Step 000 of the plan)" in lines[0] and lines[0].endswith(" and 97 more") and len(lines[0]) < 300
    tasks = {t["subject"]: t for t in cli.json("list")}
    kept = tasks.pop("Keep me")
    assert kept["status"] == "pending" and {t["status"] for t in tasks.values()} == {"cancelled"} and len(tasks) == 100
    one = call_hook(cli.root, "capture", todo_payload(cli.root, [], ["Keep me"]))
    assert one.stderr.splitlines() == [
        f"gittasks: cancelled task dropped from the session's todo list: {kept['id']} (Keep me)"
    ]
