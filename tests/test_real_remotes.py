"""`gittasks sync` between two clones through git served as users reach it: smart HTTP behind a real web server
(nginx + fcgiwrap running `git http-backend`, with basic auth) and ssh (OpenSSH's sshd with keys made for the test).

The servers run on 127.0.0.1 on free ports, from folders under the test's tmp, started and stopped by the fixtures
below (once per test process); each test serves its own bare repositories. Where a server is not installed, its tests
skip with one line saying what to install.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import getpass
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from helpers import ACTIVE, Cli, git

SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
START_WAIT = 10.0
FAST = 10.0  # seconds: a refusal or a wrong credential must end well within this (the network wait is set far above)
SLOW_NETWORK = {"GITTASKS_SYNC_TIMEOUT": "120"}
ASKPASS_TRAP = "#!/bin/sh\necho \"$*\" >> '{log}'\necho not-the-secret\n"


def need(what: str, packages: str, *names: str) -> list[str]:
    """The programs `names` (also looked for in the sbin folders); the tests skip with one line without them."""
    found = [shutil.which(name, path=SBIN_PATH) for name in names]
    if os.name != "posix" or None in found:
        pytest.skip(f"real remotes: no {what} (needs {', '.join(names)}; on Debian: apt-get install {packages})")
    return [str(path) for path in found]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In a server's child on Linux (looked up before the fork): killed when the test process dies, however."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Servers:
    """The server processes a fixture started; `stop` ends each with everything it started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.children: list[subprocess.Popen[bytes]] = []
        self.env = {
            "PATH": SBIN_PATH,
            "HOME": str(folder / "home"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LANG": "C",
        }
        (folder / "home").mkdir(parents=True, exist_ok=True)

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        """Start a server in a session of its own (stopped with all it started), its output into NAME.log."""
        with open(self.folder / f"{name}.log", "ab") as log:
            child = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env, start_new_session=True,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        self.children.append(child)
        return child

    def wait_until(self, name: str, ready: Callable[[], bool], where: str) -> None:
        """Wait until `ready()` holds; skip (after stopping them all) when the server ended or never got there."""
        child, deadline = self.children[-1], time.monotonic() + START_WAIT
        while child.poll() is None and time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        lines = (self.folder / f"{name}.log").read_text(errors="replace").strip().splitlines()
        pytest.skip(f"real remotes: {name} did not start on {where} ({lines[-1] if lines else 'no output'})")

    def stop(self) -> None:
        for child in self.children:
            with contextlib.suppress(OSError):
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)
        self.children.clear()


def bare_repository(folder: Path) -> Path:
    """A new bare repository under `folder` (its name unique in it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"r{len(list(folder.iterdir()))}.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def refuse_pushes(bare: Path) -> Path:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are closed for the release freeze' >&2\nexit 1\n")
    hook.chmod(0o755)
    return hook


# -- smart HTTP: nginx in front of fcgiwrap running git http-backend -----------------------------------------------

NGINX_CONF = """\
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  map $remote_user $writer {{ alice alice; default ""; }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location / {{
      auth_basic "git";
      auth_basic_user_file {dir}/htpasswd;
      fastcgi_pass unix:{dir}/fcgi.sock;
      fastcgi_param SCRIPT_FILENAME {backend};
      fastcgi_param GIT_PROJECT_ROOT {dir}/repos;
      fastcgi_param GIT_HTTP_EXPORT_ALL 1;
      fastcgi_param PATH_INFO $uri;
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param REMOTE_USER $writer if_not_empty;
      fastcgi_param HOME {dir}/home;
      fastcgi_param GIT_CONFIG_NOSYSTEM 1;
      fastcgi_param GIT_CONFIG_GLOBAL /dev/null;
    }}
  }}
}}
"""


@dataclass
class HttpServer:
    """alice may push; reader may only fetch (http-backend serves receive-pack only to a REMOTE_USER)."""

    port: int
    repos: Path
    users: ClassVar[dict[str, str]] = {"alice": "secret-a", "reader": "secret-r"}

    def new_repo(self) -> Path:
        return bare_repository(self.repos)

    def url(self, bare: Path, user: str | None = "alice", password: str | None = None) -> str:
        login = "" if user is None else f"{user}:{password or self.users[user]}@"
        return f"http://{login}127.0.0.1:{self.port}/{bare.name}"


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True).stdout.strip()
    nginx, fcgiwrap = need("smart HTTP server", "nginx fcgiwrap", "nginx", "fcgiwrap")
    backend = Path(exec_path) / "git-http-backend"
    if not backend.exists():
        pytest.skip(f"real remotes: no smart HTTP server (git-http-backend is not in {exec_path})")
    folder = tmp_path_factory.mktemp("http")
    servers = Servers(folder)
    try:
        (folder / "repos").mkdir()
        lines = [f"{user}:{{SHA}}{base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode()}"
                 for user, pw in HttpServer.users.items()]  # fmt: skip
        (folder / "htpasswd").write_text("\n".join(lines) + "\n")
        sock = folder / "fcgi.sock"
        servers.spawn("fcgiwrap", [fcgiwrap, "-s", f"unix:{sock}"])
        servers.wait_until("fcgiwrap", sock.exists, str(sock))
        port = free_port()
        conf = folder / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=folder, port=port, backend=backend))
        servers.spawn("nginx", [nginx, "-e", str(folder / "nginx-error.log"), "-p", str(folder), "-c", str(conf)])
        servers.wait_until("nginx", lambda: listening(port), f"127.0.0.1:{port}")
        yield HttpServer(port, folder / "repos")
    finally:
        servers.stop()


# -- ssh: OpenSSH's sshd as this user, keys made here, git-shell behind each key ------------------------------------

SSHD_CONF = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {dir}/host_key
PidFile none
AuthorizedKeysFile {dir}/authorized_keys
AllowUsers {user}
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PermitUserEnvironment no
KexAlgorithms curve25519-sha256
LogLevel ERROR
"""
SERVE = '#!/bin/sh\nexport HOME="{home}" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null\n'
READ_ONLY = (
    'case "$SSH_ORIGINAL_COMMAND" in git-upload-pack*) ;; *) echo "this key may only fetch" >&2; exit 1;; esac\n'
)
CLIENT_CONF = """\
Host gittasks-test
  HostName 127.0.0.1
  Port {port}
  User {user}
  IdentityFile {key}
  IdentitiesOnly yes
  UserKnownHostsFile {known}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking {strict}
  LogLevel ERROR
"""


