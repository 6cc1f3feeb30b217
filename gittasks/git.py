"""The only module that runs git. Everything goes through the git command line (subprocess).

Arguments that come from users are always placed after `--` (paths) or passed on stdin (messages), so an id or a
subject beginning with `-` is never taken as an option.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from gittasks import failpoints, processes
from gittasks.errors import GittasksError

DRIVER_NAME = "gittasks"
ZERO = "0" * 40
# git's variables that point it at a repository: a hook of another repository (or a linked worktree's hook) may have
# set them; gittasks finds its repository from the folder and clears them for its git children
LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
_SECTION = re.compile(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_HEX = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_LOCK_ERROR = re.compile(r"Unable to create '([^']+\.lock)'|cannot lock ref|index\.lock", re.IGNORECASE)
_NO_IDENTITY = re.compile(r"tell me who you are|auto-detect email|empty ident|no email was given", re.IGNORECASE)
LOCK_RETRIES = 12
# a lock file that exists: another git holds it now, or a killed one left it (never a lost compare-and-swap)
HELD_LOCK = re.compile(r"Unable to create '([^']+\.lock)': File exists", re.IGNORECASE)
# how update-ref says the ref is not where the compare-and-swap expected it (moved, created or deleted meanwhile)
_REF_MOVED = ("but expected", "already exists", "unable to resolve reference", "reference is missing")
_UNREACHABLE_HINTS = (
    "does not appear to be a git repository",
    "could not resolve host",
    "connect to host",
    "unable to access",
    "connection",
    "timed out",
    "not found",
)
# the remote answered and would not take these credentials (or git or ssh would have had to ask someone for them)
_DENIED = re.compile(
    r"authentication failed|permission denied \(|host key verification failed|could not read (username|password)"
    r"|terminal prompts disabled|returned error: 401",
    re.IGNORECASE,
)


class GitError(GittasksError):
    """git refused or failed; the message names what and how to go on."""


class GitTimeout(GitError):
    """A git process (a fetch or push to a silent remote) did not finish within its bounded wait."""


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of git children: this process's, less the variables that point git at a repository, and
    never a terminal prompt (a remote asking for a password fails instead of waiting for an answer)."""
    env = {k: v for k, v in os.environ.items() if k not in LOCATION_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    if extra:
        env.update(extra)
    return env


@dataclass(frozen=True)
class Transfer:
    """What a fetch or push did: 'ok', 'missing' (fetch: no such branch there), 'race' (push: the remote moved),
    'refused', 'denied' (the credentials were not accepted, or would have had to be asked for) or 'unreachable';
    git's words for the message."""

    outcome: str
    detail: str = ""


@dataclass
class Repo:
    """A git work tree: its top folder, its git dir and the common dir (they differ in linked worktrees)."""

    root: Path
    git_dir: Path
    common_dir: Path
    _config: dict[str, list[str]] | None = field(default=None, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # what a process reads once (commits' files)

    # -- running git -------------------------------------------------------------------------------------------
    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        config: Sequence[str] = (),
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        cmd = ["git"]
        for item in config:
            cmd += ["-c", item]
        cmd += list(args)
        if timeout is not None:
            return self._run_bounded(cmd, input, env, timeout, check)
        try:
            proc = subprocess.run(cmd, cwd=self.root, input=input, capture_output=True, env=child_env(env))
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH; install git and try again") from None
        if check and proc.returncode != 0:
            raise GitError(f"git {args[0]} failed: {_first_line(proc.stderr)}")
        return proc

    def _run_bounded(
        self, cmd: list[str], input: bytes | None, env: Mapping[str, str] | None, timeout: float, check: bool
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a git command that may talk to the network; past `timeout`, or when this process is stopped (SIGTERM,
        Ctrl-C) meanwhile, it is ended with everything it started (its ssh or http helper too), so nothing is left
        waiting on a silent remote."""
        with processes.stop_on_term():
            try:
                child = subprocess.Popen(
                    cmd, cwd=self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    env=child_env({**self.never_asking(), **(env or {})}), **processes.own_group(),
                )  # fmt: skip
            except FileNotFoundError:
                raise GitError("git is not installed or not on PATH; install git and try again") from None
            try:
                out, err = child.communicate(input, timeout=timeout)
            except subprocess.TimeoutExpired:
                processes.end_group(child)
                child.communicate()
                raise GitTimeout(f"git {cmd[1]} did not finish within {timeout:g} s") from None
            except BaseException:
                processes.end_group(child)
                raise
        proc = subprocess.CompletedProcess(cmd, child.returncode, out, err)
        if check and proc.returncode != 0:
            raise GitError(f"git {cmd[1]} failed: {_first_line(proc.stderr)}")
        return proc

    def never_asking(self) -> dict[str, str]:
        """A network step's environment besides `child_env`'s: ssh in batch mode, whichever ssh command is set (a
        key behind a passphrase, a password or a host key not yet known fails instead of asking), and no askpass
        program borrowed from ssh's SSH_ASKPASS for a password (GIT_ASKPASS and core.askPass, set for git on
        purpose, are still used)."""
        env = {"SSH_ASKPASS": ""}
        command = os.environ.get("GIT_SSH_COMMAND") or self.config_get("core.sshCommand")
        if not command and os.environ.get("GIT_SSH"):
            command = shlex.quote(os.environ["GIT_SSH"])
        command = command or "ssh"
        try:
            name = PureWindowsPath(shlex.split(command)[0]).name.lower()  # (splits on / and \ alike)
        except (ValueError, IndexError):
            return env
        variant = (os.environ.get("GIT_SSH_VARIANT") or self.config_get("ssh.variant") or "auto").lower()
        if variant == "ssh" or (variant == "auto" and name in ("ssh", "ssh.exe")):  # OpenSSH, as git tells it
            env["GIT_SSH_COMMAND"] = f"{command} -o BatchMode=yes"
        return env

    def out(self, *args: str, **kwargs: object) -> str:
        return self.run(*args, **kwargs).stdout.decode("utf-8", "replace").strip()  # type: ignore[arg-type]

    def run_retrying_locks(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        """Run a git command that takes git's own locks; retry briefly while another git holds them."""
        delay = 0.02
        retries = int(os.environ.get("GITTASKS_LOCK_RETRIES") or LOCK_RETRIES)
        for attempt in range(retries):
            proc = self.run(*args, check=False, **kwargs)  # type: ignore[arg-type]
            if proc.returncode == 0:
                return proc
            err = proc.stderr.decode("utf-8", "replace")
            match = _LOCK_ERROR.search(err)
            if match is None:
                raise GitError(f"git {args[0]} failed: {_first_line(proc.stderr)}")
            if attempt == retries - 1:
                held = HELD_LOCK.search(err)  # the lock git names (a ref's too), not the first sign of one
                lock = held.group(1) if held else match.group(1) or str(self.git_dir / "index.lock")
                raise GitError(lock_left_behind(lock))
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")

    # -- configuration -----------------------------------------------------------------------------------------
    def config(self) -> dict[str, list[str]]:
        """All config values (`git config --list`), read once per process."""
        if self._config is None:
            proc = self.run("config", "-z", "--list", check=False)
            values: dict[str, list[str]] = {}
            for entry in proc.stdout.decode("utf-8", "replace").split("\0"):
                if not entry:
                    continue
                key, _, value = entry.partition("\n")
                values.setdefault(key.lower(), []).append(value)
            self._config = values
        return self._config

    def config_get(self, key: str) -> str | None:
        values = self.config().get(key.lower())
        return values[-1] if values else None

    def config_set_local(self, key: str, value: str) -> None:
        self.run_retrying_locks("config", "--local", key, value)
        self._config = None

    def config_unset_local(self, key: str) -> None:
        self.run_retrying_locks("config", "--local", "--unset-all", key)
        self._config = None

    def local_config_text(self) -> str:
        """The text of this repository's own config file (read without starting git)."""
        try:
            return (self.common_dir / "config").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _config_texts(self) -> list[str] | None:
        """The texts of the config files git reads, lowest precedence first; None when git must be asked (include
        files, `git -c` settings in the environment, a system config whose place is not known)."""
        if os.environ.get("GIT_CONFIG_PARAMETERS") or os.environ.get("GIT_CONFIG_COUNT"):
            return None
        texts: list[str] = []
        if os.environ.get("GIT_CONFIG_NOSYSTEM") in (None, "", "0"):
            if os.name != "posix":
                return None
            with contextlib.suppress(OSError):
                texts.append(
                    Path(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig").read_text("utf-8", "replace")
                )
        home = Path(os.environ.get("HOME") or os.environ.get("USERPROFILE") or Path.home())
        xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        globals_ = [os.environ["GIT_CONFIG_GLOBAL"]] if os.environ.get("GIT_CONFIG_GLOBAL") else [
            xdg / "git" / "config", home / ".gitconfig"]  # fmt: skip
        for candidate in globals_:
            with contextlib.suppress(OSError):
                texts.append(Path(candidate).read_text(encoding="utf-8", errors="replace"))
        texts.append(self.local_config_text())
        with contextlib.suppress(OSError):
            texts.append((self.git_dir / "config.worktree").read_text(encoding="utf-8", errors="replace"))
        if any("[include" in text.lower() for text in texts):
            return None
        return texts

    def may_have(self, word: str) -> bool:
        """Could the config set anything containing `word`? A cheap look at the config files that lets the common
        path skip starting `git config`."""
        texts = self._config_texts()
        return texts is None or any(word in text.lower() for text in texts)

    def _config_entries(self) -> list[tuple[str, str, str]] | None:
        """(section[.subsection], key, value) of every plain entry of the config files, lowest precedence first;
        None when the files hold anything this small reader does not follow (then git is asked)."""
        texts = self._config_texts()
        if texts is None:
            return None
        entries: list[tuple[str, str, str]] = []
        for text in texts:
            section = ""
            for raw in text.splitlines():
                line = raw.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("["):
                    header = _SECTION.match(line)
                    if header is None or line[header.end() :].strip()[:1] not in ("", "#", ";"):
                        return None
                    sub = header.group(2)
                    section = header.group(1).lower() + (f".{sub}" if sub is not None else "")
                    continue
                name, sep, rest = line.partition("=")
                if any(ch in rest for ch in '"\\') or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name.strip()):
                    return None
                value = re.split(r"\s[#;]", rest, maxsplit=1)[0].strip() if sep else "true"
                entries.append((section, name.strip().lower(), value))
        return entries

    def file_setting(self, section: str, key: str) -> str | None:
        """`SECTION.KEY` from git config, read from the files without starting git in the common case."""
        entries = self._config_entries()
        if entries is None:
            return self.config_get(f"{section}.{key}")
        found = [value for sec, name, value in entries if sec == section.lower() and name == key.lower()]
        return found[-1] if found else None

    def gittasks_setting(self, key: str) -> str | None:
        return self.file_setting("gittasks", key)

    def has_merge_driver(self) -> bool:
        """Does this clone's config route the task files to the gittasks merge driver?"""
        text = self.local_config_text()
        if re.search(r'^\s*\[merge\s+"gittasks"\]', text, re.MULTILINE) and re.search(
            r"^\s*driver\s*=", text, re.MULTILINE
        ):
            return True
        return self.config_get(f"merge.{DRIVER_NAME}.driver") is not None

    # -- state ---------------------------------------------------------------------------------------------------
    def head(self) -> str | None:
        proc = self.run("rev-parse", "--verify", "-q", "HEAD", check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def branch(self) -> str | None:
        proc = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def show(self, rev: str, path: str) -> bytes | None:
        """The bytes of `path` at `rev` (`:1`, `:2`, `:3` for the stages of an unmerged index entry), None if absent."""
        proc = self.run("cat-file", "blob", f"{rev}:{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def blobs(self, specs: Sequence[str], base_cache: int | None = None) -> list[bytes | None]:
        """The bytes of each `REV:PATH` in `specs` (None where there is none), read by one `git cat-file --batch`.

        `base_cache`: bytes of delta bases git keeps while it reads (`core.deltaBaseCacheLimit`, 96 MiB unless set).
        A few versions of a large file scattered over a long history read much faster with a cache of a few of its
        sizes: git then does not first fill (and fault in) 96 MiB of bases it never reuses."""
        if not specs:
            return []
        request = "".join(f"{spec}\n" for spec in specs).encode("utf-8", "surrogateescape")
        config = [f"core.deltaBaseCacheLimit={base_cache}"] if base_cache else []
        out = self.run("cat-file", "--batch", input=request, config=config).stdout
        found: list[bytes | None] = []
        pos = 0
        for _ in specs:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[1] == b"missing":
                found.append(None)
                continue
            size = int(header[2])
            found.append(out[pos : pos + size])
            pos += size + 1
        return found

    def status(self, paths: Sequence[str]) -> list[tuple[str, str]]:
        """(kind, path) for each changed path below `paths`: kind is 'changed', 'untracked' or 'unmerged'."""
        proc = self.run("status", "--porcelain=v2", "-z", "--untracked-files=all", "--", *paths)
        entries: list[tuple[str, str]] = []
        parts = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
        index = 0
        while index < len(parts):
            entry = parts[index]
            index += 1
            if not entry:
                continue
            if entry.startswith("1 "):
                entries.append(("changed", entry.split(" ", 8)[8]))
            elif entry.startswith("2 "):
                entries.append(("changed", entry.split(" ", 9)[9]))
                index += 1  # the original path of a rename follows
            elif entry.startswith("u "):
                entries.append(("unmerged", entry.split(" ", 10)[10]))
            elif entry.startswith("? "):
                entries.append(("untracked", entry[2:]))
        return entries

    def operation_in_progress(self) -> str | None:
        """'merge', 'rebase', 'cherry-pick', 'revert' or 'bisect' when git is in the middle of one (from the files)."""
        for name, marker in (
            ("rebase", "rebase-merge"),
            ("rebase", "rebase-apply"),
            ("merge", "MERGE_HEAD"),
            ("cherry-pick", "CHERRY_PICK_HEAD"),
            ("revert", "REVERT_HEAD"),
            ("bisect", "BISECT_LOG"),
        ):
            if (self.git_dir / marker).exists():
                return name
        return None

    def head_detached(self) -> bool:
        """Is HEAD a commit rather than a branch? (read from .git/HEAD)"""
        try:
            return not (self.git_dir / "HEAD").read_text(encoding="utf-8").startswith("ref: ")
        except OSError:
            return False

    # -- committing ----------------------------------------------------------------------------------------------
    def identity_config(self) -> list[str]:
        """`-c` settings giving gittasks commits an identity where git has none configured."""
        extra: list[str] = []
        if not (os.environ.get("GIT_AUTHOR_NAME") or self.file_setting("user", "name")):
            extra.append("user.name=gittasks")
        if not (os.environ.get("GIT_AUTHOR_EMAIL") or self.file_setting("user", "email")):
            extra.append("user.email=gittasks@localhost")
        return extra

    def commit_paths(self, paths: Sequence[str], message: str) -> str:
        """Commit the working-tree state of `paths` alone; the user's other staged and unstaged work stays as it is.

        The common case is one `git commit --only`; files git does not know yet are added first (by their exact
        paths, even where `.gitignore` names them: they are gittasks' own files), and an identity is supplied only when
        git has none (a fresh machine).
        """
        args = ["commit", "--no-verify", "--no-gpg-sign", "--quiet", "--cleanup=whitespace", "-F", "-", "--only"]
        data = message.encode("utf-8")
        proc = self.run(*args, "--", *paths, input=data, check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace")
            if "did not match any file" in err or "pathspec" in err:
                self.run_retrying_locks("add", "-A", "--force", "--", *paths)
                failpoints.hit("after-git-add")
            elif not _LOCK_ERROR.search(err) and not _NO_IDENTITY.search(err):
                raise GitError(f"git commit failed: {_first_line(proc.stderr)}")
            self.run_retrying_locks(*args, "--", *paths, input=data, config=self.identity_config())
        failpoints.hit("after-commit")
        return self.head_from_files() or self.head() or ""

    def head_from_files(self) -> str | None:
        """HEAD's commit read from .git's files (a commit always leaves its branch as a loose ref), None if unsure."""
        try:
            head = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
            if not head.startswith("ref: "):
                return head if re.fullmatch(r"[0-9a-f]{40,64}", head) else None
            value = (self.common_dir / head[5:]).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return value if re.fullmatch(r"[0-9a-f]{40,64}", value) else None

    def unstage(self, paths: Sequence[str]) -> None:
        """Put the index entries of `paths` back to HEAD (after a failed commit)."""
        if self.head() is None:
            self.run("rm", "-q", "--cached", "--ignore-unmatch", "-r", "--", *paths, check=False)
        else:
            self.run("reset", "-q", "HEAD", "--", *paths, check=False)

    # -- refs, read from .git's files where git keeps them as files ------------------------------------------------
    def _packed_refs(self) -> dict[str, str]:
        try:
            text = (self.common_dir / "packed-refs").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
        refs: dict[str, str] = {}
        for line in text.splitlines():
            if line[:1] in ("#", "^") or " " not in line:
                continue
            sha, _, name = line.partition(" ")
            refs[name.strip()] = sha
        return refs

    def ref(self, name: str) -> str | None:
        """The commit a full ref name (`refs/heads/gittasks`) points at, None when there is none. Read from the
        ref files without starting git (git itself is asked only for a reftable repository)."""
        if (self.common_dir / "reftable").is_dir():
            proc = self.run("rev-parse", "--verify", "-q", f"{name}^{{commit}}", check=False)
            return proc.stdout.decode().strip() or None if proc.returncode == 0 else None
        for _ in range(5):
            try:
                text = (self.common_dir / name).read_text(encoding="utf-8").strip()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                break
            except OSError:
                return None
            if text.startswith("ref: "):
                name = text[5:].strip()
                continue
            return text if _HEX.fullmatch(text) else None
        return self._packed_refs().get(name)

    def refs_named(self, prefix: str, last: str) -> dict[str, str]:
        """{full name: commit} of the refs `PREFIX*/LAST` (e.g. every remote's `gittasks` branch), from the files."""
        if (self.common_dir / "reftable").is_dir():
            out = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
            pairs = [line.split(" ", 1) for line in out.splitlines() if " " in line]
            return {name: sha for name, sha in pairs if name.endswith("/" + last)}
        found = {k: v for k, v in self._packed_refs().items() if k.startswith(prefix) and k.endswith("/" + last)}
        folder = self.common_dir / prefix
        if folder.is_dir():
            for path in folder.glob(f"*/{last}"):
                value = self.ref(path.relative_to(self.common_dir).as_posix())
                if value:
                    found[path.relative_to(self.common_dir).as_posix()] = value
        return found

    def rev(self, spec: str) -> str | None:
        """The commit `spec` names (any revision git understands), None when it names none."""
        if spec.startswith("-"):
            return None
        proc = self.run("rev-parse", "--verify", "-q", "--end-of-options", f"{spec}^{{commit}}", check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def update_ref(self, name: str, new: str, old: str | None, reason: str = "gittasks") -> bool:
        """Point `name` at `new` if it still points at `old` (None: if it does not exist); False when it moved. A lock
        file git cannot create (`refs/heads/NAME.lock`, `packed-refs.lock`) is waited for briefly, then named: a git
        killed at the wrong moment leaves one behind, and no retry of the change would ever get past it."""
        delay = 0.02
        retries = max(1, int(os.environ.get("GITTASKS_LOCK_RETRIES") or LOCK_RETRIES))
        for attempt in range(retries):
            proc = self.run("update-ref", "-m", reason, name, new, old or ZERO, check=False)
            if proc.returncode == 0:
                return True
            held = HELD_LOCK.search(proc.stderr.decode("utf-8", "replace"))
            if held is None:
                break
            if attempt == retries - 1:
                raise GitError(lock_left_behind(held.group(1)))
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)
        err = proc.stderr.decode("utf-8", "replace").lower()
        if any(sign in err for sign in _REF_MOVED):  # the compare-and-swap lost: someone else moved the ref first
            return False
        raise GitError(f"git update-ref failed: {_first_line(proc.stderr)}")

    # -- reading trees -------------------------------------------------------------------------------------------
    def paths_at(self, rev: str, paths: Sequence[str]) -> list[str]:
        """The files below `paths` in the commit `rev`."""
        listing = self.run("ls-tree", "-r", "-z", "--name-only", rev, "--", *paths)
        return [p for p in listing.stdout.decode("utf-8", "surrogateescape").split("\0") if p]

    def mode_at(self, rev: str, path: str) -> str | None:
        """The mode of `path` in the commit `rev` (`100644` a file, `120000` a symbolic link, `040000` a folder), None
        when it has none there."""
        out = self.run("ls-tree", "-z", rev, "--", path, check=False).stdout.decode("utf-8", "surrogateescape")
        entry = next((e for e in out.split("\0") if e.endswith(f"\t{path}")), None)
        return entry.split(" ", 1)[0] if entry else None

    def changed_paths(self, old: str, new: str, paths: Sequence[str]) -> list[str]:
        """The files below `paths` that differ between the commits `old` and `new` (added, changed or removed)."""
        listing = self.run("diff-tree", "-r", "-z", "--name-only", "--no-renames", old, new, "--", *paths)
        return [p for p in listing.stdout.decode("utf-8", "surrogateescape").split("\0") if p]

    def files_at(self, rev: str, paths: Sequence[str]) -> dict[str, bytes]:
        """{path: bytes} of the given files in the commit `rev` (absent ones left out), one `cat-file --batch`."""
        blobs = self.blobs([f"{rev}:{p}" for p in paths])
        return {path: blob for path, blob in zip(paths, blobs, strict=True) if blob is not None}

    def merge_bases(self, one: str, other: str) -> list[str]:
        return self.run("merge-base", "--all", one, other, check=False).stdout.decode().split()

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def count(self, *revs: str) -> int:
        return int(self.out("rev-list", "--count", *revs) or 0)

    # -- the operations the layouts, sync, history and repair need --------------------------------------------------
    def merge_tree(self, ours: str, theirs: str, unrelated: bool) -> tuple[str, list[str]]:
        """git's own merge of two commits without touching anything: (tree, conflicted paths). The task files'
        merge driver is switched off: gittasks merges those itself."""
        args = ["merge-tree", "--write-tree", "-z", "--name-only", "--no-messages"]
        if unrelated:
            args.append("--allow-unrelated-histories")
        proc = self.run(*args, ours, theirs, check=False, config=["merge.gittasks.driver=false"])
        if proc.returncode not in (0, 1):
            raise GitError(f"git merge-tree failed ({_first_line(proc.stderr)}); gittasks needs git 2.38 or later")
        parts = [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
        return parts[0], sorted(set(parts[1:]))

    def fast_forward(self, target: str) -> str | None:
        """Move the current branch and the work tree to `target`, a descendant; git's complaint when it cannot."""
        proc = self.run("merge", "--ff-only", "--quiet", "--no-stat", target, check=False)
        return None if proc.returncode == 0 else proc.stderr.decode("utf-8", "replace")

    def subjects(self, *revs: str, limit: int = 200) -> list[str]:
        """The subjects of the (non-merge) commits `revs` select."""
        return self.out("log", "--no-merges", "--format=%s", "-n", str(limit), *revs).splitlines()

    def ahead_behind(self, local: str, other: str) -> tuple[int, int]:
        counts = self.out("rev-list", "--left-right", "--count", f"{local}...{other}").split()
        return int(counts[0]), int(counts[1])

    def log(self, rev: str, fmt: str, *args: str) -> str:
        """`git log --format=FMT REV ARGS...` as text."""
        return self.run("log", f"--format={fmt}", rev, *args).stdout.decode("utf-8", "replace")

    def logs(self, rev: str, fmt: str, *arg_lists: Sequence[str]) -> list[str]:
        """`git log --format=FMT REV ARGS...` for each list of ARGS, as text, the walks run side by side (each walk
        of a long history is one git process busy on one CPU)."""
        found: list[str] = [""] * len(arg_lists)
        failed: list[BaseException] = []

        def walk(index: int) -> None:
            try:
                found[index] = self.log(rev, fmt, *arg_lists[index])
            except BaseException as exc:  # handed to the caller's thread below
                failed.append(exc)

        others = [threading.Thread(target=walk, args=(i,), daemon=True) for i in range(1, len(arg_lists))]
        for thread in others:
            thread.start()
        if arg_lists:
            walk(0)
        for thread in others:
            thread.join()
        if failed:
            raise failed[0]
        return found

    def log_blobs(self, rev: str, fmt: str, path: str) -> str:
        """`git log --raw` of one file on `rev` as text, children before parents (`--date-order`): each commit's
        `--format=FMT` line, then a `:MODE MODE OLD NEW STATUS<tab>PATH` line with the file's blob before and after
        (merges print none: their parents' commits carry the changes)."""
        return self.run(
            "log", f"--format={fmt}", "--date-order", "--raw", "--no-abbrev", "--no-renames", "--no-diff-merges",
            "--no-show-signature", rev, "--", path,
        ).stdout.decode("utf-8", "replace")  # fmt: skip

    def stream_blobs(self, names: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        """(name, bytes) of each object in `names` (None where there is none), in order, through one
        `git cat-file --batch`, one object at a time as git writes it: a long history is never held whole. A thread
        writes the requests, so neither side waits on a full pipe."""
        if not names:
            return
        try:
            child = subprocess.Popen(
                ["git", "cat-file", "--batch"], cwd=self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=child_env(),
            )  # fmt: skip
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH; install git and try again") from None
        assert child.stdin is not None and child.stdout is not None
        request = "".join(f"{name}\n" for name in names).encode("utf-8", "surrogateescape")

        def feed() -> None:
            with contextlib.suppress(OSError):  # git ended early: the reader says so
                assert child.stdin is not None
                child.stdin.write(request)
                child.stdin.close()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            for name in names:
                header = child.stdout.readline().split()
                if not header:
                    raise GitError("git cat-file ended before it gave every object")
                if len(header) < 3 or header[1] == b"missing":
                    yield name, None
                    continue
                data = child.stdout.read(int(header[2]))
                child.stdout.read(1)  # the newline after each object
                yield name, data
        finally:
            child.stdout.close()
            if child.poll() is None:
                child.kill()
            child.wait()
            writer.join()

    def root_trailer(self, rev: str, key: str) -> str | None:
        """The value of the trailer `key` of the first commit of `rev`'s history, if any."""
        out = self.out("log", "--max-parents=0", f"--format=%(trailers:key={key},valueonly,separator=)", rev)
        return next((line.strip() for line in out.splitlines() if line.strip()), None)

    def commits_touching(self, rev: str, paths: Sequence[str], limit: int | None = None) -> list[str]:
        """The commits of `rev` that change `paths`, newest first."""
        return self.out("rev-list", *(["-n", str(limit)] if limit else []), rev, "--", *paths).split()

    def parents(self, rev: str) -> list[str]:
        return self.out("rev-list", "--parents", "-n", "1", rev).split()[1:]

    def merge_base(self, one: str, other: str) -> str | None:
        return self.run("merge-base", one, other, check=False).stdout.decode().strip() or None

    def last_before(self, when: str, rev: str) -> str | None:
        """The newest commit of `rev` made before the date `when` (any form git's approxidate reads)."""
        return self.out("rev-list", "-1", f"--before={when}", rev) or None

    def tracked(self, paths: Sequence[str]) -> list[str]:
        """The files below `paths` that the index tracks."""
        return self.out("ls-files", "--", *paths).splitlines()

    def unmerged(self) -> list[str]:
        out = self.run("ls-files", "-u", "-z").stdout.decode("utf-8", "surrogateescape")
        return sorted({entry.split("\t", 1)[1] for entry in out.split("\0") if "\t" in entry})

    def stage(self, paths: Sequence[str]) -> None:
        self.run_retrying_locks("add", "--", *paths)

    def untrack(self, paths: Sequence[str]) -> None:
        """Drop `paths` from the index (the files stay in the work tree)."""
        self.run_retrying_locks("rm", "--cached", "-q", "-r", "--ignore-unmatch", "--", *paths)

    def reset_paths(self, paths: Sequence[str]) -> None:
        self.run("reset", "-q", "--", *paths, check=False)

    def continue_operation(self, operation: str) -> bool:
        """`git merge/rebase/cherry-pick/revert --continue` without an editor; False when git refused."""
        steps = {
            "merge": ["commit", "--no-edit", "--quiet"],
            "rebase": ["rebase", "--continue"],
            "cherry-pick": ["cherry-pick", "--continue"],
            "revert": ["revert", "--continue"],
        }
        proc = self.run(*steps[operation], check=False, env={"GIT_EDITOR": "true"}, config=self.identity_config())
        return proc.returncode == 0

    def delete_ref(self, name: str, old: str) -> None:
        self.run("update-ref", "-d", name, old, check=False)

    def remote_url(self, name: str) -> str:
        return self.out("remote", "get-url", "--", name)

    def add_remote(self, name: str, url: str) -> None:
        self.run("remote", "add", "--", name, url)

    def set_remote_url(self, name: str, url: str) -> None:
        self.run("remote", "set-url", "--", name, url)

    # -- writing objects -------------------------------------------------------------------------------------------
    def tree_with_files(self, base: str | None, files: Mapping[str, bytes | None]) -> str:
        """The tree of `base` (a commit or tree; None: empty) with `files` replaced (None: removed), built in a
        private index so that the user's index is never read or written."""
        index = self.git_dir / f"gittasks-index-{os.getpid()}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if base is None:
                self.run("read-tree", "--empty", env=env)
            else:
                self.run("read-tree", base, env=env)
            lines = []
            for path, data in sorted(files.items()):
                if data is None:
                    lines.append(f"0 {ZERO}\t{path}")
                else:
                    blob = self.out("hash-object", "-w", "--stdin", input=data, config=self._loose_compression())
                    lines.append(f"100644 {blob}\t{path}")
            if lines:
                self.run("update-index", "--index-info", input=("\n".join(lines) + "\n").encode("utf-8"), env=env)
            return self.out("write-tree", env=env)
        finally:
            with contextlib.suppress(OSError):
                index.unlink()

    def _loose_compression(self) -> list[str]:
        """zlib's fastest level for the task files' new blobs, unless the repository sets a compression itself: a
        large list is stored much sooner, and `git gc` packs the loose objects with its own compression later."""
        if self.file_setting("core", "looseCompression") is not None or self.file_setting("core", "compression"):
            return []
        return ["core.looseCompression=1"]

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        args = ["commit-tree", "--no-gpg-sign", tree]
        for parent in parents:
            args += ["-p", parent]
        proc = self.run(*args, "-F", "-", input=message.encode("utf-8"), config=self.identity_config())
        return proc.stdout.decode().strip()

    # -- the network: every step has a bounded wait ------------------------------------------------------------------
    def remotes(self) -> list[str]:
        """The names of the remotes (from the config files where they are plain)."""
        entries = self._config_entries()
        if entries is None:
            return self.out("remote").split()
        names = [sec.split(".", 1)[1] for sec, _, _ in entries if sec.startswith("remote.") and "." in sec]
        return list(dict.fromkeys(names))

    def fetch(self, remote: str, source: str, target: str, timeout: float) -> Transfer:
        """Fetch the ref `source` of `remote` into the local ref `target`."""
        try:
            proc = self.run(
                "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, f"+{source}:{target}",
                check=False, timeout=timeout,
            )  # fmt: skip
        except GitTimeout as exc:
            return Transfer("unreachable", str(exc))
        err = proc.stderr.decode("utf-8", "replace")
        if proc.returncode == 0:
            return Transfer("ok")
        if "couldn't find remote ref" in err.lower():
            return Transfer("missing", err)
        if _DENIED.search(err) or "returned error: 403" in err:
            return Transfer("denied", err)
        return Transfer("unreachable", err)

    def push(self, remote: str, refspec: str, timeout: float, set_upstream: bool = False) -> Transfer:
        args = ["push", "--porcelain", "--quiet", *(["--set-upstream"] if set_upstream else [])]
        try:
            proc = self.run(*args, remote, refspec, check=False, timeout=timeout)
        except GitTimeout as exc:
            return Transfer("unreachable", str(exc))
        err = proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace")
        if proc.returncode == 0:
            return Transfer("ok", err)
        low = err.lower()
        race_signs = ("[rejected]", "fetch first", "non-fast-forward", "stale info", "cannot lock ref", "but expected")
        if any(sign in low for sign in race_signs):
            return Transfer("race", err)
        if "[remote rejected]" in low or "declined" in low or "protected" in low or "returned error: 403" in low:
            return Transfer("refused", err)
        if _DENIED.search(err):
            return Transfer("denied", err)
        if any(h in low for h in _UNREACHABLE_HINTS):
            return Transfer("unreachable", err)
        return Transfer("refused", err)

    # -- whole-history walks (GitPython: its import pays off only where the walk itself dominates) -----------------
    def history_summary(self, ref: str, allowed: Callable[[str], bool]) -> dict[str, Any]:
        """A walk over every commit of `ref`: how many, by which machine, which carry no gittasks trailers, and the
        files of its tip that `allowed` refuses (code committed onto the task branch by hand)."""
        import git as gitpython  # GitPython, imported here only: `doctor` is the one command that walks it all

        # expand_vars=False: GitPython otherwise reads `$HOME` or `$x` in a folder's name as a variable (and warns)
        handle = gitpython.Repo(self.root, expand_vars=False)
        try:
            handle.git.update_environment(**dict.fromkeys(LOCATION_VARIABLES))
            machines: dict[str, int] = {}
            untagged: list[str] = []
            total = 0
            for commit in handle.iter_commits(ref):
                total += 1
                found = commit.trailers_dict
                if len(commit.parents) < 2 and not ({"Action", "Machine", "Timestamp"} <= set(found)):
                    untagged.append(commit.hexsha)
                for machine in found.get("Machine", []):
                    machines[machine] = machines.get(machine, 0) + 1
            blobs = [item for item in handle.commit(ref).tree.traverse() if isinstance(item, gitpython.Blob)]
            stray = [str(blob.path) for blob in blobs if not allowed(str(blob.path))]
        finally:
            handle.close()
        return {"commits": total, "machines": machines, "untagged": untagged, "stray": sorted(stray)}


def lock_left_behind(lock: str) -> str:
    """One line naming a git lock file that stays: how to check that no git uses it and how to remove it."""
    return (
        f"git cannot lock: {lock} exists (a git process is using it, or one was killed and left it behind); if no "
        f"git process is running (`ps -ef | grep git`; on Windows the Task Manager), remove it with "
        f"`rm {shlex.quote(lock)}` (or `gittasks doctor --fix`) and run the command again"
    )


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("hint:")]
    return lines[0] if lines else "no message"


def looks_bare(folder: Path) -> bool:
    """Is `folder` (or a folder above it) a bare repository's git dir?"""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return False
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir() and (candidate / "refs").is_dir():
            return True
    return False


def find_repo(start: Path | None = None) -> Repo:
    """The repository containing `start` (default: the current folder), found without starting git."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return Repo(folder, dot, _common_dir(dot))
        if dot.is_file():
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                git_dir = Path(text[len("gitdir:") :].strip())
                if not git_dir.is_absolute():
                    git_dir = (folder / git_dir).resolve()
                return Repo(folder, git_dir, _common_dir(git_dir))
    if looks_bare(here):
        raise GittasksError(f"{here} is a bare repository (no work tree); run gittasks in a clone of it")
    raise GittasksError(f"not inside a git repository: {here}; run `gittasks init` or `git init` first")


def _common_dir(git_dir: Path) -> Path:
    pointer = git_dir / "commondir"
    if pointer.is_file():
        common = Path(pointer.read_text(encoding="utf-8").strip())
        return common if common.is_absolute() else (git_dir / common).resolve()
    return git_dir


def init_repo(path: Path) -> Repo:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["git", "init", "-q", "--", str(path)], capture_output=True)
    if proc.returncode != 0:
        raise GitError(f"git init failed: {_first_line(proc.stderr)}")
    return find_repo(path)
