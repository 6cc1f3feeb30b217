"""The task files on disk: read with the structural check, atomic canonical writes, the repository-wide lock."""

from __future__ import annotations

import contextlib
import os
import platform
import stat
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from gittasks import document, failpoints, render
from gittasks.errors import GittasksError
from gittasks.git import Repo

LOCK_NAME = "gittasks.lock"
DEFAULT_LOCK_TIMEOUT = 60.0
_TMP_TAG = ".gittasks-tmp-"


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise GittasksError(f"{path}: is a folder, not a task file; move it away") from None
    except OSError as exc:
        raise GittasksError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None


def outside_link(root: Path, rels: Iterable[str]) -> tuple[str, str] | None:
    """The first of `rels` (paths in the repository; each folder on the way is looked at too) that is a symbolic link
    leading out of the work tree `root` (or into its `.git`): (that path, where it leads); None when none does. A
    link that stays inside the work tree is followed as usual."""
    seen: set[str] = set()
    for rel in rels:
        parts = rel.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix in seen:
                continue
            seen.add(prefix)
            if not os.path.islink(root / prefix):
                continue
            target, real_root = Path(os.path.realpath(root / prefix)), Path(os.path.realpath(root))
            if not target.is_relative_to(real_root) or target.is_relative_to(real_root / ".git"):
                return prefix, render.safe(os.readlink(root / prefix))
    return None


def load_file(path: Path, name: str) -> document.Document | None:
    """The task document at `path` after the structural check, or None when there is no file."""
    raw = read_bytes(path)
    return load_bytes(raw, name) if raw is not None else None


def load_bytes(raw: bytes, name: str) -> document.Document:
    """The task document of a file's bytes after the structural check."""
    try:
        return document.load_document(raw, name)
    except RecursionError:
        raise document.DocumentError(f"{name}: nested too deeply to be a task file; restore it from git") from None


def has_temp_files(folder: Path) -> bool:
    try:
        return any(_TMP_TAG in name for name in os.listdir(folder))
    except OSError:
        return False