@dataclass
class SshServer:
    """Keys: `writer` (fetch and push), `reader` (fetch only), `locked` (authorized, behind a passphrase nobody is
    told), `stranger` (not authorized); `unknown-host`: the writer's key where the server's host key is not known."""

    port: int
    folder: Path

    def new_repo(self) -> Path:
        return bare_repository(self.folder / "repos")

    def url(self, bare: Path) -> str:
        return f"ssh://gittasks-test{bare}"

    def command(self, key: str = "writer") -> str:
        """The ssh command (`GIT_SSH_COMMAND`, `core.sshCommand`) that logs in with `key`."""
        return f"ssh -F {self.folder / f'client-{key}.conf'}"


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    sshd, keygen, _ = need("ssh server", "openssh-server", "sshd", "ssh-keygen", "ssh")
    if os.geteuid() == 0 and not Path("/run/sshd").is_dir():
        with contextlib.suppress(OSError):
            Path("/run/sshd").mkdir(mode=0o755)  # sshd run by root needs its privilege-separation folder
    folder = tmp_path_factory.mktemp("ssh")
    servers = Servers(folder)
    try:
        user, home = getpass.getuser(), folder / "home"
        for name in ("host_key", "writer", "reader", "stranger"):
            subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True)
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "told-to-nobody", "-f", str(folder / "locked")], check=True
        )
        for name, extra in (("serve", ""), ("serve-read-only", READ_ONLY)):
            script = folder / name
            script.write_text(SERVE.format(home=home) + extra + 'exec git-shell -c "$SSH_ORIGINAL_COMMAND"\n')
            script.chmod(0o755)
        entries = [(folder / "serve", "writer"), (folder / "serve", "locked"), (folder / "serve-read-only", "reader")]
        keys = [f'command="{script}",restrict {(folder / f"{key}.pub").read_text().strip()}' for script, key in entries]
        (folder / "authorized_keys").write_text("\n".join(keys) + "\n")
        port = free_port()
        host = (folder / "host_key.pub").read_text().split()
        (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host[0]} {host[1]}\n")
        (folder / "no_known_hosts").write_text("")
        for name, key in [*((k, k) for k in ("writer", "reader", "locked", "stranger")), ("unknown-host", "writer")]:
            known, strict = ("no_known_hosts", "ask") if name == "unknown-host" else ("known_hosts", "yes")
            (folder / f"client-{name}.conf").write_text(
                CLIENT_CONF.format(port=port, user=user, key=folder / key, known=folder / known, strict=strict)
            )
        (folder / "sshd.conf").write_text(SSHD_CONF.format(port=port, dir=folder, user=user))
        servers.spawn("sshd", [sshd, "-D", "-e", "-f", str(folder / "sshd.conf")])
        servers.wait_until("sshd", lambda: listening(port), f"127.0.0.1:{port}")
        yield SshServer(port, folder)
    finally:
        servers.stop()


