"""What a Jira issue key looks like (`PAY-123`), for every domain and surface that spots one."""

from __future__ import annotations

import re

JIRA_KEY = re.compile(r"\b([A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,8})\b")
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")


def is_jira_key(text: str) -> bool:
    return JIRA_KEY.fullmatch(text.strip()) is not None


def jira_keys_in(text: str) -> list[str]:
    """Every key in the text, first occurrence first, each once."""
    return list(dict.fromkeys(m.group(1) for m in JIRA_KEY.finditer(text or "")))
