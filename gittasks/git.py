"""The only module that runs git. Everything goes through the git command line (subprocess).

Arguments that come from users are always placed after `--` (paths) or passed on stdin (messages), so an id or a
subject beginning with `-` is never taken as an option.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gittasks import failpoints
from gittasks.errors import GittasksError

DRIVER_NAME = "gittasks"
_LOCK_ERROR = re.compile(r"Unable to create '([^']+\.lock)'|cannot lock ref|index\.lock", re.IGNORECASE)
_NO_IDENTITY = re.compile(r"tell me who you are|auto-detect email|empty ident|no email was given", re.IGNORECASE)
LOCK_RETRIES = 12


class GitError(GittasksError):
    """git refused or failed; the message names what and how to go on."""


@dataclass
class Repo:
    """A git work tree: its top folder, its git dir and the common dir (they differ in linked worktrees)."""

    root: Path
    git_dir: Path
    common_dir: Path
    _config: dict[str, list[str]] | None = field(default=None, repr=False)

    # -- running git -------------------------------------------------------------------------------------------
    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        config: Sequence[str] = (),
    ) -> subprocess.CompletedProcess[bytes]:
        cmd = ["git"]
        for item in config:
            cmd += ["-c", item]
        cmd += list(args)
        full_env = None
        if env:
            full_env = {**os.environ, **env}
        try:
            proc = subprocess.run(cmd, cwd=self.root, input=input, capture_output=True, env=full_env)
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH; install git and try again") from None
        if check and proc.returncode != 0:
            raise GitError(f"git {args[0]} failed: {_first_line(proc.stderr)}")
        return proc

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
                lock = match.group(1) or str(self.git_dir / "index.lock")
                raise GitError(
                    f"git is busy: {lock} exists; if no git process is running it is stale "
                    "(check with `gittasks doctor`, remove with `gittasks doctor --fix`)"
                )
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

    def local_config_text(self) -> str:
        """The text of this repository's own config file (read without starting git)."""
        try:
            return (self.common_dir / "config").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def may_have(self, word: str) -> bool:
        """Could the config set anything containing `word`? A cheap look at the config files (local, global, XDG)
        that lets the common path skip starting `git config`; include files make it answer True."""
        texts = [self.local_config_text()]
        home = Path(os.environ.get("HOME") or os.environ.get("USERPROFILE") or Path.home())
        xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        for candidate in (os.environ.get("GIT_CONFIG_GLOBAL"), home / ".gitconfig", xdg / "git" / "config"):
            if candidate:
                with contextlib.suppress(OSError):
                    texts.append(Path(candidate).read_text(encoding="utf-8", errors="replace"))
        if os.environ.get("GIT_CONFIG_NOSYSTEM") in (None, "", "0"):
            if os.name != "posix":
                return True  # the system config's place varies: ask git
            with contextlib.suppress(OSError):
                texts.append(Path("/etc/gitconfig").read_text(encoding="utf-8", errors="replace"))
        return any(word in text.lower() or "[include" in text.lower() for text in texts)

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

    def blobs(self, specs: Sequence[str]) -> list[bytes | None]:
        """The bytes of each `REV:PATH` in `specs` (None where there is none), read by one `git cat-file --batch`."""
        if not specs:
            return []
        request = "".join(f"{spec}\n" for spec in specs).encode("utf-8", "surrogateescape")
        out = self.run("cat-file", "--batch", input=request).stdout
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
        """'merge', 'rebase', 'cherry-pick' or 'revert' when git is in the middle of one."""
        for name, marker in (
            ("rebase", "rebase-merge"),
            ("rebase", "rebase-apply"),
            ("merge", "MERGE_HEAD"),
            ("cherry-pick", "CHERRY_PICK_HEAD"),
            ("revert", "REVERT_HEAD"),
        ):
            if (self.git_dir / marker).exists():
                return name
        return None

    # -- committing ----------------------------------------------------------------------------------------------
    def identity_config(self) -> list[str]:
        """`-c` settings giving gittasks commits an identity where git has none configured."""
        extra: list[str] = []
        if not (os.environ.get("GIT_AUTHOR_NAME") or self.config_get("user.name")):
            extra.append("user.name=gittasks")
        if not (os.environ.get("GIT_AUTHOR_EMAIL") or self.config_get("user.email")):
            extra.append("user.email=gittasks@localhost")
        return extra

    def commit_paths(self, paths: Sequence[str], message: str) -> str:
        """Commit the working-tree state of `paths` alone; the user's other staged and unstaged work stays as it is.

        The common case is one `git commit --only`; files git does not know yet are added first, and an identity is
        supplied only when git has none (a fresh machine).
        """
        args = ["commit", "--no-verify", "--no-gpg-sign", "--quiet", "--cleanup=whitespace", "-F", "-", "--only"]
        data = message.encode("utf-8")
        proc = self.run(*args, "--", *paths, input=data, check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace")
            if "did not match any file" in err or "pathspec" in err:
                self.run_retrying_locks("add", "-A", "--", *paths)
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


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("hint:")]
    return lines[0] if lines else "no message"


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
