"""The documentation holds: the commands reference equals what the CLI says, every relative link and anchor of the
README and of docs/ leads somewhere, and the README stays a five-minute read that starts with its two set-up commands.

The site itself is built by `mkdocs build --strict` in .ci/run (the `docs` extra); these checks need no MkDocs, and
they also cover the README, which the site does not include.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gittasks.cli import reference
from gittasks.cli.app import GROUPS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.glob("*.md"))

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The Markdown without fenced code blocks and code spans, where a link is not a link."""
    return _CODE.sub("", _FENCE.sub("", text))


def anchors(path: Path) -> set[str]:
    return {reference.slug(heading) for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8")))}


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in _LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not checked here
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{page.name}: {target} (no file {file_part})")
        elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
            broken.append(f"{page.name}: {target} (no heading with the anchor #{anchor})")
    return broken


def test_the_commands_reference_is_what_the_cli_says() -> None:
    page = reference.PAGE.read_text(encoding="utf-8") if reference.PAGE.is_file() else ""
    assert page == reference.markdown(), f"docs/commands.md is out of date: run `{reference.REGENERATE}`"


def test_the_commands_reference_has_every_command_and_option() -> None:
    page = reference.markdown()
    for names in GROUPS.values():
        for name in names:
            assert f"### `gittasks {name}`" in page, name
    # options come from click's own records, so a new option cannot be missed: spot-check a few kinds
    for option in ("`--repo DIR`", "`--json`", "`--minutes INTEGER RANGE`", "`--sort ", "`--port INTEGER RANGE`"):
        assert option in page, option
    assert "#### `gittasks hook capture`" in page  # a group's own commands, one level down
    assert "- `--blocked-by TEXT` (repeatable):" in page


def test_help_text_becomes_safe_markdown() -> None:
    assert reference.text("a <b> *c* `<d>` [e]") == r"a \<b\> \*c\* `<d>` \[e\]"
    assert reference.paragraphs("One\nline.\n\n  Two.\f hidden") == ["One line.", "Two."]
    assert reference.slug("`gittasks install-claude`") == "gittasks-install-claude"
    assert reference.slug("Tasks travel by themselves (autosync)") == "tasks-travel-by-themselves-autosync"


def test_the_link_check_finds_a_broken_link_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A page\n\n## Part one\n", encoding="utf-8")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md#part-one) [self](#b) `[code](nowhere.md)`\n\n```\n[fenced](nowhere.md)\n```\n\n# B\n"
        "[gone](missing.md) [no anchor](a.md#part-two) [web](https://example.com/x)\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "b.md: missing.md (no file missing.md)",
        "b.md: a.md#part-two (no heading with the anchor #part-two)",
    ]


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_relative_link_and_anchor_leads_somewhere(page: Path) -> None:
    assert broken_links(page) == []


def load_yaml(path: Path) -> Any:
    import yaml  # type: ignore[import-untyped]

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_page_is_in_the_site_nav_and_the_build_is_strict() -> None:
    config = load_yaml(ROOT / "mkdocs.yml")
    listed = [page for entry in config["nav"] for page in entry.values()]
    assert sorted(listed) == sorted(page.name for page in PAGES)
    assert config["strict"] is True
    assert {config["validation"][key] for key in ("anchors", "not_found", "omitted_files")} == {"warn"}


def test_the_release_workflow_checks_the_wheel_and_publishes_on_a_tag() -> None:
    workflow = load_yaml(ROOT / ".github" / "workflows" / "release.yml")
    assert workflow[True]["push"]["tags"] == ["v*"]  # (YAML 1.1 reads the key `on` as true)
    build = "\n".join(str(step.get("run", "")) for step in workflow["jobs"]["build"]["steps"])
    for needed in ("python -m build", "twine check", 'pip" install dist/*.whl', "run demo", "env -i"):
        assert needed in build, needed
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == "build" and publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")


def test_the_readme_is_short_and_starts_with_the_two_set_up_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) < 12 * 1024, "the README is a five-minute read: move detail into docs/"
    before, fence, rest = text.partition("```sh\n")
    assert fence and "##" not in before, "the set-up commands come before any section"
    commands = rest.split("```", 1)[0].strip().splitlines()
    assert len(commands) == 2
    assert commands[0].endswith("gittasks demo") and "pip install" in commands[0]
    test_command = commands[1].split("&&")[-1].strip()
    assert test_command.startswith(".venv/bin/python -m pytest")
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8"), "CI runs the README's test command"


def test_the_changelog_has_the_version_the_package_holds() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(version)}\]", changelog, re.M), f"CHANGELOG.md has no section for {version}"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
