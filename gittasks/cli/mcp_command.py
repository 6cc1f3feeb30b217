"""`gittasks mcp`: the MCP server on stdio. `main.py` runs a plain `gittasks mcp` before the CLI loads; this command
serves `--repo DIR mcp` and the help."""

from __future__ import annotations

import contextlib

from gittasks.cli import output


def mcp() -> None:
    """Run the gittasks MCP server on stdio."""
    from gittasks.claude import mcp_server

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in a terminal: stop quietly
        mcp_server.serve(output.repo_option())


COMMANDS = {"mcp": mcp}
