"""The Claude Code side: hooks that capture the native task tools, the settings installer, the MCP server."""