def remove_stale_temp_files(folder: Path) -> None:
    """Remove temporary files that a killed writer left behind (call with the lock held)."""
    if not folder.is_dir():
        return
    for leftover in folder.glob(f".*{_TMP_TAG}*"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: a temp file in the same folder, fsync, then os.replace. The file keeps the
    mode of the one it replaces, a new one gets the umask's; in a shared git dir git's bits go on top."""
    try:
        _make_folder(path.parent)
        tmp = path.parent / f".{path.name}{_TMP_TAG}{os.urandom(4).hex()}"
        with open(tmp, "wb") as handle:
            _settle_mode(handle.fileno(), path, replacing=True)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError, UnboundLocalError):
            tmp.unlink()
        raise GittasksError(
            f"{path}: cannot write ({exc.strerror}); nothing was changed; check disk space and permissions"
        ) from None
    failpoints.hit("after-temp-write")
    _replace_with_retry(tmp, path)
    failpoints.hit("after-rename")


def _replace_with_retry(tmp: Path, path: Path) -> None:
    delay = 0.02
    for attempt in range(10):
        try:
            os.replace(tmp, path)
            return
        except PermissionError as exc:
            # On Windows another process (editor, antivirus, sync client) may hold the target open for a moment.
            if attempt == 9:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise GittasksError(
                    f"{path}: cannot replace it ({exc.strerror}); another program holds it open, close it and retry"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise GittasksError(f"{path}: cannot replace it ({exc.strerror}); nothing was changed") from None


def remove_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def try_hold(path: Path) -> IO[bytes] | None:
    """An OS lock on the file `path` taken without waiting: the open handle that holds it (`let_go` releases it), None
    when another process holds it. The system releases it when the holder dies."""
    try:
        handle = _open_lock(path)
    except OSError:
        return None
    if _try_lock(handle):
        return handle
    handle.close()
    return None


def let_go(handle: IO[bytes]) -> None:
    _unlock(handle)
    handle.close()


# -- modes: what git would give a file it writes into the git dir ---------------------------------------------------

_SHARED: dict[str, int] = {}  # a git dir's core.sharedRepository (`shared_perm`), read once per process


def shared_perm(value: str | None) -> int:
    """core.sharedRepository read as git reads it (`git_config_perm`): 0 for the umask alone, 0o660 (group) or
    0o664 (all, world, everybody) added to a file's mode, or -MODE for an exact mode (0xxx)."""
    if value is None:
        return 0
    text = value.strip().lower()
    if text in ("group", "true", "yes", "on", "1"):
        return 0o660
    if text in ("all", "world", "everybody", "2"):
        return 0o664
    try:
        number = int(text, 8)
    except ValueError:
        return 0  # umask, false, no, off, or what git itself would refuse
    return -(number & 0o666) if number & 0o600 == 0o600 else 0


def shared_mode(mode: int, perm: int) -> int:
    """`mode` as git's `calc_shared_perm` sets it under `perm` (`shared_perm`); a folder's also gets the execute bits
    of its read bits and the set-group-id bit, as git's `adjust_shared_perm` gives it."""
    tweak = -perm if perm < 0 else perm
    if not mode & 0o200:
        tweak &= ~0o222
    if mode & 0o100:
        tweak |= (tweak & 0o444) >> 2
    mode = (mode & ~0o777) | tweak if perm < 0 else mode | tweak
    if stat.S_ISDIR(mode):
        mode |= stat.S_ISGID | (mode & 0o444) >> 2
    return mode


def _git_dir_holding(folder: Path) -> Path | None:
    """The git dir (a repository's common dir) that `folder` is or lies inside, None when it lies in a work tree or
    elsewhere: a few stat calls per folder up to the work tree's top."""
    folder = Path(os.path.abspath(folder))
    for candidate in (folder, *folder.parents):
        if os.path.isfile(candidate / "HEAD") and os.path.isdir(candidate / "objects"):
            return candidate
        if os.path.lexists(candidate / ".git"):
            return None
    return None


def _perm_of(folder: Path) -> int:
    """The core.sharedRepository of the git dir holding `folder` (0 outside one)."""
    common = _git_dir_holding(folder)
    if common is None:
        return 0
    if str(common) not in _SHARED:
        _SHARED[str(common)] = shared_perm(Repo(common, common, common).file_setting("core", "sharedRepository"))
    return _SHARED[str(common)]


def _settle_mode(fd: int, path: Path, replacing: bool) -> None:
    """Give the open file `fd`, which is to be `path`, its mode: when `replacing` the mode of the file now at `path`
    (a rewrite keeps it; the owner can always read and write), else its own (the umask's when just created); inside
    a shared git dir git's bits go on top (`shared_mode`), as on git's own files, so that the group can go on using
    them. POSIX only; a file of another user is left as it is."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        current = stat.S_IMODE(os.fstat(fd).st_mode)
        wanted = current
        if replacing:
            with contextlib.suppress(FileNotFoundError):
                wanted = stat.S_IMODE(os.stat(path).st_mode) & 0o777 | 0o600
        perm = _perm_of(path.parent)
        if perm:
            wanted = shared_mode(wanted, perm)
        if wanted != current:
            os.fchmod(fd, wanted)


def _make_folder(folder: Path) -> None:
    """`folder` and the folders above it that are missing; inside a shared git dir with git's mode for folders."""
    if folder.is_dir():
        return
    missing = [f for f in (folder, *folder.parents) if not os.path.lexists(f)]
    folder.mkdir(parents=True, exist_ok=True)
    perm = _perm_of(folder) if os.name == "posix" else 0
    for made in missing if perm else ():
        with contextlib.suppress(OSError):
            os.chmod(made, stat.S_IMODE(shared_mode(os.stat(made).st_mode, perm)))


def _open_lock(path: Path) -> IO[bytes]:
    """A lock file opened for `flock` (created when missing); in a shared git dir with git's mode, so that the
    group's other users can take it too."""
    handle = open(path, "a+b")  # noqa: SIM115 - kept open while the lock is held
    _settle_mode(handle.fileno(), path, replacing=False)
    return handle


class RepoLock:
    """The repository-wide lock: an OS lock on a file inside the git dir, released by the system if the process dies.

    A second process waits for it (up to `timeout` seconds) and names the holder when it gives up.
    """

    def __init__(self, git_dir: Path, timeout: float | None = None) -> None:
        self.path = git_dir / LOCK_NAME
        self.info_path = git_dir / (LOCK_NAME + ".holder")
        env_timeout = os.environ.get("GITTASKS_LOCK_TIMEOUT")
        self.timeout = timeout if timeout is not None else float(env_timeout or DEFAULT_LOCK_TIMEOUT)
        self._handle: IO[bytes] | None = None
        self._depth = 0

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        handle = _open_lock(self.path)
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                handle.close()
                raise GittasksError(
                    f"another gittasks command holds the lock {self.path} ({self._holder()}); "
                    "wait for it to finish and retry"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        self._handle = handle
        self._depth = 1
        with contextlib.suppress(OSError), open(self.info_path, "w", encoding="utf-8") as info:
            _settle_mode(info.fileno(), self.info_path, replacing=False)
            info.write(
                f"pid {os.getpid()} on {platform.node()} since {time.strftime('%H:%M:%S')}: "
                f"{' '.join(sys.argv[1:3]) or 'gittasks'}"
            )

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        assert self._handle is not None
        _unlock(self._handle)
        self._handle.close()
        self._handle = None

    def _holder(self) -> str:
        try:
            return self.info_path.read_text(encoding="utf-8").strip() or "holder unknown"
        except OSError:
            return "holder unknown"

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
