"""git's own files read without starting git: the config files, refs (loose and packed), HEAD, the marks of an
operation under way, and where a work tree's git dirs are.

The contract of every reader here: what the files say, or None when they cannot say for sure (an include file,
`git -c` settings in the environment, a reftable, a ref file that cannot be read, ...); the caller then asks git
(`git.Repo` does, and it alone runs git). So the common read starts no git process.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

ABSENT = ""  # a ref the files show does not exist (None: the files cannot tell)

_SECTION = re.compile(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_HEX = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_COMMIT = re.compile(r"[0-9a-f]{40,64}")
_OPERATIONS = (
    ("rebase", "rebase-merge"),
    ("rebase", "rebase-apply"),
    ("merge", "MERGE_HEAD"),
    ("cherry-pick", "CHERRY_PICK_HEAD"),
    ("revert", "REVERT_HEAD"),
    ("bisect", "BISECT_LOG"),
)


# -- the config files --------------------------------------------------------------------------------------------


def local_config_text(common_dir: Path) -> str:
    """The text of the repository's own config file ("" when there is none)."""
    try:
        return (common_dir / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def config_texts(git_dir: Path, common_dir: Path) -> list[str] | None:
    """The texts of the config files git reads, lowest precedence first; None for include files, `git -c` settings
    in the environment or a system config whose place is not known."""
    if os.environ.get("GIT_CONFIG_PARAMETERS") or os.environ.get("GIT_CONFIG_COUNT"):
        return None
    texts: list[str] = []
    if os.environ.get("GIT_CONFIG_NOSYSTEM") in (None, "", "0"):
        if os.name != "posix":
            return None
        with contextlib.suppress(OSError):
            texts.append(Path(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig").read_text("utf-8", "replace"))
    home = Path(os.environ.get("HOME") or os.environ.get("USERPROFILE") or Path.home())
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    globals_ = [os.environ["GIT_CONFIG_GLOBAL"]] if os.environ.get("GIT_CONFIG_GLOBAL") else [
        xdg / "git" / "config", home / ".gitconfig"]  # fmt: skip
    for candidate in globals_:
        with contextlib.suppress(OSError):
            texts.append(Path(candidate).read_text(encoding="utf-8", errors="replace"))
    texts.append(local_config_text(common_dir))
    with contextlib.suppress(OSError):
        texts.append((git_dir / "config.worktree").read_text(encoding="utf-8", errors="replace"))
    if any("[include" in text.lower() for text in texts):
        return None
    return texts


def config_entries(git_dir: Path, common_dir: Path) -> list[tuple[str, str, str]] | None:
    """(section[.subsection], key, value) of every plain entry of the config files, lowest precedence first; None
    when the files hold anything this small reader does not follow (quotes, escapes, odd headers)."""
    texts = config_texts(git_dir, common_dir)
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
            if any(ch in rest for ch in '"\\') or not _KEY.fullmatch(name.strip()):
                return None
            value = re.split(r"\s[#;]", rest, maxsplit=1)[0].strip() if sep else "true"
            entries.append((section, name.strip().lower(), value))
    return entries


def setting(git_dir: Path, common_dir: Path, section: str, key: str) -> list[str] | None:
    """Every value of `SECTION.KEY` in the config files, lowest precedence first ([]: not set); None when unsure."""
    entries = config_entries(git_dir, common_dir)
    if entries is None:
        return None
    return [value for sec, name, value in entries if sec == section.lower() and name == key.lower()]


def may_have(git_dir: Path, common_dir: Path, word: str) -> bool | None:
    """Does any config file hold `word` (lower case)? False: then nothing set mentions it; None when unsure."""
    texts = config_texts(git_dir, common_dir)
    return None if texts is None else any(word in text.lower() for text in texts)


def remote_names(git_dir: Path, common_dir: Path) -> list[str] | None:
    """The names of the remotes, in the order the config files first name them; None when unsure."""
    entries = config_entries(git_dir, common_dir)
    if entries is None:
        return None
    names = [sec.split(".", 1)[1] for sec, _, _ in entries if sec.startswith("remote.") and "." in sec]
    return list(dict.fromkeys(names))


def merge_driver_set(common_dir: Path) -> bool | None:
    """True when the repository's own config names the gittasks merge driver's command; None when its text does
    not show it plainly (another config file may)."""
    text = local_config_text(common_dir)
    found = re.search(r'^\s*\[merge\s+"gittasks"\]', text, re.MULTILINE) and re.search(
        r"^\s*driver\s*=", text, re.MULTILINE
    )
    return True if found else None


# -- refs and HEAD -----------------------------------------------------------------------------------------------


def _packed_refs(common_dir: Path) -> dict[str, str]:
    try:
        text = (common_dir / "packed-refs").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    refs: dict[str, str] = {}
    for line in text.splitlines():
        if line[:1] in ("#", "^") or " " not in line:
            continue
        sha, _, name = line.partition(" ")
        refs[name.strip()] = sha
    return refs


def reftable(common_dir: Path) -> bool:
    """Does the repository keep its refs in a reftable (not files: every ref is then git's to read)?"""
    return (common_dir / "reftable").is_dir()


def ref(common_dir: Path, name: str) -> str | None:
    """The commit a full ref name (`refs/heads/gittasks`) points at, following symbolic refs: from its loose file,
    else from packed-refs; ABSENT when the files hold no such ref; None when unsure."""
    if reftable(common_dir):
        return None
    for _ in range(5):
        try:
            text = (common_dir / name).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            break
        except OSError:
            return None
        if text.startswith("ref: "):
            name = text[5:].strip()
            continue
        return text if _HEX.fullmatch(text) else ABSENT
    return _packed_refs(common_dir).get(name, ABSENT)


def refs_named(common_dir: Path, prefix: str, last: str) -> dict[str, str] | None:
    """{full name: commit} of the refs `PREFIX*/LAST` (e.g. every remote's `gittasks` branch); None when unsure."""
    if reftable(common_dir):
        return None
    found = {k: v for k, v in _packed_refs(common_dir).items() if k.startswith(prefix) and k.endswith("/" + last)}
    folder = common_dir / prefix
    if folder.is_dir():
        for path in folder.glob(f"*/{last}"):
            name = path.relative_to(common_dir).as_posix()
            value = ref(common_dir, name)
            if value:
                found[name] = value
    return found


def head(git_dir: Path, common_dir: Path) -> str | None:
    """HEAD's commit, when HEAD is a commit or a branch's loose ref (a commit always leaves its branch as one);
    None when unsure (a packed branch, a branch without a commit yet, ...)."""
    try:
        text = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not text.startswith("ref: "):
            return text if _COMMIT.fullmatch(text) else None
        value = (common_dir / text[5:]).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value if _COMMIT.fullmatch(value) else None


def head_detached(git_dir: Path) -> bool | None:
    """Is HEAD a commit rather than a branch? None when HEAD cannot be read."""
    try:
        return not (git_dir / "HEAD").read_text(encoding="utf-8").startswith("ref: ")
    except OSError:
        return None


def branches_last_written(git_dir: Path, common_dir: Path, task_branch: str) -> int | None:
    """When (st_mtime_ns) a local or remote-tracking branch other than `task_branch`, or a detached HEAD, was last
    written, as the mtimes of their files say: the loose refs under `refs/heads` and `refs/remotes` of the common
    dir, packed-refs (any branch packed there), and the work tree's own HEAD when detached; 0 when there is none.
    None when unsure (a reftable, a file that cannot be read): the caller asks git."""
    if reftable(common_dir):
        return None
    detached = head_detached(git_dir)
    if detached is None:
        return None
    try:
        packed = common_dir / "packed-refs"
        files = [packed] if packed.exists() else []
        if detached:
            files.append(git_dir / "HEAD")
        for kind in ("heads", "remotes"):
            base = common_dir / "refs" / kind
            for folder, _dirs, names in os.walk(base):
                for name in names:
                    path = Path(folder) / name
                    branch = path.relative_to(base).as_posix()
                    if branch == task_branch if kind == "heads" else branch.endswith(f"/{task_branch}"):
                        continue
                    files.append(path)
        return max((path.stat().st_mtime_ns for path in files), default=0)
    except (OSError, ValueError):
        return None


def operation_in_progress(git_dir: Path) -> str | None:
    """'merge', 'rebase', 'cherry-pick', 'revert' or 'bisect' when git is in the middle of one (its mark files)."""
    return next((name for name, mark in _OPERATIONS if (git_dir / mark).exists()), None)


# -- where a work tree's git dirs are ----------------------------------------------------------------------------


def locate(start: Path) -> tuple[Path, Path, Path] | None:
    """(work tree, git dir, common dir) of the work tree holding `start` (a resolved folder), from its `.git` folder
    or file (a linked worktree's or a submodule's `gitdir:` pointer); None when no folder up from it has one."""
    for folder in (start, *start.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return folder, dot, common_dir(dot)
        if dot.is_file():
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                git_dir = Path(text[len("gitdir:") :].strip())
                if not git_dir.is_absolute():
                    git_dir = (folder / git_dir).resolve()
                return folder, git_dir, common_dir(git_dir)
    return None


def common_dir(git_dir: Path) -> Path:
    """The folder a git dir shares with the repository's other work trees (itself but in a linked worktree)."""
    pointer = git_dir / "commondir"
    if pointer.is_file():
        common = Path(pointer.read_text(encoding="utf-8").strip())
        return common if common.is_absolute() else (git_dir / common).resolve()
    return git_dir


def looks_bare(folder: Path) -> bool:
    """Is `folder` (or a folder above it) a bare repository's git dir?"""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return False
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir() and (candidate / "refs").is_dir():
            return True
    return False
