"""Making user text safe and short enough for Slack."""

from __future__ import annotations

from chatbot.jira_keys import JIRA_KEY


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control (so `<!channel>` never pings)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """Cut to at most `limit` characters, ending with `marker` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))].rstrip() + marker


def link_jira_keys(escaped_text: str, jira_url: str | None) -> str:
    """Turn `PAY-123` into a link to the ticket (text must already be escaped)."""
    if not jira_url:
        return escaped_text
    base = jira_url.rstrip("/")
    return JIRA_KEY.sub(lambda m: f"<{base}/browse/{m.group(1)}|{m.group(1)}>", escaped_text)


def mrkdwn(text: str, limit: int = 3000, jira_url: str | None = None) -> str:
    """Escape user text, link Jira keys, and keep it within `limit` (Block Kit section text)."""
    safe = escape(text)
    linked = link_jira_keys(safe, jira_url)
    if len(linked) <= limit:
        return linked
    # Links lengthen text; fall back to plain escaped text before cutting it.
    return truncate(safe, limit)
