"""Text views of the code commits that name a task, and a task's history as a Markdown summary (`gittasks export`)
for a handover or a client report: what was done, by whom, on which machine, which commits, how long.

Pure: data in (the task, its history entries, its code commits), text out. Everything from the task files or the
commits is made safe: control characters shown as escapes (`render.safe`), Markdown's inline marks escaped in lines,
and longer texts (a description, an outcome) in fenced blocks longer than any backtick run inside them, so no text
can open a heading, a link, an image or raw HTML.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from gittasks import document, render, rules, work_items
from gittasks.edits import CONTEXT_LISTS

CODE_COMMIT = "code-commit"  # the action of a code commit's entry in a task's `log`
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~!#{}])")
_TICKS = re.compile(r"`+")


def commit_entry(task_id: str, commit: dict[str, Any]) -> dict[str, Any]:
    """A code commit as an entry of a task's `log` (the fields every entry has, and its own)."""
    return {
        "commit": commit["commit"],
        "when": commit["when"],
        "machine": None,
        "action": CODE_COMMIT,
        "task": task_id,
        "subject": commit["subject"],
        "changes": {},
        "branch": commit["branch"],
        "author": commit["author"],
    }


def commit_log_lines(entry: dict[str, Any], paint: render.Paint = render.plain) -> list[str]:
    """A code commit's entry of `log`, as `render.log_lines` shows the others: commit, when, branch, action, task
    and subject, then its author."""
    return [
        f"{paint(render.safe(entry['commit'][:10]), 'commit')}  {render.safe(entry['when'])}  "
        f"{render.safe(entry['branch'])}  {paint(CODE_COMMIT, 'action')}  {paint(render.safe(entry['task']), 'id')} "
        f"{render.safe(entry['subject'])}",
        f"    by {render.safe(entry['author'])}",
    ]


def commit_line(commit: dict[str, Any]) -> str:
    """One code commit on a line (`show`): short hash, branch, when, author, subject."""
    return (
        f"  {render.safe(commit['commit'][:10])}  {render.safe(commit['branch'])}  {render.safe(commit['when'])}  "
        f"{render.safe(commit['author'])}  {render.safe(commit['subject'])}"
    )


def commits_block(commits: list[dict[str, Any]]) -> str:
    """`show`'s section of the code commits that name the task (empty when none)."""
    if not commits:
        return ""
    return "\n".join([f"code commits ({len(commits)}):", *(commit_line(c) for c in commits)])


