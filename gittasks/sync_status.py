"""Where a clone syncs to and where it stands, without the network: the remote and branch a sync goes to
(`pick_remote`), the record of the last sync that got through (in the git dir, this machine's alone), and `status`
and `standing` read from git's refs and that record (nothing is fetched, brought in or committed).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from gittasks import rules, store
from gittasks.errors import GittasksError
from gittasks.git import Repo
from gittasks.workspace import Workspace

LAST_SYNC_FILE = "gittasks-sync.json"


# -- the remote a sync goes to ----------------------------------------------------------------------------------------


def pick_remote(ws: Workspace, remote: str | None) -> tuple[str, str, bool]:
    """(remote, remote branch, has upstream). Own-branch layout: `--remote`, else `gittasks.remote`, else origin,
    else the only remote, and always the task branch. Inline: the current branch's upstream decides as in 0.1."""
    repo = ws.repo
    remotes = repo.remotes()
    branch = ws.layout.branch_name()
    if branch is None:
        raise GittasksError("HEAD is detached; check out a branch (`git switch main`) before syncing")
    upstream_remote, upstream_merge = ws.layout.upstream(branch)
    name = remote or ws.setting("remote") or upstream_remote
    if name is None:
        name = "origin" if "origin" in remotes else (remotes[0] if len(remotes) == 1 else None)
    if name is None:
        raise GittasksError(
            "no remote to sync with; add one with `git remote add origin URL` (or `gittasks init --remote URL`)"
            if not remotes
            else f"several remotes ({', '.join(remotes)}) and none chosen; use --remote NAME or "
            "`git config gittasks.remote NAME`"
        )
    if name not in remotes:
        raise GittasksError(f"no remote named {name!r}; see `git remote -v`")
    remote_branch = branch
    if upstream_merge and name == upstream_remote and upstream_merge.startswith("refs/heads/"):
        remote_branch = upstream_merge[len("refs/heads/") :]
    return name, remote_branch, bool(upstream_merge and name == upstream_remote)


# -- the last sync that got through ---------------------------------------------------------------------------------


def save_last_sync(repo: Repo, remote: str, branch: str) -> None:
    """Record that a sync with `remote`'s `branch` got through now."""
    record = {"last_sync": rules.format_stamp(rules.utc_now()), "remote": remote, "branch": branch}
    with contextlib.suppress(GittasksError):  # (atomic, and with the mode a shared repository wants)
        store.write_atomic(repo.git_dir / LAST_SYNC_FILE, json.dumps(record).encode("utf-8"))


def read_last_sync(repo: Repo) -> dict[str, Any]:
    """The record of the last sync that got through (`last_sync`, `remote`, `branch`); {} when there is none."""
    try:
        value = json.loads((repo.git_dir / LAST_SYNC_FILE).read_text(encoding="utf-8"))
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


# -- status -----------------------------------------------------------------------------------------------------------


def status(ws: Workspace) -> dict[str, Any]:
    """Ahead/behind the remote-tracking branch (as of the last fetch), last sync time, open conflicts."""
    doc = ws.load()
    return {
        "machine": ws.machine,
        "layout": ws.layout.name,
        **standing(ws),
        "conflicts": len(doc.get("conflicts") or []),
        "tasks": len(doc["tasks"]),
    }


def standing(ws: Workspace) -> dict[str, Any]:
    """Where this clone stands with its remote, read from git's refs and the last sync's record alone (nothing is
    brought in or committed: the board reads it): the remote, ahead/behind as of the last fetch, the last sync that
    got through."""
    repo = ws.repo
    out: dict[str, Any] = {
        "remote": None,
        "branch": ws.layout.branch_name(),
        "ahead": None,
        "behind": None,
        "last_sync": read_last_sync(repo).get("last_sync"),
    }
    try:
        name, branch, _ = pick_remote(ws, None)
    except GittasksError:
        return out
    out["remote"] = f"{name}/{branch}"
    tracking = f"refs/remotes/{name}/{branch}"
    local = ws.layout.tip()
    known = repo.ref(tracking)
    if local and known:
        out["ahead"], out["behind"] = repo.ahead_behind(local, known)
    elif local:
        out["ahead"], out["behind"] = repo.count(local), 0
    return out