# -- the remote a test syncs through, whichever way it is served -----------------------------------------------------


@dataclass
class Served:
    """One bare repository behind a server, and how a clone logs in: `writer` (may push), `reader` (may only
    fetch), `wrong` (a wrong password, a key not authorized), `asks` (git or ssh would have to ask someone)."""

    kind: str
    bare: Path
    server: HttpServer | SshServer

    def url(self, who: str = "writer") -> str:
        if isinstance(self.server, SshServer):
            return self.server.url(self.bare)
        user, password = {"writer": ("alice", None), "reader": ("reader", None), "wrong": ("alice", "not-it")}.get(
            who, (None, None)
        )
        return self.server.url(self.bare, user, password)

    def settings(self, who: str = "writer") -> list[str]:
        """The clone's config that makes it log in as `who`."""
        if isinstance(self.server, SshServer):
            key = {"wrong": "stranger", "asks": "locked"}.get(who, who)
            return [f"core.sshCommand={self.server.command(key)}"]
        return []

    def log_in(self, cli: Cli, who: str) -> None:
        git(cli.root, "remote", "set-url", "origin", self.url(who))
        for item in self.settings(who):
            git(cli.root, "config", *item.split("=", 1))


@pytest.fixture(params=["http", "ssh"])
def served(request: pytest.FixtureRequest) -> Served:
    server = request.getfixturevalue(f"{request.param}_server")
    return Served(request.param, server.new_repo(), server)


