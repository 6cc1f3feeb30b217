"""`doctor` and `validate`: check the task files, the driver, locks, clocks and git's state; repair losslessly."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittasks import archive, clone, document, render, repair, rules, schema, secrets_check, store, taskbranch, taskset
from gittasks.claude import installer
from gittasks.errors import GittasksError
from gittasks.git import Repo, find_repo
from gittasks.workspace import Workspace

STALE_LOCK_SECONDS = 300.0
LAUNCHER_TIMEOUT = 5.0  # the launcher's `--version`: a cold start takes well under a second


@dataclass
class Findings:
    """What `doctor` found, a line each (ok, PROBLEM, fixed); `failed` when a problem is left."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def ok(self, text: str) -> None:
        self.lines.append(f"ok       {text}")

    def problem(self, text: str) -> None:
        self.lines.append(f"PROBLEM  {text}")
        self.failed = True

    def fixed(self, text: str) -> None:
        self.lines.append(f"fixed    {text}")


def task_files(root: Path) -> list[Path]:
    files = [root / rules.ACTIVE_PATH]
    for folder in (rules.ARCHIVE_DIR, rules.WORK_ITEMS_DIR):
        files += sorted((root / folder).glob("*.jsonl"))
    return [f for f in files if f.exists()]


def validate_files(files: list[Path], repo_path: Path | None) -> list[str]:
    root: Path | None = None
    if not files:
        ws = Workspace(find_repo(repo_path))
        link = ws.outside_link()
        if link is not None:
            return [link]  # never read through it
        root = ws.repo.root
        files = task_files(root)
    else:
        try:
            root = find_repo(files[0].resolve().parent).root
        except GittasksError:
            root = None
    archived: set[str] = set()
    if root is not None:
        try:
            archived = {t["id"] for t in archive.iter_archived(root)}
        except GittasksError:
            archived = set()  # the archive's own problems are reported when its files are validated
    found: list[str] = []
    for path in files:
        raw = store.read_bytes(path)
        if raw is None:
            found.append(f"{path}: no such file")
            continue
        found += schema.problems(raw, str(path).replace("\\", "/"), known_elsewhere=archived)
    return found


