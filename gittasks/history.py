"""History from git: every change of a task with when, which machine, which action and what changed.

Commits are found by their `Task:` trailers (`git log --grep`), not by parsing every version of the file; commits
without gittasks trailers (hand edits, other tools) that touched the task files are found too and described by
comparing the task's two versions. deepdiff describes what changed within one task (two small dicts, never whole
files) and is imported only here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from gittasks import document, ids, rules, taskbranch, taskset, tasktext, trailers
from gittasks.document import DocumentError
from gittasks.errors import GittasksError
from gittasks.git import Repo
from gittasks.journal import HAND_EDIT, JournalQuery

CREATING_ACTIONS = frozenset({"create", "capture-taskcreate"})  # the second: captures before they read like the CLI


def _commits(repo: Repo, rev: str, args: list[str], origin: str | None = None) -> list[dict[str, Any]]:
    """The commits `git log REV ARGS` lists, with their trailers, then those of `origin` (the inline history a
    task branch was migrated from, if any)."""
    commits = _parsed(repo.log(rev, LOG_FORMAT, *args))
    if origin is not None and repo.rev(origin):
        commits += _commits(repo, origin, args)
    return commits


LOG_FORMAT = trailers.RECORD_SEP + trailers.LOG_FORMAT


def _parsed(out: str) -> list[dict[str, Any]]:
    """The commits of a `git log --format=LOG_FORMAT`; a migrated task branch's first commit is given the inline
    commit it came from as its parent, so that its first version is compared with the one it came from."""
    commits = trailers.parse_log(out)
    for commit in commits:
        if not commit["parents"] and commit["migrated_from"]:
            commit["parents"] = [commit["migrated_from"]]
    return commits


def _migrated_root(commits: list[dict[str, Any]], rev: str) -> str | None:
    """The inline commit a task branch was migrated from (the `Migrated-From` trailer of its first commit), when
    `commits` hold that first commit."""
    for commit in commits:
        origin = commit["migrated_from"]
        if origin and commit["parents"] == [origin] and origin != rev:
            return str(origin)
    return None


def _interleave(
    repo: Repo, rev: str, tagged: list[dict[str, Any]], untagged: list[dict[str, Any]], paths: list[str]
) -> list[dict[str, Any]]:
    """Two newest-first commit lists as one, in git's order: by commit time, and where a tagged and an untagged
    commit share a second, by asking git for the order (`rev-list`)."""
    found = {c["commit"]: c for c in [*untagged, *tagged]}
    seconds = {c["commit"]: c["time"] for c in found.values()}
    if not untagged or not tagged or not {c["time"] for c in tagged} & {c["time"] for c in untagged}:
        return sorted(found.values(), key=lambda c: seconds[c["commit"]], reverse=True)
    ordered = [found[sha] for sha in repo.commits_touching(rev, paths[1:]) if sha in found]
    listed = {c["commit"] for c in ordered}
    return ordered + sorted((c for c in found.values() if c["commit"] not in listed), key=lambda c: -c["time"])


def _task_in_canonical_blob(blob: bytes, task_id: str) -> dict[str, Any] | None:
    """The task `task_id` cut out of a task file in the canonical layout (`tasktext.task_object`), without parsing
    the whole file; None when the file does not read so there (the caller then parses it all)."""
    text = tasktext.task_object(blob, task_id)
    if text is None:
        return None
    try:
        task = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return task if isinstance(task, dict) and task.get("id") == task_id else None


def _tasks_at(repo: Repo, revs: list[str], wanted: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """{rev: {id: task}} for each rev: the active lists are read through one `cat-file --batch`; the archive of a
    rev is read only when the wanted task is not in its active list (or when no task is wanted)."""
    return _tasks_named(repo, {rev: None if wanted is None else {wanted} for rev in revs})


def _tasks_named(repo: Repo, wanted: Mapping[str, set[str] | None]) -> dict[str, dict[str, dict[str, Any]]]:
    """{rev: {id: task}} for each rev of `wanted`, holding at least the tasks it names there (None: every task):
    the active lists are read through one `cat-file --batch` and the named tasks cut out of them; the archive of a
    rev is read only when a named task is not in its active list (or when every task is wanted)."""
    unique = list(wanted)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    if not unique:
        return out
    try:
        size = (repo.root / rules.ACTIVE_PATH).stat().st_size  # about the size of the versions read
    except OSError:
        size = 0
    blobs = repo.blobs([f"{rev}:{rules.ACTIVE_PATH}" for rev in unique], base_cache=max(8 << 20, 4 * size))
    for rev, blob in zip(unique, blobs, strict=True):
        named = wanted[rev]
        tasks: dict[str, dict[str, Any]] = {}
        if blob is not None:
            cut = {tid: _task_in_canonical_blob(blob, tid) for tid in named} if named is not None else {}
            if named is not None and all(task is not None for task in cut.values()):
                tasks = {tid: task for tid, task in cut.items() if task is not None}
            else:
                try:
                    tasks = {t["id"]: t for t in document.load_document(blob, rules.ACTIVE_PATH)["tasks"]}
                except DocumentError:
                    tasks = {}
        if named is None or not named <= tasks.keys():
            try:
                files = taskbranch.files_at(repo, rev, keep=False)
                if any(taskset.is_archive_path(p) for p in files):
                    tasks = taskset.task_map(taskset.fold(files).doc)
            except DocumentError:
                pass
        out[rev] = tasks
    return out


def describe(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{field: {"from", "to"}} for what changed within one task (dotted paths inside objects)."""
    if old is None or new is None:
        return {"*": {"from": old, "to": new}}
    changes: dict[str, dict[str, Any]] = {}
    nested: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key in rules.BOOKKEEPING_FIELDS or (old.get(key) == new.get(key) and (key in old) == (key in new)):
            continue
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            nested.append(key)
        else:
            changes[key] = {"from": old.get(key), "to": new.get(key)}
    for key in nested:
        old_obj, new_obj = old[key], new[key]
        deep = [k for k in set(old_obj) | set(new_obj) if isinstance(old_obj.get(k), dict | list) or isinstance(
            new_obj.get(k), dict | list)]  # fmt: skip
        for sub in sorted(set(old_obj) | set(new_obj)):
            if sub not in deep and (old_obj.get(sub) != new_obj.get(sub) or (sub in old_obj) != (sub in new_obj)):
                changes[f"{key}.{sub}"] = {"from": old_obj.get(sub), "to": new_obj.get(sub)}
        if deep:
            _deep_changes(key, {k: old_obj.get(k) for k in deep}, {k: new_obj.get(k) for k in deep}, changes)
    return dict(sorted(changes.items()))


