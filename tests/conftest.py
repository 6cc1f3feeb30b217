"""Shared fixtures: every test runs git with an isolated configuration (HOME, GIT_CONFIG_NOSYSTEM, own identity);
`layout` runs a test on both layouts ("own-branch", "inline"), `inline` says which, `cli` is a fresh repository set
up in it; `make_repo` makes empty repositories and `bare_remote` a bare one."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Cli, MakeRepo, SilentRemote, git, init_repo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GITTASKS_FAILPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.invalid")
    monkeypatch.setenv("GITTASKS_MACHINE", "test-machine")
    monkeypatch.setenv("NO_COLOR", "1")
    # no background sync unless a test asks for one: a push racing a test's own sync would make its outcome vary
    monkeypatch.setenv("GITTASKS_AUTOSYNC", "0")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return home


LAYOUTS = ("own-branch", "inline")


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """Make an empty git repository (`git init -b main`) under tmp and return its path."""
    counter = iter(range(10_000))

    def make(name: str | None = None) -> Path:
        path = tmp_path / (name or f"repo{next(counter)}")
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")
        return path

    return make


@pytest.fixture
def bare_remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> str:
    """The layout under test: the task branch ("own-branch") or the task file on the code branch ("inline")."""
    return str(request.param)


@pytest.fixture
def inline(layout: str) -> bool:
    return layout == "inline"


@pytest.fixture
def cli(make_repo: MakeRepo, inline: bool) -> Cli:
    """A new repository set up by `gittasks init` in the layout under test."""
    return init_repo(make_repo(), inline=inline)


@pytest.fixture
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentRemote]:
    """A remote that accepts connections and never answers; no proxy in the way."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    remote = SilentRemote()
    yield remote
    remote.stop()
