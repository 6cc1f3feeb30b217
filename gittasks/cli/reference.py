"""The commands reference (`docs/commands.md`), generated from the typer app itself so that it cannot drift.

`python -m gittasks.cli.reference` prints it; `--write` writes `docs/commands.md` of this source tree; `--check`
exits 1 when that file differs. `tests/test_docs.py` holds the committed file equal to `markdown()`. Each command's
text is what `gittasks COMMAND --help` prints: its help and click's own record of each argument and option.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import typer.main

from gittasks.cli.app import GROUPS, build

PAGE = Path(__file__).resolve().parents[2] / "docs" / "commands.md"
REGENERATE = "python -m gittasks.cli.reference --write"

# The heading of each command module's section, in GROUPS' order; a module not named here gets its own name.
TITLES = {
    "task_commands": "Tasks",
    "habit_commands": "Notes, edits and undo",
    "setup_commands": "Set-up and checks",
    "sync_commands": "Sync and conflicts",
    "history_commands": "History, archive and reports",
    "next_command": "What next",
    "link_commands": "Code commits and exports",
    "claude_commands": "Claude Code",
    "mcp_command": "MCP server",
    "board_command": "The board",
    "watch_command": "Watching the other machines",
}

HEADER = f"""# Commands

<!-- Generated from the command line by `{REGENERATE}`; do not edit by hand. -->

Every command with its arguments and options, as `gittasks COMMAND --help` prints them. The guide's pages say how
they work together: [getting started](getting-started.md), [sync and merge](sync-and-merge.md),
[Claude Code](claude-code.md), [billing](billing.md), [history](history.md), [the board](board.md).

Exit codes: 0 done, 1 refused (unknown id, illegal transition, invalid file, ...), 2 usage error. Errors are one
line on stderr; `--json` prints machine-readable output on stdout and nothing else there.
"""

_CODE_SPAN = re.compile(r"(`[^`]*`)")
_SPECIAL = re.compile(r"([\\*_\[\]<>])")


def text(line: str) -> str:
    """Help text as Markdown: characters Markdown would read as markup are escaped, outside `code spans` only."""
    parts = _CODE_SPAN.split(line)
    return "".join(part if i % 2 else _SPECIAL.sub(r"\\\1", part) for i, part in enumerate(parts))


def paragraphs(help_text: str | None) -> list[str]:
    """A command's help as paragraphs, its hard line breaks (a wrapped docstring) joined; click's `\\f` ends it."""
    body = (help_text or "").split("\f")[0]
    blocks = re.split(r"\n\s*\n", body.strip())
    return [" ".join(line.strip() for line in block.splitlines() if line.strip() != "\b") for block in blocks if block]


def first_sentence(help_text: str | None) -> str:
    found = paragraphs(help_text)
    if not found:
        return ""
    return re.split(r"(?<=[.!?])\s", found[0], maxsplit=1)[0]


def slug(heading: str) -> str:
    """The anchor MkDocs (and GitHub) give a heading made of plain words and code spans."""
    plain = heading.replace("`", "").strip().lower()
    plain = re.sub(r"[^\w\s-]", "", plain)
    return re.sub(r"[-\s]+", "-", plain)


def _params(command: click.Command, ctx: click.Context) -> Iterator[str]:
    for param in command.params:
        record = param.get_help_record(ctx)
        if record is None:  # hidden
            continue
        names, help_text = record
        help_text = " ".join(help_text.split())
        repeatable = " (repeatable)" if isinstance(param, click.Option) and param.multiple else ""
        yield f"- `{names}`{repeatable}" + (f": {text(help_text)}" if help_text else "")


def _usage(command: click.Command, ctx: click.Context) -> str:
    return " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])


def _command(command: click.Command, ctx: click.Context, level: int) -> Iterator[str]:
    yield f"{'#' * level} `{ctx.command_path}`"
    yield ""
    for paragraph in paragraphs(command.help):
        yield text(paragraph)
        yield ""
    yield "```text"
    yield _usage(command, ctx)
    yield "```"
    yield ""
    lines = list(_params(command, ctx))
    if lines:
        yield from lines
        yield ""
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if not sub.hidden:
                yield from _command(sub, click.Context(sub, info_name=name, parent=ctx), level + 1)


def _sections(root: click.Group) -> list[tuple[str, list[str]]]:
    """(title, command names) in GROUPS' order; a registered command no group names comes last, under "Other"."""
    visible = [name for name, command in root.commands.items() if not command.hidden]
    sections = [(TITLES.get(group, group.replace("_", " ").capitalize()), [n for n in names if n in visible])
                for group, names in GROUPS.items()]  # fmt: skip
    named = {n for _, names in sections for n in names}
    other = [n for n in visible if n not in named]
    return [(title, names) for title, names in [*sections, ("Other commands", other)] if names]


def markdown() -> str:
    """The whole reference page."""
    root = typer.main.get_command(build([]))
    assert isinstance(root, click.Group)
    ctx = click.Context(root, info_name="gittasks")
    sections = _sections(root)
    out = [HEADER]
    out.append("| command | what it does |\n| --- | --- |")
    for _, names in sections:
        for name in names:
            heading = f"`gittasks {name}`"
            command = root.commands[name]  # `--help`'s own line where the command has one
            what = text(command.short_help or first_sentence(command.help)).replace("|", "\\|")
            out.append(f"| [`{name}`](#{slug(heading)}) | {what} |")
    out.append("")
    out.append("## Global options\n")
    out.append(f"```text\n{_usage(root, ctx)}\n```\n")
    out.extend([*_params(root, ctx), ""])
    for title, names in sections:
        out.append(f"## {title}\n")
        for name in names:
            command = root.commands[name]
            out.extend(_command(command, click.Context(command, info_name=name, parent=ctx), 3))
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    page = markdown()
    if argv == ["--write"]:
        PAGE.write_text(page, encoding="utf-8", newline="\n")
        print(f"wrote {PAGE}")
        return 0
    if argv == ["--check"]:
        if PAGE.is_file() and PAGE.read_text(encoding="utf-8") == page:
            return 0
        print(f"{PAGE} is out of date: run `{REGENERATE}`", file=sys.stderr)
        return 1
    if argv:
        print(f"usage: python -m gittasks.cli.reference [--write | --check]\n{__doc__}", file=sys.stderr)
        return 2
    sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