def _deep_changes(key: str, old: dict[str, Any], new: dict[str, Any], changes: dict[str, dict[str, Any]]) -> None:
    """Changes inside nested objects and lists, described by deepdiff (slow to import: only when such a value
    changed). Its tree view gives each change's path as keys and indexes, so no path string is parsed back."""
    if old == new:
        return
    from deepdiff import DeepDiff

    for kind, levels in DeepDiff(old, new, view="tree").items():
        for level in levels:
            name = _dotted(key, level.path(output_format="list"))
            if kind in ("values_changed", "type_changes"):
                changes[name] = {"from": level.t1, "to": level.t2}
            elif kind.endswith("_added"):
                changes[name] = {"from": None, "to": level.t2}
            elif kind.endswith("_removed"):
                changes[name] = {"from": level.t1, "to": None}
            else:  # a kind JSON values do not produce (a move, a repetition): the whole value
                changes[key] = {"from": old, "to": new}


def _dotted(key: str, path: list[Any]) -> str:
    """`key` and a path below it as `log` names it: object keys after dots, list indexes in brackets."""
    name = key
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


def task_log(
    repo: Repo, task_id: str | None = None, limit: int | None = None, rev: str = "HEAD"
) -> list[dict[str, Any]]:
    """The history of the task files on `rev` (the task branch, or HEAD inline), newest first: one entry per
    (commit, task) with the fields changed."""
    paths = ["--", rules.ACTIVE_PATH, rules.TASKS_DIR]
    if task_id is not None:
        # git does the searching, in two walks side by side: the commits whose Task trailer names the task (and,
        # OR-ed in, a migrated task branch's first commit, whose trailer says where the task's older history is),
        # and the commits without an Action trailer (hand edits, other tools), which are then checked by comparing
        # the task's two versions. A task branch holds nothing but the task files: a path filter there would only
        # slow both walks (by about half)
        written = trailers.value(task_id)  # as the trailer spells it (quoted when it has odd characters)
        named = ["-F", f"--grep=Task: {written}", f"--grep={trailers.MIGRATED_FROM}: "]
        hand = ["-E", "--invert-grep", "--grep=^Action: "]
        only = paths if rev == "HEAD" else []
        named_out, hand_out = repo.logs(rev, LOG_FORMAT, [*named, *only], [*hand, *only])
        listed = _parsed(named_out)
        tagged = [c for c in listed if task_id in c["tasks"]]
        untagged = [c for c in _parsed(hand_out) if not c["action"]]
        origin = None
        if rev != "HEAD" and not any(c["action"] in CREATING_ACTIONS for c in tagged):
            origin = _migrated_root(listed, rev)  # the task may predate a `gittasks migrate`: follow it there
            if origin is not None and repo.rev(origin):
                tagged += [c for c in _commits(repo, origin, [*named, *paths]) if task_id in c["tasks"]]
                untagged += [c for c in _commits(repo, origin, [*hand, *paths]) if not c["action"]]
        commits = _interleave(repo, rev, tagged, untagged, paths)
    else:
        commits = _commits(repo, rev, [*(["-n", str(limit * 2 + 10)] if limit else []), *paths])
        root = commits[-1] if commits and (limit is None or len(commits) < limit * 2 + 10) else None
        if root is not None and root["migrated_from"] and repo.rev(root["migrated_from"]):
            commits += _commits(repo, root["migrated_from"], [*(["-n", str(limit * 2 + 10)] if limit else []), *paths])
    revs = []
    for commit in commits:
        revs.append(commit["commit"])
        if commit["parents"]:
            revs.append(commit["parents"][0])
    versions = _tasks_at(repo, revs, task_id)
    entries: list[dict[str, Any]] = []
    for commit in commits:
        after = versions.get(commit["commit"], {})
        before = versions.get(commit["parents"][0], {}) if commit["parents"] else {}
        if task_id is not None:
            ids = [task_id]
        elif commit["tasks"]:
            ids = commit["tasks"]
        else:
            ids = sorted(
                {i for i in set(after) | set(before) if after.get(i) != before.get(i)}, key=document.natural_key
            )
        for tid in ids:
            old, new = before.get(tid), after.get(tid)
            if old == new and not (commit["action"] and tid in commit["tasks"]):
                continue
            entries.append(_entry(commit, tid, old, new))
        if limit and len(entries) >= limit:
            break
    return entries[:limit] if limit else entries


