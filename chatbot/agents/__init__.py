"""Agents: personal tokens, what a token's person may see, and the MCP tools' use cases."""