def merge_timeline(entries: list[dict[str, Any]], commits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A task's history entries and its code commits' entries as one list, newest first; each list keeps its own
    order, a code commit goes before the first history entry not newer than it. A commit's date has whole seconds:
    a task's change within the same second counts as older (a task is mostly started before its commits)."""
    merged: list[dict[str, Any]] = []
    pending = list(commits)
    for entry in entries:
        moment = rules.parse_stamp(entry.get("when"))
        while pending and moment is not None and _later(pending[0], moment):
            merged.append(pending.pop(0))
        merged.append(entry)
    return merged + pending


def _later(entry: dict[str, Any], moment: datetime) -> bool:
    when = rules.parse_stamp(entry.get("when"))
    return when is not None and when >= moment.replace(microsecond=0)


# -- the Markdown summary ---------------------------------------------------------------------------------------------


def md(value: Any) -> str:
    """Text on one line of Markdown: made safe, its inline marks escaped."""
    return _MARKDOWN.sub(r"\\\1", render.safe(value))


def fenced(text: Any) -> list[str]:
    """Text of several lines as a fenced block, shown as it is: nothing in it is read as Markdown."""
    body = render.safe(text, multiline=True).replace("\r\n", "\n").rstrip("\n")
    longest = max((len(m.group()) for m in _TICKS.finditer(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *body.split("\n"), fence]


def _minutes_text(minutes: float) -> str:
    return render.minutes_text(minutes * 60)


def _status_change(entry: dict[str, Any]) -> str | None:
    changes = entry.get("changes") or {}
    if "*" in changes:
        return "created" if changes["*"].get("from") is None else "removed"
    status = changes.get("status")
    if isinstance(status, dict):  # (Markdown: each status in a code span)
        return f"`{_code(render.change_value(status.get('from')))}` → `{_code(render.change_value(status.get('to')))}`"
    return None


def markdown(task: dict[str, Any], entries: list[dict[str, Any]], commits: list[dict[str, Any]]) -> str:
    """A task's history as a Markdown summary: the facts, what was asked, the result, the status changes (when,
    which machine), the code commits, and how long it took. `entries`: its `log` (newest first); `commits`: the
    code commits naming it (`task_commits.commits_for`)."""
    oldest_first = list(reversed(entries))
    lines = [f"# {md(task.get('id'))}: {md(task.get('subject') or '(no subject)')}", ""]
    facts: list[tuple[str, Any]] = [("Status", task.get("status") or "pending"), ("Type", task.get("type"))]
    metadata = document.as_object(task.get("metadata"))
    facts += [("Client", metadata.get("client")), ("Project", metadata.get("project")), ("Owner", task.get("owner"))]
    claimed = task.get("claimed_by")
    if isinstance(claimed, dict) and claimed.get("owner") and claimed.get("owner") != task.get("owner"):
        facts.append(("Started by", claimed.get("owner")))
    machines = list(dict.fromkeys(str(e["machine"]) for e in oldest_first if e.get("machine")))
    facts.append(("Machines", ", ".join(machines) if machines else None))
    authors = list(dict.fromkeys(str(c["author"]) for c in reversed(commits) if c.get("author")))
    facts.append(("Commit authors", ", ".join(authors) if authors else None))
    facts += [(name, task.get(key)) for name, key in (("Created", "created_at"), ("Started", "started_at"),
                                                       ("Completed", "completed_at"))]  # fmt: skip
    took = render.work_seconds(task)
    if took is not None:
        began = "started" if task.get("started_at") else "created"
        facts.append(("Took", f"{render.minutes_text(took)} ({began} → completed)"))
    facts.append(("Active", render.active_time(task)))  # (the capture hooks' sessions: `activity.active_minutes`)
    billable = work_items.billable_minutes(task)
    if billable is not None:
        facts.append(("Billable", _minutes_text(float(billable))))
    lines += [f"- **{name}:** {md(value)}" for name, value in facts if value not in (None, "", [])]
    if task.get("description"):
        lines += ["", "## What was asked", "", *fenced(task["description"])]
    context = document.as_object(task.get("context"))
    result: list[str] = []
    if context.get("outcome"):
        result += fenced(context["outcome"])
    for key in CONTEXT_LISTS:
        listed = context.get(key)
        if isinstance(listed, list) and listed:
            result += ["", f"{md(key.replace('_', ' ').capitalize())}:", *(f"- `{_code(v)}`" for v in listed)]
    if task.get("blocked_reason"):
        result += ["", f"Blocked: {md(task['blocked_reason'])}"]
    if result:
        lines += ["", "## Result", "", *(result[1:] if result[0] == "" else result)]
    changes = [(e, _status_change(e)) for e in oldest_first]
    if any(text for _e, text in changes):
        lines += ["", "## Status changes", ""]
        lines += [
            f"- {md(e.get('when'))} on {md(e.get('machine') or 'an unknown machine')}: {text} ({md(e.get('action'))})"
            for e, text in changes
            if text
        ]
    lines += ["", "## Commits", ""]
    if commits:
        lines += [
            f"- `{_code(c['commit'][:10])}` on {md(c.get('branch'))}, {md(c.get('when'))}, by {md(c.get('author'))}: "
            f"{md(c.get('subject'))}"
            for c in reversed(commits)
        ]
    else:
        lines.append("No code commit names this task (a `Task: ID` trailer; `gittasks link-commits` adds them).")
    lines += ["", f"_From the task's git history: `gittasks log {_code(task.get('id'))}`._", ""]
    return "\n".join(lines)


def _code(value: Any) -> str:
    """Text inside an inline code span: made safe, without backticks (they would end the span)."""
    return render.safe(value).replace("`", "'")