def _machine(commit: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    """Which machine made a change: its `Machine:` trailer, else the task's `updated_by`, else the author."""
    return str(commit["machine"] or (new or old or {}).get("updated_by") or commit["author"])


def _entry(commit: dict[str, Any], tid: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """One entry of `log` (the record `journal` documents): a commit's change of one task, from its two versions."""
    return {
        "commit": commit["commit"],
        "when": commit["when"],
        "machine": _machine(commit, old, new),
        "action": commit["action"] or HAND_EDIT,
        "task": tid,
        "subject": (new or old or {}).get("subject", ""),
        "changes": describe(old, new) if old != new else {},
    }


JOURNAL_ROUND = 64  # commits judged in the journal's first round (then twice as many each round, up to the most)
JOURNAL_MOST = 1024


def journal(
    repo: Repo, rev: str, query: JournalQuery, limit: int | None, current: Callable[[str], dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """The journal: `task_log`'s entries of all tasks that `query` keeps (`JournalQuery.matches`), newest first, at
    most `limit`; `current(id)`: the task as it is now (None when deleted), asked only for the filters on its fields.

    One `git log` of the history's trailers; the commits whose trailers pass are judged in rounds, newest first
    (64 commits, then twice as many each round up to 1,024), each round streaming through one `cat-file --batch`
    only the versions a filter needs (the owner at the commit, the fields of a task deleted since, the tasks a hand
    edit changed); the entries kept then read their tasks' two versions once, cut out of the file. An unfiltered
    `log` is `task_log`."""
    paths = ["--", rules.ACTIVE_PATH, rules.TASKS_DIR]
    commits = _commits(repo, rev, paths)
    root = commits[-1] if commits else None
    if root is not None and root["migrated_from"] and repo.rev(root["migrated_from"]):
        commits += _commits(repo, root["migrated_from"], paths)
    kept: list[tuple[dict[str, Any], str]] = []
    at, size = 0, JOURNAL_ROUND
    while at < len(commits) and (limit is None or len(kept) < limit):
        kept += _journal_round(repo, commits[at : at + size], query, current)
        at, size = at + size, min(size * 2, JOURNAL_MOST)
    kept = kept[:limit] if limit is not None else kept
    wanted = _wanted_versions((commit, {tid}) for commit, tid in kept)
    versions = _streamed_tasks(repo, wanted)
    elsewhere = {rev: named for rev, named in wanted.items() if named is not None and not named <= versions[rev].keys()}
    versions.update(_tasks_named(repo, elsewhere))  # not in the active list: in the archive, as `task_log` finds it
    entries = []
    for commit, tid in kept:
        before = versions.get(commit["parents"][0], {}) if commit["parents"] else {}
        entries.append(_entry(commit, tid, before.get(tid), versions.get(commit["commit"], {}).get(tid)))
    return entries


def _wanted_versions(asked: Iterable[tuple[dict[str, Any], set[str] | None]]) -> dict[str, set[str] | None]:
    """{rev: the ids to read there (None: all)} for the versions of commits and of their first parents."""
    wanted: dict[str, set[str] | None] = {}
    for commit, named in asked:
        for rev in [commit["commit"], *commit["parents"][:1]]:
            known = wanted.get(rev, set())
            wanted[rev] = None if named is None or known is None else known | named
    return wanted


def _streamed_tasks(repo: Repo, wanted: dict[str, set[str] | None]) -> dict[str, dict[str, dict[str, Any]]]:
    """{rev: {id: task}} of the tasks `wanted` names in each rev's active list (None: all of them), the versions
    streamed through one `cat-file --batch` and only the named tasks kept: a round of a long history never holds its
    versions whole. No archive is read: a task not in the active list is not there (its other version tells)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    specs = [f"{rev}:{rules.ACTIVE_PATH}" for rev in wanted]
    for (rev, named), (_, blob) in zip(wanted.items(), repo.stream_blobs(specs), strict=True):
        cut = {tid: _task_in_canonical_blob(blob, tid) for tid in named} if blob and named is not None else {}
        if blob is None or (named is not None and all(task is not None for task in cut.values())):
            out[rev] = {tid: task for tid, task in cut.items() if task is not None}
            continue
        try:
            tasks = {t["id"]: t for t in document.load_document(blob, rules.ACTIVE_PATH)["tasks"]}
        except DocumentError:
            tasks = {}
        out[rev] = tasks if named is None else {tid: tasks[tid] for tid in named if tid in tasks}
    return out


def _journal_round(
    repo: Repo,
    commits: list[dict[str, Any]],
    query: JournalQuery,
    current: Callable[[str], dict[str, Any] | None],
) -> list[tuple[dict[str, Any], str]]:
    """The (commit, task id) pairs of `commits` the journal keeps, in their order."""
    candidates: list[tuple[dict[str, Any], list[str] | None]] = []  # None: a hand edit, its tasks not known yet
    asked: list[tuple[dict[str, Any], set[str] | None]] = []
    for commit in commits:
        if not query.by_commit(commit["when"], commit["machine"], commit["action"] or HAND_EDIT):
            continue
        if not commit["action"]:
            candidates.append((commit, None))
            asked.append((commit, None))
            continue
        candidates.append((commit, commit["tasks"]))
        for tid in commit["tasks"]:
            if commit["machine"] is None or query.needs_then(current(tid) if query.about_task else None):
                asked.append((commit, {tid}))
    versions = _streamed_tasks(repo, _wanted_versions(asked)) if asked else {}
    kept: list[tuple[dict[str, Any], str]] = []
    for commit, named in candidates:
        after = versions.get(commit["commit"], {})
        before = versions.get(commit["parents"][0], {}) if commit["parents"] else {}
        if named is None:  # a hand edit: the tasks whose versions differ
            named = sorted({i for i in set(after) | set(before) if after.get(i) != before.get(i)},
                           key=document.natural_key)  # fmt: skip
        for tid in named:
            old, new = before.get(tid), after.get(tid)
            record = {"when": commit["when"], "machine": _machine(commit, old, new),
                      "action": commit["action"] or HAND_EDIT, "task": tid}  # fmt: skip
            now = current(tid) if query.about_task else None
            if query.matches(record, now, new if new is not None else old):
                kept.append((commit, tid))
    return kept


def deletion(repo: Repo, task_id: str, rev: str, since: str | None = None) -> tuple[str | None, str | None] | None:
    """Who deleted task `task_id` on `rev` (after `since`, their merge base), and when: the machine and stamp of the
    newest change there that names the task and is not a merge (a sync merge names what it brought in); None when no
    such change is found (a hand edit without trailers)."""
    grep = ["-F", f"--grep=Task: {trailers.value(task_id)}", "--no-merges", "--", rules.ACTIVE_PATH, rules.TASKS_DIR]
    for commit in _commits(repo, f"{since}..{rev}" if since else rev, grep):
        if task_id in commit["tasks"]:
            return commit["machine"] or commit["author"], commit["when"]
    return None


def field_times(repo: Repo, rev: str, since: str | None) -> Callable[[str, str], str | None]:
    """When `rev` last changed a field of a task after `since` (their merge base), for the merge of a field both
    sides set (`merge.merge_documents`' `field_time`): a function of (task id, dotted field path) giving the
    `Timestamp:` trailer of the newest commit there, not a merge, whose version of the task differs at that path
    from its parent's. None when no such commit is found, when the newest is a hand edit (no trailers), or without a
    base (the walk stops at it). A path that reaches into a list compares the value it reaches, the whole list; a
    key with a dot in it is not told from a path, so such a field is never found changed (None).

    Nothing runs until a field is asked about; then one `git log` of the commits since the base (once per `rev`) and
    one `git cat-file --batch` of the task's versions (once per task), whatever fields of it are asked."""
    listed: list[list[dict[str, Any]]] = []  # the commits since the base, once read
    walked: dict[str, list[tuple[str | None, dict[str, Any] | None, dict[str, Any] | None]]] = {}  # by task

    def changes(task_id: str) -> list[tuple[str | None, dict[str, Any] | None, dict[str, Any] | None]]:
        """(stamp, version before, version after) of each commit that may have changed the task, newest first."""
        if not listed:
            grep = ["--no-merges", "--", rules.ACTIVE_PATH, rules.TASKS_DIR]  # a merge's own stamp is not the edit's
            listed.append(_commits(repo, f"{since}..{rev}", grep))
        # the commits that may have changed the task: those naming it, and hand edits (they name nothing)
        mine = [c for c in listed[0] if c["parents"] and (task_id in c["tasks"] or not c["action"])]
        versions = _tasks_at(repo, [r for c in mine for r in (c["commit"], c["parents"][0])], task_id)
        return [
            (
                c["when"] if c["action"] else None,
                versions.get(c["parents"][0], {}).get(task_id),
                versions.get(c["commit"], {}).get(task_id),
            )
            for c in mine
        ]

    def changed_at(task_id: str, path: str) -> str | None:
        if since is None:
            return None
        if task_id not in walked:
            walked[task_id] = changes(task_id)
        parts = path.split(".")
        for stamp, before, after in walked[task_id]:
            if _value_at(before, parts) != _value_at(after, parts):
                return stamp
        return None

    return changed_at


def _value_at(task: dict[str, Any] | None, parts: list[str]) -> bytes:
    """The canonical bytes of the value at a dotted path of a task (b"" when absent); a path that runs into a value
    that is not an object stops there: that value stands for the field."""
    if task is None:
        return b""
    node: Any = task
    for part in parts:
        if not isinstance(node, dict):
            break
        if part not in node:
            return b""
        node = node[part]
    return orjson.dumps(node, option=orjson.OPT_SORT_KEYS)


def task_at(repo: Repo, task_id: str, rev: str) -> dict[str, Any] | None:
    """The task as it was in the commit `rev`."""
    versions = _tasks_at(repo, [rev])[rev]
    try:
        return versions[ids.resolve_id(versions, task_id)]
    except GittasksError:  # none, or several: the caller says there is no such task there
        return None