def git_process_running(root: Path) -> bool | None:
    """Is a git process working in this repository? True/False where the process table can be read (Linux), None
    elsewhere (then only the lock's age decides)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    root = root.resolve()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "git":
                continue
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            return True
    return False


def git_locks(repo: Repo) -> list[Path]:
    """The lock files git leaves behind when it is killed at the wrong moment: the index's, the refs' (the task
    branch's among them: then no change and no incoming sync can move it) and packed-refs'."""
    found = [repo.git_dir / "index.lock", repo.common_dir / "packed-refs.lock"]
    found += sorted((repo.common_dir / "refs").rglob("*.lock"))
    if repo.git_dir != repo.common_dir:
        found.append(repo.common_dir / "index.lock")
    return [lock for lock in found if lock.is_file()]


def check_index_lock(ws: Workspace, findings: Findings, fix: bool) -> None:
    """Each git lock file left in the repository: named, and removed by `--fix` once it is stale (old enough, and no
    git process running here)."""
    locks = git_locks(ws.repo)
    if not locks:
        findings.ok("no git lock file left behind (index.lock, refs, packed-refs)")
        return
    running = git_process_running(ws.repo.root)
    threshold = float(os.environ.get("GITTASKS_STALE_LOCK_SECONDS", STALE_LOCK_SECONDS))
    for lock in locks:
        try:
            age = time.time() - lock.stat().st_mtime
        except OSError:
            continue  # gone meanwhile: its git finished
        stale = age >= threshold and running is not True
        what = "; it blocks every change of the task branch and every incoming sync" if "refs" in lock.parts else ""
        if fix and stale:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            findings.fixed(f"removed stale {lock} ({int(age)} s old, no git process running)")
        elif stale:
            findings.problem(
                f"{lock} is {int(age)} s old and no git process runs: stale{what}; `gittasks doctor --fix` removes it"
            )
        else:
            findings.problem(
                f"{lock} exists ({int(age)} s old){what}; a git process may be running - wait, or if none is "
                f"(`ps -ef | grep git`), remove it (`rm {lock}`, or `gittasks doctor --fix` after {int(threshold)} s)"
            )


def run(ws: Workspace, *, fix: bool) -> Findings:
    findings = Findings()
    repo = ws.repo
    link = ws.outside_link()
    if link is not None:
        findings.problem(link)  # every other check would read through it
        return findings
    _check_moved_list(ws, findings, fix)
    if ws.inline:
        findings.ok(
            "layout: inline (the task files are committed on the current branch; `gittasks migrate` moves them)"
        )
        _check_inline(ws, findings, fix)
    else:
        findings.ok(f"layout: own branch ({ws.branch}; `git log {ws.branch}` is the task history)")
        _check_branch(ws, findings, fix)
    problems = validate_files([], repo.root)
    for line in problems:
        findings.problem(line)
    if not problems:
        findings.ok("task files valid")
    check_index_lock(ws, findings, fix)
    holder = store.RepoLock(repo.common_dir, timeout=0)
    try:
        with holder:
            findings.ok("no gittasks command holds the lock")
    except GittasksError as exc:
        findings.lines.append(f"note     {exc}")
    _check_clocks(ws, findings)
    _check_secrets(ws, findings)
    _check_claude(ws, findings, fix)
    with contextlib.suppress(GittasksError):  # the commit hook of `link-commits`: a line on its state
        from gittasks import commit_links

        kind, line = commit_links.state(repo)
        findings.ok(line) if kind == "ok" else findings.lines.append(f"note     {line}")
    return findings


def _check_moved_list(ws: Workspace, findings: Findings, fix: bool) -> None:
    """Inline layout: a task list that moved to its own branch (`gittasks migrate` on another clone) is followed by
    `--fix`, never put back on the code branch."""
    if not ws.inline:
        return
    try:
        moved = ws.moved_list()
        if moved is not None and fix:
            ws.follow_moved_list()
            for line in ws.messages:
                findings.fixed(line)
            ws.messages.clear()
        elif moved is not None:
            findings.problem(
                f"the task list moved to the branch {ws.branch} (`gittasks migrate` on another clone) and this clone "
                "still keeps it on the current branch; `gittasks doctor --fix` (or any gittasks command) follows it "
                "with this clone's own tasks kept"
            )
    except GittasksError as exc:
        findings.problem(str(exc))


def _check_claude(ws: Workspace, findings: Findings, fix: bool) -> None:
    """Every hook and MCP command install-claude wrote starts a gittasks on this machine, without relying on a path
    of another one; with `fix`, install-claude runs again for what it can mend."""
    repo = ws.repo
    try:
        oks, notes, problems = _claude_state(repo)
    except GittasksError as exc:
        findings.problem(str(exc))  # a broken settings file: install-claude would refuse it too
        return
    if problems and fix:
        try:
            result = installer.install(repo, env=False)  # (a gittasks MCP server there is brought up to date too)
            oks, notes, problems = _claude_state(repo)
        except GittasksError as exc:
            findings.problem(str(exc))
            return
        for line in result.done:
            findings.fixed(f"install-claude: {line}")
    for line in oks:
        findings.ok(line)
    for line in notes:
        findings.lines.append(f"note     {line}")
    for line in problems:
        findings.problem(line)


def _claude_state(repo: Repo) -> tuple[list[str], list[str], list[str]]:
    """What doctor says of the Claude Code set-up: ok lines, notes and problems (nothing when none is installed)."""
    root = repo.root
    commands = list(installer.commands_in(installer.read_settings(root / installer.SETTINGS_PATH)))
    server = installer.mcp_server(root)
    oks: list[str] = []
    notes: list[str] = []
    problems: list[str] = []
    launched = 0
    fix = f"`gittasks install-claude` switches it to {installer.LAUNCHER_PATH}, which finds gittasks on any machine"
    for text in commands:
        kind = next(k for k in (installer.form(text, a) for a in installer.ARGUMENTS) if k is not None)
        if kind == "launcher":
            launched += 1
            continue
        if text in commands[: commands.index(text)]:
            continue  # one line for a command that two groups hold
        shown = render.safe(text)
        if kind == "bare":
            problems.append(f"the Claude Code hook `{shown}` runs only where gittasks is on Claude Code's PATH; {fix}")
        elif clone.command_runs(text, search_path=False):
            problems.append(
                f"the Claude Code hook `{shown}` names a path of this machine, so it fails on others; {fix}"
            )
        else:
            problems.append(f"the Claude Code hook `{shown}` names a program that is gone; {fix}")
    if commands and not any(installer.is_ours(text, installer.PING) for text in commands):
        notes.append(
            "the hooks that mark each turn (UserPromptSubmit, Stop) are not installed, so active time misses work no "
            "hook sees (Bash, Read, MCP); `gittasks install-claude` adds them"
        )
    if server == installer.MCP_ENTRY:
        launched += 1
    elif server is not None:
        words = [server.get("command"), *(server.get("args") or [])] if isinstance(server, dict) else []
        shown = render.safe(" ".join(str(w) for w in words))
        program = str(words[0]) if words else ""
        where = f"`{shown}`" if program else "an entry without a command"
        if "/" in program or "\\" in program:
            gone = not Path(program).exists()
            why = "names a program that is gone" if gone else "names a path of this machine and fails on others"
            problems.append(f"the gittasks MCP server in {installer.MCP_PATH}, {where}, {why}; {fix}")
        elif not program or shutil.which(program) is None:
            problems.append(f"the gittasks MCP server in {installer.MCP_PATH}, {where}, does not start here; {fix}")
        else:
            oks.append(f"the gittasks MCP server in {installer.MCP_PATH} runs {where} (from the PATH)")
    recorded = installer.local_program(repo)
    if recorded is not None and not _runs(recorded):
        problems.append(
            f"this clone's git config {installer.PROGRAM_SETTING} names `{render.safe(recorded)}`, which is gone; "
            "`gittasks install-claude` records this installation"
        )
    if launched:
        _check_launcher(repo, launched, oks, notes, problems)
    return oks, notes, problems


def _runs(program: str) -> bool:
    """Does a launcher setting start something here (a program, or the first word of a command line)?"""
    for candidate in (program, program.split()[0] if program.split() else ""):
        if candidate and (shutil.which(candidate) is not None or Path(candidate).is_file()):
            return True
    return False


def _check_launcher(repo: Repo, commands: int, oks: list[str], notes: list[str], problems: list[str]) -> None:
    """The launcher the commands call is there, unchanged, committed with the settings, and finds a gittasks here."""
    path = repo.root / installer.LAUNCHER_PATH
    raw = store.read_bytes(path)
    name = installer.LAUNCHER_PATH
    if raw is None:
        problems.append(
            f"{name} is missing ({commands} Claude Code command(s) call it); `gittasks install-claude` writes it"
        )
        return
    if not installer.is_launcher(raw):
        problems.append(f"{name} differs from the launcher this gittasks writes; `gittasks install-claude` rewrites it")
        return
    tracked = set(repo.tracked([installer.SETTINGS_PATH, installer.MCP_PATH, name]))
    if tracked and name not in tracked:
        notes.append(f"{name} is not committed yet: clones that get the settings without it cannot run their hooks")
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(repo.root)}  # as Claude Code starts its hooks
    try:
        proc = subprocess.run(
            ["sh", str(path), "--version"], cwd=repo.root, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=LAUNCHER_TIMEOUT,
        )  # fmt: skip
    except FileNotFoundError:
        problems.append(f"there is no `sh` here to run {name} (Claude Code runs hooks with it; on Windows, Git Bash)")
        return
    except subprocess.TimeoutExpired:
        problems.append(f"{name} --version did not answer within {LAUNCHER_TIMEOUT:g} s")
        return
    said = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    found = said[0] if said else ""
    if proc.returncode != 0 or not found.startswith("gittasks"):
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        why = render.safe(err[-1] if err else f"exit {proc.returncode}")
        problems.append(
            f"{name} finds no working gittasks here ({why}); `gittasks install-claude` records this one for this clone"
        )
        return
    import importlib.metadata  # here: its import costs more than most commands (only this check needs it)

    try:
        mine = f"gittasks {importlib.metadata.version('gittasks')}"  # (what `gittasks --version` prints)
    except importlib.metadata.PackageNotFoundError:
        mine = "gittasks run from a source tree"
    same = "the same version as this one" if found == mine else f"this one is {mine}"
    oks.append(f"Claude Code starts gittasks through {name} ({commands} command(s)): {render.safe(found)} ({same})")


def _check_driver(ws: Workspace, findings: Findings, fix: bool) -> None:
    """The merge driver's registration: its program must exist (both layouts); the inline layout needs one."""
    registered = clone.registered_driver(ws.repo)
    if registered and clone.command_runs(registered):
        findings.ok(f"merge driver registered: {render.safe(registered)}")
    elif fix and (registered or ws.inline):
        clone.register_driver(ws.repo)
        findings.fixed(f"registered the merge driver: {clone.driver_command()}")
    elif registered:
        findings.problem(
            f"the registered merge driver does not run (its program is gone: {render.safe(registered)}); "
            "`gittasks doctor --fix` or any gittasks command registers it again"
        )
    elif ws.inline:
        findings.problem("this clone's git config lacks the merge driver; `gittasks doctor --fix` registers it")


def _check_inline(ws: Workspace, findings: Findings, fix: bool) -> None:
    repo = ws.repo
    _check_driver(ws, findings, fix)
    attributes = (store.read_bytes(repo.root / ".gitattributes") or b"").decode("utf-8", "replace")
    if clone.gitattributes_with_driver(attributes) is None:
        findings.ok(".gitattributes routes the task files to the merge driver")
    else:
        findings.problem(".gitattributes does not route the task files to the driver; run `gittasks init`")
    entries = repo.status((rules.ACTIVE_PATH, rules.TASKS_DIR))
    unmerged = [p for kind, p in entries if kind == "unmerged"]
    if unmerged:
        if fix:
            try:
                for line in repair.repair_and_finish(ws):
                    findings.fixed(line)
            except GittasksError as exc:
                findings.problem(str(exc))
        else:
            findings.problem(
                f"{', '.join(unmerged)} unmerged after a line merge; `gittasks doctor --fix` merges it field by field "
                "and finishes the merge when nothing else is unmerged"
            )
    if not unmerged:
        _check_committed(ws, findings, fix, "")
    reason = ws.stopped_operation()
    if reason is not None:
        findings.lines.append(f"note     {reason}")


def _check_committed(ws: Workspace, findings: Findings, fix: bool, where: str) -> None:
    """A task file committed (`where`: on which branch) with conflict markers or invalid JSON: rebuilt by --fix."""
    broken = repair.find_broken_commit(ws)
    if broken is None:
        return
    if fix:
        for line in repair.repair_committed(ws):
            findings.fixed(line)
    else:
        findings.problem(
            f"{rules.ACTIVE_PATH} was committed{where} with conflict markers or invalid JSON in {broken[:10]}; "
            "`gittasks doctor --fix` rebuilds it from that merge's parents"
        )


def _check_branch(ws: Workspace, findings: Findings, fix: bool) -> None:
    repo = ws.repo
    _check_driver(ws, findings, fix)
    tip = ws.task_branch_tip()
    if tip is None and ws.remote_task_branch() is None:
        findings.problem(f"there is no task branch {ws.branch} here or on a remote yet; `gittasks init` starts one")
        return
    if tip is None or not ws.files_current(taskbranch.load_record(repo.git_dir), tip):
        if fix:
            with ws.lock:
                ws.bring_in()
            findings.fixed(f"brought the task branch {ws.branch} into the work-tree files")
        else:
            findings.problem(
                "the work-tree task files are not yet in step with the task branch (an edit or a sync not yet "
                "taken in); any gittasks command, or `gittasks doctor --fix`, takes it in"
            )
    else:
        findings.ok(f"the work-tree task files are those of {ws.branch} ({tip[:10]})")
    _check_committed(ws, findings, fix, f" on {ws.branch}")
    tip = ws.task_branch_tip()
    if tip is not None:
        found = []
        files = ws.branch_files(tip)
        archived: set[str] = set()
        for rel, data in files.items():
            if taskset.is_archive_path(rel):
                with contextlib.suppress(GittasksError):  # reported below with the file's own problems
                    archived |= {t["id"] for t in taskset.parse_archive(data, rel)}
        for rel, data in sorted(files.items()):
            found += schema.problems(data, f"{ws.branch}:{rel}", known_elsewhere=archived)
        for line in found:
            findings.problem(line)
        if not found:
            findings.ok(f"the task files committed on {ws.branch} are valid")
        summary = repo.history_summary(
            ws.branch_ref, lambda rel: rel == ".gitattributes" or taskbranch.is_task_path(rel)
        )
        by_machine = ", ".join(f"{m} {n}" for m, n in sorted(summary["machines"].items())) or "none"
        findings.ok(f"task history: {summary['commits']} commits (by machine: {by_machine})")
        if summary["untagged"]:
            findings.lines.append(
                f"note     {len(summary['untagged'])} commit(s) on {ws.branch} carry no gittasks trailers (made by "
                f"hand), e.g. {summary['untagged'][0][:10]}"
            )
        if summary["stray"]:
            findings.problem(
                f"{ws.branch} holds files that are not task files ({', '.join(summary['stray'][:3])}); they do not "
                "belong on the task branch"
            )
    exclude = (store.read_bytes(repo.common_dir / "info" / "exclude") or b"").decode("utf-8", "replace")
    if all(line in exclude.splitlines() for line in taskbranch.EXCLUDE_LINES):
        findings.ok("the task files are kept out of the code branches (.git/info/exclude)")
    elif fix:
        taskbranch.ensure_excluded(repo.common_dir)
        findings.fixed("kept the task files out of the code branches (.git/info/exclude)")
    else:
        findings.problem("the task files are not in .git/info/exclude; `gittasks doctor --fix` adds them")
    tracked = repo.tracked([rules.ACTIVE_PATH, rules.ARCHIVE_DIR, rules.WORK_ITEMS_DIR])
    if tracked and repo.branch() == ws.branch:  # the task branch itself, checked out with plain git
        findings.problem(
            f"the task branch {ws.branch} is checked out here; gittasks writes it with plumbing, so switch back to a "
            "code branch (`git switch -`) and let gittasks bring its files into the work tree"
        )
    elif tracked:
        findings.problem(
            f"the current branch also tracks {tracked[0]} while the tasks live on {ws.branch}; stop tracking them "
            f"with `git rm --cached -r --ignore-unmatch -- {rules.ACTIVE_PATH} {rules.TASKS_DIR}` and commit"
        )


def _current_files(ws: Workspace) -> dict[str, bytes]:
    """The task files as they are now: the task branch's tip in the own-branch layout (the work tree may not have
    taken it in yet), the work tree's files inline."""
    tip = ws.task_branch_tip() if not ws.inline else None
    return ws.branch_files(tip) if tip is not None else taskbranch.read_worktree(ws.repo.root)


def _current_tasks(ws: Workspace, *, archived: bool) -> list[dict[str, Any]]:
    """The active tasks of `_current_files` (and the archived ones); a file that cannot be read adds none (its own
    check names its problem)."""
    tasks: list[dict[str, Any]] = []
    for rel, raw in sorted(_current_files(ws).items()):
        with contextlib.suppress(GittasksError):
            if rel == rules.ACTIVE_PATH:
                tasks += document.load_document(raw, rel)["tasks"]
            elif archived and taskset.is_archive_path(rel):
                tasks += taskset.parse_archive(raw, rel)
    return tasks


def _check_secrets(ws: Workspace, findings: Findings) -> None:
    found = secrets_check.warnings_for(_current_tasks(ws, archived=False))
    for line in found:
        findings.lines.append(f"note     {line.removeprefix('warning: ')}")
    if not found:
        findings.ok("no task text looks like a credential")


def _check_clocks(ws: Workspace, findings: Findings) -> None:
    """Stamps no right clock gives: far in the future (a machine's clock is wrong) or before rules.PAST_LIMIT (a
    clock reset, a hand edit; near year 1 too)."""
    now = rules.utc_now()
    ahead: list[str] = []
    behind: list[str] = []
    for task in _current_tasks(ws, archived=True):
        for name in rules.STAMP_FIELDS:
            stamp = rules.parse_stamp(task.get(name))
            if stamp is None:
                continue
            seen = f"{task['id']} {name} {task.get(name)} by {task.get('updated_by', '?')}"
            if stamp > now + rules.FUTURE_SLACK:
                ahead.append(seen)
            elif stamp < rules.PAST_LIMIT:
                behind.append(seen)
    if ahead:
        findings.problem(
            "stamps far in the future (a machine's clock is wrong; they are ordered as the oldest when merging): "
            + _some(ahead)
        )
    if behind:
        findings.problem(
            f"stamps from before {rules.PAST_LIMIT.year} (a clock that was reset, or a hand edit; they count as the "
            "oldest changes when merging): " + _some(behind)
        )
    if not ahead and not behind:
        findings.ok("no stamps from the future or the far past")


def _some(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(render.safe(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
