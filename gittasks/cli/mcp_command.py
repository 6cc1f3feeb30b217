"""`gittasks mcp`: the MCP server on stdio (the SDK is imported only when the command runs)."""

from __future__ import annotations

import contextlib

import typer

from gittasks.cli import output


def register(app: typer.Typer) -> None:
    @app.command("mcp")
    def mcp() -> None:
        """Run the gittasks MCP server on stdio."""
        from gittasks.claude import mcp_server

        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in a terminal: stop quietly
            mcp_server.serve(output.repo_option())