@pytest.fixture(params=["inline", "own-branch"])
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def first_clone(served: Served, path: Path, machine: str, layout: str, *subjects: str) -> Cli:
    """A code repository pushed to the served remote with plain git, then `gittasks init` and `subjects` created."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    for item in served.settings():
        git(path, "config", *item.split("=", 1))
    (path / "app.py").write_text("print('one')\n")
    git(path, "add", "app.py")
    git(path, "commit", "-qm", "The application")
    git(path, "remote", "add", "origin", served.url())
    git(path, "push", "-q", "origin", "main")
    cli = Cli(path, machine)
    cli.ok("init", *(["--inline"] if layout == "inline" else []))
    for subject in subjects:
        cli.create(subject)
    return cli


def clone(served: Served, path: Path, machine: str) -> Cli:
    settings = [arg for item in served.settings() for arg in ("-c", item)]
    git(path.parent, "clone", "-q", *settings, served.url(), str(path))
    return Cli(path, machine)


def tip(cli: Cli, layout: str) -> str:
    return git(cli.root, "rev-parse", "HEAD" if layout == "inline" else "refs/heads/gittasks")


def remote_tip(served: Served, layout: str) -> str:
    return git(
        served.bare,
        "rev-parse",
        "--verify",
        "-q",
        "refs/heads/" + ("main" if layout == "inline" else "gittasks"),
        check=False,
    )


def nothing_half_done(cli: Cli) -> None:
    assert not (cli.root / ".git" / "MERGE_HEAD").exists()
    assert git(cli.root, "status", "--porcelain") == ""


def subjects(cli: Cli) -> set[str]:
    return {t["subject"] for t in cli.json("list", "--all")}


def failed_fast(cli: Cli, env: dict[str, str] | None = None) -> str:
    """`gittasks sync` with a network wait far above FAST: it must fail within FAST, exit 1, with one line."""
    started = time.monotonic()
    proc = cli.run("sync", env={**SLOW_NETWORK, **(env or {})})
    assert time.monotonic() - started < FAST, proc.stderr
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_two_clones_sync_through_the_server(served: Served, layout: str, tmp_path: Path) -> None:
    a = first_clone(served, tmp_path / "a", "WS-A", layout, "Plan the release")
    a.ok("sync")
    b = clone(served, tmp_path / "b", "WS-B")
    (shared,) = [t["id"] for t in b.json("list")]  # B's first command: the list that came through the server
    b.ok("update", shared, "--owner", "bob")
    b.create("Written on B")
    a.ok("update", shared, "--subject", "Plan the release, renamed on A")
    a.ok("sync")
    b.ok("sync")  # merges A's rename with its own edits, pushes the merge
    a.ok("sync")
    assert (a.root / ACTIVE).read_bytes() == (b.root / ACTIVE).read_bytes()
    assert a.task(shared)["subject"] == "Plan the release, renamed on A" and a.task(shared)["owner"] == "bob"
    assert subjects(a) == {"Plan the release, renamed on A", "Written on B"}
    assert tip(a, layout) == tip(b, layout) == remote_tip(served, layout)
    if layout == "own-branch":  # the code branch on the server holds no task commit
        assert git(served.bare, "log", "--format=%s", "refs/heads/main") == "The application"
    for cli in (a, b):
        nothing_half_done(cli)


@pytest.mark.parametrize(("served", "layout"), [("http", "own-branch"), ("ssh", "inline")], indirect=["served"])
def test_a_refused_push_leaves_nothing_half_done(served: Served, layout: str, tmp_path: Path) -> None:
    """Refused by the server's pre-receive hook, then for a user (a key) that may only fetch: each time exit 1 with
    one line saying why, the remote unchanged, and here the merge and the change committed, nothing in progress.
    (Each layout through one of the servers: what stays here does not depend on the way to the server.)"""
    a = first_clone(served, tmp_path / "a", "WS-A", layout)
    a.ok("sync")
    b = clone(served, tmp_path / "b", "WS-B")
    a.create("Pushed by A")
    a.ok("sync")
    b.create("Kept on B")
    before = remote_tip(served, layout)
    hook = refuse_pushes(served.bare)
    line = failed_fast(b)  # fetches, merges A's task, then the push is refused
    assert "refused the push" in line and "release freeze" in line, line
    assert "2 changes not yet pushed, they stay committed here" in line, line
    hook.unlink()
    served.log_in(b, "reader")
    line = failed_fast(b)
    assert "refused the push" in line and ("403" if served.kind == "http" else "may only fetch") in line, line
    assert "2 changes not yet pushed, they stay committed here" in line, line
    assert remote_tip(served, layout) == before
    nothing_half_done(b)
    assert subjects(b) == {"Pushed by A", "Kept on B"}  # the merge and B's own change are committed here
    assert git(b.root, "log", "-1", "--format=%s", tip(b, layout)).startswith("gittasks: sync: merge origin/")
    served.log_in(b, "writer")
    b.ok("sync")
    a.ok("sync")
    assert subjects(a) == {"Pushed by A", "Kept on B"}
    assert tip(a, layout) == tip(b, layout) == remote_tip(served, layout)


def test_a_wrong_password_or_key_fails_fast(served: Served, tmp_path: Path) -> None:
    a = first_clone(served, tmp_path / "a", "WS-A", "own-branch", "Not pushed yet")
    before = tip(a, "own-branch")
    served.log_in(a, "wrong")
    line = failed_fast(a)
    assert "did not accept the credentials" in line and "2 changes not yet pushed" in line, line
    assert ("Authentication failed" if served.kind == "http" else "Permission denied") in line, line
    assert "not-it" not in line  # the password given is never printed
    assert tip(a, "own-branch") == before and remote_tip(served, "own-branch") == ""
    assert subjects(a) == {"Not pushed yet"}
    nothing_half_done(a)


def test_a_missing_secret_is_never_asked_for(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote that needs a password (no credentials given over HTTP) or a passphrase (ssh), or an ssh host never
    seen: git and ssh would ask for it, on the terminal or through an askpass program such as a desktop's; sync
    fails at once instead (git's terminal prompt off, ssh in batch mode, no askpass borrowed from ssh)."""
    a = first_clone(served, tmp_path / "a", "WS-A", "own-branch", "Not pushed yet")
    before = tip(a, "own-branch")
    log = tmp_path / "asked.log"
    trap = tmp_path / "askpass"
    trap.write_text(ASKPASS_TRAP.format(log=log))
    trap.chmod(0o755)
    monkeypatch.setenv("SSH_ASKPASS", str(trap))
    monkeypatch.setenv("SSH_ASKPASS_REQUIRE", "force")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("GIT_ASKPASS", raising=False)
    served.log_in(a, "asks")
    ways: list[tuple[str, dict[str, str]]] = [("config", {})]
    if isinstance(served.server, SshServer):  # the ssh command in the environment, and a host key not yet known
        git(a.root, "config", "--unset", "core.sshCommand")
        ways = [("env", {"GIT_SSH_COMMAND": served.server.command("locked")}),
                ("unknown host", {"GIT_SSH_COMMAND": served.server.command("unknown-host")})]  # fmt: skip
    for way, env in ways:
        line = failed_fast(a, env)
        assert not log.exists(), f"{way}: asked for {log.read_text()!r}"
        assert "did not accept the credentials" in line and "2 changes not yet pushed" in line, (way, line)
        assert tip(a, "own-branch") == before
        nothing_half_done(a)
