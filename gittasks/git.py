"""The only module that runs git. Everything goes through the git command line (subprocess); what can be read
from git's own files without starting git (config, refs, HEAD) is read by `gitfiles`, and git is asked where those
files cannot say.

Arguments that come from users are always placed after `--` (paths) or passed on stdin (messages), so an id or a
subject beginning with `-` is never taken as an option.
"""

from __future__ import annotations

import contextlib
import os
import random
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

# (`X as X`: a name the modules above read from here, stated in another module)
from gittasks import failpoints, gitfiles, gitwords, processes
from gittasks.errors import GittasksError
from gittasks.gitfiles import looks_bare as looks_bare
from gittasks.gitwords import HELD_LOCK as HELD_LOCK
from gittasks.gitwords import LOCK_ERROR, NO_IDENTITY, REF_MOVED, first_line
from gittasks.gitwords import Transfer as Transfer
from gittasks.gitwords import lock_left_behind as lock_left_behind

DRIVER_NAME = "gittasks"
NO_GIT = "git is not installed or not on PATH; install git and try again"
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
LOCK_RETRIES = 12


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
            raise GitError(NO_GIT) from None
        if check and proc.returncode != 0:
            raise GitError(f"git {args[0]} failed: {first_line(proc.stderr)}")
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
                raise GitError(NO_GIT) from None
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
            raise GitError(f"git {cmd[1]} failed: {first_line(proc.stderr)}")
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
            match = LOCK_ERROR.search(err)
            if match is None:
                raise GitError(f"git {args[0]} failed: {first_line(proc.stderr)}")
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
            self._config = gitwords.config_values(proc.stdout.decode("utf-8", "replace"))
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

    def may_have(self, word: str) -> bool:
        """Could the config set anything containing `word`? A look at the config files that lets the common path skip
        starting `git config` (unsure: it could)."""
        return gitfiles.may_have(self.git_dir, self.common_dir, word) is not False

    def file_setting(self, section: str, key: str) -> str | None:
        """`SECTION.KEY` from git config, read from the files without starting git in the common case."""
        values = gitfiles.setting(self.git_dir, self.common_dir, section, key)
        if values is None:
            return self.config_get(f"{section}.{key}")
        return values[-1] if values else None

    def gittasks_setting(self, key: str) -> str | None:
        return self.file_setting("gittasks", key)

    def has_merge_driver(self) -> bool:
        """Does this clone's config route the task files to the gittasks merge driver?"""
        return (
            bool(gitfiles.merge_driver_set(self.common_dir))
            or self.config_get(f"merge.{DRIVER_NAME}.driver") is not None
        )

    # -- state ---------------------------------------------------------------------------------------------------
    def head(self) -> str | None:
        proc = self.run("rev-parse", "--verify", "-q", "HEAD", check=False)
        return _answer(proc)

    def branch(self) -> str | None:
        proc = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return _answer(proc)

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
        return gitwords.batch_objects(self.run("cat-file", "--batch", input=request, config=config).stdout, len(specs))

    def status(self, paths: Sequence[str]) -> list[tuple[str, str]]:
        """(kind, path) for each changed path below `paths`: kind is 'changed', 'untracked' or 'unmerged'."""
        proc = self.run("status", "--porcelain=v2", "-z", "--untracked-files=all", "--", *paths)
        return gitwords.status_entries(proc.stdout.decode("utf-8", "surrogateescape"))

    def operation_in_progress(self) -> str | None:
        """'merge', 'rebase', 'cherry-pick', 'revert' or 'bisect' when git is in the middle of one (from the files)."""
        return gitfiles.operation_in_progress(self.git_dir)

    def head_detached(self) -> bool:
        """Is HEAD a commit rather than a branch? (read from .git/HEAD; an unreadable one is left to git's next
        command to name)"""
        return gitfiles.head_detached(self.git_dir) is True

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
            elif not LOCK_ERROR.search(err) and not NO_IDENTITY.search(err):
                raise GitError(f"git commit failed: {first_line(proc.stderr)}")
            self.run_retrying_locks(*args, "--", *paths, input=data, config=self.identity_config())
        failpoints.hit("after-commit")
        return self.head_from_files() or self.head() or ""

    def head_from_files(self) -> str | None:
        """HEAD's commit read from .git's files, None when they cannot say (the caller then asks git: `head`)."""
        return gitfiles.head(self.git_dir, self.common_dir)

    def unstage(self, paths: Sequence[str]) -> None:
        """Put the index entries of `paths` back to HEAD (after a failed commit)."""
        if self.head() is None:
            self.run("rm", "-q", "--cached", "--ignore-unmatch", "-r", "--", *paths, check=False)
        else:
            self.run("reset", "-q", "HEAD", "--", *paths, check=False)

    # -- refs: read from .git's files, git asked where they cannot say ------------------------------------------------
    def ref(self, name: str) -> str | None:
        """The commit a full ref name (`refs/heads/gittasks`) points at, None when there is none."""
        found = gitfiles.ref(self.common_dir, name)
        if found is None:
            proc = self.run("rev-parse", "--verify", "-q", f"{name}^{{commit}}", check=False)
            return _answer(proc)
        return found or None

    def refs_named(self, prefix: str, last: str) -> dict[str, str]:
        """{full name: commit} of the refs `PREFIX*/LAST` (e.g. every remote's `gittasks` branch)."""
        found = gitfiles.refs_named(self.common_dir, prefix, last)
        if found is not None:
            return found
        out = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        pairs = [line.split(" ", 1) for line in out.splitlines() if " " in line]
        return {name: sha for name, sha in pairs if name.endswith("/" + last)}

    def rev(self, spec: str) -> str | None:
        """The commit `spec` names (any revision git understands), None when it names none."""
        if spec.startswith("-"):
            return None
        proc = self.run("rev-parse", "--verify", "-q", "--end-of-options", f"{spec}^{{commit}}", check=False)
        return _answer(proc)

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
        if any(sign in err for sign in REF_MOVED):  # the compare-and-swap lost: someone else moved the ref first
            return False
        raise GitError(f"git update-ref failed: {first_line(proc.stderr)}")

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
            raise GitError(f"git merge-tree failed ({first_line(proc.stderr)}); gittasks needs git 2.38 or later")
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
            raise GitError(NO_GIT) from None
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

    def code_log(self, fmt: str, grep: str, task_branch: str, since: str | None = None) -> str:
        """`git log --source` of every local and remote-tracking branch but the task branch (and HEAD when it is
        detached), the commits whose message has a line matching the extended regex `grep` (any case), after the
        date `since` when given: each commit's `--format=FMT` (`%S`: the ref it was reached from)."""
        refs = [f"--exclude={task_branch}", "--branches", f"--exclude=*/{task_branch}", "--remotes"]
        if self.head_detached():
            refs.append("HEAD")
        args = ["log", "--source", f"--format={fmt}", "-E", "-i", f"--grep={grep}", "--no-show-signature"]
        args += [f"--since={since}"] if since else []
        return self.run(*args, *refs, "--").stdout.decode("utf-8", "replace")

    def interpret_trailers(self, message: bytes, *args: str) -> bytes:
        """`git interpret-trailers ARGS` of a commit message given as bytes (on stdin, never a path): its output.
        git finds the trailer block as a commit does (comment lines and a `git commit -v` diff left out)."""
        return self.run("interpret-trailers", *args, input=message).stdout

    def stripped_message(self, message: bytes) -> bytes:
        """A commit message as git would keep it: comment lines (`core.commentChar`) and surrounding blanks gone."""
        return self.run("stripspace", "--strip-comments", input=message).stdout

    def hooks_dir(self) -> Path:
        """The folder git runs this repository's hooks from (`core.hooksPath` when set, else the common git dir's
        `hooks`), absolute."""
        found = Path(self.out("rev-parse", "--git-path", "hooks"))
        return found if found.is_absolute() else self.root / found

    def config_scope(self, key: str) -> str | None:
        """Where the value of `key` in force comes from (`local`, `global`, `system`, `worktree`, `command`), None
        when it is not set."""
        out = self.out("config", "--show-scope", "--get", key, check=False)
        return out.split("\t", 1)[0] if "\t" in out else None

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
        names = gitfiles.remote_names(self.git_dir, self.common_dir)
        return names if names is not None else self.out("remote").split()

    def fetch(self, remote: str, source: str, target: str, timeout: float, *, code: bool = False) -> Transfer:
        """Fetch the ref `source` of `remote` into the local ref `target`; with `code`, the same fetch also updates
        the remote-tracking ref of each of the remote's branches (`refs/remotes/REMOTE/*`, as a plain `git fetch`
        does), never a local branch, the index or HEAD. git takes the two refspecs together: where both name the
        same ref (`source` is a branch and `target` its remote-tracking ref), they agree."""
        refspecs = [f"+{source}:{target}", *([f"+refs/heads/*:refs/remotes/{remote}/*"] if code else [])]
        try:
            proc = self.run(
                "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *refspecs,
                check=False, timeout=timeout,
            )  # fmt: skip
        except GitTimeout as exc:
            return Transfer("unreachable", str(exc))
        return gitwords.fetched(proc.returncode, proc.stderr.decode("utf-8", "replace"))

    def push(self, remote: str, refspec: str, timeout: float, set_upstream: bool = False) -> Transfer:
        args = ["push", "--porcelain", "--quiet", *(["--set-upstream"] if set_upstream else [])]
        try:
            proc = self.run(*args, remote, refspec, check=False, timeout=timeout)
        except GitTimeout as exc:
            return Transfer("unreachable", str(exc))
        return gitwords.pushed(
            proc.returncode, proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace")
        )

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


def _answer(proc: subprocess.CompletedProcess[bytes]) -> str | None:
    """The one line a query printed (a commit, a branch), None when it found nothing (or failed)."""
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def find_repo(start: Path | None = None) -> Repo:
    """The repository containing `start` (default: the current folder), found without starting git."""
    here = (start or Path.cwd()).resolve()
    found = gitfiles.locate(here)
    if found is not None:
        return Repo(*found)
    if looks_bare(here):
        raise GittasksError(f"{here} is a bare repository (no work tree); run gittasks in a clone of it")
    raise GittasksError(f"not inside a git repository: {here}; run `gittasks init` or `git init` first")


def init_repo(path: Path) -> Repo:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["git", "init", "-q", "--", str(path)], capture_output=True)
    if proc.returncode != 0:
        raise GitError(f"git init failed: {first_line(proc.stderr)}")
    return find_repo(path)
